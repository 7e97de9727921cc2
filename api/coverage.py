"""GET /api/v1/coverage…: camera coverage, blind spots (盲区), where to add cameras.

Figures are per grid at any level and scoped to the user's jurisdiction; computed
in the deployment's Gauss-Krüger zone and cached (``layers/coverage.py``).
"""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.openapi import FEATURE_COLLECTION, INTEGER, OBJECT, array, nullable, obj
from api.params import (
    GRID,
    LIMIT,
    OFFSET,
    ChoiceParam,
    FloatParam,
    IntParam,
    accepts,
)
from geo.catalogue import say
from layers import coverage
from layers.errors import Invalid

bp = Blueprint("coverage", __name__)

_FIGURES = ("area_share, household_share (fractions 0–1, null without area or "
            "households), cameras, online_cameras, area_m2, covered_m2, households, "
            "uncovered_households")
COVERAGE_GRID = GRID.but(zh="网格编码，任一层级（默认：您辖区的根）",
                         en="grid code, any level (default: your jurisdiction's "
                            "root)", parse=lambda name: _grid(name))
K = IntParam("k", "新增摄像机数", "cameras to add", default=5, low=1, high=50)
RANGE_M = FloatParam("range_m", "摄像机视距（米）", "camera range in metres",
                     default=100.0, low=10, high=2000)
KIND = ChoiceParam("kind", "摄像机类型", "camera kind", default="ptz",
                   choices=("ptz", "fixed", "checkpoint"),
                   refuse=lambda raw: say("err_camera_kind_param", kind=raw))
FOV_DEG = FloatParam("fov_deg", "固定摄像机的视场角（每处试 8 个方向）",
                     "field of view of a fixed camera (8 bearings are tried at each "
                     "site)", default=90.0, low=10, high=360)
INCIDENT_WEIGHT = FloatParam("incident_weight", "一起历史事件相对一户的权重",
                             "weight of a past incident against a household",
                             default=1.0, low=0, high=100)


def _grid(name):
    code = (request.args.get(name) or "").strip() or None
    if code is not None and not code.isdigit():
        raise Invalid(say("err_grid_param_digits", code=code),
                      field="grid")
    return code


@bp.get("/coverage")
@requires("map:view")
@accepts(COVERAGE_GRID, responses={200: obj(
    "{grid: {code, name, level, …figures}, children: [...]}; figures: " + _FIGURES,
    required=("grid", "children"), grid=OBJECT, children=array(OBJECT))})
def coverage_figures(grid):
    """Camera coverage of a grid and of each of its children"""
    with connection() as conn:
        return jsonify(coverage.coverage(conn, current(), grid))


@bp.get("/coverage/blind-spots")
@requires("map:view")
@accepts(COVERAGE_GRID, responses={200: FEATURE_COLLECTION})
def blind_spots(grid):
    """Blind spots (盲区): the parts of the grid's micro-grids no camera sees,
    simplified to 0.5 m; one MultiPolygon per micro-grid: code, name, blind_m2,
    uncovered_households (400 past 5,000 micro-grids: ask lower)"""
    with connection() as conn:
        return jsonify(coverage.blind_spots(conn, current(), grid))


@bp.get("/coverage/households")
@requires("map:view")
@accepts(COVERAGE_GRID, LIMIT, OFFSET, responses={200: obj(
    "{grid, total, items (null without households:read)}", required=("total",),
    total=INTEGER, items=nullable(array(OBJECT)))})
def uncovered_households(grid, limit, offset):
    """Households no camera sees (listed, masked, with households:read; counted
    otherwise)"""
    with connection() as conn:
        return jsonify(coverage.uncovered_households(conn, current(), grid,
                                                     limit, offset))


@bp.get("/coverage/views")
@requires("map:view")
@accepts(COVERAGE_GRID, responses={200: FEATURE_COLLECTION})
def camera_views(grid):
    """Fields of view of the grid's cameras (sectors, discs): code, kind, status;
    numberMatched"""
    with connection() as conn:
        return jsonify(coverage.views(conn, current(), grid))


@bp.get("/coverage/recommend")
@requires("map:view")
@accepts(KIND, K, RANGE_M, FOV_DEG, INCIDENT_WEIGHT, COVERAGE_GRID, responses={
    200: obj("{grid, households, incidents, sites, spacing_m, picks: [{rank, lon, "
             "lat, bearing, gain, households, incidents, household_share_after}]}",
             required=("picks",), picks=array(OBJECT))})
def recommend(kind, k, range_m, fov_deg, incident_weight, grid):
    """Where to add k cameras: greedy max-cover of the households and last 12
    months' incidents no camera sees"""
    with connection() as conn:
        return jsonify(coverage.recommend(
            conn, current(), grid, k=k, range_m=range_m, kind=kind, fov_deg=fov_deg,
            incident_weight=incident_weight))
