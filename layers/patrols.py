"""Patrols from the phone: batches of GPS fixes appended to the day's track of
the user's staff person, in the same ``tracks`` / ``track_points`` tables as the
imported tracks (``layers/tracks.py``), so that 巡查覆盖率 reads them alike.

One ``tracks`` row per patrol (a uuid the phone makes at its start) and local
day (China time), found by ``tracks.patrol_id`` (migration 0023); each batch's
points are appended after the track's last ``seq``, and the track's line is
rebuilt from its points in time order (a late batch from a phone that was
offline falls into place) — three statements sent at once in one round trip
(a pipeline), then the audit row and the commit, where one statement a round
trip and a COPY took nine (``python -m bench field``, bench/README.md). Points
are stored as sent: reads clean them, as they clean every stored track
(``layers/tracks.py``).
"""

import datetime as dt
import math
import uuid

import numpy as np
from psycopg import sql

from geo.catalogue import say
from geo.workdays import CHINA_TZ
from layers import audit
from layers.errors import Conflict, Invalid

__all__ = ["MAX_POINTS", "append"]

MAX_POINTS = 5000  # a batch: ~7 h of 5 s fixes
_FUTURE = dt.timedelta(minutes=5)


def _bad(i, field, zh, en):
    name = f"points[{i}].{field}"
    return Invalid(say("err_message", v=i + 1, field=field, zh=zh, name=name,
                       en=en), field=name)


def _parse(points):
    """``(lon, lat, epoch seconds)`` arrays of the batch, each point checked."""
    if not isinstance(points, list) or not 0 < len(points) <= MAX_POINTS:
        raise Invalid(say("err_points_list_points",
                          MAX_POINTS=MAX_POINTS), field="points")
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
        raise Invalid(say("err_patrol_id_uuid"),
                      field="patrol_id") from None


# One request's batch in one round trip (a pipeline: each statement sees the
# ones before it): the tracks of the batch's days made or found (the upsert
# locks them, so batches of one patrol queue up there), the points inserted
# after each track's last seq, and each line rebuilt in time order (a late batch
# from a phone that was offline falls into place). The staff person is the
# user's, checked in every statement: another's patrol gets no point.
_TRACKS = """
WITH who AS (SELECT u.staff_id, s.grid_code FROM users u
             LEFT JOIN grid_staff s ON s.id = u.staff_id WHERE u.id = %(user)s)
INSERT INTO tracks (staff_id, day, name, patrol_id, county)
SELECT who.staff_id, d, %(name)s, %(patrol)s, county_of(who.grid_code)
FROM who, unnest(%(days)s::date[]) d
WHERE who.staff_id IS NOT NULL
ON CONFLICT (patrol_id, day) WHERE patrol_id IS NOT NULL
DO UPDATE SET patrol_id = EXCLUDED.patrol_id
RETURNING day, id, staff_id, (SELECT staff_id FROM who), (SELECT grid_code FROM who)
"""
_MINE = """
SELECT t.id, t.day, t.county,
       (SELECT coalesce(max(seq) + 1, 0) FROM track_points
        WHERE track_id = t.id AND county = t.county AND day = t.day) AS next
FROM tracks t WHERE t.patrol_id = %(patrol)s AND t.day = ANY(%(days)s::date[])
  AND t.staff_id = (SELECT staff_id FROM users WHERE id = %(user)s)
"""
# the batch's points (k: their order in time) and their local days (China time)
_BATCH = sql.SQL("""p AS (SELECT lon, lat, at, k, date '1970-01-01'
             + floor((at + %(offset)s) / 86400)::int AS day
      FROM unnest(%(lon)s::float8[], %(lat)s::float8[], %(at)s::float8[])
           WITH ORDINALITY AS p(lon, lat, at, k))""")
