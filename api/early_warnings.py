"""/api/v1/warnings: the day's early warnings (预警) and acting on them."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import INTEGER, NUMBER, OBJECT, STRING, TIME, array, nullable, obj
from api.params import (
    GRID,
    LIMIT,
    ChoiceParam,
    TextParam,
    accepts,
    json_body,
    text_field,
)
from layers import early_warning

bp = Blueprint("early_warnings", __name__)

_DATE = {"type": "string", "format": "date"}
WARNING = obj(
    "an early warning", required=("id", "kind", "grid_code", "status"),
    id=INTEGER, kind={"enum": ["grid", "cluster"]}, grid_code=STRING,
    grid_name=nullable(STRING), level=nullable(INTEGER),
    category=nullable(STRING), category_label=STRING, first_day=_DATE,
    last_day=_DATE, since=_DATE, window_days=INTEGER, observed=INTEGER,
    expected=NUMBER, p=NUMBER, q=nullable(NUMBER), geometry=nullable(OBJECT),
    incidents=array(STRING), status={"enum": list(early_warning.STATUSES)},
    reason=nullable(STRING), handled_by=nullable(STRING),
    handled_at=nullable(TIME),
    judgement_id=nullable({"type": "integer", "description": "sent to 研判 "
                           "(assess): its 研判 item (/api/v1/judgements)"}))
STATUS = ChoiceParam("status", "状态（live：未排除的）", "status (live: not dismissed)",
                     default="live", choices=("live", *early_warning.STATUSES))
AT = TextParam("at", "网格编码：该网格及其上级各网格的预警（调度员所定位之处）",
               "a grid code: the warnings of it and of every grid above it (the "
               "dispatcher's spot)")


@bp.get("/warnings")
@requires("incidents:read")
@accepts(STATUS, GRID, AT, LIMIT, responses={200: obj(
    "the warnings", items=array(WARNING))})
def collection(status, grid, at, limit):
    """Early warnings of your jurisdiction: grids whose recent incidents are
    unusually high, and emerging space-time clusters"""
    with connection() as conn:
        items = early_warning.list_warnings(conn, current(), status=status,
                                            grid=grid, at=at, limit=limit)
    return jsonify({"items": items})


@bp.get("/warnings/<int:warning_id>")
@requires("incidents:read")
@accepts(responses={200: WARNING})
def one(warning_id):
    """One warning"""
    with connection() as conn:
        return jsonify(early_warning.get(conn, current(), warning_id))


@bp.post("/warnings/<int:warning_id>")
@requires("warnings:handle")
@accepts(body=obj(required=("action",), action={"enum": list(early_warning.ACTIONS)},
                  reason={"type": "string", "maxLength": 500}),
         errors=(409,), responses={200: WARNING})
def act(warning_id):
    """Acknowledge a warning, send it to 研判 (assess: its 研判 item is made at
    the town's level, judgement_id), or dismiss it with a reason; audited"""
    body = json_body()
    with connection() as conn:
        return jsonify(early_warning.handle(
            conn, current(), warning_id, text_field(body, "action", required=True),
            text_field(body, "reason")))
