"""Patrols from the phone: batches of GPS fixes appended to the day's track of
the user's staff person, in the same ``tracks`` / ``track_points`` tables as the
imported tracks (``layers/tracks.py``), so that 巡查覆盖率 reads them alike.

One ``tracks`` row per patrol (a uuid the phone makes at its start) and local
day (China time), found by ``tracks.patrol_id`` (migration 0023); each batch's
points are appended with COPY after the track's last ``seq``, and the track's
line is rebuilt from its points in time order (a late batch from a phone that
was offline falls into place). Points are stored as sent: reads clean them, as
they clean every stored track (``layers/tracks.py``).
"""

import datetime as dt
import math
import uuid

import numpy as np
import shapely

from geo.vocab import bilingual
from geo.workdays import CHINA_TZ
from layers import audit
from layers.errors import Conflict, Invalid

__all__ = ["MAX_POINTS", "append"]

MAX_POINTS = 5000  # a batch: ~7 h of 5 s fixes
_FUTURE = dt.timedelta(minutes=5)


def _bad(i, field, zh, en):
    name = f"points[{i}].{field}"
    return Invalid(bilingual(f"第 {i + 1} 个轨迹点的 {field} {zh}",
                             f"'{name}' {en}"), field=name)


def _parse(points):
    """``(lon, lat, epoch seconds)`` arrays of the batch, each point checked."""
    if not isinstance(points, list) or not 0 < len(points) <= MAX_POINTS:
        raise Invalid(bilingual(f"points 须为 1–{MAX_POINTS} 个轨迹点的列表",
                                f"'points' must be a list of 1 to {MAX_POINTS} "
                                "points"), field="points")
    n = len(points)
    lon, lat, at = np.empty(n), np.empty(n), np.empty(n)
    latest = (dt.datetime.now(dt.UTC) + _FUTURE).timestamp()
    for i, p in enumerate(points):
        if not isinstance(p, dict):
            raise _bad(i, "point", "须为对象", "must be an object {lon, lat, time}")
        for name, out, limit in (("lon", lon, 180), ("lat", lat, 90)):
            v = p.get(name)
            if isinstance(v, bool) or not isinstance(v, int | float) or not (
                    math.isfinite(v) and -limit <= v <= limit):
                raise _bad(i, name, f"须为 -{limit}–{limit} 的数",
                           f"must be a number from -{limit} to {limit}")
            out[i] = v
        try:
            t = dt.datetime.fromisoformat(p.get("time"))
        except (TypeError, ValueError):
            raise _bad(i, "time", "须为 ISO 8601 时间",
                       "must be an ISO 8601 date-time") from None
        t = t if t.tzinfo else t.replace(tzinfo=CHINA_TZ)
        at[i] = t.timestamp()
        if at[i] > latest:
            raise _bad(i, "time", "晚于现在", "is in the future")
    return lon, lat, at


def _patrol_id(raw):
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        raise Invalid(bilingual("patrol_id 须为 UUID", "'patrol_id' must be a UUID"),
                      field="patrol_id") from None


def append(conn, principal, patrol_id, points):
    """Append a batch of ``points`` ([{lon, lat, time, accuracy_m}]) to patrol
    ``patrol_id`` of the user's staff person. Returns ``{"stored", "track_id"}``
    (``track_id``: the track of the batch's last local day)."""
    patrol = _patrol_id(patrol_id)
    lon, lat, at = _parse(points)
    order = np.argsort(at, kind="stable")
    lon, lat, at = lon[order], lat[order], at[order]
    days = np.floor((at + 8 * 3600) / 86400).astype(np.int64)  # China local days
    ewkb = shapely.to_wkb(shapely.set_srid(shapely.points(lon, lat), 4326),
                          hex=True, include_srid=True)
    stamps = [dt.datetime.fromtimestamp(t, dt.UTC).isoformat() for t in at.tolist()]
    with conn.transaction():
        row = conn.execute("SELECT u.staff_id, s.grid_code FROM users u"
                           " LEFT JOIN grid_staff s ON s.id = u.staff_id"
                           " WHERE u.id = %s", (principal.user_id,)).fetchone()
        if row is None or row[0] is None:
            raise Conflict(bilingual(
                "此账号未关联网格员，无法记录巡查轨迹（gridgov user link）",
                "this account is linked to no grid staff person: a patrol cannot "
                "be recorded (gridgov user link)"), field="patrol_id")
        staff, grid = row
        track_id = None
        for day in np.unique(days).tolist():
            where = np.flatnonzero(days == day)
            track_id = _track(conn, staff, patrol, dt.date.fromordinal(
                dt.date(1970, 1, 1).toordinal() + day))
            seq = conn.execute("SELECT coalesce(max(seq) + 1, 0) FROM track_points"
                               " WHERE track_id = %s", (track_id,)).fetchone()[0]
            with conn.cursor() as cur, cur.copy(
                    "COPY track_points (track_id, seq, at, geom) FROM STDIN") as copy:
                for k, i in enumerate(where.tolist()):
                    copy.write_row((track_id, seq + k, stamps[i], ewkb[i]))
            conn.execute(
                "UPDATE tracks SET geom = (SELECT CASE WHEN count(*) >= 2 THEN"
                " ST_Multi(ST_MakeLine(geom ORDER BY at, seq)) END"
                " FROM track_points WHERE track_id = %(t)s) WHERE id = %(t)s",
                {"t": track_id})
        audit.record(conn, principal, "create", "track_points", track_id,
                     after={"patrol_id": str(patrol), "staff_id": staff,
                            "points": len(at)}, grid_code=grid)
    return {"stored": len(at), "track_id": track_id}


def _track(conn, staff, patrol, day):
    """The track of ``patrol`` on ``day`` (made on its first batch), locked."""
    track_id, owner = conn.execute(
        "INSERT INTO tracks (staff_id, day, name, patrol_id)"
        " VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (patrol_id, day) WHERE patrol_id IS NOT NULL"
        " DO UPDATE SET patrol_id = EXCLUDED.patrol_id RETURNING id, staff_id",
        (staff, day, "巡查（手机）", patrol)).fetchone()
    if owner != staff:
        raise Conflict(bilingual("该巡查编号属于另一名网格员",
                                 "this patrol_id belongs to another staff person"),
                       field="patrol_id")
    return track_id
