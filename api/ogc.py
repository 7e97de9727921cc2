"""OGC API – Features at ``/ogc`` (Part 1: core, GeoJSON, OpenAPI 3.0), for QGIS,
GDAL's OAPIF driver and any other client of the standard.

Thin routes over :mod:`layers.ogc`, which scopes, masks and audits as the JSON
API does. Errors are the OGC exception shape (``code``, ``description``) with our
own ``error`` object beside it (bilingual message, field); a 401 says
``WWW-Authenticate: Basic realm="gridgov"`` (``api.auth``, as on /tiles) so
that QGIS and GDAL offer HTTP Basic (user name + API token as the password).
"""

import copy
import datetime as dt
from urllib.parse import urlencode

from flask import Blueprint, current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from api import openapi
from api.auth import REALM, current, requires
from api.db import connection, read_connection
from api.openapi import FEATURE, FEATURE_COLLECTION, INTEGER, STRING, array, obj
from api.params import BBOX, OFFSET, IntParam, Param, accepts, parse_moment
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

def _format(name="f"):
    """Only JSON is served: ``f=json`` / ``f=geojson`` or none; else 406."""
    f = request.args.get(name)
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


def _window(name="datetime"):
    """``datetime``: an instant or an interval ``a/b`` (``..`` or empty: open)."""
    raw = request.args.get(name)
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


F = Param("f", "格式：仅 JSON（其他为 406）", "json only (others: 406)", parse=_format,
          schema={"type": "string", "enum": ["json", "geojson"]})
LIMIT = IntParam("limit", "每页要素数", "features per page", default=ogc.DEFAULT_LIMIT,
                 low=1, high=ogc.MAX_LIMIT)
OFFSET = OFFSET.but(zh="跳过的要素数", en="features to skip; rel=next gives it")
BBOX = BBOX.but(en="min_lon,min_lat,max_lon,max_lat (CRS84)")
DATETIME = Param("datetime", "时刻或区间", "instant or interval a/b, '..' open",
                 parse=_window)
CID = Param("cid", "集合", "collection id", where="path")
FID = Param("fid", "要素 id", "feature id", where="path")
IF_MATCH = Param("If-Match", "读到的 ETag（网格的版本）",
                 "the ETag read (the grid's version)", where="header", required=True)
_LINKS = {"type": "array", "items": obj(
    required=("href", "rel"), href=STRING, rel=STRING, type=STRING)}
_COLLECTION = obj("a collection", required=("id", "links"), id=STRING,
                  title=STRING, links=_LINKS)
_ITEMS = {**FEATURE_COLLECTION, "properties": {
    **FEATURE_COLLECTION["properties"], "numberMatched": INTEGER,
    "numberReturned": INTEGER, "links": _LINKS}}
_EDIT = (405, 409, 412, 422, 428)


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
@accepts(F, responses={200: obj("landing page", required=("links",), links=_LINKS)},
         errors=(406,))
def landing(f):
    """Landing page"""
    _known({"f"})
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
@accepts(F, responses={200: obj(required=("conformsTo",), conformsTo=array(STRING))},
         errors=(406,))
def conformance(f):
    """Conformance classes"""
    _known({"f"})
    return jsonify({"conformsTo": CONFORMANCE})


@bp.get("/openapi.json")
@requires("map:view")
@accepts(responses={200: obj("OpenAPI 3.0", required=("openapi", "paths"))})
def service_desc():
    """This document (OpenAPI 3.0)"""
    _known({"f"})
    return openapi.served(PREFIX, document)


@bp.get("/collections")
@requires("map:view")
@accepts(F, responses={200: obj(required=("collections",), links=_LINKS,
                                collections=array(_COLLECTION))}, errors=(406,))
def collections(f):
    """The collections you may read"""
    _known({"f"})
    with read_connection() as conn:
        found = [_describe(conn, c) for c in ogc.visible(current())]
    return jsonify({"links": [_link(_url("/collections"), "self")],
                    "collections": found})


@bp.get("/collections/<cid>")
@requires("map:view")
@accepts(F, path=[CID], responses={200: _COLLECTION}, errors=(406,))
def collection(cid, f):
    """A collection"""
    coll = ogc.collection(current(), cid)
    _known({"f"})
    with read_connection() as conn:
        return jsonify(_describe(conn, coll))


@bp.get("/collections/<cid>/items")
@requires("map:view")
@accepts(F, LIMIT, OFFSET, BBOX, DATETIME, path=[CID],
         responses={200: {**_ITEMS, "x-media-type": GEOJSON}}, errors=(406,))
