"""/api/v1/judgements: 研判 items (a warning or incidents taken to a level's
meeting, its follow-up tasks, escalation), and /api/v1/judgement-levels, the
levels above the town: thin routes over layers/judgements.py (its docstring says
who may do what)."""

import datetime as dt

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import BOOLEAN, INTEGER, STRING, TIME, array, nullable, obj
from api.params import (
    GRID,
    LIMIT,
    ChoiceParam,
    IntParam,
    Param,
    accepts,
    json_body,
    parse_date,
    parse_moment,
    text_field,
)
from geo.localtime import CHINA_TZ
from layers import judgements

bp = Blueprint("judgements", __name__)

_DATE = {"type": "string", "format": "date"}
_TASK = obj("a follow-up task", required=("id", "status"), id=INTEGER,
            description=STRING, owner=STRING, owner_name=nullable(STRING),
            deadline=TIME, status={"enum": list(judgements.TASK_STATUSES)},
            overdue=BOOLEAN, note=nullable(STRING), done_by=nullable(STRING),
            done_at=nullable(TIME), created_by=STRING, created_at=TIME)
ITEM = obj(
    "a 研判 item", required=("id", "status", "grid_code", "tasks"), id=INTEGER,
    level_id=nullable(INTEGER), rank=INTEGER, level_name=nullable(STRING),
    level_label=STRING, town_code=nullable(STRING), town_name=nullable(STRING),
    grid_code=STRING, grid_name=nullable(STRING), warning_id=nullable(INTEGER),
    incidents=array(STRING), title=STRING, meeting_on=nullable(_DATE),
    participants=nullable(STRING), assessment=nullable(STRING),
    decisions=nullable(STRING), status={"enum": list(judgements.STATUSES)},
    resolution=nullable(STRING), escalated_from=nullable(INTEGER),
    escalated_to=nullable(INTEGER), escalation_reason=nullable(STRING),
    created_by=STRING, created_at=TIME, closed_at=nullable(TIME),
    open_tasks=INTEGER, overdue_tasks=INTEGER, days_open=INTEGER,
    tasks=array(_TASK))
LEVEL = obj("a 研判 level above the town", required=("id", "name", "rank"),
            id=INTEGER, name=STRING, rank=INTEGER, covers=nullable(array(STRING)),
            members=array(STRING))
_TEXT = {"type": "string"}
_MEETING = {"title": {"type": "string", "maxLength": 200},
            "meeting_on": {"type": "string", "format": "date",
                           "description": "the meeting's day (China time)"},
            "participants": _TEXT, "assessment": _TEXT, "decisions": _TEXT}
_NEW_TASK = obj(required=("description", "owner", "deadline"), description=_TEXT,
                owner={"type": "string", "description": "a user name"},
                deadline={"type": "string", "description": "ISO 8601 date-time "
                          "(China time without an offset) or a date: its end"})
_NEW_ITEM = obj(
    warning_id=INTEGER, incidents=array(STRING, "incident codes"),
    level_id={"type": "integer", "description": "a level above the town; "
              "left out: the town's 研判"},
    tasks=array(_NEW_TASK), **_MEETING)
_LEVEL_BODY = {"name": {"type": "string", "maxLength": 100},
               "rank": {"type": "integer", "minimum": 2, "maximum": 20},
               "covers": nullable(array(STRING, "grid codes; null: everywhere")),
               "members": array(STRING, "user names")}
STATUS = ChoiceParam("status", "状态（all：全部）", "status (all: every item)",
                     default="open", choices=(*judgements.STATUSES, "all"))
LEVEL_ID = IntParam("level", "研判层级：0 为街镇，否则为层级编号",
                    "研判 level: 0 the towns', else a level's id", low=0)
JUDGEMENT_ID = [Param("judgement_id", "研判事项编号", "the item's id", where="path")]
TASK_ID = Param("task_id", "任务编号", "the task's id", where="path")
LEVEL_PATH = [Param("level_id", "研判层级编号", "the level's id", where="path")]


def _day(value, name):
    return None if value is None else parse_date(value, name)


def _deadline(value):
    """A deadline: a date-time (China time without an offset), or a date, whose
    end it is."""
    if isinstance(value, str) and len(value.strip()) == 10:
        day = parse_date(value.strip(), "deadline")
        return dt.datetime.combine(day, dt.time(23, 59, 59), CHINA_TZ)
    return parse_moment(value, "deadline")


def _task(fields):
    if isinstance(fields, dict) and "deadline" in fields:
        return fields | {"deadline": _deadline(fields["deadline"])}
    return fields


def _fields(body):
    """The body with its date and deadlines read."""
    fields = dict(body)
    if "meeting_on" in fields:
        fields["meeting_on"] = _day(fields["meeting_on"], "meeting_on")
    if isinstance(fields.get("tasks"), list):
        fields["tasks"] = [_task(t) for t in fields["tasks"]]
    return fields


@bp.get("/judgements")
@requires("incidents:read")
@accepts(STATUS, LEVEL_ID, GRID, LIMIT, responses={200: obj(
    "the items", total=INTEGER, items=array(ITEM))})
