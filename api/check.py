"""GET /api/v1/grids/check: the hierarchy check of a subtree (errors, slivers and
the warnings edits left on the grids they saved); POST /api/v1/grids/recount: count
the households of the warned micro-grids again and clear the warnings now fixed."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import INTEGER, STRING, array, nullable, obj
from api.params import FloatParam, TextParam, accepts
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
        "area_m2": {"type": "number", "nullable": True},
        "geometry": {"type": "object", "nullable": True,
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
        "username": {"type": "string", "nullable": True},
        "message": {"type": "string"},
    },
}

ROOT = TextParam("root", "子树的根网格编码（默认：您的辖区）",
                 "code of the subtree's root (default: your jurisdiction)",
                 errors=(404,))
SLIVER_M2 = FloatParam("sliver_m2", "小于此面积（平方米）的重叠、缝隙列为碎片",
                       "overlaps, gaps and protrusions smaller than this (m²) are "
                       "listed as slivers, not errors", default=1.0, low=0,
                       high=MAX_SLIVER_M2)
_REPORT = obj("the report", root=nullable(STRING), grids=INTEGER,
              errors=array(_PROBLEM), slivers=array(_PROBLEM),
              warnings=array(_WARNING))


@bp.get("/grids/check")
@requires("map:view")
@accepts(ROOT, SLIVER_M2, responses={200: _REPORT})
def check_grids(root, sliver_m2):
    """Check the grid hierarchy under a root: invalid geometries, sibling
    overlaps, gaps, children outside their parent, codes, micro-grid household
    counts"""
    with connection() as conn:
        report = check.check_subtree(conn, current(), root, sliver_m2)
    return jsonify(report)


@bp.post("/grids/recount")
@requires("grids:edit")
@accepts(ROOT, responses={200: obj("{root, recounted, cleared, warnings}",
                                   warnings=array(_WARNING))})
def recount(root):
    """Count the households of the warned micro-grids under a root again: the
    warnings of those now in 50–100 are cleared"""
    if root is not None:
        grid_scope.check_editable(current(), root, root_ok=True, field="root")
    with connection() as conn:
        return jsonify(check.recount(conn, current(), root))
