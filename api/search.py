"""GET/POST /api/v1/search: what lies within a radius, inside a polygon, or nearest
to a point — as GeoJSON or CSV."""

import csv
import datetime as dt
import io

from flask import Blueprint, Response, jsonify, request

from api.auth import current, requires
from api.db import read_connection
from api.openapi import FEATURE_COLLECTION, INTEGER, file, obj
from api.params import (
    LIMIT,
    OFFSET,
    ChoiceParam,
    FloatParam,
    IntParam,
    Param,
    accepts,
    float_arg,
)
from geo import localtime
from geo.catalogue import say
from geo.edit import EditError, boundary_from_geojson
from layers import search as search_layer
from layers.errors import Invalid, Unprocessable

bp = Blueprint("search", __name__)

_FORMATS = ("geojson", "csv")


def _layer(name):
    layer = request.args.get(name, "")
    search_layer.check_layer(current(), layer)  # 403 before any other parameter
    return layer


_PARAMS = (
    Param("layer", "要搜索的图层", "the layer searched (households: households:read, "
          "staff: locate, incidents: incidents:read, cameras: map:view)",
          required=True, parse=_layer,
          schema={"type": "string", "enum": list(search_layer.LAYERS)}),
    ChoiceParam("format", "格式", "GeoJSON or CSV", default="geojson",
                choices=_FORMATS,
                refuse=lambda raw: say("err_parameter_format_geojson_csv")),
    Param("lon", "经度", "longitude (with lat: the point)", parse=lambda name: None,
          schema={"type": "number", "minimum": -180, "maximum": 180}),
    Param("lat", "纬度", "latitude", parse=lambda name: None,
          schema={"type": "number", "minimum": -90, "maximum": 90}),
    FloatParam("radius", "半径（米）", "within this radius in metres", low=0,
               high=50000),
    IntParam("k", "最近的 k 个", "the k nearest", low=1, high=1000),
    LIMIT.but(high=5000),
    OFFSET,
)
_FOUND = {"description": "GeoJSON (a search of households is audited); or CSV "
          "with format=csv", "oneOf": [
              {**FEATURE_COLLECTION, "properties": FEATURE_COLLECTION["properties"]
               | {"numberMatched": INTEGER, "numberReturned": INTEGER}},
              file("text/csv")]}

_NOT_FILTERS = {"layer", "lon", "lat", "radius", "k", "format", "limit", "offset"}


@bp.route("/search", methods=["GET", "POST"])
@requires("map:view")
@accepts(*_PARAMS, body=obj(required=("polygon",), polygon={
    "type": "object", "description": "GeoJSON Polygon or MultiPolygon (POST)"}),
    body_required=False, errors=(422,), responses={200: _FOUND},
    summary="Search within a radius of, or nearest to, a point (GET); inside a "
            "polygon (POST: body {polygon: GeoJSON}); other parameters filter")
def search(layer, format, lon, lat, radius, k, limit, offset):
    fmt = format
    polygon = _polygon() if request.method == "POST" else None
    point = None
    if polygon is None or "lon" in request.args:
        point = (float_arg("lon", -180, 180), float_arg("lat", -90, 90))
    if polygon is None and (radius is None) == (k is None):
        raise Invalid(say("err_radius_or_k"), field="radius")
    filters = {k_: v for k_, v in request.args.items() if k_ not in _NOT_FILTERS}
    with read_connection() as conn:
        found = search_layer.search(conn, current(), layer, point, radius, k, polygon,
                                    filters, limit, offset, fmt=fmt)
    if fmt == "csv":
        return _csv(found["items"], layer)
    return jsonify({
        "type": "FeatureCollection", "numberMatched": found["total"],
        "numberReturned": len(found["items"]),
        "features": [{"type": "Feature", "id": item["id"],
                      "geometry": {"type": "Point",
                                   "coordinates": [item["lon"], item["lat"]]},
                      "properties": item} for item in found["items"]]})


def _polygon():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(say("err_body_polygon"),
                      field="polygon")
    try:
        return boundary_from_geojson(body.get("polygon"), field="polygon")
    except EditError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None


def _cell(value):
    """A CSV cell that a spreadsheet will never run as a formula; a time in the
    deployment's zone (its column's header says which)."""
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return localtime.shown(value, seconds=True, with_label=False)
    text = ",".join(value) if isinstance(value, list) else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv(items, layer):
    out = io.StringIO()
    if items:
        writer = csv.writer(out)
        times = {k for item in items for k, v in item.items()
                 if isinstance(v, dt.datetime)}
        writer.writerow([f"{k}（{localtime.label()}）" if k in times else k
                         for k in items[0]])
        for item in items:
            writer.writerow([_cell(v) for v in item.values()])
    # BOM: Excel opens UTF-8 Chinese text correctly only with it; no-store: a
    # download of people's data stays out of every cache
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f"attachment; filename={layer}.csv",
                             "Cache-Control": "no-store"})
