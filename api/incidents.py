"""/api/v1/incidents: register, route, handle, supervise, close and evaluate.

The state machine lives in ``layers/incidents.py``; these routes parse JSON, turn
the location into WGS-84 (``crs`` as in /locate) and serialise. Deadlines use the
official working-day calendar plus the configured local changes
(``INCIDENT_HOLIDAYS`` / ``INCIDENT_WORKDAYS``: lists of ISO dates); duplicates are
looked for within ``INCIDENT_DUPLICATE_RADIUS_M`` (50) metres and
``INCIDENT_DUPLICATE_DAYS`` (7) days.
"""

import datetime as dt

from flask import Blueprint, current_app, jsonify

from api.auth import current, requires
from api.db import connection
from api.idempotency import idempotent
from api.openapi import INTEGER, OBJECT, STRING, array, obj
from api.params import (
    GRID,
    LEVEL,
    LIMIT,
    OFFSET,
    PREVIEW,
    SINCE,
    UNTIL,
    FlagParam,
    Param,
    TextParam,
    accepts,
    int_field,
    json_body,
    number_field,
    ordered,
    parse_moment,
    text_field,
)
from geo import crs as crs_math
from geo import workdays
from geo.catalogue import say
from geo.vocab import INCIDENT_SATISFACTION
from layers import incidents
from layers.errors import Invalid

bp = Blueprint("incidents", __name__)

CODE = Param("code", "事件编号（SJ + 日期 + 序号）或数字 id",
             "incident code (SJ + date + number) or numeric id", where="path")
_NUMBER_OR_TEXT = {"oneOf": [{"type": "number"}, {"type": "string"}]}
_REGISTER_BODY = {
    "type": "object",
    "required": ["category", "source", "description"],
    "properties": {
        "category": {"type": "string", "enum": list(incidents.DEADLINE_WORKDAYS)},
        "subtype": {"type": "string"},
        "source": {"type": "string",
                   "enum": ["grid_worker", "walk_in", "hotline", "video",
                            "petition"]},
        "reporter": {"type": "string"}, "description": {"type": "string"},
        "lon": _NUMBER_OR_TEXT, "lat": _NUMBER_OR_TEXT,
        "x": _NUMBER_OR_TEXT, "y": _NUMBER_OR_TEXT,
        "crs": {"type": "string", "default": "wgs84",
                "description": "as for /locate (x/y instead of lon/lat with a "
                               "Gauss-Krüger zone)"},
        "received_at": {"type": "string", "format": "date-time",
                        "description": "when the report came in (default now)"},
        "reported_at": {"type": "string", "format": "date-time",
                        "description": "the phone's name of received_at"},
        "household_id": {"type": "integer", "minimum": 1,
                         "description": "the household it concerns (one of your "
                                        "jurisdiction, from /places)"},
        "address": {"type": "string", "maxLength": 200,
                    "description": "the address it concerns, when no household is "
                                   "picked (linked to the micro-grid's household "
                                   "at that address, if exactly one)"},
        "parties": {"type": "array", "maxItems": 20,
                    "items": {"type": "string", "minLength": 1, "maxLength": 50},
                    "description": "the parties' names (personal data: masked "
                                   "for roles that may not see households' "
                                   "names, every read audited)"},
        "link_to": {"oneOf": [{"type": "string"}, {"type": "integer"}],
                    "description": "add the report to this open incident "
                                   "instead of opening another"},
        "external_system": {
            "type": "string", "maxLength": 100,
            "description": "an inbound case: the sending system (\"12345\", "
                           "\"xinfang\" …), with external_ref"},
        "external_ref": {
            "type": "string", "maxLength": 100,
            "description": "the case's number in that system (\"GD20261207001\"): "
                           "one incident per (system, reference), however often it "
                           "is sent; a resend answers 200 with that incident "
                           "(existing: true), another case under the same "
                           "reference is 409 naming external_ref"},
    },
    "description": "lon and lat (or x and y with a Gauss-Krüger crs) are "
                   "required"}
INCIDENT = obj("the incident with its events", required=("id", "code", "status"),
               id=INTEGER, code=STRING, status=STRING, events=array(OBJECT))
