"""OGC API – Features at ``/ogc`` (Part 1: core, GeoJSON, OpenAPI 3.0), for QGIS,
GDAL's OAPIF driver and any other client of the standard.

Thin routes over :mod:`layers.ogc`, which scopes, masks and audits as the JSON
API does. Errors are the OGC exception shape (``code``, ``description``) with our
own ``error`` object beside it (bilingual message, field); a 401 says
``WWW-Authenticate: Basic realm="gridgov"`` (``api.auth``, as on /tiles) so
that QGIS and GDAL offer HTTP Basic (user name + API token as the password).
"""

import datetime as dt
from types import SimpleNamespace
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from api import openapi
from api.auth import REALM, current, requires
from api.db import connection
from api.params import bbox_arg, int_arg, parse_moment
from geo.catalogue import say
from geo.edit import EditError, boundary_from_geojson
from geo.localtime import CHINA_TZ
from layers import grid_edit, grid_scope, ogc
from layers.errors import Conflict, Invalid, LayerError, Unprocessable

__all__ = ["bp", "PREFIX", "document", "REALM"]

PREFIX = "/ogc"
GEOJSON = "application/geo+json"
CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
_CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
_COMMON = {"f", "bbox", "limit", "offset", "datetime"}
_OGC_CODES = {400: "InvalidParameterValue", 401: "Unauthorized", 403: "Forbidden",
              404: "NotFound", 405: "MethodNotAllowed", 406: "NotAcceptable",
              409: "Conflict", 412: "PreconditionFailed",
              422: "InvalidValue", 428: "PreconditionRequired", 503: "Unavailable"}

bp = Blueprint("ogc", __name__)


@bp.record_once
def _make_cache(state):
    state.app.extensions["gridgov.ogc_extents"] = ogc.extent_cache()


# -- errors: the OGC shape, our bilingual message, Basic offered on a 401 --------

def _error(status, code, message, field=None):
    body = {"code": _OGC_CODES.get(status, code), "description": message,
            "error": {"code": code, "message": message}}
    if field is not None:
        body["error"]["field"] = field
    return jsonify(body), status


@bp.errorhandler(LayerError)
def _layer_error(exc):
    return _error(int(exc.http_status), exc.code, exc.message, exc.field)


@bp.errorhandler(HTTPException)
def _http_error(exc):
    return _error(exc.code, (exc.name or "error").lower().replace(" ", "_"),
                  exc.description or exc.name)


# -- parameters ------------------------------------------------------------------

def _format():
    """Only JSON is served: ``f=json`` / ``f=geojson`` or none; else 406."""
    f = request.args.get("f")
    if f not in (None, "", "json", "geojson"):
        raise _NotAcceptable(say("ogc_format_f_f_r_is", f_r=repr(f)), field="f")


class _NotAcceptable(Invalid):
    http_status = 406
    code = "not_acceptable"


def _known(allowed):
    """400 for a query parameter the route does not know (OGC core)."""
    for name in request.args:
        if name not in allowed:
            raise Invalid(say("ogc_unknown_parameter_name_r_known", name=name,
                              value=', '.join(sorted(allowed)), name_r=repr(name)),
                field=name)


def _window():
    """``datetime``: an instant or an interval ``a/b`` (``..`` or empty: open)."""
    raw = request.args.get("datetime")
    if raw is None or raw.strip() == "":
        return None
    parts = raw.split("/")
    if len(parts) > 2:
        raise Invalid(say("ogc_parameter_datetime_must_be_an",
                          raw_r=repr(raw)), field="datetime")
    ends = [None if p in ("", "..") else parse_moment(p, "datetime") for p in parts]
    if len(ends) == 1:
        ends *= 2
    if ends[0] is not None and ends[1] is not None and ends[0] > ends[1]:
        raise Invalid(say("ogc_parameter_datetime_starts_after_it"),
                      field="datetime")
    return tuple(ends)


# -- links -----------------------------------------------------------------------

def _url(path, **query):
    base = request.url_root.rstrip("/") + PREFIX + path
    query = {k: v for k, v in query.items() if v is not None}
    return base + ("?" + urlencode(query) if query else "")


def _link(href, rel, type_="application/json", title=None):
    link = {"href": href, "rel": rel, "type": type_}
    if title:
        link["title"] = title
    return link


