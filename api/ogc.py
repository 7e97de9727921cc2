"""OGC API – Features at ``/ogc`` (Part 1: core, GeoJSON, OpenAPI 3.0), for QGIS,
GDAL's OAPIF driver and any other client of the standard.

Thin routes over :mod:`layers.ogc`, which scopes, masks and audits as the JSON
API does. Errors are the OGC exception shape (``code``, ``description``) with our
own ``error`` object beside it (bilingual message, field); a 401 says
``WWW-Authenticate: Basic realm="gridgov"`` so that QGIS and GDAL offer HTTP
Basic (user name + API token as the password: ``api.auth``).
"""

import datetime as dt
from types import SimpleNamespace
from urllib.parse import urlencode

from flask import Blueprint, jsonify, request
from werkzeug.exceptions import HTTPException

from api import openapi
from api.auth import current, requires
from api.db import connection
from api.params import bbox_arg, int_arg, parse_moment
from geo.localtime import CHINA_TZ
from geo.vocab import bilingual
from layers import ogc
from layers.errors import Invalid, LayerError

__all__ = ["bp", "PREFIX", "document", "REALM"]

PREFIX = "/ogc"
REALM = 'Basic realm="gridgov"'
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
              409: "Conflict", 412: "PreconditionFailed", 503: "Unavailable"}

bp = Blueprint("ogc", __name__)


# -- errors: the OGC shape, our bilingual message, Basic offered on a 401 --------

def _error(status, code, message, field=None):
    body = {"code": _OGC_CODES.get(status, code), "description": message,
            "error": {"code": code, "message": message}}
    if field is not None:
        body["error"]["field"] = field
    headers = {"WWW-Authenticate": REALM} if status == 401 else {}
    return jsonify(body), status, headers


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
        raise _NotAcceptable(bilingual(
            f"不支持的格式 f={f!r}：只提供 JSON（f=json）",
            f"format f={f!r} is not supported: JSON only (f=json)"), field="f")


class _NotAcceptable(Invalid):
    http_status = 406
    code = "not_acceptable"


def _known(allowed):
    """400 for a query parameter the route does not know (OGC core)."""
    for name in request.args:
        if name not in allowed:
            raise Invalid(bilingual(
                f"未知参数“{name}”；可用：{', '.join(sorted(allowed))}",
                f"unknown parameter {name!r}; known: {', '.join(sorted(allowed))}"),
                field=name)


def _window():
    """``datetime``: an instant or an interval ``a/b`` (``..`` or empty: open)."""
    raw = request.args.get("datetime")
    if raw is None or raw.strip() == "":
        return None
    parts = raw.split("/")
    if len(parts) > 2:
        raise Invalid(bilingual(f"参数“datetime”须为时刻或区间 起/止，收到 {raw!r}",
                                f"parameter 'datetime' must be an instant or an "
                                f"interval start/end, got {raw!r}"), field="datetime")
    ends = [None if p in ("", "..") else parse_moment(p, "datetime") for p in parts]
    if len(ends) == 1:
        ends *= 2
    if ends[0] is not None and ends[1] is not None and ends[0] > ends[1]:
        raise Invalid(bilingual("参数“datetime”的起点晚于终点",
                                "parameter 'datetime' starts after it ends"),
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
    extent = ogc.extent(conn, current(), coll)
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

@bp.get("")
@requires("map:view")
def landing():
    _known({"f"})
    _format()
    return jsonify({
        "title": "gridgov",
        "description": bilingual("网格化治理平台的图层（OGC API – Features）",
                                 "gridgov's layers (OGC API – Features)"),
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
        raise Invalid(bilingual(f"集合“{cid}”没有时间属性，不能用 datetime 筛选",
                                f"collection {cid!r} has no time: 'datetime' does "
                                "not apply"), field="datetime")
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
    return jsonify(found), 200, {"Content-Type": GEOJSON}


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
        paths[base + "/items/{featureId}"] = get(f"{c.title}: one feature", [
            _param("featureId", "id", {"type": "string"}, "path", True)])
    return paths


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