def items(cid, f, limit, offset, bbox, datetime):
    """GeoJSON features, paged"""
    coll = ogc.collection(current(), cid)
    _known(_COMMON | set(coll.filters))
    window = datetime
    if window is not None and coll.temporal is None:
        raise Invalid(say("ogc_collection_cid_r_has_no", cid=cid,
                          cid_r=repr(cid)), field="datetime")
    filters = {k: v for k, v in request.args.items() if k in coll.filters}
    with read_connection() as conn:
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
@accepts(F, path=[CID, FID], responses={200: {**FEATURE, "x-media-type": GEOJSON}},
         errors=(406,))
def feature(cid, fid, f):
    """One feature"""
    coll = ogc.collection(current(), cid)
    _known({"f"})
    with read_connection() as conn:
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


_FEATURE_BODY = obj("GeoJSON Feature (Polygon or MultiPolygon)", required=("type",),
                    type={"type": "string", "enum": ["Feature"]}, geometry=obj(),
                    properties=obj())


@bp.put("/collections/<cid>/items/<fid>")
@requires("grids:edit")
@accepts(path=[CID, FID], headers=[IF_MATCH], body=_FEATURE_BODY,
         content_type=GEOJSON, responses={204: None}, errors=_EDIT)
def replace(cid, fid):
    """Replace the boundary (If-Match required)"""
    coll = _grid_collection(cid)
    with connection() as conn:
        version = _if_match(conn, coll, fid)
    shape, _ = _feature_body()
    with connection() as conn:
        _stale_is_412(lambda: grid_edit.redraw(conn, current(), fid, shape, version))
        return _saved(conn, coll, fid, 204)


@bp.post("/collections/<cid>/items")
@requires("grids:edit")
@accepts(path=[CID], body=_FEATURE_BODY, content_type=GEOJSON,
         responses={201: None}, errors=_EDIT)
def create(cid):
    """Create a micro-grid (Feature with properties parent, name): 201, Location,
    ETag"""
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
@accepts(path=[CID, FID], headers=[IF_MATCH], responses={204: None}, errors=_EDIT)
def delete(cid, fid):
    """Delete the micro-grid (If-Match required)"""
    coll = _grid_collection(cid, level4=True)
    with connection() as conn:
        version = _if_match(conn, coll, fid)
        _stale_is_412(lambda: grid_edit.delete(conn, current(), fid, version))
    return "", 204


# -- the OpenAPI 3.0 document: the routes' declarations, one path per collection --

def document():
    """The OpenAPI 3.0 document of ``/ogc`` (``service-desc``): generated from the
    routes' declarations, each ``/collections/{cid}…`` written out per collection
    (its property filters, ``datetime`` only where it is temporal, Part 4 only
    on the grid levels it applies to)."""
    doc = openapi.document(current_app, PREFIX, "gridgov OGC API – Features",
                           error_body=_OGC_ERROR, error="OGCError")
    generic = doc["paths"]
    paths = {p: ops for p, ops in generic.items() if "{cid}" not in p}
    for c in ogc.COLLECTIONS.values():
        for path, ops in generic.items():
            if "{cid}" not in path:
                continue
            mine = {}
            for method, op in ops.items():
                if method != "get" and (c.kind != "grids" or (
                        c.level != 4 and method != "put")):
                    continue
                op = copy.deepcopy(op)
                op["operationId"] += "." + c.id
                op["summary"] = f"{c.title}: {op['summary']}"
                op["parameters"] = [_for(p) for p in op.get("parameters", [])
                                    if p["name"] != "cid" and (
                                        p["name"] != "datetime" or c.temporal)]
                if path.endswith("/items") and method == "get":
                    op["parameters"] += [
                        {"name": n, "in": "query", "required": False,
                         "description": f"= {n}",
                         "schema": INTEGER if t is int else STRING}
                        for n, (_, t) in sorted(c.filters.items())]
                mine[method] = op
            if mine:
                paths[path.replace("{cid}", c.id).replace("{fid}", "{featureId}")
                      ] = mine
    doc["paths"] = paths
    return doc


def _for(param):
    return {**param, "name": "featureId"} if param["name"] == "fid" else param


_OGC_ERROR = obj("OGC exception, with our error beside it",
                 required=("code", "description"), code=STRING, description=STRING,
                 error=obj(code=STRING, message=STRING, field=STRING))
