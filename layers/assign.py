"""Bulk assignment in SQL: put every point already in the database into the
micro-grid that holds it.

The join is written with the polygons as the outer side: each micro-grid probes
the points' GiST index for the few points inside it. The naive
``UPDATE households SET … FROM grids WHERE ST_Intersects(…)`` lets the planner loop
over the points instead and takes some twenty times longer on the city
(DESIGN.md's figures: 48.6 s against 2–3.6 s).
"""

from psycopg import sql

__all__ = ["FOLLOWERS", "reassign"]

# tables whose points belong to a micro-grid -> extra condition
FOLLOWERS = {
    "households": sql.SQL("TRUE"),
    "cameras": sql.SQL("TRUE"),
    "grid_staff": sql.SQL("FALSE"),  # staff belong to a grid by duty, not by place
    "incidents": sql.SQL("TRUE"),
}


def reassign(conn, table, prefix="%"):
    """Recompute ``grid_code`` of every point of ``table`` under grids matching the
    LIKE pattern ``prefix``; points in no micro-grid get NULL. Returns the number of
    rows changed."""
    if table not in FOLLOWERS or table == "grid_staff":
        raise ValueError(f"{table} does not follow the grids by position")
    query = sql.SQL("""
        WITH hit AS (
            SELECT DISTINCT ON (t.id) t.id, g.code
            FROM grids g
            JOIN {table} t ON ST_Intersects(g.geom, t.geom)
            WHERE g.level = 4 AND g.code LIKE %(prefix)s
            ORDER BY t.id, g.code),
        target AS (
            SELECT t.id, hit.code FROM {table} t LEFT JOIN hit USING (id)
            WHERE t.grid_code LIKE %(prefix)s OR hit.code IS NOT NULL)
        UPDATE {table} t SET grid_code = target.code FROM target
        WHERE t.id = target.id AND t.grid_code IS DISTINCT FROM target.code
    """).format(table=sql.Identifier(table))
    return conn.execute(query, {"prefix": prefix}).rowcount
