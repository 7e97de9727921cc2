"""Spatial search over households, cameras, staff and incidents: within a radius,
inside a polygon, or the k nearest to a point — always within the user's
jurisdiction, with personal fields masked per role (as ``layers.households``)."""

import math

import shapely
from psycopg import sql
from psycopg.rows import dict_row

from layers.errors import Invalid
from layers.households import FIELDS as HOUSEHOLD_FIELDS

__all__ = ["LAYERS", "search"]

_M_PER_DEG = 111_320.0

# layer -> (permission, columns, {filter name: column})
LAYERS = {
    "households": ("households:read", HOUSEHOLD_FIELDS, {}),
    "cameras": ("map:view", sql.SQL(
        "t.id, t.code, t.name, t.kind, t.bearing, t.fov_deg, t.range_m, t.owner,"
        " t.status, t.grid_code, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat"),
        {"kind": "kind", "status": "status"}),
    "staff": ("map:view", sql.SQL(
        "t.id, t.name, t.role, CASE WHEN %(contact)s THEN t.phone"
        " ELSE left(t.phone, 3) || '****' || right(t.phone, 4) END AS phone,"
        " t.grid_code, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat"),
        {"role": "role"}),
    "incidents": ("incidents:read", sql.SQL(
        "t.id, t.code, t.category, t.subtype, t.source, t.status, t.grid_code,"
        " t.escalation_level, t.created_at, t.deadline, t.closed_at, t.outcome,"
        " ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat"),
        {"category": "category", "status": "status", "source": "source"}),
}


def search(conn, principal, layer, point=None, radius_m=None, k=None, polygon=None,
           filters=None, limit=100, offset=0):
    """Return ``{"total": n, "items": [...]}``, nearest first around a point.

    Exactly one of: ``point`` + ``radius_m``; ``point`` + ``k``; ``polygon``
    (shapely, EPSG:4326). ``filters`` maps the layer's filter names to values.
    """
    _, columns, allowed = LAYERS[layer]
    where = [sql.SQL("t.grid_code LIKE %(scope)s"), sql.SQL("t.geom IS NOT NULL")]
    params = {"scope": principal.prefix, "limit": limit, "offset": offset,
              "personal": principal.can("households:personal"),
              "tags": principal.can("households:tags"),
              "contact": principal.can("staff:contact")}
    for name, value in (filters or {}).items():
        if name not in allowed:
            raise Invalid(f"'{name}' is not a filter of {layer}: one of "
                          f"{', '.join(allowed) or 'none'}", field=name)
        where.append(sql.SQL("{} = {}").format(
            sql.Identifier("t", allowed[name]), sql.Placeholder(name)))
        params[name] = value
    distance = sql.SQL("NULL::float")
    order = sql.SQL("t.id")
    knn = None
    if point is not None:
        params.update(lon=point[0], lat=point[1])
        here = sql.SQL("ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326)")
        distance = sql.SQL("ST_Distance(t.geom::geography, {}::geography)").format(here)
        order = distance
        if radius_m is not None:
            dy = radius_m / _M_PER_DEG
            params.update(r=radius_m, dy=dy,
                          dx=dy / max(math.cos(math.radians(point[1])), 0.01))
            where.append(sql.SQL(
                "t.geom && ST_Expand({here}, %(dx)s, %(dy)s)"
                " AND ST_DWithin(t.geom::geography, {here}::geography, %(r)s)"
            ).format(here=here))
        elif k is not None:
            # The index's KNN order (<->) is planar in degrees, which ranks east-west
            # distances long by 1/cos(latitude): take a generous set of candidates
            # from it, then rank them on the spheroid.
            params["limit"] = min(limit, k)
            params["candidates"] = max(4 * k, k + 50)
            knn = sql.SQL("t.geom <-> {}").format(here)
    if polygon is not None:
        params["polygon"] = shapely.to_wkb(polygon)
        where.append(sql.SQL(
            "ST_Intersects(t.geom, ST_GeomFromWKB(%(polygon)s, 4326))"))
    cond = sql.SQL(" AND ").join(where)
    table = sql.Identifier(layer if layer != "staff" else "grid_staff")
    if knn is not None:
        cond = sql.SQL(
            "{cond} AND t.id IN (SELECT t.id FROM {table} t WHERE {cond}"
            " ORDER BY {knn} LIMIT %(candidates)s)").format(cond=cond, table=table,
                                                           knn=knn)
    count = sql.SQL("SELECT count(*) FROM {} t WHERE {}").format(table, cond)
    total = conn.execute(count, params).fetchone()[0]
    if k is not None:
        total = min(total, k)
    query = sql.SQL(
        "SELECT {columns}, round(({distance})::numeric, 1)::float AS distance_m"
        " FROM {table} t WHERE {cond} ORDER BY {order}, t.id"
        " LIMIT %(limit)s OFFSET %(offset)s"
    ).format(columns=columns, distance=distance, table=table, cond=cond, order=order)
    items = conn.cursor(row_factory=dict_row).execute(query, params).fetchall()
    return {"total": total, "items": items}
