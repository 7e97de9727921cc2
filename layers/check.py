"""The hierarchy check against the database: read a subtree, let geo/ check it.

The SQL reads the grids under a root (following ``parent_code``, within the user's
jurisdiction) and the household count of each micro-grid; the check itself is
:func:`geo.topology.check_hierarchy`, pure shapely.
"""

import shapely
from psycopg import sql

from geo.crs import WGS84
from layers.errors import NotFound

__all__ = ["load_subtree", "check_subtree"]

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
        raise NotFound(f"no grid with code {root}", field="root")
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
    return {"root": root or principal.grid_code, "grids": len(grids)} | report
