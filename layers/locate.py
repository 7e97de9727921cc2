"""Locate a point: its grid chain, the staff responsible, the cameras that see it."""

import math

from psycopg import sql
from psycopg.rows import dict_row

from layers.grids import scope_params

__all__ = ["GENERATION", "degrees_per_metre", "locate", "nearby"]

_M_PER_DEG_LAT = 111_320.0

# One grid per level (on a shared boundary the lowest code wins, deterministically).
_CHAIN = """
    SELECT DISTINCT ON (level) level, code, name
    FROM grids
    WHERE ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326))
      AND (code LIKE %(scope)s OR left(%(root)s, length(code)) = code)
    ORDER BY level, code
"""

# The staff of the chain, with the chain found again inside, so that the three
# queries need nothing from each other and go in one round trip (a pipeline).
_STAFF = sql.SQL("""
    WITH chain AS ({chain})
    SELECT s.id, s.name, s.role,
           CASE WHEN %(contact)s THEN s.phone
                ELSE left(s.phone, 3) || '****' || right(s.phone, 4) END AS phone,
           s.grid_code, c.level
    FROM grid_staff s JOIN chain c ON c.code = s.grid_code
    WHERE s.active
    ORDER BY c.level DESC,
        array_position(
            ARRAY['grid_chief', 'full_time', 'part_time', 'liaison', 'volunteer'],
            s.role),
        s.id
""").format(chain=sql.SQL(_CHAIN))

# A camera sees the point when the point is within its range and, for a camera with
# a bearing (fixed, checkpoint), inside its field of view: the azimuth from camera to
# point differs from the bearing by at most half the angle. Distances and azimuths
# on the spheroid (geography), computed only for the few cameras that pass two cheap
# filters: the GiST index box sized by the largest range any camera has (read from
# the index on range_m, not the 2 km the schema allows: in a dense city that box
# held ~1,200 cameras for one that sees the point), then a planar distance in
# degrees, generous by the east-west scale.
_CAMERAS = """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS geom),
    reach AS (SELECT coalesce(max(range_m), 0) AS m FROM cameras),
    near AS (
        SELECT c.*, ST_Distance(c.geom::geography, p.geom::geography) AS distance_m,
               degrees(ST_Azimuth(c.geom::geography, p.geom::geography)) AS azimuth
        FROM cameras c, p, reach
        WHERE c.geom && ST_Expand(p.geom, reach.m * %(dx)s, reach.m * %(dy)s)
          AND ST_DWithin(c.geom, p.geom, c.range_m * %(dx)s)
          AND c.grid_code LIKE %(scope)s)
    SELECT code, name, kind, bearing, fov_deg, range_m, owner, status, grid_code,
           round(distance_m::numeric, 1)::float AS distance_m,
           ST_X(geom) AS lon, ST_Y(geom) AS lat
    FROM near
    WHERE distance_m <= range_m
      AND (bearing IS NULL OR fov_deg >= 360 OR distance_m < 0.5
           OR abs(mod((azimuth - bearing + 540)::numeric, 360) - 180) <= fov_deg / 2)
    ORDER BY distance_m, code
"""


# The data generation of what locate reads (grids, cameras, grid_staff): the sum of
# their tile_generations slots, bumped inside every writing transaction (0007,
# 0013). One small index read, in the same round trip as the rest.
GENERATION = ("SELECT sum(generation)::bigint AS generation FROM tile_generations"
              " WHERE layer IN ('grids', 'cameras', 'grid_staff')")


def locate(conn, principal, lon, lat, with_nearby=False, index=None,
           generation=None):
    """Return what bears on the point ``(lon, lat)`` (EPSG:4326), as far as the
    user's jurisdiction reaches (outside it: the shared ancestors only).

    Returns
    -------
    dict
        ``grids``: the chain from level 1 down, each ``{level, code, name}`` (empty
        outside every grid: not an error); ``staff``: the active staff of those
        grids, micro-grid first; ``cameras``: the cameras whose view contains the
        point, nearest first, with ``distance_m``; with ``with_nearby``, also
        ``nearby``: what :func:`nearby` answers, found in the same round trip.

    With ``index`` (a ``layers.locate_index.IndexHolder``), the grids, staff and
    cameras come from the process's in-memory index when it holds the generation
    the database has now (``generation``, when the caller has read
    :data:`GENERATION` already; otherwise read in the same round trip as the
    nearby queries) and no catch-up changed it meanwhile, and from the SQL
    otherwise: the same answer either way.
    """
    params = _params(principal, lon, lat)
    core = [("grids", _CHAIN, False), ("staff", _STAFF, False),
            ("cameras", _CAMERAS, False)]
    around = _nearby_queries(principal) if with_nearby else []
    if index is None:
        found = _pipelined(conn, core + around, params)
    else:
        ask = around if generation is not None else \
            [("generation", GENERATION, True), *around]
        found = _pipelined(conn, ask, params) if ask else {}
        if generation is None:
            generation = found.pop("generation")["generation"]
        found |= (index.locate(generation, principal, lon, lat)
                  or _pipelined(conn, core, params))
    if with_nearby:
        found["nearby"] = {key: found.pop(key) for key, _, _ in around}
    return found


