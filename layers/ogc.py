"""The layers as OGC API – Features collections (for QGIS, GDAL, any OAPIF client).

No second, looser query: each collection is built from the same scoping and
masking fragments as the JSON API's reads (``layers.grids``: the visible grids
and their household counts; ``layers.households``: the masked columns per role;
``layers.incidents``: the incident row), and the reads of personal data
(households, incidents: their reporters) write one audit row per request, as
the JSON API's listings do. Every collection is ordered by its identifier, so
``offset`` paging is stable.
"""

import datetime as dt
from dataclasses import dataclass, field
from typing import NamedTuple

from psycopg import sql
from psycopg.rows import dict_row

from geo.catalogue import say
from geo.localtime import CHINA_TZ
from geo.vocab import GRID_LEVELS
from layers import audit, tiles
from layers import grids as grids_layer
from layers import households as households_layer
from layers import incidents as incidents_layer
from layers.access import like_prefix
from layers.errors import Forbidden, Invalid, NotFound

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "COLLECTIONS", "Collection", "visible",
           "collection", "items", "item", "extent", "extent_cache"]

DEFAULT_LIMIT = 100
MAX_LIMIT = 10_000


@dataclass(frozen=True)
class Collection:
    """One collection: its id, titles, the permission that reads it, the SQL
    ``kind`` that serves it, the property filters it takes (name -> (column,
    Python type)) and its temporal column (None: no ``datetime``)."""

    id: str
    title: str
    description: str
    permission: str
    kind: str
    level: int | None = None
    filters: dict = field(default_factory=dict)
    temporal: str | None = None
    geometry: str = "point"


_GRID_FILTERS = {"code": ("g.code", str), "name": ("g.name", str),
                 "parent": ("g.parent_code", str)}

COLLECTIONS = {c.id: c for c in (
    *(Collection(f"grids-{level}", f"{zh}（{en}）",
                 say("ogc_grid_boundaries_of_level_level",
                     level=level), "map:view", "grids", level, _GRID_FILTERS,
                 geometry="multipolygon")
      for level, (zh, en) in sorted(GRID_LEVELS.items())),
    Collection("households", "住户（Households）",
               say("ogc_households_names_phones_and_id"), "households:read",
               "households",
               filters={"grid_code": ("t.grid_code", str), "size": ("t.size", int)}),
    Collection("cameras", "摄像头（Cameras）",
               say("ogc_video_cameras"), "map:view", "cameras",
               filters={"code": ("c.code", str), "kind": ("c.kind", str),
                        "owner": ("c.owner", str), "status": ("c.status", str),
                        "grid_code": ("c.grid_code", str)}),
    Collection("incidents", "事件（Incidents）",
               say("ogc_incidents_datetime_the_time_received"), "incidents:read",
               "incidents",
               filters={"code": ("i.code", str), "status": ("i.status", str),
                        "category": ("i.category", str), "source": ("i.source", str),
                        "grid_code": ("i.grid_code", str),
                        "escalation_level": ("i.escalation_level", int)},
               temporal="i.created_at"),
    Collection("tracks", "巡查轨迹（Patrol tracks）",
               say("ogc_grid_workers_patrol_tracks_one"), "tracks:read", "tracks",
               filters={"staff_id": ("t.staff_id", int), "day": ("t.day", str)},
               temporal="t.day", geometry="multilinestring"),
)}


def visible(principal):
    """The collections ``principal`` may read, in a stable order."""
    return [c for c in COLLECTIONS.values() if principal.can(c.permission)]


def collection(principal, cid):
    """The collection ``cid``; NotFound if there is none, Forbidden if the user's
    role may not read it (as the JSON API answers the same read)."""
    found = COLLECTIONS.get(cid)
    if found is None:
        raise NotFound(say("ogc_no_collection_cid_r", cid=cid, cid_r=repr(cid)),
                       field="collectionId")
    if not principal.can(found.permission):
        raise Forbidden(say("ogc_your_role_role_may_not", role=principal.role, cid=cid,
                            cid_r=repr(cid),
                            permission=found.permission), field="collectionId")
    return found


# -- the SQL of each kind: (select of features, from + scope, order, params) -----

def _grids(principal, coll):
    select = sql.SQL("{} AS feature").format(grids_layer.FEATURE)
    # c: the households per grid (see _counted); PostgreSQL drops the join where
    # nothing reads it (the count of matches, the extent)
    source = sql.SQL("grids g LEFT JOIN c USING (code)"
                     " WHERE {visible} AND g.level = %(level)s").format(
        visible=grids_layer.VISIBLE)
    params = grids_layer.scope_params(principal) | {
        "level": coll.level, "levels": [coll.level], "prefix": like_prefix("")}
    return select, source, "g.code", "g.geom", params