def _describe(conn, coll):
    path = f"/collections/{coll.id}"
    extent = ogc.extent(conn, current(), coll,
                        cache=current_app.extensions.get("gridgov.ogc_extents"))
    body = {
        "id": coll.id, "title": coll.title, "description": coll.description,
        "itemType": "feature", "crs": [_CRS84], "storageCrs": _CRS84,
        "links": [_link(_url(path), "self"),
                  _link(_url(path + "/items"), "items", GEOJSON, coll.title)],
        "limit": {"default": ogc.DEFAULT_LIMIT, "maximum": ogc.MAX_LIMIT},
        "queryables": sorted(coll.filters),
    }
    if extent is not None:
        body["extent"] = {"spatial": {"bbox": [extent], "crs": _CRS84}}
    return body


# -- routes ----------------------------------------------------------------------

@bp.get("", strict_slashes=False)  # /ogc/ too, as clients often write it
@requires("map:view")
def landing():
    _known({"f"})
    _format()
    return jsonify({
        "title": "gridgov",
        "description": say("ogc_gridgov_s_layers_ogc_api"),
        "links": [
            _link(_url(""), "self"),
            _link(_url("/openapi.json"), "service-desc",
                  "application/vnd.oai.openapi+json;version=3.0"),
            _link(_url("/conformance"), "conformance"),
            _link(_url("/collections"), "data"),
        ]})


@bp.get("/conformance")
@requires("map:view")
def conformance():
    _known({"f"})
    _format()
    return jsonify({"conformsTo": CONFORMANCE})


@bp.get("/openapi.json")
@requires("map:view")
def service_desc():
    _known({"f"})
    return jsonify(document())


@bp.get("/collections")
@requires("map:view")
def collections():
    _known({"f"})
    _format()
    with connection() as conn:
        found = [_describe(conn, c) for c in ogc.visible(current())]
    return jsonify({"links": [_link(_url("/collections"), "self")],
                    "collections": found})


@bp.get("/collections/<cid>")
@requires("map:view")
def collection(cid):
    coll = ogc.collection(current(), cid)
    _known({"f"})
    _format()
    with connection() as conn:
        return jsonify(_describe(conn, coll))


@bp.get("/collections/<cid>/items")
@requires("map:view")
def items(cid):
    coll = ogc.collection(current(), cid)
    _known(_COMMON | set(coll.filters))
    _format()
    limit = int_arg("limit", 1, ogc.MAX_LIMIT, default=ogc.DEFAULT_LIMIT)
    offset = int_arg("offset", 0, 10**9, default=0)
    bbox = bbox_arg()
    window = _window()
    if window is not None and coll.temporal is None:
        raise Invalid(say("ogc_collection_cid_r_has_no", cid=cid,
                          cid_r=repr(cid)), field="datetime")
    filters = {k: v for k, v in request.args.items() if k in coll.filters}
    with connection() as conn:
        features, matched = ogc.items(conn, current(), coll, bbox=bbox,
                                      window=window, filters=filters, limit=limit,
                                      offset=offset)
    query = dict(request.args)
    links = [_link(_url(f"/collections/{cid}/items", **query), "self", GEOJSON),
             _link(_url(f"/collections/{cid}"), "collection")]
    if offset + len(features) < matched:
        links.append(_link(_url(f"/collections/{cid}/items",
                                **query | {"offset": offset + limit}), "next", GEOJSON))
    if offset > 0:
        links.append(_link(_url(f"/collections/{cid}/items", **query | {
            "offset": max(offset - limit, 0)}), "prev", GEOJSON))
    body = {"type": "FeatureCollection", "features": features,
            "numberMatched": matched, "numberReturned": len(features),
            "timeStamp": dt.datetime.now(CHINA_TZ).isoformat(timespec="seconds"),
            "links": links}
    return jsonify(body), 200, {"Content-Type": GEOJSON}


@bp.get("/collections/<cid>/items/<fid>")
@requires("map:view")
def feature(cid, fid):
    coll = ogc.collection(current(), cid)
    _known({"f"})
    _format()
    with connection() as conn:
        found = ogc.item(conn, current(), coll, fid)
    found["links"] = [
        _link(_url(f"/collections/{cid}/items/{fid}"), "self", GEOJSON),
        _link(_url(f"/collections/{cid}"), "collection")]
    headers = {"Content-Type": GEOJSON}
    if coll.kind == "grids":  # OGC concurrency: the ETag is the grid's version
        headers["ETag"] = f'"{found["properties"]["version"]}"'
    return jsonify(found), 200, headers


