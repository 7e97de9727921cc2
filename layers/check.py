"""The hierarchy check against the database: read a subtree, let geo/ check it.

The SQL reads the grids under a root (following ``parent_code``, within the user's
jurisdiction) and the household count of each micro-grid; the check itself is
:func:`geo.topology.check_hierarchy`, pure shapely.

And the warnings an edit leaves on the grids it saved (``grid_warnings``, migration
0024): a micro-grid saved with a household count out of range keeps the warning
until a later edit or a recount brings it back in range.
"""

import shapely
from psycopg import sql

from geo.catalogue import say
from geo.crs import WGS84
from layers.access import like_prefix
from layers.errors import NotFound

__all__ = ["load_subtree", "check_subtree", "refresh_warnings", "warnings",
           "recount"]

# The subtree of %(root)s, or of every top grid when it is NULL, restricted to the
# user's jurisdiction (%(scope)s, a LIKE pattern) at every step.
_SUBTREE = sql.SQL("""
    WITH RECURSIVE tree AS (
        SELECT code FROM grids
        WHERE code LIKE %(scope)s
          AND (code = %(root)s OR (%(root)s::text IS NULL AND parent_code IS NULL))
        UNION ALL
        SELECT g.code FROM grids g JOIN tree t ON g.parent_code = t.code
        WHERE g.code LIKE %(scope)s
    )
    SELECT g.code, g.name, g.level, g.parent_code, ST_AsBinary(g.geom)
    FROM grids g JOIN tree USING (code)
    ORDER BY g.level, g.code
""")

_HOUSEHOLDS = sql.SQL("""
    SELECT grid_code, count(*) FROM households
    WHERE grid_code = ANY(%(codes)s) AND grid_code LIKE %(scope)s
    GROUP BY grid_code
""")


def load_subtree(conn, principal, root=None):
    """Return the grids of a subtree and the households of its micro-grids.

    Parameters
    ----------
    principal : layers.access.Principal
        Only grids of the user's jurisdiction are read.
    root : str, optional
        Code of the subtree's root; default: the root of the user's jurisdiction
        (every top grid for a user of the whole deployment).

    Returns
    -------
    (geopandas.GeoDataFrame, dict)
        The grids (code, name, level, parent_code, geometry in EPSG:4326; parents
        before children) and ``{micro-grid code: households}``.

    Raises
    ------
    NotFound
        When ``root`` is unknown or outside the user's jurisdiction.
    """
    import geopandas  # heavy (half a second): only when a check is wanted

    root = root or principal.grid_code
    rows = conn.execute(_SUBTREE, {"scope": principal.prefix, "root": root}).fetchall()
    if root is not None and not rows:
        raise NotFound(say("err_no_grid_code", code=root), field="root")
    code, name, level, parent, wkb = zip(*rows, strict=True) if rows else ([],) * 5
    grids = geopandas.GeoDataFrame(
        {"code": list(code), "name": list(name), "level": list(level),
         "parent_code": list(parent)},
        geometry=shapely.from_wkb(list(wkb)), crs=WGS84)
    micro = [c for c, lv in zip(code, level, strict=True) if lv == 4]
    counts = dict(conn.execute(_HOUSEHOLDS, {"codes": micro,
                                             "scope": principal.prefix}).fetchall())
    return grids, counts


def check_subtree(conn, principal, root=None, sliver_m2=1.0):
    """Check the hierarchy under ``root`` (see :func:`load_subtree`).

    Returns
    -------
    dict
        ``{"root": code or None, "grids": number checked, "errors": [...],
        "slivers": [...]}``, the problems as :func:`geo.topology.check_hierarchy`
        lists them.
    """
    from geo.topology import check_hierarchy  # imports geopandas

    grids, counts = load_subtree(conn, principal, root)
    report = check_hierarchy(grids, counts, sliver_m2=sliver_m2)
    parents = dict(zip(grids.code, grids.parent_code, strict=True))
    for problem in report["errors"] + report["slivers"]:
        problem["parent"] = _plan_parent(problem, parents)
    root = root or principal.grid_code
    return {"root": root, "grids": len(grids)} | report | {
        "warnings": warnings(conn, principal, root)}


def _plan_parent(problem, parents):
    """The grid whose children show ``problem`` (the planners' page opens it): the
    gap's parent, else the parent of the first grid named (itself at the top)."""
    first = problem["codes"][0]
    if problem["kind"] == "gap":
        return first
    return parents.get(first) or first


# The micro-grids of %(codes)s with their household counts now.
_COUNTS = sql.SQL("""
    SELECT g.code, count(h.id)::int AS n
    FROM grids g LEFT JOIN households h ON h.grid_code = g.code
    WHERE g.code = ANY(%(codes)s) AND g.level = 4
    GROUP BY g.code
""")