def _households(principal, coll):
    select = households_layer.FIELDS
    source = sql.SQL("households t WHERE t.grid_code LIKE %(scope)s")
    return select, source, "t.id", "t.geom", households_layer.scope_params(principal)


def _cameras(principal, coll):
    select = sql.SQL("c.code, c.name, c.kind, c.bearing, c.fov_deg, c.range_m,"
                     " c.owner, c.status, c.grid_code, ST_X(c.geom) AS lon,"
                     " ST_Y(c.geom) AS lat")
    source = sql.SQL("cameras c WHERE c.grid_code LIKE %(scope)s")
    return select, source, "c.code", "c.geom", {"scope": principal.prefix}


def _incidents(principal, coll):
    source = sql.SQL("{} WHERE i.grid_code LIKE %(scope)s").format(
        incidents_layer.FROM)
    params = {"scope": principal.prefix, "now": dt.datetime.now(dt.UTC)}
    return incidents_layer.FIELDS, source, "i.code", "i.geom", params


def _tracks(principal, coll):
    select = sql.SQL("t.id, t.staff_id, s.name AS worker, t.day, t.name,"
                     " s.grid_code, ST_AsGeoJSON(t.geom, 7)::json AS geometry")
    source = sql.SQL("tracks t JOIN grid_staff s ON s.id = t.staff_id"
                     " WHERE s.grid_code LIKE %(scope)s")
    return select, source, "t.id", "t.geom", {"scope": principal.prefix}


_KINDS = {"grids": _grids, "households": _households, "cameras": _cameras,
          "incidents": _incidents, "tracks": _tracks}
_ID = {"grids": "code", "households": "id", "cameras": "code", "incidents": "code",
       "tracks": "id"}
_AUDITED = {"households", "incidents"}


def _counted(coll, query):
    """For grids: ``query`` with ``c``, the households per grid of the level
    (layers/grids.py's count), in scope."""
    if coll.kind != "grids":
        return query
    return sql.SQL("WITH c AS ({}) {}").format(
        grids_layer.HOUSEHOLD_COUNTS, query)


def _feature(kind, row):
    """A row as a GeoJSON Feature (grids come built by PostGIS)."""
    if kind == "grids":
        return row["feature"]
    row = incidents_layer.to_json(row) if kind == "incidents" else dict(row)
    if kind == "tracks":
        geometry = row.pop("geometry")
        row["day"] = row["day"].isoformat()
    else:
        lon, lat = row.pop("lon"), row.pop("lat")
        geometry = {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "id": row[_ID[kind]], "geometry": geometry,
            "properties": row}


def _conditions(coll, geom, bbox, window, filters, params):
    where = []
    if bbox is not None:
        where.append(sql.SQL(
            "{} && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)").format(
            sql.SQL(geom)))
        params.update(zip(("x0", "y0", "x1", "y1"), bbox, strict=True))
    if window is not None and coll.temporal is not None:
        since, until = window
        column = sql.SQL(coll.temporal)
        if coll.kind == "tracks":  # a day: the window's China dates
            since = since and since.astimezone(CHINA_TZ).date()
            until = until and until.astimezone(CHINA_TZ).date()
        if since is not None:
            where.append(sql.SQL("{} >= %(since)s").format(column))
            params["since"] = since
        if until is not None:
            where.append(sql.SQL("{} <= %(until)s").format(column))
            params["until"] = until
    for i, (name, value) in enumerate(sorted(filters.items())):
        column, kind = coll.filters[name]
        if kind is int:
            try:
                value = int(value)
            except ValueError:
                raise Invalid(say("ogc_parameter_name_must_be_an", name=name,
                                  value=repr(value)), field=name) from None
            if abs(value) >= 2**31:
                raise Invalid(say("ogc_parameter_name_is_out_of", name=name,
                                  value=value), field=name)
        key = f"f{i}"
        cast = "::text" if name == "day" else ""
        where.append(sql.SQL("{}{} = {}").format(sql.SQL(column), sql.SQL(cast),
                                                 sql.Placeholder(key)))
        params[key] = value
    return where


