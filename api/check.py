"""GET /api/v1/grids/check: the hierarchy check of a subtree (errors, slivers and
the warnings edits left on the grids they saved); POST /api/v1/grids/recount: count
the households of the warned micro-grids again and clear the warnings now fixed."""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import float_arg
from layers import check, grid_scope

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
        "parent": {"type": "string",
                   "description": "the grid whose children show the problem (the "
                                  "planners' page /plan?parent= opens it)"},
    },
}

_WARNING = {
    "type": "object",
    "description": "a micro-grid an edit saved with a household count out of range, "
                   "still out of range now",
    "properties": {
        "code": {"type": "string"}, "name": {"type": "string"},
        "parent": {"type": "string"}, "kind": {"enum": ["households"]},
        "households": {"type": "integer", "description": "households now"},
        "saved_households": {"type": "integer",
                             "description": "households when the warning was "
                                            "last written"},
        "low": {"type": "integer"}, "high": {"type": "integer"},
        "at": {"type": "string", "format": "date-time"},
        "username": {"type": ["string", "null"]},
        "message": {"type": "string"},
    },
}

_ROOT = {"name": "root", "in": "query", "schema": {"type": "string"},
         "description": "code of the subtree's root (default: your jurisdiction)"}

OPENAPI = {
    "/grids/check": {
        "get": {
            "summary": "Check the grid hierarchy under a root: invalid geometries, "
                       "sibling overlaps, gaps, children outside their parent, "
                       "codes, micro-grid household counts",
            "parameters": [
                _ROOT,
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
                                "warnings": {"type": "array", "items": _WARNING},
                            }}}}},
                "400": {"description": "bad parameter"},
                "404": {"description": "unknown root, or outside your jurisdiction"},
            },
        }
    },
    "/grids/recount": {
        "post": {
            "summary": "Count the households of the warned micro-grids under a root "
                       "again: the warnings of those now in 50–100 are cleared",
            "parameters": [_ROOT],
            "responses": {
                "200": {"description": "{root, recounted, cleared, warnings}"},
                "403": {"description": "the root is outside your jurisdiction"},
                "404": {"description": "unknown root"},
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


@bp.post("/grids/recount")
@requires("grids:edit")
def recount():
    root = request.args.get("root") or None
    if root is not None:
        grid_scope.check_editable(current(), root, root_ok=True, field="root")
    with connection() as conn:
        return jsonify(check.recount(conn, current(), root))