def _params(principal, lon, lat):
    dx, dy = degrees_per_metre(lat)
    return {"lon": lon, "lat": lat, "dx": dx, "dy": dy,
            "contact": principal.can("staff:contact"),
            "tags": principal.can("households:tags")} | scope_params(principal)


def _pipelined(conn, queries, params):
    """``{key: rows}`` of ``[(key, query, one_row)]``, every query sent before any
    answer is read (one round trip: the queries need nothing from each other)."""
    cursors = [conn.cursor(row_factory=dict_row) for _ in queries]
    with conn.pipeline():
        for cur, (_, query, _) in zip(cursors, queries, strict=True):
            cur.execute(query, params)
    return {key: cur.fetchone() if one else cur.fetchall()
            for cur, (key, _, one) in zip(cursors, queries, strict=True)}


def degrees_per_metre(lat):
    """``(dx, dy)``: degrees of longitude and of latitude per metre at ``lat``,
    rounded up (1 %: the spheroid's degree of latitude is a little shorter than the
    mean), so that a search box built from them is never too small."""
    dy = 1.01 / _M_PER_DEG_LAT
    return dy / max(math.cos(math.radians(lat)), 0.01), dy


# Around the point, for the dispatcher's panel (issue "Dispatch"): open incidents
# within 200 m, households within 100 m (counted; per tag only for roles that may
# see tags), and the nearest cameras whatever they see. Bounding boxes in degrees
# from degrees_per_metre keep each query on the GiST index.
_NEAR_INCIDENTS = """
    SELECT code, category, subtype, status, grid_code, created_at, deadline,
           ST_X(geom) AS lon, ST_Y(geom) AS lat,
           round(ST_Distance(geom::geography, p::geography)::numeric, 1)::float
               AS distance_m
    FROM incidents, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS p
    WHERE closed_at IS NULL AND grid_code LIKE %(scope)s
      AND geom && ST_Expand(p, 200 * %(dx)s, 200 * %(dy)s)
      AND ST_DWithin(geom::geography, p::geography, 200)
    ORDER BY distance_m, code
"""

_NEAR_HOUSEHOLDS = """
    WITH near AS (
        SELECT tags FROM households,
             ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS p
        WHERE grid_code LIKE %(scope)s
          AND geom && ST_Expand(p, 100 * %(dx)s, 100 * %(dy)s)
          AND ST_DWithin(geom::geography, p::geography, 100))
    SELECT count(*) AS households,
           CASE WHEN %(tags)s THEN (
               SELECT coalesce(jsonb_object_agg(tag, n), '{}')
               FROM (SELECT unnest(tags) AS tag, count(*) AS n FROM near GROUP BY 1) t)
           END AS tags
    FROM near
"""

_NEAREST_CAMERAS = """
    SELECT code, name, kind, status,
           round(ST_Distance(geom::geography, p::geography)::numeric, 1)::float
               AS distance_m
    FROM (SELECT * FROM cameras,
                 ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS p
          WHERE grid_code LIKE %(scope)s ORDER BY geom <-> p LIMIT 20) c
    ORDER BY distance_m, code LIMIT 5
"""


def _nearby_queries(principal):
    queries = [("cameras_nearest", _NEAREST_CAMERAS, False)]
    if principal.can("incidents:read"):
        queries.append(("incidents", _NEAR_INCIDENTS, False))
    if principal.can("households:read"):
        queries.append(("households", _NEAR_HOUSEHOLDS, True))
    return queries


def nearby(conn, principal, lon, lat):
    """What lies around ``(lon, lat)`` for the dispatcher, within the jurisdiction:
    ``incidents`` (open, 200 m; only with incidents:read), ``households`` (count
    within 100 m, per tag when allowed; only with households:read) and
    ``cameras_nearest`` (the 5 nearest)."""
    return _pipelined(conn, _nearby_queries(principal),
                      _params(principal, lon, lat))
