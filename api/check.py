"""GET /api/v1/grids/check: the hierarchy check of a subtree (errors and slivers)."""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import float_arg
from layers import check

bp = Blueprint("check", __name__)

MAX_SLIVER_M2 = 10_000.0

_PROBLEM = {
    "type": "object",
    "properties": {
        "kind": {"enum": ["invalid_geometry", "code_prefix", "level", "overlap",
                          "gap", "outside_parent", "households"]},
        "codes": {"type": "array", "items": {"type": "string"}},
        "message": {"type": "string"},
        "area_m2": {"type": ["number", "null"]},
        "geometry": {"type": ["object", "null"],
                     "description": "GeoJSON geometry, EPSG:4326"},
    },
}

OPENAPI = {
    "/grids/check": {
        "get": {
            "summary": "Check the grid hierarchy under a root: invalid geometries, "
                       "sibling overlaps, gaps, children outside their parent, "
                       "codes, micro-grid household counts",
            "parameters": [
                {"name": "root", "in": "query", "schema": {"type": "string"},
                 "description": "code of the subtree's root (default: your "
                                "jurisdiction)"},
                {"name": "sliver_m2", "in": "query",
                 "schema": {"type": "number", "minimum": 0,
                            "maximum": MAX_SLIVER_M2, "default": 1.0},
                 "description": "overlaps, gaps and protrusions smaller than this "
                                "(m²) are listed as slivers, not errors"},
            ],
            "responses": {
                "200": {"description": "the report",
                        "content": {"application/json": {"schema": {
                            "type": "object",
                            "properties": {
                                "root": {"type": ["string", "null"]},
                                "grids": {"type": "integer"},
                                "errors": {"type": "array", "items": _PROBLEM},
                                "slivers": {"type": "array", "items": _PROBLEM},
                            }}}}},
                "400": {"description": "bad parameter"},
                "404": {"description": "unknown root, or outside your jurisdiction"},
            },
        }
    },
}


@bp.get("/grids/check")
@requires("map:view")
def check_grids():
    sliver_m2 = float_arg("sliver_m2", 0, MAX_SLIVER_M2, required=False)
    root = request.args.get("root") or None
    with connection() as conn:
        report = check.check_subtree(conn, current(), root,
                                     1.0 if sliver_m2 is None else sliver_m2)
    return jsonify(report)