def items(conn, principal, coll, *, bbox=None, window=None, filters=None,
          limit=DEFAULT_LIMIT, offset=0):
    """A page of the collection's features the user may see: ``(features,
    number_matched)``. ``window``: ``(since, until)`` aware datetimes (either
    None: open) on the temporal column; ``filters``: property -> value (the
    names of ``coll.filters``). Households and incidents reads are audited."""
    select, source, order, geom, params = _KINDS[coll.kind](principal, coll)
    where = _conditions(coll, geom, bbox, window, filters or {}, params)
    condition = sql.SQL("").join(sql.SQL(" AND {}").format(w) for w in where)
    params |= {"limit": min(int(limit), MAX_LIMIT), "offset": int(offset)}
    cur = conn.cursor(row_factory=dict_row)
    matched = cur.execute(_counted(coll, sql.SQL("SELECT count(*) AS n FROM {}{}"
                                                 ).format(source, condition)),
                          params).fetchone()["n"]
    rows = cur.execute(_counted(coll, sql.SQL(
        "SELECT {} FROM {}{} ORDER BY {} LIMIT %(limit)s OFFSET %(offset)s").format(
        select, source, condition, sql.SQL(order))), params).fetchall()
    if coll.kind in _AUDITED:
        audit.record_read(conn, principal, coll.kind, {
            "via": "ogc", "bbox": bbox, "filters": filters or None,
            "window": window and [w and w.isoformat() for w in window],
            "limit": limit, "offset": offset}, len(rows))
    return [_feature(coll.kind, r) for r in rows], matched


def item(conn, principal, coll, fid):
    """One feature of the collection by its id, within the jurisdiction (one
    outside is NotFound, like a missing one); audited like a list of one."""
    select, source, _, _, params = _KINDS[coll.kind](principal, coll)
    key = _ID[coll.kind]
    column = {"grids": "g.code", "households": "t.id", "cameras": "c.code",
              "incidents": "i.code", "tracks": "t.id"}[coll.kind]
    if key == "id":
        if not fid.isdigit() or len(fid) > 18:
            raise NotFound(say("ogc_no_feature_fid_in_id", id=coll.id, fid=fid,
                               id_r=repr(coll.id)),
                           field="featureId")
        fid = int(fid)
    row = conn.cursor(row_factory=dict_row).execute(_counted(coll, sql.SQL(
        "SELECT {} FROM {} AND {} = %(fid)s").format(select, source, sql.SQL(column))),
        params | {"fid": fid}).fetchone()
    if row is None:
        raise NotFound(say("ogc_no_feature_fid_in_id", id=coll.id, fid=fid,
                           id_r=repr(coll.id)),
                       field="featureId")
    if coll.kind in _AUDITED:
        audit.record_read(conn, principal, coll.kind, {"via": "ogc", "id": str(fid)},
                          1, grid_code=row["grid_code"])
    return _feature(coll.kind, row)


# the data generation (layers/tiles.py, migration 0007) each kind's extent
# follows; tracks have none and are measured on every request
_GENERATIONS = {"grids": "grids", "households": "households", "cameras": "cameras",
                "incidents": "incidents"}


class _Extent(NamedTuple):
    """An extent as :class:`layers.tiles.TileCache` holds it (``body``: its
    size beyond the entry's own)."""

    box: list | None
    body: bytes = b""


def extent_cache(max_bytes=1024 * 1024):
    """A cache of extents by collection, jurisdiction and data generation: the
    tiles' cache (a newer generation of a layer drops its older extents)."""
    return tiles.TileCache(max_bytes)


def extent(conn, principal, coll, cache=None):
    """The bounding box ``[x0, y0, x1, y1]`` of the collection's features the
    user may see (None when it has none); from ``cache`` (:func:`extent_cache`)
    while the layer's data has not changed, so repeated /collections do not
    scan the tables."""
    layer = _GENERATIONS.get(coll.kind)
    if cache is None or layer is None:
        return _measure(conn, principal, coll)
    # the generation first: the extent read after it is at least as new
    key = (layer, coll.id, principal.prefix, principal.grid_code,
           tiles.generation(conn, layer))
    found = cache.get(key)
    if found is None:
        found = _Extent(_measure(conn, principal, coll))
        cache.put(key, found)
    return found.box


def _measure(conn, principal, coll):
    _, source, _, geom, params = _KINDS[coll.kind](principal, coll)
    box = conn.execute(_counted(coll, sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
        " FROM (SELECT ST_Extent({}) AS e FROM {}) x").format(sql.SQL(geom), source)),
        params).fetchone()
    return None if box[0] is None else list(box)
