"""The audit log: who changed (or read) what, when, with before and after.

Rows are append-only: the database refuses UPDATE, DELETE and TRUNCATE on them.
The table is partitioned by ``county`` (migration 0035), the first six digits
of ``grid_code`` ('' without one), which every INSERT names.
"""

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from layers import db

__all__ = ["record", "record_read", "search", "ACTIONS"]

ACTIONS = ("create", "update", "delete", "read", "login", "token", "import", "load")


def record(conn, principal, action, table, key=None, before=None, after=None,
           geom_before=None, geom_after=None, grid_code=None, records=None):
    """Append one audit row. Geometries as WKT/EWKT text or None (SRID 4326).

    ``grid_code``: the grid the row is about (the household's micro-grid, the
    edited grid, a user's jurisdiction); a scoped admin reads the rows of their
    subtree by it. ``records``: how many records a read returned. A read made on
    a replica's connection writes its row on the primary (``db.for_writes``).
    """
    db.for_writes(conn).execute(
        "INSERT INTO audit (username, action, table_name, row_key, before, after,"
        " geom_before, geom_after, grid_code, records, county)"
        " VALUES (%s, %s, %s, %s, %s, %s,"
        " ST_GeomFromText(%s, 4326), ST_GeomFromText(%s, 4326), %s, %s, %s)",
        (principal.username, action, table, None if key is None else str(key),
         None if before is None else Jsonb(before),
         None if after is None else Jsonb(after), geom_before, geom_after,
         grid_code, records, (grid_code or "")[:6]),
    )


def record_read(conn, principal, table, query, records, grid_code=None):
    """One audit row for one request that returned personal data: who, what query
    (a dict of its parameters), how many records. One row per request, never per
    record, so a list of 5,000 costs one INSERT. ``grid_code`` defaults to the
    reader's jurisdiction root (what the query was confined to)."""
    record(conn, principal, "read", table, key=None, after={"query": query},
           grid_code=grid_code if grid_code is not None else principal.grid_code,
           records=records)


def search(conn, principal, username=None, action=None, table=None, since=None,
           until=None, limit=200, offset=0):
    """Return the audit rows ``principal`` may read, newest first, with geometries
    as GeoJSON.

    An administrator of the whole deployment reads every row. One scoped to a grid
    reads the rows about data of that grid's subtree and the rows of actors
    (users) of the subtree; never a row without a grid (those written before
    ``audit.grid_code`` existed, or about the whole deployment).
    """
    where, params = [sql.SQL("TRUE")], {}
    if principal.grid_code is not None:
        where.append(sql.SQL(
            "grid_code IS NOT NULL AND (grid_code LIKE %(scope)s OR username IN"
            " (SELECT u.username FROM users u WHERE u.grid_code LIKE %(scope)s))"))
        params["scope"] = principal.prefix
    for column, value in (("username", username), ("action", action),
                          ("table_name", table)):
        if value:
            where.append(sql.SQL("{} = {}").format(
                sql.Identifier(column), sql.Placeholder(column)))
            params[column] = value
    if since:
        where.append(sql.SQL("at >= %(since)s"))
        params["since"] = since
    if until:
        where.append(sql.SQL("at < %(until)s"))
        params["until"] = until
    params.update(limit=limit, offset=offset)
    query = sql.SQL(
        "SELECT id, at, username, action, table_name, row_key, before, after,"
        " grid_code, records,"
        " ST_AsGeoJSON(geom_before)::json AS geom_before,"
        " ST_AsGeoJSON(geom_after)::json AS geom_after"
        " FROM audit WHERE {} ORDER BY id DESC LIMIT %(limit)s OFFSET %(offset)s"
    ).format(sql.SQL(" AND ").join(where))
    return conn.cursor(row_factory=dict_row).execute(query, params).fetchall()
