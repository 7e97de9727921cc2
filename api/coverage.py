"""GET /api/v1/coverage…: camera coverage, blind spots (盲区), where to add cameras.

Figures are per grid at any level and scoped to the user's jurisdiction; computed
in the deployment's Gauss-Krüger zone and cached (``layers/coverage.py``).
"""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import float_arg, int_arg
from geo.catalogue import say
from layers import coverage
from layers.errors import Invalid

bp = Blueprint("coverage", __name__)

_GRID = {"name": "grid", "in": "query", "required": False,
         "description": "grid code, any level (default: your jurisdiction's root)",
         "schema": {"type": "string", "examples": ["320282105"]}}
_FIGURES = ("area_share, household_share (fractions 0–1, null without area or "
            "households), cameras, online_cameras, area_m2, covered_m2, households, "
            "uncovered_households")

OPENAPI = {
    "/coverage": {
        "get": {
            "summary": "Camera coverage of a grid and of each of its children",
            "parameters": [_GRID],
            "responses": {
                "200": {"description": "{grid: {code, name, level, …figures}, "
                                       "children: [...]}; figures: " + _FIGURES},
                "404": {"description": "unknown grid, or outside your jurisdiction"},
            },
        }
    },
    "/coverage/blind-spots": {
        "get": {
            "summary": "Blind spots (盲区): the parts of the grid's micro-grids no "
                       "camera sees, simplified to 0.5 m",
            "parameters": [_GRID],
            "responses": {
                "200": {"description": "GeoJSON FeatureCollection, one MultiPolygon "
                                       "per micro-grid: code, name, blind_m2, "
                                       "uncovered_households"},
                "400": {"description": "more than 5,000 micro-grids: ask lower"},
                "404": {"description": "unknown grid, or outside your jurisdiction"},
            },
        }
    },
    "/coverage/households": {
        "get": {
            "summary": "Households no camera sees (listed, masked, with "
                       "households:read; counted otherwise)",
            "parameters": [
                _GRID,
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000,
                            "default": 100}},
                {"name": "offset", "in": "query",
                 "schema": {"type": "integer", "minimum": 0, "default": 0}},
            ],
            "responses": {"200": {"description": "{grid, total, items (null "
                                                 "without households:read)}"}},
        }
    },
    "/coverage/views": {
        "get": {
            "summary": "Fields of view of the grid's cameras (sectors, discs)",
            "parameters": [_GRID],
            "responses": {"200": {"description": "GeoJSON FeatureCollection: code, "
                                                 "kind, status; numberMatched"}},
        }
    },
    "/coverage/recommend": {
        "get": {
            "summary": "Where to add k cameras: greedy max-cover of the households "
                       "and last 12 months' incidents no camera sees",
            "parameters": [
                _GRID,
                {"name": "k", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 50,
                            "default": 5}},
                {"name": "range_m", "in": "query",
                 "schema": {"type": "number", "minimum": 10, "maximum": 2000,
                            "default": 100}},
                {"name": "kind", "in": "query",
                 "schema": {"type": "string", "enum": ["ptz", "fixed", "checkpoint"],
                            "default": "ptz"}},
                {"name": "fov_deg", "in": "query",
                 "description": "field of view of a fixed camera (8 bearings are "
                                "tried at each site)",
                 "schema": {"type": "number", "minimum": 10, "maximum": 360,
                            "default": 90}},
                {"name": "incident_weight", "in": "query",
                 "description": "weight of a past incident against a household (1)",
                 "schema": {"type": "number", "minimum": 0, "maximum": 100,
                            "default": 1}},
            ],
            "responses": {"200": {"description": (
                "{grid, households, incidents, sites, spacing_m, picks: [{rank, lon, "
                "lat, bearing, gain, households, incidents, household_share_after}]}"),
            }},
        }
    },
}


def _grid():
    code = (request.args.get("grid") or "").strip() or None
    if code is not None and not code.isdigit():
        raise Invalid(say("err_grid_param_digits", code=code),
                      field="grid")
    return code


@bp.get("/coverage")
@requires("map:view")
def coverage_figures():
    with connection() as conn:
        return jsonify(coverage.coverage(conn, current(), _grid()))


@bp.get("/coverage/blind-spots")
@requires("map:view")
def blind_spots():
    with connection() as conn:
        return jsonify(coverage.blind_spots(conn, current(), _grid()))


@bp.get("/coverage/households")
@requires("map:view")
def uncovered_households():
    limit = int_arg("limit", 1, 1000, default=100)
    offset = int_arg("offset", 0, 10**9, default=0)
    with connection() as conn:
        return jsonify(coverage.uncovered_households(conn, current(), _grid(),
                                                     limit, offset))


@bp.get("/coverage/views")
@requires("map:view")
def camera_views():
    with connection() as conn:
        return jsonify(coverage.views(conn, current(), _grid()))


@bp.get("/coverage/recommend")
@requires("map:view")
def recommend():
    kind = request.args.get("kind") or "ptz"
    if kind not in ("ptz", "fixed", "checkpoint"):
        raise Invalid(say("err_camera_kind_param", kind=kind), field="kind")
    k = int_arg("k", 1, 50, default=5)
    range_m = float_arg("range_m", 10, 2000, required=False) or 100.0
    fov = float_arg("fov_deg", 10, 360, required=False) or 90.0
    weight = float_arg("incident_weight", 0, 100, required=False)
    with connection() as conn:
        return jsonify(coverage.recommend(
            conn, current(), _grid(), k=k, range_m=range_m, kind=kind, fov_deg=fov,
            incident_weight=1.0 if weight is None else weight))