def refresh_warnings(conn, principal, codes):
    """Record or clear the household warning of the grids ``codes`` as they now
    are: a micro-grid out of range keeps (or gets) its warning with the count of
    now; one in range, or gone, loses it. The first edit that left it out of range
    stays its date and author. Returns the warnings now on ``codes``, by code:
    ``[{code, households, low, high, at, username}]``."""
    from geo.topology import HOUSEHOLD_RANGE  # imports geopandas

    if not codes:
        return []
    lo, hi = HOUSEHOLD_RANGE
    params = {"codes": list(codes), "lo": lo, "hi": hi,
              "username": principal.username}
    conn.execute(sql.SQL("""
        WITH c AS ({counts})
        DELETE FROM grid_warnings w
        WHERE w.kind = 'households' AND w.code = ANY(%(codes)s)
          AND NOT EXISTS (SELECT 1 FROM c WHERE c.code = w.code
                          AND c.n NOT BETWEEN %(lo)s AND %(hi)s)""").format(
        counts=_COUNTS), params)
    rows = conn.execute(sql.SQL("""
        WITH c AS ({counts})
        INSERT INTO grid_warnings (code, kind, households, low, high, username)
        SELECT c.code, 'households', c.n, %(lo)s, %(hi)s, %(username)s FROM c
        WHERE c.n NOT BETWEEN %(lo)s AND %(hi)s
        ON CONFLICT (code, kind) DO UPDATE
            SET households = EXCLUDED.households, low = EXCLUDED.low,
                high = EXCLUDED.high
        RETURNING code, households, low, high, at, username""").format(
        counts=_COUNTS), params).fetchall()
    keys = ("code", "households", "low", "high", "at", "username")
    return sorted((dict(zip(keys, r, strict=True)) for r in rows),
                  key=lambda w: w["code"])


def warnings(conn, principal, root=None, codes=None):
    """The household warnings still standing under ``root`` (default: the user's
    jurisdiction) or on ``codes``: those whose micro-grid is still out of range
    now (a count brought back in range by an import shows no warning, even before
    a recount clears it). ``[{code, name, parent, kind, households (now),
    saved_households, low, high, at, username, message}]`` by code."""
    params = {"scope": principal.prefix, "root": like_prefix(root or ""),
              "codes": codes}
    rows = conn.execute("""
        SELECT w.code, g.name, g.parent_code, w.kind, n.n, w.households, w.low,
               w.high, w.at, w.username
        FROM grid_warnings w
        JOIN grids g ON g.code = w.code AND g.level = 4
        CROSS JOIN LATERAL (SELECT count(*)::int AS n FROM households h
                            WHERE h.grid_code = w.code) n
        WHERE w.code LIKE %(scope)s AND w.code LIKE %(root)s
          AND (%(codes)s::text[] IS NULL OR w.code = ANY(%(codes)s::text[]))
          AND n.n NOT BETWEEN w.low AND w.high
        ORDER BY w.code""", params).fetchall()
    keys = ("code", "name", "parent", "kind", "households", "saved_households",
            "low", "high", "at", "username")
    out = [dict(zip(keys, r, strict=True)) for r in rows]
    for w in out:
        w["message"] = (
            f"微网格 {w['code']}（{w['name']}）现有 {w['households']} 户，不在 "
            f"{w['low']}–{w['high']} 户之间（保存时已警告）。"
            f"Micro-grid {w['code']} ({w['name']}) has {w['households']} households,"
            f" not {w['low']}–{w['high']} (warned when saved).")
    return out


def recount(conn, principal, root=None):
    """Count again the households of the micro-grids under ``root`` (default: the
    user's jurisdiction) that carry a warning, and clear those now in range.
    Returns ``{"root", "recounted", "cleared", "warnings"}`` (what still stands).
    NotFound for a root outside the jurisdiction."""
    root = root or principal.grid_code
    if root is not None and conn.execute(
            "SELECT 1 FROM grids WHERE code = %s AND code LIKE %s",
            (root, principal.prefix)).fetchone() is None:
        raise NotFound(say("err_no_grid_code", code=root), field="root")
    with conn.transaction():
        codes = [r[0] for r in conn.execute(
            "SELECT code FROM grid_warnings WHERE code LIKE %s AND code LIKE %s"
            " ORDER BY code FOR UPDATE",
            (principal.prefix, like_prefix(root or ""))).fetchall()]
        kept = refresh_warnings(conn, principal, codes)
    return {"root": root, "recounted": len(codes), "cleared": len(codes) - len(kept),
            "warnings": warnings(conn, principal, root)}
