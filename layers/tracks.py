"""Patrol tracks: stored per grid worker and local day; summarised on request.

The analysis itself is :mod:`geo.tracks`; this module reads and writes the
``tracks`` and ``track_points`` tables, within the user's jurisdiction (a worker's
tracks belong to the grid of the worker).
"""

import datetime as dt

import geopandas
import numpy as np
import pandas as pd
import shapely
from psycopg.rows import dict_row

from geo import tracks as geo_tracks
from geo.crs import WGS84
from layers import audit
from layers.errors import Invalid, NotFound

__all__ = ["save", "summary"]


def _staff(conn, principal, staff_id):
    row = conn.execute(
        "SELECT id, name, grid_code FROM grid_staff"
        " WHERE id = %s AND grid_code LIKE %s", (staff_id, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(f"no grid staff {staff_id}", field="staff")
    return row


def save(conn, principal, staff_id, points, name=None, import_id=None):
    """Clean the GPS ``points`` of one worker (GPX track points: ``time``, Point
    geometry, EPSG:4326) and store one track per leg and local day.

    Returns ``{"tracks": n, "points": n, "dropped": {reason: count}}``.
    """
    _staff(conn, principal, staff_id)
    points = points[points["time"].notna()] if "time" in points else points.iloc[:0]
    if points.empty:
        raise Invalid("the file holds no track point with a time", field="file")
    points = points.assign(worker=staff_id)
    cleaned = geo_tracks.clean(points)
    kept = cleaned.points.assign(day=geo_tracks.local_day(cleaned.points["time"]))
    stored = 0
    with conn.transaction():
        for (day, _leg), part in kept.groupby(["day", "leg"], sort=True):
            if len(part) < 2:
                continue
            xy = shapely.get_coordinates(part.geometry.values)
            line = shapely.multilinestrings([shapely.linestrings(xy)])
            track_id = conn.execute(
                "INSERT INTO tracks (staff_id, day, name, import_id, geom)"
                " VALUES (%s, %s, %s, %s, ST_GeomFromWKB(%s, 4326)) RETURNING id",
                (staff_id, day, name, import_id, shapely.to_wkb(line))).fetchone()[0]
            elevation = part["elevation"] if "elevation" in part else \
                pd.Series(np.nan, index=part.index)
            with conn.cursor() as cur, cur.copy(
                    "COPY track_points (track_id, seq, at, elevation_m, geom)"
                    " FROM STDIN") as copy:
                for seq, (at, z, (x, y)) in enumerate(zip(
                        part["time"], elevation, xy, strict=True)):
                    copy.write_row((track_id, seq, at.isoformat(),
                                    None if pd.isna(z) else float(z),
                                    f"SRID=4326;POINT({float(x)!r} {float(y)!r})"))
            stored += 1
        audit.record(conn, principal, "create", "tracks", staff_id,
                     after={"tracks": stored, "points": len(kept)})
    dropped = cleaned.dropped.value_counts().to_dict()
    return {"tracks": stored, "points": int(len(kept)),
            "dropped": {str(k): int(v) for k, v in dropped.items()}}


def summary(conn, principal, staff_id, since, until):
    """Per local day from ``since`` to ``until`` (dates, inclusive): distance,
    duration, moving time and micro-grids entered; and the period's coverage of
    the worker's own micro-grids (巡查覆盖率)."""
    staff = _staff(conn, principal, staff_id)
    rows = conn.execute(
        "SELECT p.at, ST_X(p.geom), ST_Y(p.geom), t.id FROM track_points p"
        " JOIN tracks t ON t.id = p.track_id"
        " WHERE t.staff_id = %s AND t.day BETWEEN %s AND %s ORDER BY p.at",
        (staff_id, since, until)).fetchall()
    own = [r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE level = 4 AND code LIKE %s ORDER BY code",
        (staff[2] + "%",))]
    result = {"staff": {"id": staff[0], "name": staff[1], "grid_code": staff[2]},
              "from": since.isoformat(), "to": until.isoformat(), "days": [],
              "tracks": {"type": "FeatureCollection", "features": []}}
    if rows:
        at, lon, lat, track = zip(*rows, strict=True)
        points = geopandas.GeoDataFrame(
            {"time": pd.to_datetime(list(at), utc=True), "track": list(track),
             "worker": staff_id},
            geometry=shapely.points(np.array(lon), np.array(lat)), crs=WGS84)
        cleaned = geo_tracks.clean(points)
        grids = _micro_grids(conn, principal, points.total_bounds)
        days = geo_tracks.summarise(cleaned.points, grids)
        result["days"] = [
            {"day": d["day"].isoformat() if isinstance(d["day"], dt.date)
             else str(d["day"]),
             "distance_m": round(float(d["distance_m"]), 1),
             "duration_s": float(d["duration_s"]), "moving_s": float(d["moving_s"]),
             "entered": list(d["entered"]), "distinct": int(d["distinct"])}
            for _, d in days.iterrows()]
        result["tracks"]["features"] = [
            {"type": "Feature", "geometry": shapely.geometry.mapping(g),
             "properties": {"day": r["day"]}}
            for g, r in zip(days.geometry, result["days"], strict=True)
            if g is not None and not g.is_empty]
        entered = [c for d in result["days"] for c in d["entered"]]
    else:
        entered = []
    cover = geo_tracks.coverage({staff_id: entered}, {staff_id: own}).iloc[0]
    result["coverage"] = {
        "own": int(cover["own"]), "visited": int(cover["visited"]),
        "share": None if pd.isna(cover["share"]) else round(float(cover["share"]), 3),
        "not_visited": list(cover["not_visited"])}
    return result


def _micro_grids(conn, principal, bounds):
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT code, level, ST_AsBinary(geom) AS wkb FROM grids WHERE level = 4"
        " AND code LIKE %s AND geom && ST_MakeEnvelope(%s, %s, %s, %s, 4326)",
        (principal.prefix, *map(float, bounds))).fetchall()
    return geopandas.GeoDataFrame(
        {"code": [r["code"] for r in rows], "level": [r["level"] for r in rows]},
        geometry=[shapely.from_wkb(r["wkb"]) for r in rows], crs=WGS84)