# -- Part 4 for grids: create, replace, delete, through /plan's own checks -------

def _grid_collection(cid, level4=False):
    coll = ogc.collection(current(), cid)
    if coll.kind != "grids" or (level4 and coll.level != 4):
        raise _MethodNotAllowed(say("ogc_collection_cid_r_cannot_be", cid=cid,
                                    cid_r=repr(cid)), field="collectionId")
    return coll


class _MethodNotAllowed(Invalid):
    http_status = 405
    code = "method_not_allowed"


class _PreconditionRequired(Invalid):
    http_status = 428
    code = "precondition_required"


class _PreconditionFailed(Invalid):
    http_status = 412
    code = "precondition_failed"


def _if_match(conn, coll, fid):
    """The version an edit starts from (``If-Match``, required): the grid is read
    in the user's jurisdiction first (404 outside), checked editable (403 on the
    root of the jurisdiction), and a stale version is a 412."""
    current_version = ogc.item(conn, current(), coll, fid)["properties"]["version"]
    grid_scope.check_editable(current(), fid)
    tags = [t for t in request.if_match.as_set()] if request.if_match else []
    if not tags:
        raise _PreconditionRequired(say("ogc_an_edit_needs_if_match"),
                                    field="If-Match")
    if tags != [str(current_version)]:
        raise _PreconditionFailed(
            say("ogc_grid_fid_was_changed_by", fid=fid,
                current_version=current_version), field="If-Match")
    return current_version


def _stale_is_412(call):
    """The layer's own version check (a change between our read and its lock)
    answers 412 here, as OGC says; the JSON API keeps its 409."""
    try:
        return call()
    except Conflict as exc:
        if "current_version" in exc.details:
            raise _PreconditionFailed(exc.message, field="If-Match") from None
        raise


def _feature_body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise Invalid(say("ogc_the_body_must_be_a"), field="body")
    props = body.get("properties") or {}
    if not isinstance(props, dict):
        raise Invalid(say("ogc_properties_must_be_an_object"), field="properties")
    try:
        shape = boundary_from_geojson(body.get("geometry"),
                                      kinds=("Polygon", "MultiPolygon"),
                                      field="geometry")
    except EditError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None
    return shape, props


def _saved(conn, coll, code, status):
    found = ogc.item(conn, current(), coll, code)
    version = found["properties"]["version"]
    return "", status, {"ETag": f'"{version}"', "Location": _url(
        f"/collections/{coll.id}/items/{code}")}


@bp.put("/collections/<cid>/items/<fid>")
@requires("grids:edit")
def replace(cid, fid):
    coll = _grid_collection(cid)
    with connection() as conn:
        version = _if_match(conn, coll, fid)
    shape, _ = _feature_body()
    with connection() as conn:
        _stale_is_412(lambda: grid_edit.redraw(conn, current(), fid, shape, version))
        return _saved(conn, coll, fid, 204)


@bp.post("/collections/<cid>/items")
@requires("grids:edit")
def create(cid):
    coll = _grid_collection(cid, level4=True)
    shape, props = _feature_body()
    parent, name = props.get("parent"), props.get("name")
    if not isinstance(parent, str) or not isinstance(name, str):
        raise Invalid(say("ogc_a_new_grid_needs_properties"), field="properties")
    with connection() as conn:
        answer = grid_edit.create(conn, current(), parent, name, shape)
        made = [f["id"] for f in answer["grids"]["features"]
                if f["properties"]["name"] == name.strip()
                and f["properties"]["level"] == 4]
        return _saved(conn, coll, max(made), 201)


@bp.delete("/collections/<cid>/items/<fid>")
@requires("grids:edit")
def delete(cid, fid):
    coll = _grid_collection(cid, level4=True)
    with connection() as conn:
        version = _if_match(conn, coll, fid)
        _stale_is_412(lambda: grid_edit.delete(conn, current(), fid, version))
    return "", 204


# -- the OpenAPI 3.0 document (api.openapi assembles it) -------------------------

def _param(name, description, schema, where="query", required=False):
    return {"name": name, "in": where, "required": required,
            "description": description, "schema": schema}


