"""GET /api/v1/grids and /api/v1/grids/<code>: the grid hierarchy as GeoJSON."""

import datetime as dt

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import bbox_arg, int_arg, int_field, json_body
from geo.catalogue import say
from geo.localtime import CHINA_TZ
from layers import grids, notices
from layers.errors import Invalid

bp = Blueprint("grids", __name__)

_GRID_PARAMS = [
    {"name": "level", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                 "maximum": 4}},
    {"name": "parent", "in": "query", "schema": {"type": "string"}},
    {"name": "bbox", "in": "query", "description": "min_lon,min_lat,max_lon,max_lat",
     "schema": {"type": "string"}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1,
                                                 "maximum": grids.MAX_FEATURES}},
]

OPENAPI = {
    "/grids": {
        "get": {
            "summary": "Grids as a GeoJSON FeatureCollection",
            "parameters": _GRID_PARAMS,
            "responses": {"200": {"description": "FeatureCollection"},
                          "400": {"description": "bad parameter"}},
        }
    },
    "/grids/{code}": {
        "get": {
            "summary": "One grid as a GeoJSON Feature (?at=: as it was then)",
            "parameters": [{"name": "code", "in": "path", "required": True,
                            "schema": {"type": "string"}},
                           {"name": "at", "in": "query", "description":
                            "a date or date-time: the boundary in force then",
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "Feature"},
                          "404": {"description": "unknown code"}},
        },
        "patch": {
            "summary": "Set a grid's attributes {service_hours, version}: 服务时间, "
                       "free text of at most "
                       f"{notices.MAX_SERVICE_HOURS} characters (null: none), "
                       "shown on its notice",
            "parameters": [{"name": "code", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "required": ["version"], "properties": {
                    "service_hours": {"type": ["string", "null"],
                                      "maxLength": notices.MAX_SERVICE_HOURS},
                    "version": {"type": "integer"}}}}}},
            "responses": {"200": {"description": "{code, service_hours, version}"},
                          "400": {"description": "bad field (named)"},
                          "403": {"description": "outside or the root of your "
                                                 "jurisdiction"},
                          "404": {"description": "unknown code"},
                          "409": {"description": "stale version"}},
        },
    },
}


@bp.get("/grids")
@requires("map:view")
def list_grids():
    level = int_arg("level", 1, 4)
    limit = int_arg("limit", 1, grids.MAX_FEATURES, default=grids.MAX_FEATURES)
    bbox = bbox_arg()
    parent = request.args.get("parent") or None
    with connection() as conn:
        collection = grids.list_grids(conn, current(), level, parent, bbox, limit)
    return jsonify(collection), 200, {"Content-Type": "application/geo+json"}


@bp.get("/grids/<code>")
@requires("map:view")
def get_grid(code):
    moment = _moment()
    with connection() as conn:
        feature = grids.get_grid(conn, current(), code) if moment is None \
            else grids.grid_at(conn, current(), code, moment)
    return jsonify(feature), 200, {"Content-Type": "application/geo+json"}


@bp.patch("/grids/<code>")
@requires("grids:edit")
def set_attributes(code):
    body = json_body()
    hours = body.get("service_hours")
    version = int_field(body, "version")
    with connection() as conn:
        new_version = notices.set_service_hours(conn, current(), code, hours,
                                                version)
    return jsonify({"code": code, "service_hours": (hours or "").strip() or None,
                    "version": new_version})


def _moment():
    """``?at=`` as a datetime (a date alone means the end of that day, China time)."""
    raw = request.args.get("at")
    if not raw:
        return None
    try:
        if len(raw) == 10:
            day = dt.date.fromisoformat(raw)
            return dt.datetime.combine(day, dt.time.max, tzinfo=CHINA_TZ)
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        raise Invalid(say("err_at_param", raw=raw), field="at") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=CHINA_TZ)
