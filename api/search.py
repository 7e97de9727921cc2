"""GET/POST /api/v1/search: what lies within a radius, inside a polygon, or nearest
to a point — as GeoJSON or CSV."""

import csv
import datetime as dt
import io

from flask import Blueprint, Response, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import float_arg, int_arg
from geo import localtime
from geo.catalogue import say
from geo.edit import EditError, boundary_from_geojson
from layers import search as search_layer
from layers.errors import Invalid, Unprocessable

bp = Blueprint("search", __name__)

_FORMATS = ("geojson", "csv")
_PARAMS = [
    {"name": "layer", "in": "query", "required": True,
     "schema": {"enum": list(search_layer.LAYERS)}},
    {"name": "lon", "in": "query", "schema": {"type": "number"}},
    {"name": "lat", "in": "query", "schema": {"type": "number"}},
    {"name": "radius", "in": "query", "description": "metres",
     "schema": {"type": "number", "maximum": 50000}},
    {"name": "k", "in": "query", "description": "the k nearest",
     "schema": {"type": "integer", "maximum": 1000}},
    {"name": "format", "in": "query", "schema": {"enum": list(_FORMATS)}},
    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 5000}},
    {"name": "offset", "in": "query", "schema": {"type": "integer"}},
]
_RESPONSES = {
    "200": {"description": "GeoJSON or CSV; a search of households is audited"},
    "400": {"description": "bad parameter"},
    "403": {"description": "a layer your role may not read (households: "
                           "households:read, staff: locate, incidents: "
                           "incidents:read, cameras: map:view)"},
}
OPENAPI = {"/search": {
    "get": {"summary": "Search within a radius of, or nearest to, a point",
            "parameters": _PARAMS,
            "responses": _RESPONSES},
    "post": {"summary": "Search inside a polygon: body {polygon: GeoJSON}",
             "parameters": _PARAMS, "responses": _RESPONSES},
}}

_NOT_FILTERS = {"layer", "lon", "lat", "radius", "k", "format", "limit", "offset"}


@bp.route("/search", methods=["GET", "POST"])
@requires("map:view")
def search():
    layer = request.args.get("layer", "")
    search_layer.check_layer(current(), layer)  # 403 before any other parameter
    fmt = request.args.get("format", "geojson")
    if fmt not in _FORMATS:
        raise Invalid(say("err_parameter_format_geojson_csv"),
                      field="format")
    polygon = _polygon() if request.method == "POST" else None
    point = None
    if polygon is None or "lon" in request.args:
        point = (float_arg("lon", -180, 180), float_arg("lat", -90, 90))
    radius = float_arg("radius", 0, 50000, required=False)
    k = int_arg("k", 1, 1000)
    if polygon is None and (radius is None) == (k is None):
        raise Invalid(say("err_radius_or_k"), field="radius")
    filters = {k_: v for k_, v in request.args.items() if k_ not in _NOT_FILTERS}
    limit = int_arg("limit", 1, 5000, default=100)
    offset = int_arg("offset", 0, 10**9, default=0)
    with connection() as conn:
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