_REGISTERED = obj("the new incident (id, code, grid_code, deadline) with its first "
                  "event; or the preview {duplicates, grid_code, deadline}, or the "
                  "report linked (link_to)")
_TRANSITION_PROPS = {
    "note": {"type": "string"}, "assignee_id": {"type": "integer"},
    "department": {"type": "string"},
    "outcome": {"type": "string", "enum": ["mediated", "not_mediated", "litigation",
                                           "handled", "transferred"],
                "description": "close: the outcome (one that fits the category); "
                               "feedback: the outcome proposed to the desk (optional, "
                               "the same check; kept on the event)"},
    "satisfaction": {"type": "integer", "minimum": 1, "maximum": 5,
                     "description": ", ".join(
                         f"{n} {zh}" for n, (zh, _) in INCIDENT_SATISFACTION.items())},
}
_ACTIONS = list(incidents.TRANSITIONS) + list(incidents.ALIASES)
ACTION = Param("action", "动作", "the action: triage (dispatch), escalate, accept "
               "(handle), feedback, remind, close, evaluate, reopen", where="path",
               schema={"type": "string", "enum": _ACTIONS})
STATUS = TextParam("status", "状态，一个或多个（逗号分隔）",
                   "one status or several, comma-separated")
CATEGORY = TextParam("category", "事件类别", "incident category")
OVERDUE = FlagParam("overdue", "只看超期（或只看未超期）", "only overdue ones (or "
                    "only those not overdue)")


def _location(body):
    """The body's point as WGS-84 (lon, lat)."""
    try:
        name = crs_math.normalize_crs(body.get("crs") or "wgs84")
    except (ValueError, TypeError) as exc:
        raise Invalid(say("err_crs", exc=exc),
                      field="crs") from None
    if name in crs_math.GEOGRAPHIC_CRS:
        a, b = number_field(body, "lon"), number_field(body, "lat")
        if abs(b) > 90 >= abs(a):
            raise Invalid(say("err_lat_between_lon_lat", b=b), field="lat")
    else:
        a, b = number_field(body, "x"), number_field(body, "y")
    lon, lat = (float(v) for v in crs_math.to_wgs84(a, b, name))
    return lon, lat


def calendar(config):
    """The working-day calendar of the deployment: the official one, with the
    configured days off and make-up days (``GRIDGOV_INCIDENT_HOLIDAYS`` /
    ``_WORKDAYS``, JSON lists of dates) on top; a year the configured days off
    fall in counts as covered (a deployment adding next year's notice)."""
    holidays = config.get("INCIDENT_HOLIDAYS", ())
    return workdays.china().extended(
        holidays, config.get("INCIDENT_WORKDAYS", ()),
        years={dt.date.fromisoformat(str(d)[:10]).year for d in holidays})


def _settings():
    config = current_app.config
    return {"calendar": calendar(config),
            "radius_m": float(config.get("INCIDENT_DUPLICATE_RADIUS_M", 50)),
            "days": float(config.get("INCIDENT_DUPLICATE_DAYS", 7))}


_TEXT_FIELDS = ("category", "subtype", "source", "reporter", "description",
                "external_system", "external_ref", "address")


def _register(preview):
    body = json_body()
    for name in _TEXT_FIELDS:
        text_field(body, name)
    point = _location(body)
    # the phone's queue says when it was seen (reported_at); the desk, received_at
    name = "received_at" if body.get("received_at") else "reported_at"
    received = parse_moment(body.get(name), name)
    if received is not None and received > dt.datetime.now(dt.UTC) + dt.timedelta(
            minutes=5):
        raise Invalid(say("err_future", name=name), field=name)
    link_to = body.get("link_to") or None
    if link_to is not None and not isinstance(link_to, str | int):
        raise Invalid(say("err_link_incident_code"),
                      field="link_to")
    with connection() as conn:
        result = incidents.register(conn, current(), body, point, link_to=link_to,
                                    dry_run=preview, received_at=received,
                                    **_settings())
    created = not (preview or link_to is not None or result.get("existing"))
    return jsonify(result), 201 if created else 200


@bp.post("/incidents")
@requires("incidents:report")
@idempotent
@accepts(PREVIEW, body=_REGISTER_BODY, errors=(409, 422),
         responses={201: _REGISTERED, 200: _REGISTERED})
