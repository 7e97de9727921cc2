"""Patrol tracks: stored per grid worker and local day; summarised on request.

The analysis itself is :mod:`geo.tracks`; this module reads and writes the
``tracks`` and ``track_points`` tables, within the user's jurisdiction (a worker's
tracks belong to the grid of the worker). The stored points are the kept ones of
the import; reads clean them again (a track stored by other means is cleaned
too) and report what that drops.
"""

import datetime as dt

import geopandas
import numpy as np
import pandas as pd
import shapely
from psycopg.rows import dict_row

from geo import tracks as geo_tracks
from geo.catalogue import say
from geo.crs import WGS84, metric_crs_for
from layers import audit
from layers.access import like_prefix
from layers.errors import Invalid, NotFound

__all__ = ["MAX_DAYS", "SIMPLIFY_M", "save", "store", "summary", "workers",
           "latest_week", "collection"]

MAX_DAYS = 31  # the longest window of GET /tracks: a month of lines stays light
# Below GPS noise, so the drawing loses nothing one could trust: a patrol's 5 s
# fixes are drawn with a quarter of them or fewer (straight lanes: two).
SIMPLIFY_M = 2.0


def _staff(conn, principal, staff_id, field="staff"):
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT id, name, role, grid_code FROM grid_staff"
        " WHERE id = %s AND grid_code LIKE %s", (staff_id, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_grid_staff", staff_id=staff_id), field=field)
    return row


def save(conn, principal, staff_id, points, name=None, import_id=None):
    """Clean the GPS ``points`` of one worker (GPX track points: ``time``, Point
    geometry, EPSG:4326) and store one track per leg and local day.

    Returns ``{"tracks": n, "points": n, "dropped": {reason: count}}``.
    """
    _staff(conn, principal, staff_id)
    points = points[points["time"].notna()] if "time" in points else points.iloc[:0]
    if points.empty:
        raise Invalid(say("err_file_holds_track_point"),
                      field="file")
    cleaned = geo_tracks.clean(points.assign(worker=staff_id))
    with conn.transaction():
        stored = _insert(conn, cleaned.points, name, import_id)
        audit.record(conn, principal, "create", "tracks", staff_id,
                     after={"tracks": stored, "points": len(cleaned.points)})
    dropped = cleaned.dropped.value_counts().to_dict()
    return {"tracks": stored, "points": int(len(cleaned.points)),
            "dropped": {str(k): int(v) for k, v in dropped.items()}}


def store(conn, points, name=None):
    """Clean and store the points of several workers (``worker``: their staff
    ids) without jurisdiction check nor audit row: for trusted loaders (the
    demo), inside their own transaction. Returns the number of tracks."""
    # clean reports dropped points by index label: labels must be unique
    points = points.reset_index(drop=True)
    return _insert(conn, geo_tracks.clean(points).points, name, None)


def _insert(conn, kept, name, import_id):
    """One ``tracks`` row per worker, local day and leg of two points or more,
    its points in ``track_points`` (one COPY for all)."""
    kept = kept.assign(day=geo_tracks.local_day(kept["time"]))
    xy = shapely.get_coordinates(kept.geometry.values)
    elevation = kept["elevation"].to_numpy(dtype=float) if "elevation" in kept \
        else np.full(len(kept), np.nan)
    at = kept["time"].dt.tz_convert("UTC").dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    groups = kept.groupby(["worker", "day", "leg"]).indices
    rows = []
    for (worker, day, _leg), where in sorted(groups.items()):
        if len(where) < 2:
            continue
        line = shapely.multilinestrings([shapely.linestrings(xy[where])])
        # the county of the worker's grid: the points are partitioned by it
        # and by the track's day (0035)
        track_id, county = conn.execute(
            "INSERT INTO tracks (staff_id, day, name, import_id, geom, county)"
            " VALUES (%(staff)s, %(day)s, %(name)s, %(import)s,"
            " ST_GeomFromWKB(%(line)s, 4326), coalesce((SELECT county_of(grid_code)"
            " FROM grid_staff WHERE id = %(staff)s), '')) RETURNING id, county",
            {"staff": int(worker), "day": day, "name": name, "import": import_id,
             "line": shapely.to_wkb(line)}).fetchone()
        rows.append((track_id, county, day, where))
    ewkb = shapely.to_wkb(shapely.set_srid(kept.geometry.values, 4326), hex=True,
                          include_srid=True)
    with conn.cursor() as cur, cur.copy(
            "COPY track_points (track_id, county, day, seq, at, elevation_m, geom)"
            " FROM STDIN"
    ) as copy:
        for track_id, county, day, where in rows:
            for seq, i in enumerate(where.tolist()):
                z = elevation[i]
                copy.write_row((track_id, county, day, seq, at.iat[i],
                                None if np.isnan(z) else float(z), ewkb[i]))
    return len(rows)


def _points(conn, staff_id, since, until):
    """The stored points of a worker from ``since`` to ``until`` (local days,
    inclusive) as clean's input: ``time``, ``track`` (its id), ``worker``."""
    # epoch seconds, not timestamptz: numbers become one numpy array at once,
    # where 30,000 datetime objects cost more than the query (a month of 5 s fixes)
    rows = conn.execute(
        "SELECT extract(epoch FROM p.at)::float8, ST_X(p.geom), ST_Y(p.geom),"
        " t.id::float8 FROM track_points p JOIN tracks t ON t.id = p.track_id"
        " WHERE t.staff_id = %s AND t.day BETWEEN %s AND %s AND p.at IS NOT NULL"
        " ORDER BY p.at", (staff_id, since, until)).fetchall()
    if not rows:
        return None
    at, lon, lat, track = np.array(rows, dtype=float).T
    return geopandas.GeoDataFrame(
        {"time": pd.to_datetime(np.round(at * 1e6).astype(np.int64), unit="us",
                                utc=True),
         "track": track.astype(np.int64), "worker": staff_id},
        geometry=shapely.points(lon, lat), crs=WGS84)


def _iso(day):
    return day.isoformat() if isinstance(day, dt.date) else str(day)


def _days(cleaned, grids):
    """Per local day: distance, duration, moving time, micro-grids entered."""
    days = geo_tracks.summarise(cleaned.points, grids)
    out = [{"day": _iso(d["day"]), "distance_m": round(float(d["distance_m"]), 1),
            "duration_s": float(d["duration_s"]), "moving_s": float(d["moving_s"]),
            "entered": list(d["entered"]), "distinct": int(d["distinct"])}
           for _, d in days.iterrows()]
    return days, out


def summary(conn, principal, staff_id, since, until, lines=True):
    """Per local day from ``since`` to ``until`` (dates, inclusive): distance,
    duration, moving time and micro-grids entered; and the period's coverage of
    the worker's own micro-grids (巡查覆盖率). ``lines=False`` leaves the days'
    unsimplified lines out (``tracks`` empty): ~300 KB a week of 5 s fixes that a
    page wanting the figures does not need."""
    staff = _staff(conn, principal, staff_id)
    points = _points(conn, staff_id, since, until)
    result = {"staff": {"id": staff["id"], "name": staff["name"],
                        "grid_code": staff["grid_code"]},
              "from": since.isoformat(), "to": until.isoformat(), "days": [],
              "tracks": {"type": "FeatureCollection", "features": []}}
    if points is not None:
        cleaned = geo_tracks.clean(points)
        grids = _micro_grids(conn, principal, points.total_bounds)
        days, result["days"] = _days(cleaned, grids)
        result["tracks"]["features"] = [
            {"type": "Feature", "geometry": shapely.geometry.mapping(g),
             "properties": {"day": r["day"]}}
            for g, r in zip(days.geometry, result["days"], strict=True)
            if lines and g is not None and not g.is_empty]
    entered = [c for d in result["days"] for c in d["entered"]]
    result["coverage"] = _coverage(staff_id, entered, _own_codes(conn, staff))
    return result


def _own_codes(conn, staff):
    return [r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE level = 4 AND code LIKE %s ORDER BY code",
        (like_prefix(staff["grid_code"]),))]