_F = _param("f", "json only (others: 406)", {"type": "string",
                                               "enum": ["json", "geojson"]})
_LIMIT = _param("limit", "每页要素数（features per page）",
                {"type": "integer", "minimum": 1, "maximum": ogc.MAX_LIMIT,
                 "default": ogc.DEFAULT_LIMIT})
_OFFSET = _param("offset", "跳过的要素数（features to skip; rel=next gives it）",
                 {"type": "integer", "minimum": 0, "default": 0})
_BBOX = {"name": "bbox", "in": "query", "required": False, "style": "form",
         "explode": False, "description": "min_lon,min_lat,max_lon,max_lat (CRS84)",
         "schema": {"type": "array", "minItems": 4, "maxItems": 4,
                    "items": {"type": "number"}}}
_DATETIME = _param("datetime", "时刻或区间（instant or interval a/b, '..' open）",
                   {"type": "string"})
_ANSWERS = {"200": {"description": "OK"},
            "400": {"description": "bad parameter (OGC exception, bilingual)"},
            "401": {"description": "Basic (user name + API token) or Bearer"},
            "406": {"description": "unsupported f="}}


def _paths():
    get = lambda summary, params=(): {"get": {  # noqa: E731
        "summary": summary, "parameters": [_F, *params], "responses": _ANSWERS}}
    paths = {"": get("Landing page"), "/conformance": get("Conformance classes"),
             "/collections": get("The collections you may read")}
    for c in ogc.COLLECTIONS.values():
        base = f"/collections/{c.id}"
        filters = [_param(n, f"= {n}", {"type": "integer" if t is int else "string"})
                   for n, (_, t) in sorted(c.filters.items())]
        temporal = [_DATETIME] if c.temporal else []
        paths[base] = get(c.title)
        paths[base + "/items"] = get(f"{c.title}: GeoJSON", [
            _LIMIT, _OFFSET, _BBOX, *temporal, *filters])
        fid = _param("featureId", "id", {"type": "string"}, "path", True)
        paths[base + "/items/{featureId}"] = get(f"{c.title}: one feature", [fid])
        if c.kind == "grids":
            paths[base + "/items/{featureId}"] |= _edits(c, fid)
            if c.level == 4:
                paths[base + "/items"]["post"] = {
                    "summary": "Create a micro-grid (Feature with properties "
                               "parent, name): 201, Location, ETag",
                    "requestBody": _FEATURE, "responses": _EDIT_ANSWERS}
    return paths


_FEATURE = {"required": True, "content": {GEOJSON: {"schema": {"type": "object"}}}}
_IF_MATCH = _param("If-Match", "the ETag read (the grid's version)",
                   {"type": "string"}, "header", True)
_EDIT_ANSWERS = {"201": {"description": "created"}, "204": {"description": "done"},
                 "400": {"description": "bad body"},
                 "403": {"description": "outside your jurisdiction, or its root"},
                 "404": {"description": "unknown, or not yours"},
                 "412": {"description": "stale If-Match"},
                 "422": {"description": "the edit would break the hierarchy"},
                 "428": {"description": "If-Match missing"}}


def _edits(c, fid):
    """Part 4 of a grid collection: replace (any level), delete (micro-grids),
    as /plan does them (same checks, jurisdiction and audit)."""
    ops = {"put": {"summary": "Replace the boundary (If-Match required)",
                   "parameters": [fid, _IF_MATCH], "requestBody": _FEATURE,
                   "responses": _EDIT_ANSWERS}}
    if c.level == 4:
        ops["delete"] = {"summary": "Delete the micro-grid (If-Match required)",
                         "parameters": [fid, _IF_MATCH],
                         "responses": _EDIT_ANSWERS}
    return ops


def document():
    """The OpenAPI 3.0 document of ``/ogc`` (``service-desc``)."""
    doc = openapi.document([SimpleNamespace(OPENAPI=_paths())], PREFIX)
    doc["openapi"] = "3.0.3"
    doc["info"] = {"title": "gridgov OGC API – Features", "version": "1"}
    doc["components"] = {"securitySchemes": {
        "basic": {"type": "http", "scheme": "basic"},
        "bearer": {"type": "http", "scheme": "bearer"}}}
    doc["security"] = [{"basic": []}, {"bearer": []}]
    return doc
