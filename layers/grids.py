"""The grids layer: the four levels of the grid hierarchy, as GeoJSON.

GeoJSON is built by PostGIS (``ST_AsGeoJSON`` on the whole row), so a listing costs
one query and no geometry parsing in Python. Every query is bounded by the user's
jurisdiction.
"""

from psycopg import sql

from geo.catalogue import say
from layers.access import like_prefix
from layers.errors import NotFound

__all__ = ["MAX_FEATURES", "HOUSEHOLD_COUNTS", "FEATURE", "VISIBLE", "list_grids",
           "get_grid", "grid_at", "scope_params"]

# The browser lags past ~5,000 features (Leaflet's published limits); a listing never
# returns more, and says how many matched.
MAX_FEATURES = 5000

# Households per grid at every level. Codes are hierarchical prefixes (GB/T 31000),
# so a household's micro-grid code cut to the grid's code length names its ancestor:
# one GROUP BY per level instead of a spatial join.
HOUSEHOLD_COUNTS = sql.SQL("""
    SELECT left(h.grid_code, 6 + 3 * lv.level) AS code, count(*) AS households
    FROM households h
    CROSS JOIN (SELECT unnest(%(levels)s::smallint[]) AS level) lv
    WHERE h.grid_code LIKE %(prefix)s AND h.grid_code LIKE %(scope)s
    GROUP BY 1
""")
"""Households per grid code (``code``, ``households``) of ``%(levels)s`` under
``%(prefix)s`` in ``%(scope)s``: the ``c`` the grid features join (OGC too)."""

FEATURE = sql.SQL("""
    json_build_object(
        'type', 'Feature',
        'id', g.code,
        'geometry', ST_AsGeoJSON(g.geom, 9)::json,
        'properties', json_build_object(
            'code', g.code, 'name', g.name, 'level', g.level,
            'parent', g.parent_code,
            'households', coalesce(c.households, 0),
            'households_target', g.households_target,
            'service_hours', g.service_hours,
            'version', g.version, 'valid_from', g.valid_from))
""")
"""A grid row ``g`` (with its households ``c``) as a GeoJSON Feature, built by
PostGIS: the JSON API's and the OGC collections' one form of a grid."""

# A grid is visible to a user when it lies in the user's subtree, or is one of the
# ancestors of the user's own grid (a village sees its town's outline, not its
# neighbours).
VISIBLE = sql.SQL(
    "(g.code LIKE %(scope)s OR left(%(root)s, length(g.code)) = g.code)")
"""The condition a grid ``g`` is visible under (with :func:`scope_params`)."""


def list_grids(conn, principal, level=None, parent=None, bbox=None,
               limit=MAX_FEATURES):
    """Return the grids the user may see, filtered, as a GeoJSON FeatureCollection.

    Parameters
    ----------
    principal : layers.access.Principal
        Whose jurisdiction bounds the answer.
    level : int, optional
        1 (town) … 4 (micro-grid).
    parent : str, optional
        Code of the parent grid: its direct children only.
    bbox : tuple of float, optional
        ``(min_lon, min_lat, max_lon, max_lat)`` in EPSG:4326.
    limit : int
        At most this many features (capped at ``MAX_FEATURES``), in code order.
    """
    where = [VISIBLE]
    params = scope_params(principal)
    if level is not None:
        where.append(sql.SQL("g.level = %(level)s"))
        params["level"] = level
    if parent is not None:
        where.append(sql.SQL("g.parent_code = %(parent)s"))
        params["parent"] = parent
    if bbox is not None:
        where.append(sql.SQL(
            "g.geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)"))
        params.update(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    params["levels"] = [level] if level is not None else [1, 2, 3, 4]
    params["prefix"] = like_prefix(parent or "")
    params["limit"] = min(int(limit), MAX_FEATURES)
    query = sql.SQL("""
        WITH c AS ({counts}),
        matched AS (SELECT g.code FROM grids g WHERE {where}),
        page AS (
            SELECT {feature} AS feature, g.code
            FROM grids g JOIN matched m USING (code)
            LEFT JOIN c USING (code)
            ORDER BY g.code LIMIT %(limit)s)
        SELECT (SELECT count(*) FROM matched),
               coalesce((SELECT json_agg(feature ORDER BY code) FROM page), '[]')
    """).format(counts=HOUSEHOLD_COUNTS, feature=FEATURE,
                where=sql.SQL(" AND ").join(where))
    matched, features = conn.execute(query, params).fetchone()
    return {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "features": features,
    }


def get_grid(conn, principal, code):
    """Return one grid as a GeoJSON Feature.

    Raises NotFound for an unknown code and for a grid outside the user's
    jurisdiction alike (no telling which grids exist elsewhere).
    """
    query = sql.SQL("""
        WITH c AS ({counts})
        SELECT {feature} FROM grids g LEFT JOIN c USING (code)
        WHERE g.code = %(code)s AND {visible}
    """).format(counts=HOUSEHOLD_COUNTS, feature=FEATURE, visible=VISIBLE)
    levels = [len(code) // 3 - 2] if len(code) in (9, 12, 15, 18) else [1]
    params = scope_params(principal) | {
        "code": code, "levels": levels, "prefix": like_prefix(code)}
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise NotFound(say("err_no_grid_code", code=code), field="code")
    return row[0]


def grid_at(conn, principal, code, moment):
    """Grid ``code`` as it was at ``moment`` (a timezone-aware datetime): the
    version in force then, from the history or the current row. NotFound when the
    grid did not exist then, or lies outside the user's jurisdiction."""
    row = conn.execute(sql.SQL("""
        SELECT json_build_object(
            'type', 'Feature', 'id', g.code,
            'geometry', ST_AsGeoJSON(g.geom, 9)::json,
            'properties', json_build_object(
                'code', g.code, 'name', g.name, 'level', g.level,
                'parent', g.parent_code, 'version', g.version,
                'valid_from', g.valid_from, 'valid_to', g.valid_to))
        FROM (
            SELECT code, name, level, parent_code, geom, version, valid_from,
                   valid_to
            FROM grid_history
            WHERE code = %(code)s AND valid_from <= %(at)s AND %(at)s < valid_to
            UNION ALL
            SELECT code, name, level, parent_code, geom, version, valid_from,
                   NULL
            FROM grids WHERE code = %(code)s AND valid_from <= %(at)s
        ) g
        WHERE {visible}
        ORDER BY g.valid_from DESC LIMIT 1
    """).format(visible=VISIBLE), scope_params(principal) | {
        "code": code, "at": moment}).fetchone()
    if row is None:
        raise NotFound(say("err_grid_not_then", code=code, moment=moment),
                       field="at")
    return row[0]


def scope_params(principal):
    """Parameters ``scope`` (LIKE pattern of the subtree) and ``root`` (its code)."""
    return {"scope": principal.prefix, "root": principal.grid_code or ""}