def register(preview):
    """Register an incident (受理登记); ?preview=1 saves nothing and lists likely
    duplicates; 409: link_to names a closed incident, or external_ref came with
    another case. Other systems (12345 hotline, 信访) send their cases here with
    a system account's API token, external_system and external_ref (and
    optionally an Idempotency-Key): a resend answers 200 with the incident it
    made (existing: true); status changes reach them by /webhooks"""
    return _register(preview)


@bp.post("/incidents/preview")
@requires("incidents:report")
@accepts(body=_REGISTER_BODY, errors=(409, 422), responses={200: obj(
    "{duplicates, grid_code, deadline}", duplicates=array(OBJECT))})
def preview():
    """Preview a registration: its grid, deadline and likely duplicates"""
    return _register(True)


@bp.get("/incidents")
@requires("incidents:read")
@accepts(STATUS, CATEGORY, GRID, LEVEL.but(en="escalation level 1–4"), OVERDUE,
         SINCE, UNTIL, LIMIT, OFFSET, responses={200: obj(
             "a page", required=("total", "items"), total=INTEGER,
             items=array(OBJECT))})
def list_incidents(status, category, grid, level, overdue, since, until, limit,
                   offset):
    """Incidents of your jurisdiction (filters; overdue flagged)"""
    ordered(since, until, "since", "until")
    with connection() as conn:
        page = incidents.list_incidents(
            conn, current(), status=status, overdue=overdue, level=level,
            category=category, grid=grid, since=since, until=until, limit=limit,
            offset=offset)
    return jsonify(page)


@bp.get("/incidents/queues")
@requires("incidents:read")
@accepts(GRID.but(en="a subtree of your jurisdiction"), responses={200: obj(
    "{queues: [{level, to_triage, in_hand, overdue, awaiting_evaluation}], "
    "labels}", required=("queues", "labels"), queues=array(OBJECT),
    labels=OBJECT)})
def queues(grid):
    """Each level's desk (escalation level 1 town … 4 micro-grid): counts to
    triage, in hand, overdue, awaiting evaluation"""
    with connection() as conn:
        counts = incidents.queue_counts(conn, current(), grid=grid)
    return jsonify({"queues": counts,
                    "labels": {k: list(v) for k, v in incidents.QUEUES.items()}})


@bp.get("/incidents/<code>")
@requires("incidents:read")
@accepts(path=[CODE], responses={200: INCIDENT})
def get_incident(code):
    """One incident with its events (timeline), its grid chain by name, the staff
    of that chain (nearest level first) and the outcome its last feedback
    proposed"""
    with connection() as conn:
        return jsonify(incidents.get_incident(conn, current(), code))


def _transition(code, action, body):
    text_field(body, "note")
    text_field(body, "department")
    text_field(body, "outcome")
    int_field(body, "assignee_id")
    extra = {k: body.get(k) for k in ("assignee_id", "department", "outcome",
                                      "satisfaction")}
    with connection() as conn:
        return jsonify(incidents.transition(conn, current(), code, action,
                                            body.get("note"), **extra))


@bp.post("/incidents/<code>/transitions")
@requires("incidents:report")  # a field role: its own tasks' accept, feedback
@idempotent
@accepts(path=[CODE], body=obj(required=("action",), action={
    "type": "string", "enum": _ACTIONS}, **_TRANSITION_PROPS), errors=(409,),
    responses={200: INCIDENT})
def transitions(code):
    """Carry out an action of the loop (body: action, note …); 409: not allowed
    in the current state"""
    body = json_body()
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise Invalid(say("err_action_required_text"), field="action")
    return _transition(code, action, body)


@bp.post("/incidents/<code>/<action>")
@requires("incidents:report")
@idempotent
@accepts(path=[CODE, ACTION], body=obj(**_TRANSITION_PROPS), body_required=False,
         errors=(409,), responses={200: INCIDENT})
def act(code, action):
    """The same, the action in the path: triage (dispatch), escalate, accept
    (handle), feedback, remind, close, evaluate, reopen"""
    return _transition(code, action, json_body(required=False))
