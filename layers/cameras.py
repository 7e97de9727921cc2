"""The cameras layer."""

from psycopg.rows import dict_row

__all__ = ["list_cameras"]


def list_cameras(conn, principal, limit=5000):
    """Return the cameras of the user's jurisdiction, with ``lon``/``lat``."""
    cur = conn.cursor(row_factory=dict_row)
    return cur.execute(
        "SELECT code, name, kind, bearing, fov_deg, range_m, owner, status,"
        " grid_code, ST_X(geom) AS lon, ST_Y(geom) AS lat"
        " FROM cameras WHERE grid_code LIKE %s ORDER BY code LIMIT %s",
        (principal.prefix, limit),
    ).fetchall()
