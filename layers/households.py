"""The households layer (personal data: only positions leave this module for now)."""

__all__ = ["positions"]


def positions(conn, limit=20000):
    """Return ``[[lat, lon], ...]`` of households, no personal attribute attached."""
    rows = conn.execute(
        "SELECT ST_Y(geom), ST_X(geom) FROM households ORDER BY id LIMIT %s", (limit,)
    )
    return [[round(lat, 6), round(lon, 6)] for lat, lon in rows]
