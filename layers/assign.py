"""Bulk assignment in SQL: put every point already in the database into the
micro-grid that holds it.

The join has the polygons as its outer side, forced by a LATERAL subquery: each
micro-grid probes the points' GiST index for the few points inside it, and
PostGIS tests them against that one polygon prepared once. Left to itself the
planner loops over the points instead (a plain join, or the naive
``UPDATE households SET … FROM grids WHERE ST_Intersects(…)``): 1.1 M probes of
the grids' index, each an unprepared point-in-polygon test, 51 s on the city
against a few seconds (``python -m bench assign_sql``).
"""

from psycopg import sql

__all__ = ["FOLLOWERS", "reassign"]

# The tables whose points follow the micro-grid holding them -> which rows (on
# the alias t). Staff belong to a grid by duty, not by place: not here.
FOLLOWERS = {
    "households": sql.SQL("TRUE"),
    "cameras": sql.SQL("TRUE"),
    "incidents": sql.SQL("t.closed_at IS NULL"),  # closed incidents keep their grid
}


def reassign(conn, table, prefix="%"):
    """Recompute ``grid_code`` of every point of ``table`` under grids matching the
    LIKE pattern ``prefix`` (of the rows :data:`FOLLOWERS` names: open incidents
    only); points in no micro-grid get NULL. Returns the number of rows changed."""
    if table not in FOLLOWERS:
        raise ValueError(f"{table} does not follow the grids by position")
    which = FOLLOWERS[table]
    table_id = sql.Identifier(table)
    params = {"prefix": prefix}
    # The join in a CREATE TABLE AS, apart from the UPDATE: PostgreSQL runs no
    # part of a data-modifying statement in parallel, but a CREATE TABLE AS it
    # does (on the city: 2.2 s instead of 4.4 s for the same join inside the
    # UPDATE).
    with conn.transaction():
        conn.execute("DROP TABLE IF EXISTS pg_temp.reassign_hit")
        conn.execute(sql.SQL("""
            CREATE TEMP TABLE reassign_hit AS
            SELECT DISTINCT ON (t.id) t.id, g.code
            FROM grids g
            CROSS JOIN LATERAL (
                SELECT t.id FROM {table} t
                WHERE t.geom && g.geom AND ST_Intersects(g.geom, t.geom)
                  AND {which}) t
            WHERE g.level = 4 AND g.code LIKE %(prefix)s
            ORDER BY t.id, g.code""").format(table=table_id, which=which), params)
        conn.execute("ANALYZE reassign_hit")  # a temp table has no statistics
        changed = conn.execute(sql.SQL("""
            UPDATE {table} t SET grid_code = h.code FROM reassign_hit h
            WHERE t.id = h.id AND t.grid_code IS DISTINCT FROM h.code
        """).format(table=table_id)).rowcount
        # the points of the subtree that now lie in no micro-grid lose their grid
        changed += conn.execute(sql.SQL("""
            UPDATE {table} t SET grid_code = NULL
            WHERE t.grid_code LIKE %(prefix)s AND {which}
              AND NOT EXISTS (SELECT 1 FROM reassign_hit h WHERE h.id = t.id)
        """).format(table=table_id, which=which), params).rowcount
        conn.execute("DROP TABLE reassign_hit")
    return changed
