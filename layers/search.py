"""Spatial search over households, cameras, staff and incidents: within a radius,
inside a polygon, or the k nearest to a point — always within the user's
jurisdiction, with personal fields masked per role (as ``layers.households``).

Each layer needs the permission of the endpoint that reads it (``LAYERS``): a
search is no back door to a layer the role may not read. A search of households
is a read of personal data, audited as one row per search (zero hits included:
looking a person up is worth recording even when it finds no one). Staff (public
officials, contactable by design: phones masked without staff:contact), cameras
and incidents (no reporter, no description here) are not personal data.
"""

import math

import shapely
from psycopg import sql
from psycopg.rows import dict_row

from geo.catalogue import say
from layers import audit
from layers.errors import Forbidden, Invalid
from layers.households import FIELDS as HOUSEHOLD_FIELDS

__all__ = ["LAYERS", "PERSONAL", "check_layer", "search"]

_M_PER_DEG = 111_320.0

# layer -> (permission, columns, {filter name: column}); the permission is the one
# of the matching read endpoint (households, locate, incidents, the map)
LAYERS = {
    "households": ("households:read", HOUSEHOLD_FIELDS, {}),
    "cameras": ("map:view", sql.SQL(
        "t.id, t.code, t.name, t.kind, t.bearing, t.fov_deg, t.range_m, t.owner,"
        " t.status, t.grid_code, ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat"),
        {"kind": "kind", "status": "status"}),
    "staff": ("locate", sql.SQL(
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
# the layers whose search is a read of personal data (audited)
PERSONAL = frozenset({"households"})


def check_layer(principal, layer):
    """Raise Invalid for an unknown layer, Forbidden for one the role may not
    read (naming the layer and the permission it needs)."""
    if layer not in LAYERS:
        raise Invalid(say("err_parameter_layer", v='、'.join(LAYERS),
                          v2=', '.join(LAYERS)), field="layer")
    permission = LAYERS[layer][0]
    if not principal.can(permission):
        raise Forbidden(say("err_role_may_not_search", role=principal.role, layer=layer,
                            permission=permission), field="layer")


def _audit_query(layer, point, radius_m, k, polygon, filters, limit, offset, fmt):
    """The search as the audit row keeps it: its parameters, a polygon by its
    bounds and vertex count (a hostile polygon may be large)."""
    query = {"via": "search", "layer": layer, "format": fmt, "limit": limit,
             "offset": offset}
    if point is not None:
        query |= {"lon": point[0], "lat": point[1]}
    if radius_m is not None:
        query["radius"] = radius_m
    if k is not None:
        query["k"] = k
    if polygon is not None:
        query |= {"bbox": [round(v, 6) for v in polygon.bounds],
                  "vertices": int(shapely.get_num_coordinates(polygon))}
    if filters:
        query["filters"] = dict(filters)
    return query


def search(conn, principal, layer, point=None, radius_m=None, k=None, polygon=None,
           filters=None, limit=100, offset=0, fmt="geojson"):
    """Return ``{"total": n, "items": [...]}``, nearest first around a point.

    Exactly one of: ``point`` + ``radius_m``; ``point`` + ``k``; ``polygon``
    (shapely, EPSG:4326). ``filters`` maps the layer's filter names to values.
    ``fmt``: the format the answer leaves in (``geojson``, ``csv``), recorded in
    the audit row of a search of personal data.
    """
    check_layer(principal, layer)
    _, columns, allowed = LAYERS[layer]
    where = [sql.SQL("t.grid_code LIKE %(scope)s"), sql.SQL("t.geom IS NOT NULL")]
    params = {"scope": principal.prefix, "limit": limit, "offset": offset,
              "personal": principal.can("households:personal"),
              "tags": principal.can("households:tags"),
              "contact": principal.can("staff:contact")}
    for name, value in (filters or {}).items():
        if name not in allowed:
            raise Invalid(say("err_not_filter", name=name, layer=layer,
                              v='、'.join(allowed) or '无',
                              v2=', '.join(allowed) or 'none'), field=name)
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
    if layer in PERSONAL:
        audit.record_read(conn, principal, layer, _audit_query(
            layer, point, radius_m, k, polygon, filters, limit, offset, fmt),
            len(items))
    return {"total": total, "items": items}
