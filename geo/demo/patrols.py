"""Patrol tracks of the demo: a few full-time grid workers walking their
comprehensive grid on the days before ``as_of``, as a GPS logger records
them (a fix every 5–10 s, metres of noise, a lunch break between two patrols).

A patrol goes from the worker's door to a few households of some of the worker's
micro-grids and back, along lanes: each step runs east-west then north-south (or
the other way round) when that stays inside the comprehensive grid, else straight.
Small on purpose: a newcomer sees tracks on the map, the demo stays fast to build.
"""

import datetime

import geopandas
import numpy as np
import pandas as pd
import shapely
from scipy.signal import lfilter

from geo.localtime import CHINA_TZ

__all__ = ["patrols"]

_WALK_MPS = (1.0, 1.4)  # walking speed of a patrol
_FIX_S = (5, 10)  # seconds between GPS fixes (loggers' usual 5–10 s)
# A phone's GPS error in the open: ~3 m, drifting slowly (fix to fix it is
# strongly correlated; white noise would add metres of zigzag to every step)
_GPS_SIGMA_M, _GPS_RHO = 3.0, 0.95
_PAUSE_S = (60, 240)  # at a household door
_STARTS = ((8.5, 9.2), (14.0, 14.6))  # local hours: morning and afternoon patrols


def _picked_grids(n_level3, workers):
    """Which comprehensive grids' workers patrol: the first ones (the first
    village, the demo accounts' jurisdiction) and the last (another village)."""
    first = list(range(min(workers - 1, n_level3)))
    return sorted(set(first) | {n_level3 - 1})


def _lanes(a, b, inside, hub):
    """The way from ``a`` to ``b`` (vertices after ``a``): an L along the axes if
    one stays ``inside``, else straight if that does, else by way of ``hub``."""
    for corner in ((b[0], a[1]), (a[0], b[1])):
        path = np.array([a, corner, b])
        if inside.covers(shapely.LineString(path)):
            return path[1:]
    if hub is not None and not inside.covers(shapely.LineString([a, b])):
        return np.concatenate([_lanes(a, hub, inside, None),
                               _lanes(hub, b, inside, None)])
    return np.array([b])


def _route(door, stops, inside):
    """Vertices from the door through the stops (nearest next) and back, and the
    vertex index of each stop (where the walker pauses)."""
    vertices, at_stop = [np.array([door])], []
    here, left = door, list(stops)
    order = []
    while left:
        order.append(left.pop(int(np.argmin([np.hypot(*(s - here)) for s in left]))))
        here = order[-1]
    here, hub = door, shapely.get_coordinates(shapely.point_on_surface(inside))[0]
    for stop in [*order, door]:
        vertices.append(_lanes(here, stop, inside, hub))
        at_stop.append(sum(len(v) for v in vertices) - 1)
        here = stop
    return np.concatenate(vertices), np.array(at_stop[:-1])


def _walk(vertices, at_stop, start_s, rng):
    """GPS fixes (seconds, x, y) of a walk along ``vertices`` starting at
    ``start_s``, pausing at the stops."""
    step = np.hypot(*np.diff(vertices, axis=0).T)
    along = np.r_[0.0, np.cumsum(step)]
    speed = rng.uniform(*_WALK_MPS)
    pause = rng.uniform(*_PAUSE_S, len(at_stop))
    # (time, distance) breakpoints: arrive at each stop, leave it after the pause
    stop_d = along[at_stop]
    arrive = stop_d / speed + np.r_[0.0, np.cumsum(pause)[:-1]]
    times = np.r_[0.0, np.ravel(np.c_[arrive, arrive + pause]),
                  along[-1] / speed + pause.sum()]
    dists = np.r_[0.0, np.repeat(stop_d, 2), along[-1]]
    n = int(times[-1] / _FIX_S[0]) + 2
    t = np.cumsum(rng.integers(_FIX_S[0], _FIX_S[1] + 1, n)).astype(float)
    t = np.r_[0.0, t[t <= times[-1]]]
    line = shapely.LineString(vertices)
    xy = shapely.get_coordinates(
        shapely.line_interpolate_point(line, np.interp(t, times, dists)))
    return start_s + t, xy + _drift(len(t), rng)


def _drift(n, rng):
    """AR(1) GPS error, ``n`` × 2 metres, stationary with sigma ``_GPS_SIGMA_M``."""
    shocks = rng.normal(0.0, _GPS_SIGMA_M * np.sqrt(1 - _GPS_RHO**2), (n, 2))
    shocks[0] = rng.normal(0.0, _GPS_SIGMA_M, 2)
    return lfilter([1.0], [1.0, -_GPS_RHO], shocks, axis=0)


def patrols(plan, homes, staff, as_of, rng, workers=4, days=5):
    """GPS track points of ``workers`` full-time grid workers over the ``days``
    days before ``as_of`` (a morning and an afternoon patrol a day, the odd day
    off), in ``plan.crs``.

    Returns
    -------
    GeoDataFrame: ``staff`` (row position in ``staff``), ``time`` (UTC), Point
    """
    level3, level4 = plan.levels[2], plan.levels[3]
    full_time = np.flatnonzero(staff["role"].to_numpy() == "full_time")
    by_grid = dict(zip(staff["grid_code"].to_numpy()[full_time], full_time,
                       strict=True))
    home_xy = shapely.get_coordinates(homes.geometry.values)
    home_grid = homes["grid_code"].to_numpy()
    midnight = datetime.datetime.combine(as_of, datetime.time(), CHINA_TZ)
    parts = []
    for k in _picked_grids(len(level3.code), workers):
        person = by_grid.get(level3.code[k])
        if person is None:
            continue
        inside = shapely.buffer(level3.polygon[k], 1.0)
        shapely.prepare(inside)
        own = level4.code[level4.parent == k]
        door = shapely.get_coordinates(staff.geometry.values[person])[0]
        for back in range(days, 0, -1):
            if rng.random() < 0.15:
                continue  # a day off, or a day at the office
            day0 = (midnight - datetime.timedelta(days=back)).timestamp()
            for low, high in _STARTS:
                grids = rng.choice(own, size=min(len(own), rng.integers(1, 3)),
                                   replace=False)
                stops = []
                for code in grids:
                    mine = np.flatnonzero(home_grid == code)
                    count = min(len(mine), int(rng.integers(2, 4)))
                    stops.extend(home_xy[rng.choice(mine, count, replace=False)])
                vertices, at_stop = _route(door, stops, inside)
                start = day0 + rng.uniform(low, high) * 3600
                t, xy = _walk(vertices, at_stop, start, rng)
                parts.append((np.full(len(t), person), t, xy))
    if not parts:
        return geopandas.GeoDataFrame({"staff": [], "time": []}, geometry=[],
                                      crs=plan.crs)
    person, t, xy = (np.concatenate(p) for p in zip(*parts, strict=True))
    return geopandas.GeoDataFrame(
        {"staff": person, "time": pd.to_datetime(np.round(t), unit="s", utc=True)},
        geometry=shapely.points(xy), crs=plan.crs)
