"""A generated, reproducible demo: one town, or a prefecture city for benchmarks.

>>> demo = generate("town", seed=1)                       # doctest: +SKIP
>>> demo.counts()["grids"]                                # doctest: +SKIP
125

Everything is drawn from ``numpy.random.default_rng(seed)`` in a fixed order, so the
same ``(scale, seed, as_of)`` gives identical frames. Geometry is built in metres in
the CGCS2000 Gauss-Krüger zone of the place and returned in EPSG:4326.
"""

import dataclasses
import datetime

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84
from geo.demo import assets, hierarchy, incidents, patrols, people
from geo.demo.scales import SCALES, Scale

__all__ = ["Demo", "Scale", "SCALES", "generate"]

_FRAMES = ("grids", "households", "staff", "cameras", "incidents", "incident_events")


@dataclasses.dataclass
class Demo:
    """The generated frames, all geometry in EPSG:4326.

    Attributes
    ----------
    grids : code, name, level, parent_code, households_target, geometry
    households : external_id, address, head_name, phone, size, tags, grid_code,
        geometry
    staff : name, role, phone, grid_code, geometry
    cameras : code, name, kind, bearing, fov_deg, range_m, owner, status,
        grid_code, geometry
    incidents : code, category, subtype, source, reporter, description,
        grid_code, status, escalation_level, created_at, deadline, closed_at,
        outcome, satisfaction, geometry
    incident_events : incident_code, at, action, actor, note (no geometry)
    tracks : GPS patrol points of a few full-time workers in the days before
        ``as_of``: staff (row position in ``staff``), time (UTC), geometry
    """

    grids: geopandas.GeoDataFrame
    households: geopandas.GeoDataFrame
    staff: geopandas.GeoDataFrame
    cameras: geopandas.GeoDataFrame
    incidents: geopandas.GeoDataFrame
    incident_events: pd.DataFrame
    # last, with a default: frames built before the demo had tracks still work
    tracks: geopandas.GeoDataFrame = None

    def counts(self):
        """Row counts per frame, e.g. ``{"grids": 125, "households": 6873, ...}``."""
        return {name: len(getattr(self, name)) for name in _FRAMES}


def _grids(plan):
    """The four levels as one frame, towns first, each level in code order."""
    parts = []
    for depth, level in enumerate(plan.levels, start=1):
        n = len(level.code)
        parent = plan.levels[depth - 2].code[level.parent] if depth > 1 else [None] * n
        target = plan.targets.tolist() if depth == 4 else [None] * n
        parts.append(
            pd.DataFrame(
                {
                    "code": level.code,
                    "name": level.name,
                    "level": np.full(n, depth, dtype=np.int64),
                    "parent_code": pd.Series(parent, dtype=object),
                    "households_target": pd.Series(target, dtype=object),
                    # a grid is stored as a MultiPolygon (edits may split one)
                    "geometry": shapely.multipolygons(
                        level.polygon, indices=np.arange(n)
                    ),
                }
            )
        )
    frame = pd.concat(parts, ignore_index=True)
    return geopandas.GeoDataFrame(frame, geometry="geometry", crs=plan.crs)


def generate(scale="town", seed=1, as_of=datetime.date(2026, 11, 1), towns=None):
    """Generate the demo data.

    Parameters
    ----------
    scale : "town", "city" or a :class:`Scale`
        "town": 1 town, 8 villages, 25 level-3 and 91 level-4 grids, 4,550–9,100
        households, 472 cameras, ~1,230 incidents. "city": 20 towns, 400 villages,
        4,000 + 20,000 grids, ~1.1 M households, 100,000 cameras, 1 M incidents
        and their ~4.7 M state events (about 40 s and 2.4 GB on 2 cores).
    seed : int
    as_of : datetime.date
        The incidents cover the year before midnight (China time) of this day.
    towns : int, optional
        Override the number of towns of ``scale`` (per-town sizes kept), e.g.
        ``generate("city", towns=2)`` for a small city.

    Returns
    -------
    Demo
    """
    if isinstance(scale, str):
        if scale not in SCALES:
            raise ValueError(f"unknown scale {scale!r}: use one of {sorted(SCALES)}")
        scale = SCALES[scale]
    if towns is not None:
        if int(towns) < 1:
            raise ValueError("towns must be at least 1")
        scale = scale.with_towns(towns)
    rng = np.random.default_rng(seed)
    plan = hierarchy.build(scale, rng)
    homes = people.households(plan, rng)
    staff = people.staff(plan, homes, rng)
    cams = assets.cameras(plan, homes, scale.cameras * scale.towns, rng)
    counts = {k: v * scale.towns for k, v in scale.incidents.items()}
    found, events = incidents.incidents(
        plan, homes, staff, counts, as_of, rng, scale.events
    )
    # drawn last from ``rng``: the frames above stay as they were before tracks
    walks = patrols.patrols(plan, homes, staff, as_of, rng)
    return Demo(
        grids=_grids(plan).to_crs(WGS84),
        households=homes.to_crs(WGS84),
        staff=staff.to_crs(WGS84),
        cameras=cams.to_crs(WGS84),
        incidents=found.to_crs(WGS84),
        incident_events=events,
        tracks=walks.to_crs(WGS84),
    )
