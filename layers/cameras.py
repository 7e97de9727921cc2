"""The cameras layer."""

from psycopg.rows import dict_row

__all__ = ["list_cameras"]


def list_cameras(conn, limit=5000):
    """Return cameras as dicts with ``lon``/``lat``, in code order."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        "SELECT code, name, kind, bearing, fov_deg, range_m, owner, status,"
        " grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat"
        " FROM cameras ORDER BY code LIMIT %s",
        (limit,),
    ).fetchall()
