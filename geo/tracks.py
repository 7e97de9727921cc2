"""Patrol tracks: clean GPS points, then distance, time and micro-grids per worker.

The input is the track points of :mod:`importers.gpx` (EPSG:4326; ``time`` in UTC,
``track``, ``segment``, Point geometry), optionally with a ``worker`` column.
:func:`clean` drops impossible points and cuts the tracks into legs,
:func:`summarise` measures them per worker and local day (or week), and
:func:`coverage` gives the share of each worker's own micro-grids visited
(巡查覆盖率).

Lengths are planar, in the CGCS2000 Gauss-Krüger zone of the points
(:func:`geo.crs.metric_crs_for`), the same metres as the grids' tolerance: the
scale error is under 1e-5 within 50 km of the central meridian and at most 2.5e-4
(25 cm per km) at a zone's edge, below GPS noise at patrol scale. Days and weeks
are local China time (UTC+8, no daylight saving); weeks start on Monday.
"""

from typing import NamedTuple

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.assign import assign
from geo.crs import WGS84, metric_crs_for
from geo.localtime import CHINA_TZ  # the zone's one home; named here for callers

__all__ = ["CHINA_TZ", "Cleaned", "local_day", "clean", "summarise", "coverage",
           "vertex_times"]


class Cleaned(NamedTuple):
    """What :func:`clean` returns.

    points : GeoDataFrame, the kept points sorted by worker and time, with a
        ``leg`` column (0, 1, … over the frame): a continuous piece of track.
    dropped : Series of str, the reason for each dropped point, indexed like the
        input (``dropped.value_counts()`` gives the counts).
    """

    points: geopandas.GeoDataFrame
    dropped: pd.Series


