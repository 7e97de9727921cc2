"""/api/v1/incidents: register, route, handle, supervise, close and evaluate.

The state machine lives in ``layers/incidents.py``; these routes parse JSON, turn
the location into WGS-84 (``crs`` as in /locate) and serialise. Deadlines use the
official working-day calendar plus the configured local changes
(``INCIDENT_HOLIDAYS`` / ``INCIDENT_WORKDAYS``: lists of ISO dates); duplicates are
looked for within ``INCIDENT_DUPLICATE_RADIUS_M`` (50) metres and
``INCIDENT_DUPLICATE_DAYS`` (7) days.
"""

import datetime as dt

from flask import Blueprint, current_app, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.idempotency import idempotent
from api.params import (
    flag_arg,
    int_arg,
    int_field,
    json_body,
    moment_arg,
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

_CODE = {"name": "code", "in": "path", "required": True,
         "description": "incident code (SJ + date + number) or numeric id",
         "schema": {"type": "string"}}
_REGISTER_BODY = {
    "required": True,
    "content": {"application/json": {"schema": {
        "type": "object",
        "required": ["category", "source", "description", "lon", "lat"],
        "properties": {
            "category": {"type": "string", "enum": list(incidents.DEADLINE_WORKDAYS)},
            "subtype": {"type": "string"},
            "source": {"type": "string",
                       "enum": ["grid_worker", "walk_in", "hotline", "video",
                                "petition"]},
            "reporter": {"type": "string"}, "description": {"type": "string"},
            "lon": {"type": "number"}, "lat": {"type": "number"},
            "crs": {"type": "string", "default": "wgs84",
                    "description": "as for /locate (x/y instead of lon/lat with a "
                                   "Gauss-Krüger zone)"},
            "received_at": {"type": "string", "format": "date-time",
                            "description": "when the report came in (default now)"},
            "reported_at": {"type": "string", "format": "date-time",
                            "description": "the phone's name of received_at"},
            "link_to": {"type": "string",
                        "description": "add the report to this open incident "
                                       "instead of opening another"},
            "external_system": {
                "type": "string", "maxLength": 100,
                "description": "an inbound case: the sending system (\"12345\", "
                               "\"xinfang\" …), with external_ref"},
            "external_ref": {
                "type": "string", "maxLength": 100,
                "description": "the case's number in that system "
                               "(\"GD20261207001\"): one incident per (system, "
                               "reference), however often it is sent"},
        }}}},
}
_PREVIEW = {
    "summary": "Preview a registration: its grid, deadline and likely duplicates",
    "requestBody": _REGISTER_BODY,
    "responses": {"200": {"description": "{duplicates, grid_code, deadline}"},
                  "400": {"description": "bad field (named in error.field)"}},
}
_TRANSITION_RESPONSES = {
    "200": {"description": "the incident with its events"},
    "400": {"description": "unknown action or bad field"},
    "404": {"description": "unknown, or not yours"},
    "409": {"description": "the action is not allowed in the current state"},
}
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

OPENAPI = {
    "/incidents": {
        "get": {
            "summary": "Incidents of your jurisdiction (filters; overdue flagged)",
            "parameters": [
                {"name": n, "in": "query", "schema": s} for n, s in (
                    ("status", {"type": "string", "description":
                                "one status or several, comma-separated"}),
                    ("category", {"type": "string"}),
                    ("grid", {"type": "string"}),
                    ("level", {"type": "integer", "minimum": 1, "maximum": 4}),
                    ("overdue", {"type": "boolean"}),
                    ("since", {"type": "string", "format": "date-time"}),
                    ("until", {"type": "string", "format": "date-time"}),
                    ("limit", {"type": "integer", "minimum": 1, "maximum": 1000}),
                    ("offset", {"type": "integer", "minimum": 0}))],
            "responses": {"200": {"description": "{total, items}"}},
        },
        "post": {
            "summary": "Register an incident (受理登记); ?preview=1 saves nothing "
                       "and lists likely duplicates",
            "description": "Other systems (12345 hotline, 信访) send their cases "
                           "here with an API token of a system account (a user "
                           "of role dispatcher, scoped to the grid it serves: "
                           "`gridgov user add hotline12345 --role dispatcher --grid "
                           "CODE`, then `gridgov user token hotline12345`), "
                           "`Authorization: Bearer <token>`, the body's "
                           "external_system and external_ref, and optionally an "
                           "Idempotency-Key header. A resend of the same case "
                           "(with or without the key, even days later) answers "
                           "200 with the incident it made (`existing: true`); "
                           "another case under the same reference is 409 naming "
                           "external_ref. Status changes reach the system by "
                           "/webhooks.",
            "parameters": [{"name": "preview", "in": "query",
                            "schema": {"type": "boolean"}}],
            "requestBody": _REGISTER_BODY,
            "responses": {
                "201": {"description": "the new incident (id, code, grid_code, "
                                       "deadline) with its first event"},
                "200": {"description": "preview, the report linked (link_to), or "
                                       "the incident an inbound case's reference "
                                       "registered before (existing: true)"},
                "400": {"description": "bad field, or a location in no micro-grid "
                                       "of your jurisdiction"},
                "409": {"description": "link_to names a closed incident, or "
                                       "external_ref came with another case"}},
        },
    },
    "/incidents/preview": {"post": _PREVIEW},
    "/incidents/queues": {
        "get": {
            "summary": "Each level's desk (escalation level 1 town … 4 micro-grid): "
                       "counts to triage, in hand, overdue, awaiting evaluation",
            "parameters": [{"name": "grid", "in": "query", "required": False,
                            "description": "a subtree of your jurisdiction",
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "{queues: [{level, to_triage, "
                                                 "in_hand, overdue, "
                                                 "awaiting_evaluation}], labels}"}}},
    },
    "/incidents/{code}": {
        "get": {"summary": "One incident with its events (timeline), its grid "
                           "chain by name, the staff of that chain (nearest level "
                           "first) and the outcome its last feedback proposed",
                "parameters": [_CODE],
                "responses": {"200": {"description": "the incident"},
                              "404": {"description": "unknown, or not yours"}}},
    },
    "/incidents/{code}/transitions": {
        "post": {
            "summary": "Carry out an action of the loop (body: action, note …)",
            "parameters": [_CODE],
            "requestBody": {"required": True, "content": {"application/json": {
                "schema": {"type": "object", "required": ["action"],
                           "properties": {"action": {"type": "string",
                                                     "enum": _ACTIONS}}
                           | _TRANSITION_PROPS}}}},
            "responses": _TRANSITION_RESPONSES,
        }
    },
    "/incidents/{code}/{action}": {
        "post": {
            "summary": "The same, the action in the path: triage (dispatch), "
                       "escalate, accept (handle), feedback, remind, close, "
                       "evaluate, reopen",
            "parameters": [_CODE, {"name": "action", "in": "path", "required": True,
                                   "schema": {"type": "string", "enum": _ACTIONS}}],
            "requestBody": {"required": False, "content": {"application/json": {
                "schema": {"type": "object", "properties": _TRANSITION_PROPS}}}},
            "responses": _TRANSITION_RESPONSES,
        }
    },
}


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
                "external_system", "external_ref")


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
def register():
    return _register(flag_arg("preview"))


