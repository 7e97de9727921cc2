"""GET /api/v1/locate: the grid chain, staff and cameras of a point."""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import float_arg
from layers import locate as locate_layer
from layers.errors import Invalid

bp = Blueprint("locate", __name__)

OPENAPI = {
    "/locate": {
        "get": {
            "summary": "Grid chain, responsible staff and cameras seeing a point",
            "parameters": [
                {"name": "lon", "in": "query", "required": True,
                 "schema": {"type": "number", "minimum": -180, "maximum": 180}},
                {"name": "lat", "in": "query", "required": True,
                 "schema": {"type": "number", "minimum": -90, "maximum": 90}},
            ],
            "responses": {"200": {"description": "{grids, staff, cameras}"},
                          "400": {"description": "bad or missing lon/lat"}},
        }
    }
}


@bp.get("/locate")
@requires("locate")
def locate():
    _refuse_swapped_axes()
    lon = float_arg("lon", -180, 180)
    lat = float_arg("lat", -90, 90)
    with connection() as conn:
        found = locate_layer.locate(conn, current(), lon, lat)
    return jsonify(found)


def _refuse_swapped_axes():
    """A latitude beyond 90 that would be a longitude is a typical swap: say so."""
    try:
        lon, lat = float(request.args["lon"]), float(request.args["lat"])
    except (KeyError, ValueError):
        return
    if abs(lat) > 90 and abs(lon) <= 90:
        raise Invalid(
            f"parameter 'lat' must be between -90 and 90, got {lat}; "
            "lon and lat look swapped", field="lat")