def _seconds(times):
    """UTC seconds since 1970 as float64, whatever the datetime unit."""
    if not isinstance(times.dtype, pd.DatetimeTZDtype):
        raise TypeError("time must be timezone-aware (UTC, as the GPX importer gives)")
    return (times - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()


def local_day(times):
    """The local date in China (UTC+8) of each time.

    Examples
    --------
    >>> t = pd.Series(pd.to_datetime(["2024-05-01T15:59:59Z", "2024-05-01T16:00:00Z"]))
    >>> [str(d) for d in local_day(t)]
    ['2024-05-01', '2024-05-02']
    """
    return times.dt.tz_convert(CHINA_TZ).dt.date


def _worker_ids(frame):
    worker = frame["worker"] if "worker" in frame else pd.Series(None, frame.index)
    ids, labels = pd.factorize(worker, use_na_sentinel=False)
    return ids, labels


def clean(points, max_speed_mps=50.0, max_gap_s=600.0):
    """Drop impossible points and cut the tracks into legs.

    Points without position or time are dropped, then the later of two points of
    a worker at the same time. A point reached from the previous kept point faster
    than ``max_speed_mps`` starts an *excursion*: it and the points after it are
    dropped until one is reachable again from that kept point within ``max_gap_s``
    (a 50 km jump for one second and back drops one point). If none is, the track
    is cut there instead, and a lone point left on either side is dropped. A
    new leg starts at a new worker, GPX track or segment, or after more than
    ``max_gap_s`` without a point.

    Parameters
    ----------
    points : GeoDataFrame of Points in EPSG:4326 with a tz-aware ``time``;
        optional ``worker``, ``track``, ``segment``.
    max_speed_mps, max_gap_s : float

    Returns
    -------
    Cleaned

    Examples
    --------
    >>> p = geopandas.GeoDataFrame(
    ...     {"time": pd.to_datetime(["2024-05-01T00:00:00Z", "2024-05-01T00:00:01Z",
    ...                              "2024-05-01T00:00:11Z"])},
    ...     geometry=geopandas.points_from_xy([119.75, 120.3, 119.7501], [31.25] * 3),
    ...     crs="EPSG:4326")
    >>> kept, dropped = clean(p)
    >>> kept.index.tolist(), dropped.to_dict()
    ([0, 2], {1: 'speed'})
    """
    geometry = points.geometry.values
    reason = pd.Series(None, index=points.index, dtype=object)
    reason[shapely.is_missing(geometry) | shapely.is_empty(geometry)] = "no position"
    reason[reason.isna() & points["time"].isna().to_numpy()] = "no time"
    frame = points[reason.isna().to_numpy()]
    t = _seconds(frame["time"])
    wid, _ = _worker_ids(frame)
    order = np.lexsort((t, wid))
    frame, t, wid = frame.iloc[order], t[order], wid[order]
    dup = np.zeros(len(t), dtype=bool)
    dup[1:] = (wid[1:] == wid[:-1]) & (t[1:] == t[:-1])
    reason[frame.index[dup]] = "duplicate time"
    frame, t, wid = frame[~dup], t[~dup], wid[~dup]
    if frame.empty:
        return Cleaned(frame.assign(leg=np.zeros(0, dtype=np.int64)), reason.dropna())
    m = frame.geometry.to_crs(metric_crs_for(frame))
    x, y, n = m.x.to_numpy(), m.y.to_numpy(), len(frame)

    brk = np.ones(n, dtype=bool)  # brk[i]: point i starts a leg
    brk[1:] = (wid[1:] != wid[:-1]) | (np.diff(t) > max_gap_s)
    for column in ("track", "segment"):
        if column in frame:
            v = pd.factorize(frame[column], use_na_sentinel=False)[0]  # NA: a value
            brk[1:] |= v[1:] != v[:-1]
    speed = np.hypot(np.diff(x), np.diff(y)) / np.diff(t)
    fast = np.flatnonzero(np.r_[False, speed > max_speed_mps] & ~brk)
    starts = np.flatnonzero(brk)
    leg_end = np.repeat(np.r_[starts[1:], n] - 1, np.diff(np.r_[starts, n]))
    keep = np.ones(n, dtype=bool)
    # A loop over the fast steps, not over the points: usually none or a few. No
    # array test can replace it: "faster than from the previous point" would drop
    # the spike *and* the good point after it (the way back is as fast), and
    # "fast in and out" misses two bad points side by side and the ends of a leg.
    # Each step's search is vectorised and bounded by max_gap_s.
    settled = 0  # points before it are decided
    for f in fast:
        if f <= settled:
            continue  # inside an excursion already dropped
        a, end = f - 1, leg_end[f]  # a: the previous kept point
        stop = f + np.searchsorted(t[f:end + 1], t[a] + max_gap_s, side="right")
        back = np.hypot(x[f:stop] - x[a], y[f:stop] - y[a]) / (t[f:stop] - t[a])
        ok = np.flatnonzero(back <= max_speed_mps)
        if ok.size:
            settled = f + ok[0]
            keep[f:settled] = False
        elif f == end:
            keep[f], settled = False, f  # a lone last point
        else:
            keep[a] &= not brk[a]  # a lone first point
            brk[f], settled = True, f
    reason[frame.index[~keep]] = "speed"
    kept = frame[keep].copy()
    kept["leg"] = np.cumsum(brk[keep]) - 1
    return Cleaned(kept, reason.dropna())


def _fill(state, decided, group):
    """Carry each decided state forward, then back, within runs of equal ``group``
    (sorted); a group with no decided point takes the state of its first point."""
    n = len(state)
    pos = np.arange(n)
    first = np.r_[0, np.flatnonzero(group[1:] != group[:-1]) + 1]
    start = np.repeat(first, np.diff(np.r_[first, n]))
    last = np.maximum.accumulate(np.where(decided, pos, -1))
    nxt = np.minimum.accumulate(np.where(decided, pos, n)[::-1])[::-1]
    end = np.repeat(np.r_[first[1:], n], np.diff(np.r_[first, n]))
    src = np.where(last >= start, last, np.where(nxt < end, nxt, start))
    return state[src]


def summarise(points, grids, by="day", min_speed_mps=0.3, tolerance_m=5.0, level=4):
    """Distance, time and micro-grids entered per worker and local day or week.

    A step is counted between two consecutive points of the same leg. Moving time
    is the time of the steps faster than ``min_speed_mps``. Each point goes to the
    grid :func:`geo.assign.assign` gives it (on a shared edge: the first grid), but
    a point within ``tolerance_m`` of any grid's boundary is *undecided* and takes
    the grid of the last decided point before it (else of the next one after it):
    a walk along a shared boundary, or less than ``tolerance_m`` into the
    neighbour, does not enter it. A day that is never decided stays in the grid
    ``assign`` gives its first point. A grid entered, left and entered again is
    two entries; time outside all grids is left out of ``entered``.

    Parameters
    ----------
    points : GeoDataFrame, as :func:`clean` returns it (with ``leg``)
    grids : GeoDataFrame with ``code`` (and ``level``: only ``level`` is used)
    by : ``"day"`` or ``"week"`` (the Monday that starts it)
    min_speed_mps, tolerance_m : float
    level : int or None, the grid level to use if ``grids`` has ``level``

    Returns
    -------
    GeoDataFrame in EPSG:4326, one row per worker and period: ``worker``, ``day``
    or ``week``, ``points``, ``distance_m``, ``duration_s``, ``moving_s``,
    ``entered`` (codes in order), ``entries``, ``distinct``, and the legs as a
    MultiLineString geometry (empty if no leg has two points).
    """
    if "leg" not in points:
        raise ValueError("points have no 'leg' column: run geo.tracks.clean first")
    if by not in ("day", "week"):
        raise ValueError(f"by must be 'day' or 'week', not {by!r}")
    if level is not None and "level" in grids:
        grids = grids[grids["level"] == level]
    if points.empty:
        columns = ["worker", by, "points", "distance_m", "duration_s", "moving_s",
                   "entered", "entries", "distinct"]
        return geopandas.GeoDataFrame(columns=columns, geometry=[], crs=WGS84)
    t = _seconds(points["time"])
    wid, workers = _worker_ids(points)
    period = np.floor((t + 8 * 3600) / 86400).astype(np.int64)  # local day number
    if by == "week":
        period = (period + 3) // 7 * 7 - 3  # back to Monday
    order = np.lexsort((t, period, wid))
    t, wid, period = t[order], wid[order], period[order]
    leg = points["leg"].to_numpy()[order]
    lonlat = shapely.get_coordinates(points.geometry.values[order])
    new = np.r_[True, (wid[1:] != wid[:-1]) | (period[1:] != period[:-1])]
    gid = np.cumsum(new) - 1
    heads = np.flatnonzero(new)
    n_groups = len(heads)

    crs = metric_crs_for(points)
    pts = points.geometry.iloc[order].to_crs(crs).values
    xy = shapely.get_coordinates(pts)
    same = (gid[1:] == gid[:-1]) & (leg[1:] == leg[:-1])
    d = np.hypot(*np.diff(xy, axis=0).T)[same]
    dt = np.diff(t)[same]
    g = gid[1:][same]
    distance = np.bincount(g, weights=d, minlength=n_groups)
    moving = np.bincount(g, weights=np.where(d > min_speed_mps * dt, dt, 0.0),
                         minlength=n_groups)
    tails = np.r_[heads[1:], len(t)] - 1

    polygons = grids.geometry.to_crs(crs).values
    state = assign(pts, polygons)
    near = np.zeros(len(pts), dtype=bool)
    tree = shapely.STRtree(shapely.boundary(polygons))
    near[tree.query(pts, predicate="dwithin", distance=tolerance_m)[0]] = True
    state = _fill(state, ~near, gid)
    run = np.r_[True, (state[1:] != state[:-1]) | (gid[1:] != gid[:-1])]
    run &= state >= 0
    codes = grids["code"].to_numpy(dtype=object)
    entered = [[] for _ in range(n_groups)]
    for group, code in zip(gid[run], codes[state[run]], strict=True):
        entered[group].append(code)

    piece = np.cumsum(np.r_[True, ~same])
    size = np.bincount(piece)[piece]
    line_pts = size >= 2
    _, dense = np.unique(piece[line_pts], return_inverse=True)
    lines = shapely.linestrings(lonlat[line_pts], indices=dense)
    line_gid = gid[line_pts][np.r_[True, np.diff(dense) != 0]]
    geometry = np.full(n_groups, shapely.from_wkt("MULTILINESTRING EMPTY"))
    if len(lines):
        has, dense = np.unique(line_gid, return_inverse=True)
        geometry[has] = shapely.multilinestrings(lines, indices=dense)
    day = pd.to_datetime(period[heads] * 86400, unit="s").date
    return geopandas.GeoDataFrame({
        "worker": workers[wid[heads]], by: day,
        "points": tails - heads + 1, "distance_m": distance,
        "duration_s": t[tails] - t[heads], "moving_s": moving, "entered": entered,
        "entries": [len(e) for e in entered],
        "distinct": [len(set(e)) for e in entered],
    }, geometry=geometry, crs=WGS84)


def coverage(entered, own):
    """The share of each worker's own micro-grids visited (巡查覆盖率).

    Parameters
    ----------
    entered : mapping (or Series) worker → iterable of codes entered in the period
    own : mapping (or Series) worker → iterable of the worker's own codes

    Returns
    -------
    DataFrame indexed by the workers of ``own``: ``own`` and ``visited`` (counts),
    ``share`` (0–1; NaN for a worker with no grid) and ``not_visited`` (sorted).
    Codes entered outside a worker's own grids do not count.

    Examples
    --------
    >>> c = coverage({"w": ["a", "c", "x", "a"]}, {"w": {"a", "b", "c", "d"}})
    >>> print(c.loc["w", "share"], c.loc["w", "not_visited"])
    0.5 ['b', 'd']
    """
    entered = {worker: set(codes) for worker, codes in entered.items()}
    rows = {}
    for worker, codes in own.items():
        codes = set(codes)
        visited = codes & entered.get(worker, set())
        rows[worker] = {
            "own": len(codes), "visited": len(visited),
            "share": len(visited) / len(codes) if codes else float("nan"),
            "not_visited": sorted(codes - visited),
        }
    columns = ["own", "visited", "share", "not_visited"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns)


def vertex_times(xy, times, kept_xy):
    """The time of each vertex of a line simplified from the fixes ``xy``.

    Douglas-Peucker (shapely's ``simplify``, with or without topology kept)
    keeps a subsequence of the input's vertices, so each kept vertex is the
    first fix at or after the previous match with the same coordinates; its
    time is that fix's. A vertex matching no fix (not a simplification of
    ``xy``) keeps the time of the previous match.

    Parameters
    ----------
    xy : (n, 2) float array, the fixes in order
    times : (n,) float array, their times (any unit)
    kept_xy : (m, 2) float array, the simplified line's vertices

    Returns
    -------
    (m,) float array

    Examples
    --------
    >>> xy = np.array([[0, 0], [1, 0.01], [2, 0], [2, 1]], dtype=float)
    >>> line = shapely.simplify(shapely.linestrings(xy), 0.1)
    >>> vertex_times(xy, np.array([0., 5., 10., 20.]), shapely.get_coordinates(line))
    array([ 0., 10., 20.])
    """
    xy = np.asarray(xy, dtype=float)
    times = np.asarray(times, dtype=float)
    out = np.empty(len(kept_xy))
    j = 0
    for i, (x, y) in enumerate(np.asarray(kept_xy, dtype=float)):
        hit = np.flatnonzero((xy[j:, 0] == x) & (xy[j:, 1] == y))
        if len(hit):
            j += int(hit[0])
        out[i] = times[j]
    return out