_POINTS = sql.SQL("""
WITH t AS MATERIALIZED ({mine}),
{batch}
INSERT INTO track_points (track_id, county, day, seq, at, geom)
SELECT t.id, t.county, t.day,
       t.next + row_number() OVER (PARTITION BY t.id ORDER BY p.k) - 1,
       to_timestamp(p.at), ST_SetSRID(ST_MakePoint(p.lon, p.lat), 4326)
FROM p JOIN t ON t.day = p.day
""").format(mine=sql.SQL(_MINE), batch=_BATCH)
# Each day's line: extended with the batch when the batch comes after every
# point stored (the usual case: no need to read them again), else rebuilt from
# all its points in time order (a late batch); last_at follows (0026). (When
# extended, a first fix exactly where the line ended is not repeated in it:
# ST_MakeLine joins lines so; the points keep it.)
_LINES = sql.SQL("""
WITH {batch},
b AS (SELECT day, to_timestamp(min(at)) AS first_at, to_timestamp(max(at)) AS last_at,
             ST_MakeLine(ST_SetSRID(ST_MakePoint(lon, lat), 4326) ORDER BY k) AS line
      FROM p GROUP BY day)
UPDATE tracks t SET
  geom = CASE WHEN t.geom IS NOT NULL AND t.last_at <= b.first_at
    THEN ST_Multi(ST_MakeLine(ST_GeometryN(t.geom, 1), b.line))
    ELSE (SELECT CASE WHEN count(*) >= 2 THEN
            ST_Multi(ST_MakeLine(q.geom ORDER BY q.at, q.seq)) END
          FROM track_points q WHERE q.track_id = t.id AND q.county = t.county
            AND q.day = t.day) END,
  last_at = CASE WHEN t.last_at <= b.first_at THEN b.last_at
    ELSE (SELECT max(q.at) FROM track_points q WHERE q.track_id = t.id
          AND q.county = t.county AND q.day = t.day) END
FROM b
WHERE t.patrol_id = %(patrol)s AND t.day = b.day
  AND t.staff_id = (SELECT staff_id FROM users WHERE id = %(user)s)
""").format(batch=_BATCH)


def _array(values):
    """A float8[] literal: ~10x cheaper than adapting a list float by float."""
    return "{" + ",".join(map(repr, values.tolist())) + "}"


def append(conn, principal, patrol_id, points):
    """Append a batch of ``points`` ([{lon, lat, time, accuracy_m}]) to patrol
    ``patrol_id`` of the user's staff person. Returns ``{"stored", "track_id"}``
    (``track_id``: the track of the batch's last local day)."""
    patrol = _patrol_id(patrol_id)
    lon, lat, at = _parse(points)
    order = np.argsort(at, kind="stable")
    lon, lat, at = lon[order], lat[order], at[order]
    offset = CHINA_TZ.utcoffset(None).total_seconds()
    first = dt.date(1970, 1, 1).toordinal()
    days = [dt.date.fromordinal(first + d) for d in  # China days, as SQL finds them
            np.unique(np.floor((at + offset) / 86400).astype(np.int64)).tolist()]
    args = {"user": principal.user_id, "patrol": patrol, "name": "巡查（手机）",
            "days": days, "offset": offset, "lon": _array(lon), "lat": _array(lat),
            "at": _array(at)}
    with conn.transaction():
        with conn.pipeline() as pipeline:
            tracks = conn.execute(_TRACKS, args)
            conn.execute(_POINTS, args)
            conn.execute(_LINES, args)
            pipeline.sync()
            rows = tracks.fetchall()
        if not rows:
            raise Conflict(say("err_account_linked_grid_staff"), field="patrol_id")
        if any(owner != staff for _, _, owner, staff, _ in rows):
            raise Conflict(say("err_patrol_id_belongs_another"),
                           field="patrol_id")
        _, track_id, _, staff, grid = max(rows)  # the last day's track
        audit.record(conn, principal, "create", "track_points", track_id,
                     after={"patrol_id": str(patrol), "staff_id": staff,
                            "points": len(at)}, grid_code=grid)
    return {"stored": len(at), "track_id": track_id}
