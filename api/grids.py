"""GET /api/v1/grids and /api/v1/grids/<code>: the grid hierarchy as GeoJSON."""

import datetime as dt

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.openapi import (
    FEATURE_COLLECTION,
    INTEGER,
    OBJECT,
    STRING,
    array,
    nullable,
    obj,
)
from api.params import (
    BBOX,
    CODE,
    LEVEL,
    LIMIT,
    Param,
    TextParam,
    accepts,
    int_field,
    json_body,
)
from geo.catalogue import say
from geo.localtime import CHINA_TZ
from layers import grids, notices
from layers.errors import Invalid

bp = Blueprint("grids", __name__)

PARENT = TextParam("parent", "上级网格编码：其直接下级", "parent code: its children")
AT = Param("at", "日期或日期时间：当时生效的边界",
           "a date or date-time: the boundary in force then",
           parse=lambda name: _moment(name),
           schema={"type": "string", "format": "date-time"})
GRID_FEATURE = obj("GeoJSON Feature of a grid", required=("type", "properties"),
                   type=STRING, id=STRING, geometry=nullable(OBJECT),
                   properties=obj(code=STRING, name=STRING, level=INTEGER))
_GEOJSON = "application/geo+json"


@bp.get("/grids")
@requires("map:view")
@accepts(LEVEL, PARENT, BBOX, LIMIT.but(default=grids.MAX_FEATURES,
                                        high=grids.MAX_FEATURES),
         responses={200: {**FEATURE_COLLECTION, "x-media-type": _GEOJSON,
                          "properties": FEATURE_COLLECTION["properties"] | {
                              "features": array(GRID_FEATURE),
                              "numberMatched": INTEGER,
                              "numberReturned": INTEGER}}})
def list_grids(level, parent, bbox, limit):
    """Grids as a GeoJSON FeatureCollection"""
    with connection() as conn:
        collection = grids.list_grids(conn, current(), level, parent, bbox, limit)
    return jsonify(collection), 200, {"Content-Type": "application/geo+json"}


@bp.get("/grids/<code>")
@requires("map:view")
@accepts(AT, path=[CODE], responses={200: {**GRID_FEATURE,
                                           "x-media-type": _GEOJSON}})
def get_grid(code, at):
    """One grid as a GeoJSON Feature (?at=: as it was then)"""
    moment = at
    with connection() as conn:
        feature = grids.get_grid(conn, current(), code) if moment is None \
            else grids.grid_at(conn, current(), code, moment)
    return jsonify(feature), 200, {"Content-Type": "application/geo+json"}


@bp.patch("/grids/<code>")
@requires("grids:edit")
@accepts(path=[CODE], body=obj(
             "服务时间 (service hours): free text shown on the grid's notice",
             required=("version",), service_hours=nullable(STRING),
             version=INTEGER),
         responses={200: obj("the grid's attributes", code=STRING,
                             service_hours=nullable(STRING), version=INTEGER)},
         errors=(409,))
def set_attributes(code):
    """Set a grid's attributes (service hours, at most
    ``layers.notices.MAX_SERVICE_HOURS`` characters; null: none)"""
    body = json_body()
    hours = body.get("service_hours")
    version = int_field(body, "version")
    with connection() as conn:
        new_version = notices.set_service_hours(conn, current(), code, hours,
                                                version)
    return jsonify({"code": code, "service_hours": (hours or "").strip() or None,
                    "version": new_version})


def _moment(name):
    """``?at=`` as a datetime (a date alone means the end of that day, China time)."""
    raw = request.args.get(name)
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
