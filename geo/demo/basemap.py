"""The demo town's basemap features: roads, water and place names, drawn from the
same skeleton as its grids and households (``hierarchy.build``), so that the
streets run where the households cluster and the village names sit on their
villages.

Three layers, as the offline basemap's vector tiles carry them
(``layers/basemap_tiles.py``, ``web/basemap.py``; the printable grid notices read
the same names):

- ``roads``: lines; ``kind`` major (the town's through roads, with their names)
  or minor (a lane from each village to the nearest road and between neighbouring
  villages, named after the village), ``name``;
- ``water``: a river across the town (its bed as a polygon and its course as a
  line), two streams (lines) and a few ponds (polygons); ``name``;
- ``places``: points; ``kind`` town or village, ``name``.

No library draws a plausible Jiangnan town; the shapes are the generator's own.
Everything here is drawn from its own stream, ``default_rng([seed, 17])``, so the
demo's other frames stay as they were.

>>> layers = features("town", seed=1)                  # doctest: +SKIP
>>> sorted(layers)                                     # doctest: +SKIP
['places', 'roads', 'water']
"""

import geopandas
import numpy as np
import shapely
from scipy.spatial import Delaunay

from geo.crs import WGS84
from geo.demo import hierarchy, names
from geo.demo.scales import SCALES

__all__ = ["features", "LAYERS"]

LAYERS = ("roads", "water", "places")
_STREAM = 17  # the basemap's own random stream: default_rng([seed, _STREAM])


def _plan(scale, seed):
    """The skeleton ``generate(scale, seed)`` builds (its first draws)."""
    scale = SCALES[scale] if isinstance(scale, str) else scale
    return hierarchy.build(scale, np.random.default_rng(seed))


def _meander(start, end, rng, amplitude, waves, n=80):
    """A gently winding line from ``start`` to ``end`` (metres)."""
    start, end = np.asarray(start, float), np.asarray(end, float)
    t = np.linspace(0, 1, n)
    along = end - start
    across = np.array([-along[1], along[0]]) / np.hypot(*along)
    bend = sum(rng.uniform(0.3, 1.0) * amplitude / k
               * np.sin(np.pi * k * waves * t + rng.uniform(0, 2 * np.pi))
               for k in (1, 2, 3))
    bend *= np.sin(np.pi * t) ** 0.3  # fixed ends
    return shapely.LineString(start + np.outer(t, along) + np.outer(bend, across))


def _across(outline, rng, reach=1.3):
    """Two points beyond the outline on either side, along a random direction."""
    c = np.asarray(outline.centroid.coords[0])
    radius = np.sqrt(outline.area / np.pi) * reach
    angle = rng.uniform(0, np.pi)
    d = np.array([np.cos(angle), np.sin(angle)]) * radius
    offset = rng.normal(0, 0.15 * radius, 2)
    return c + offset - d, c + offset + d


def _roads(plan, rng):
    """Major roads (the plan's) and minor lanes to and between the villages."""
    major = list(plan.roads)
    major_names = list(plan.road_names)
    network = shapely.union_all(plan.roads)
    centres = plan.village_centres
    villages = plan.levels[1].name
    minor, minor_names = [], []
    for xy, name in zip(centres, villages, strict=True):
        lane = shapely.shortest_line(shapely.Point(xy), network)
        a, b = np.asarray(lane.coords)
        if np.hypot(*(b - a)) > 30:
            minor.append(_meander(a, b, rng, 0.05 * np.hypot(*(b - a)), 1, 20))
            minor_names.append(name[:-1] + "路")
    if len(centres) >= 3:
        pairs = {tuple(sorted((int(s[i]), int(s[j]))))
                 for s in Delaunay(centres).simplices
                 for i, j in ((0, 1), (1, 2), (0, 2))}
        for i, j in sorted(pairs):
            a, b = centres[i], centres[j]
            if np.hypot(*(b - a)) < 3500:  # neighbours only
                minor.append(_meander(a, b, rng, 0.06 * np.hypot(*(b - a)), 1, 30))
                minor_names.append(villages[i][:-1] + villages[j][:-1] + "线")
    lines = major + minor
    return {"kind": ["major"] * len(major) + ["minor"] * len(minor),
            "name": major_names + minor_names, "geometry": lines}


def _water(plan, rng):
    """A river across the town, two streams, a few ponds."""
    outline = plan.outline
    radius = np.sqrt(outline.area / np.pi)
    river = _meander(*_across(outline, rng), rng, 0.12 * radius, 1.5, 160)
    streams = [_meander(*_across(outline, rng, 0.8), rng, 0.08 * radius, 2.0, 80)
               for _ in range(2)]
    river_name, *stream_names = names.place_names(3, rng, "河")
    ponds, pond_names = [], []
    homes = plan.levels[3].polygon
    for name in names.place_names(4, rng, "荡"):
        spot = shapely.point_on_surface(homes[rng.integers(len(homes))])
        r = rng.uniform(60, 160)
        theta = np.linspace(0, 2 * np.pi, 24, endpoint=False)
        wobble = 1 + 0.2 * np.sin(3 * theta + rng.uniform(0, 6))
        ring = np.c_[np.cos(theta) * wobble * r * 1.4, np.sin(theta) * wobble * r]
        ponds.append(shapely.Polygon(np.asarray(spot.coords[0]) + ring))
        pond_names.append(name)
    geometry = [river.buffer(18, quad_segs=4), river, *streams, *ponds]
    name = [river_name, river_name, *stream_names, *pond_names]
    return {"name": name, "geometry": geometry}


def _places(plan):
    towns, villages = plan.levels[0], plan.levels[1]
    town_points = list(shapely.centroid(towns.polygon))
    village_points = list(shapely.points(plan.village_centres))
    return {"kind": ["town"] * len(town_points) + ["village"] * len(village_points),
            "name": [*towns.name, *villages.name],
            "geometry": town_points + village_points}


def features(scale="town", seed=1):
    """The basemap's layers of the demo ``generate(scale, seed)``, in EPSG:4326.

    Returns
    -------
    dict
        ``{"roads": GeoDataFrame(kind, name), "water": GeoDataFrame(name),
        "places": GeoDataFrame(kind, name)}``, everything cut to 1.5 km around
        the demo's outline.
    """
    plan = _plan(scale, seed)
    rng = np.random.default_rng([seed, _STREAM])
    frame = plan.outline.buffer(1500)
    out = {}
    for layer, columns in (("roads", _roads(plan, rng)), ("water", _water(plan, rng)),
                           ("places", _places(plan))):
        gdf = geopandas.GeoDataFrame(columns, geometry="geometry", crs=plan.crs)
        gdf["geometry"] = gdf.geometry.intersection(frame)
        gdf = gdf[~gdf.geometry.is_empty].reset_index(drop=True)
        out[layer] = gdf.to_crs(WGS84)
    return out