def _coverage(staff_id, entered, own):
    cover = geo_tracks.coverage({staff_id: entered}, {staff_id: own}).iloc[0]
    return {
        "own": int(cover["own"]), "visited": int(cover["visited"]),
        "share": None if pd.isna(cover["share"]) else round(float(cover["share"]), 3),
        "not_visited": list(cover["not_visited"])}


def _micro_grids(conn, principal, bounds):
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT code, level, ST_AsBinary(geom) AS wkb FROM grids WHERE level = 4"
        " AND code LIKE %s AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
        (principal.prefix, *map(float, bounds))).fetchall()
    return geopandas.GeoDataFrame(
        {"code": [r["code"] for r in rows], "level": [r["level"] for r in rows]},
        geometry=[shapely.from_wkb(r["wkb"]) for r in rows], crs=WGS84)


def workers(conn, principal):
    """The grid staff of the jurisdiction who have tracks, with their first and
    last day of tracks and the number of days."""
    return conn.cursor(row_factory=dict_row).execute(
        "SELECT s.id, s.name, s.role, s.grid_code, g.name AS grid_name,"
        " min(t.day) AS first_day, max(t.day) AS last_day,"
        " count(DISTINCT t.day) AS days"
        " FROM grid_staff s JOIN tracks t ON t.staff_id = s.id"
        " LEFT JOIN grids g ON g.code = s.grid_code"
        " WHERE s.grid_code LIKE %s"
        " GROUP BY s.id, g.name ORDER BY s.grid_code, s.id",
        (principal.prefix,)).fetchall()


def latest_week(conn, principal, staff_id, field="worker"):
    """Monday to Sunday of the last week with tracks of the worker (this week
    if there are none)."""
    _staff(conn, principal, staff_id, field)
    last = conn.execute("SELECT max(day) FROM tracks WHERE staff_id = %s",
                        (staff_id,)).fetchone()[0]
    last = last or dt.datetime.now(geo_tracks.CHINA_TZ).date()
    monday = last - dt.timedelta(days=last.weekday())
    return monday, monday + dt.timedelta(days=6)