def collection(status, level, grid, limit):
    """研判 items of your jurisdiction (and of the levels you sit at): those
    with overdue tasks first, then the oldest, with their age in days"""
    with connection() as conn:
        return jsonify(judgements.list_items(conn, current(), status=status,
                                             level=level, grid=grid, limit=limit))


@bp.post("/judgements")
@requires("judgements:edit")
@accepts(body=_NEW_ITEM, errors=(404,), responses={201: ITEM})
def create():
    """Record a 研判 item: a warning or incidents taken to a level's meeting,
    with its assessment, decisions and follow-up tasks; audited"""
    fields = _fields(json_body())
    with connection() as conn:
        return jsonify(judgements.create(conn, current(), fields)), 201


@bp.get("/judgements/<int:judgement_id>")
@requires("incidents:read")
@accepts(path=JUDGEMENT_ID, responses={200: ITEM})
def one(judgement_id):
    """One 研判 item with its tasks and its escalation links"""
    with connection() as conn:
        return jsonify(judgements.get(conn, current(), judgement_id))


@bp.patch("/judgements/<int:judgement_id>")
@requires("judgements:edit")
@accepts(body=obj(**_MEETING), path=JUDGEMENT_ID, errors=(409,),
         responses={200: ITEM})
def change(judgement_id):
    """Record or change the meeting of an open item (date, participants,
    assessment, decisions); audited"""
    fields = _fields(json_body())
    with connection() as conn:
        return jsonify(judgements.update(conn, current(), judgement_id, fields))


@bp.post("/judgements/<int:judgement_id>/tasks")
@requires("judgements:edit")
@accepts(body=_NEW_TASK, path=JUDGEMENT_ID, errors=(409,), responses={201: ITEM})
def add_task(judgement_id):
    """Add a follow-up task (description, owner, deadline) to an open item"""
    fields = _task(json_body())
    with connection() as conn:
        return jsonify(judgements.add_task(conn, current(), judgement_id,
                                           fields)), 201


@bp.post("/judgements/<int:judgement_id>/tasks/<int:task_id>")
@requires("incidents:read")
@accepts(body=obj(required=("status",),
                  status={"enum": list(judgements.TASK_STATUSES)},
                  note={"type": "string", "maxLength": 1000}),
         path=[*JUDGEMENT_ID, TASK_ID],
         errors=(409,), responses={200: ITEM})
def set_task(judgement_id, task_id):
    """Mark a task done (its owner, or who may change the item) or open again"""
    body = json_body()
    with connection() as conn:
        return jsonify(judgements.set_task(
            conn, current(), judgement_id, task_id,
            text_field(body, "status", required=True), text_field(body, "note")))


@bp.post("/judgements/<int:judgement_id>/escalate")
@requires("judgements:edit")
@accepts(body=obj(required=("reason",), reason={"type": "string",
                                                "maxLength": 1000}),
         path=JUDGEMENT_ID, errors=(409,), responses={201: ITEM})
def escalate(judgement_id):
    """提级: the level cannot resolve the item; a new item at the next level
    covering it, linked both ways (409 past the top level)"""
    body = json_body()
    with connection() as conn:
        return jsonify(judgements.escalate(conn, current(), judgement_id,
                                           text_field(body, "reason"))), 201


@bp.post("/judgements/<int:judgement_id>/resolve")
@requires("judgements:edit")
@accepts(body=obj(required=("resolution",), resolution={"type": "string",
                                                        "maxLength": 2000}),
         path=JUDGEMENT_ID, errors=(409,), responses={200: ITEM})
def resolve(judgement_id):
    """Close a resolved item (every task done)"""
    body = json_body()
    with connection() as conn:
        return jsonify(judgements.resolve(conn, current(), judgement_id,
                                          text_field(body, "resolution")))


@bp.get("/judgement-levels")
@requires("incidents:read")
@accepts(responses={200: obj("the levels", items=array(LEVEL))})
def levels():
    """The 研判 levels above the town, lowest first"""
    with connection() as conn:
        return jsonify({"items": judgements.list_levels(conn)})


@bp.post("/judgement-levels")
@requires("users:manage")
@accepts(body=obj(required=("name", "rank"), **_LEVEL_BODY), errors=(409,),
         responses={201: LEVEL})
def create_level():
    """Add a 研判 level above the town (an administrator of the whole
    deployment); audited"""
    body = json_body()
    with connection() as conn:
        return jsonify(judgements.save_level(conn, current(), body)), 201


@bp.put("/judgement-levels/<int:level_id>")
@requires("users:manage")
@accepts(body=obj(**_LEVEL_BODY), path=LEVEL_PATH,
         errors=(409,), responses={200: LEVEL})
def change_level(level_id):
    """Change a level's name, rank, grids covered or members; audited"""
    body = json_body()
    with connection() as conn:
        return jsonify(judgements.save_level(conn, current(), body, level_id))


@bp.delete("/judgement-levels/<int:level_id>")
@requires("users:manage")
@accepts(path=LEVEL_PATH, errors=(409,),
         responses={204: None})
def delete_level(level_id):
    """Remove a level that holds no items"""
    with connection() as conn:
        judgements.delete_level(conn, current(), level_id)
    return "", 204
