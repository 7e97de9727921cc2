"""The sizes of the generated demo: one town, a prefecture-sized city, or a
province streamed county by county (``geo.demo.province``)."""

import dataclasses

__all__ = ["Scale", "SCALES"]


@dataclasses.dataclass(frozen=True)
class Scale:
    """Counts per town of a generated demo; totals are these times ``towns``.

    Parameters
    ----------
    towns : number of towns (level-1 grids)
    villages, level3, level4 : grids of levels 2, 3 and 4 per town
    households : (low, high), inclusive bounds of the households per micro-grid
    cameras : cameras per town
    incidents : {category: incidents per town over the year}
    town_km2 : area of a town
    atoms : Voronoi atoms per micro-grid (more: longer, more winding borders)
    events : "full" (a row per state passed) or "ends" (only the registered row
        and the last state reached), to keep a city's history small
    counties : number of counties, each generated alone with the sizes above
        (``towns`` towns each) by ``geo.demo.province``; ``generate`` makes one
    """

    towns: int
    villages: int
    level3: int
    level4: int
    households: tuple = (50, 100)
    cameras: int = 472
    incidents: dict = dataclasses.field(
        default_factory=lambda: {
            "dispute": 600,
            "public_order": 250,
            "environment": 300,
            "illegal_building": 80,
        }
    )
    town_km2: float = 75.0
    atoms: int = 16
    events: str = "full"
    counties: int = 1

    def with_towns(self, towns):
        """The same scale with another number of towns."""
        return dataclasses.replace(self, towns=int(towns))

    def with_counties(self, counties):
        """The same scale with another number of counties (per-county sizes kept)."""
        return dataclasses.replace(self, counties=int(counties))

    def county_sizes(self):
        """What one county is made of: every field but ``counties``, as plain
        JSON values (kept in the database to tell whether a province on a re-run
        is the same one)."""
        sizes = dataclasses.asdict(self)
        del sizes["counties"]
        sizes["households"] = list(sizes["households"])
        return sizes


SCALES = {
    # one town as the field reports describe it: 8 villages, 25 comprehensive
    # grids, 91 micro-grids of 50–100 households, ~470 cameras, ~1,200 incidents
    "town": Scale(towns=1, villages=8, level3=25, level4=91),
    # a prefecture city: 400 villages, 4,000 + 20,000 grids, 100,000 cameras,
    # 1,000,000 incidents a year; 50–60 households per micro-grid gives ~1.1 M
    "city": Scale(
        towns=20,
        villages=20,
        level3=200,
        level4=1000,
        households=(50, 60),
        cameras=5000,
        incidents={
            "dispute": 24390,
            "public_order": 10163,
            "environment": 12195,
            "illegal_building": 3252,
        },
    ),
    # a province: 100 counties of 5 towns, each town a city's town (20 villages,
    # 200 + 1,000 grids) with 50–70 households per micro-grid (the seeds' 50–100,
    # ~300,000 households a county, ~30 M in all), 1,000 cameras a town (500,000
    # in all, within the 10^5–10^6) and half the city's incidents a town
    # (a province of ~12 prefecture cities has ~12 M a year, the city's 1 M each)
    "province": Scale(
        towns=5,
        villages=20,
        level3=200,
        level4=1000,
        households=(50, 70),
        cameras=1000,
        incidents={
            "dispute": 12195,
            "public_order": 5082,
            "environment": 6098,
            "illegal_building": 1626,
        },
        counties=100,
    ),
}
