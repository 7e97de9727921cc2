"""Video cameras of the demo: fixed cameras, PTZ domes and vehicle checkpoints."""

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.assign import assign
from geo.demo import names
from geo.demo.hierarchy import off_borders, road_segments
from geo.vocab import CAMERA_KINDS, label

__all__ = ["cameras", "junctions"]

_KIND_SHARE = {"fixed": 0.65, "ptz": 0.25, "checkpoint": 0.10}
# (low, high) of the field of view in degrees and the range in metres per kind
_FOV = {"fixed": (50, 90), "checkpoint": (20, 40), "ptz": (360, 360)}
_RANGE = {"fixed": (30, 120), "checkpoint": (20, 50), "ptz": (60, 150)}
_POLICE_SHARE = {"fixed": 0.45, "ptz": 0.8, "checkpoint": 1.0}
_PLACES = {
    "fixed": [
        "村口",
        "路口",
        "村委会",
        "学校门口",
        "菜场",
        "桥头",
        "厂区门口",
        "停车场",
    ],
    "ptz": ["广场", "路口", "村委会", "公园"],
    "checkpoint": ["路口", "出入口", "桥头"],
}
_STATUS = (["online", "offline", "fault"], [0.90, 0.07, 0.03])


def junctions(roads, outline):
    """Points where two roads cross, inside ``outline``."""
    i, j = np.triu_indices(len(roads), k=1)
    crossings = shapely.get_parts(shapely.intersection(roads[i], roads[j]))
    points = crossings[shapely.get_type_id(crossings) == shapely.GeometryType.POINT]
    xy = shapely.get_coordinates(points).reshape(-1, 2)
    return xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])]


def _on_roads(n, plan, rng):
    """``n`` points on the roads and the bearing of the road there (degrees)."""
    start, end, _ = road_segments(plan.roads)
    length = np.hypot(*(end - start).T)
    seg = rng.choice(len(start), size=n, p=length / length.sum())
    d = end[seg] - start[seg]
    xy = start[seg] + rng.random((n, 1)) * d
    # clockwise from (grid) north; grid and true north differ by < 0.2° here
    bearing = np.degrees(np.arctan2(d[:, 0], d[:, 1])) + 180 * (rng.random(n) < 0.5)
    return xy, bearing % 360


def _mixture(n, parts, rng):
    """``n`` points from a mixture of (share, xy pool, spread) parts."""
    share = np.array([p[0] for p in parts], dtype=float)
    which = rng.choice(len(parts), size=n, p=share / share.sum())
    xy = np.empty((n, 2))
    for k, (_, pool, spread) in enumerate(parts):
        rows = np.flatnonzero(which == k)
        xy[rows] = pool[rng.integers(0, len(pool), len(rows))] + rng.normal(
            0, spread, (len(rows), 2)
        )
    return xy


def cameras(plan, homes, n, rng):
    """``n`` cameras, denser at road junctions, village centres and along roads."""
    homes_xy = shapely.get_coordinates(homes.geometry.values)
    hubs = np.concatenate([plan.village_centres, junctions(plan.roads, plan.outline)])
    count = {k: int(round(n * s)) for k, s in _KIND_SHARE.items() if k != "fixed"}
    count["fixed"] = n - sum(count.values())
    road_xy, road_bearing = _on_roads(n, plan, rng)
    taken = count["checkpoint"]  # the first road points are the checkpoints'
    kinds, xys, bearings = [], [], []
    for kind in CAMERA_KINDS:  # fixed, ptz, checkpoint
        m = count[kind]
        if kind == "checkpoint":
            xy, bearing = road_xy[:taken], road_bearing[:taken]
        else:
            parts = [
                (0.45, homes_xy, 15.0),
                (0.30, road_xy[taken:], 15.0),
                (0.25, hubs, 120.0),
            ]
            if kind == "ptz":
                parts = [(0.6, hubs, 60.0), (0.4, homes_xy, 20.0)]
            xy = _mixture(m, parts, rng)
            bearing = rng.uniform(0, 360, m) if kind == "fixed" else np.full(m, np.nan)
        kinds.append(np.full(m, kind, dtype=object))
        xys.append(xy)
        bearings.append(bearing)
    kind, xy, bearing = (
        np.concatenate(kinds),
        np.concatenate(xys),
        np.concatenate(bearings),
    )

    level4 = plan.levels[3]
    cell = assign(shapely.points(xy), level4.polygon)
    # a camera jittered off the map moves onto a household, which is in a grid
    lost = np.flatnonzero(cell < 0)
    pick = rng.integers(0, len(homes_xy), len(lost))
    xy[lost] = homes_xy[pick]
    cell[lost] = np.searchsorted(level4.code, homes["grid_code"].to_numpy()[pick])
    xy = off_borders(xy, cell, level4.polygon, rng)

    order = np.lexsort((rng.random(n), cell))
    kind, xy, bearing, cell = kind[order], xy[order], bearing[order], cell[order]
    code = level4.code[cell].astype("U9").astype(object)  # the town's code
    seq = np.arange(n) - np.searchsorted(code, code) + 1
    village = plan.levels[2].parent[level4.parent[cell]]
    key = village * len(CAMERA_KINDS) + pd.factorize(kind, sort=True)[0]
    by = np.lexsort((np.arange(n), key))
    number = np.empty(n, dtype=np.int64)
    number[by] = np.arange(n) - np.searchsorted(key[by], key[by]) + 1
    place = np.empty(n, dtype=object)
    fov, reach = np.empty(n), np.empty(n)
    owner = np.full(n, "social", dtype=object)
    for k in CAMERA_KINDS:
        rows = np.flatnonzero(kind == k)
        options = np.array(_PLACES[k], dtype=object)
        place[rows] = options[rng.integers(0, len(options), len(rows))]
        place[rows] += label(CAMERA_KINDS, k)
        fov[rows] = np.round(rng.uniform(*_FOV[k], len(rows)))
        reach[rows] = np.round(rng.uniform(*_RANGE[k], len(rows)))
        owner[rows[rng.random(len(rows)) < _POLICE_SHARE[k]]] = "police"
    frame = pd.DataFrame(
        {
            "code": code + "C" + names.numerals(seq, 4),
            "name": plan.levels[1].name[village] + place + names.numerals(number, 2),
            "kind": kind,
            "bearing": np.round(bearing, 1) % 360,
            "fov_deg": fov,
            "range_m": reach,
            "owner": owner,
            "status": rng.choice(
                np.array(_STATUS[0], dtype=object), size=n, p=_STATUS[1]
            ),
            "grid_code": level4.code[cell],
        }
    )
    return geopandas.GeoDataFrame(frame, geometry=shapely.points(xy), crs=plan.crs)