def collection(conn, principal, staff_id, since, until, tolerance_m=SIMPLIFY_M):
    """A worker's cleaned tracks from ``since`` to ``until`` (local days,
    inclusive) as GeoJSON: one LineString Feature per leg, simplified to
    ``tolerance_m`` in the metric CRS; the points cleaning drops are not drawn.

    Foreign members: ``worker``, ``from``, ``to``, ``days`` (per day: distance,
    duration, moving time, micro-grids entered in order, legs, points, dropped),
    ``dropped`` ({reason: count}) and ``grids``, the worker's own micro-grids
    (``code``, ``name``, ``visited`` in the period).
    """
    if (until - since).days + 1 > MAX_DAYS:
        raise Invalid(say("err_most_days_once", MAX_DAYS=MAX_DAYS, since=since,
                          until=until), field="to")
    staff = _staff(conn, principal, staff_id, field="worker")
    points = _points(conn, staff_id, since, until)
    features, days, dropped = [], [], {}
    if points is not None:
        cleaned = geo_tracks.clean(points)
        _, days = _days(cleaned, _micro_grids(conn, principal, points.total_bounds))
        features = _legs(cleaned.points, staff, tolerance_m)
        lost = geo_tracks.local_day(points.loc[cleaned.dropped.index, "time"])
        lost = lost.astype(str).value_counts().to_dict()
        legs = pd.Series([f["properties"]["day"] for f in features]).value_counts()
        for d in days:
            d["legs"] = int(legs.get(d["day"], 0))
            d["points"] = sum(f["properties"]["points"] for f in features
                              if f["properties"]["day"] == d["day"])
            d["dropped"] = int(lost.get(d["day"], 0))
        dropped = {str(k): int(v)
                   for k, v in cleaned.dropped.value_counts().to_dict().items()}
    visited = {c for d in days for c in d["entered"]}
    return {
        "type": "FeatureCollection",
        "worker": {k: staff[k] for k in ("id", "name", "role", "grid_code")},
        "from": since.isoformat(), "to": until.isoformat(),
        "tolerance_m": tolerance_m, "features": features, "days": days,
        "dropped": dropped,
        "grids": _own_grids(conn, principal, staff, visited),
    }


def _legs(kept, staff, tolerance_m):
    """One Feature per leg (clean's pieces of continuous track) of two points or
    more: its local day, start and end, distance (unsimplified), the line."""
    crs = metric_crs_for(kept)
    xy = shapely.get_coordinates(kept.geometry.to_crs(crs).values)
    leg = kept["leg"].to_numpy()  # kept is sorted by worker and time: legs are runs
    first = np.r_[0, np.flatnonzero(leg[1:] != leg[:-1]) + 1]
    last = np.r_[first[1:], len(leg)] - 1
    first, last = first[last > first], last[last > first]
    if not len(first):
        return []
    along = np.r_[0.0, np.cumsum(np.hypot(*np.diff(xy, axis=0).T))]
    metres = along[last] - along[first]
    size = last - first + 1
    take = np.concatenate([np.arange(a, b + 1) for a, b in zip(first, last,
                                                               strict=True)])
    lines = shapely.linestrings(xy[take], indices=np.repeat(np.arange(len(size)),
                                                            size))
    simple = shapely.simplify(lines, tolerance_m)
    drawn = geopandas.GeoSeries(simple, crs=crs) \
        .to_crs(WGS84).set_precision(1e-7)  # 1e-7° ≈ 1 cm: shorter JSON
    times = kept["time"].dt.tz_convert(geo_tracks.CHINA_TZ)
    epoch = (kept["time"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    features, count = [], {}
    for a, b, m, line, metric in zip(first, last, metres, drawn.values, simple,
                                     strict=True):
        start, end = times.iat[a].to_pydatetime(), times.iat[b].to_pydatetime()
        # the replay's clock: seconds after the start of each vertex drawn
        at = geo_tracks.vertex_times(xy[a:b + 1], epoch[a:b + 1] - epoch[a],
                                     shapely.get_coordinates(metric))
        day = start.date().isoformat()
        count[day] = count.get(day, 0) + 1
        features.append({"type": "Feature", "geometry": shapely.geometry.mapping(line),
                         "properties": {
                             "worker": staff["id"], "worker_name": staff["name"],
                             "day": day, "leg": count[day], "start": start,
                             "end": end, "duration_s": (end - start).total_seconds(),
                             "distance_m": round(float(m), 1),
                             "points": int(b - a + 1),
                             "vertices": int(shapely.get_num_points(line)),
                             "vertex_s": np.round(at, 1).tolist()}})
    return features


def _own_grids(conn, principal, staff, visited):
    rows = conn.execute(
        "SELECT code, name, ST_AsGeoJSON(geom, 7)::json FROM grids"
        " WHERE level = 4 AND code LIKE %s AND code LIKE %s ORDER BY code",
        (like_prefix(staff["grid_code"]), principal.prefix)).fetchall()
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": geometry,
         "properties": {"code": code, "name": name, "visited": code in visited}}
        for code, name, geometry in rows]}