@bp.post("/incidents/preview")
@requires("incidents:report")
def preview():
    return _register(True)


@bp.get("/incidents")
@requires("incidents:read")
def list_incidents():
    args = request.args
    since, until = moment_arg("since"), moment_arg("until")
    ordered(since, until, "since", "until")
    with connection() as conn:
        page = incidents.list_incidents(
            conn, current(), status=args.get("status") or None,
            overdue=flag_arg("overdue", default=None),
            level=int_arg("level", 1, 4), category=args.get("category") or None,
            grid=args.get("grid") or None, since=since, until=until,
            limit=int_arg("limit", 1, 1000, default=100),
            offset=int_arg("offset", 0, 10**9, default=0))
    return jsonify(page)


@bp.get("/incidents/queues")
@requires("incidents:read")
def queues():
    with connection() as conn:
        counts = incidents.queue_counts(conn, current(),
                                        grid=request.args.get("grid") or None)
    return jsonify({"queues": counts,
                    "labels": {k: list(v) for k, v in incidents.QUEUES.items()}})


@bp.get("/incidents/<code>")
@requires("incidents:read")
def get_incident(code):
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
def transitions(code):
    body = json_body()
    action = body.get("action")
    if not isinstance(action, str) or not action:
        raise Invalid(say("err_action_required_text"), field="action")
    return _transition(code, action, body)


@bp.post("/incidents/<code>/<action>")
@requires("incidents:report")
@idempotent
def act(code, action):
    return _transition(code, action, json_body(required=False))
