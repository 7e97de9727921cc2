"""/api/v1/devices and /api/v1/me: the phone's login, logout and its user's own
view (tasks, households). The phone sends its device token as a bearer token."""

from flask import Blueprint, jsonify, request

from api.auth import _bearer, current, requires, token_login
from api.db import connection
from api.errors import error_response
from api.openapi import OBJECT, STRING, array, obj
from api.params import accepts, json_body
from geo.catalogue import say
from layers import audit, devices, me, users
from layers.errors import Invalid, TooManyRequests, Unauthorized

bp = Blueprint("devices", __name__)

ME = obj("who the caller is", required=("username", "role", "permissions"),
         username=STRING, display_name=STRING, role=STRING, role_label=STRING,
         permissions=array(STRING), grids=array())
_LOGIN = obj(required=("username", "password"), username=STRING, password=STRING,
             label=STRING)
_ITEMS = obj(required=("items",), items=array(OBJECT))


@bp.post("/devices")
@token_login
@accepts(body=_LOGIN, errors=(401, 429), responses={201: obj(
    "a device token valid 30 days", required=("token", "expires_at", "me"),
    token=STRING, expires_at=STRING, me=ME)})
def create_device():
    """Log a phone in: a device token valid 30 days (the login form's checks:
    throttling, lockout, audit)"""
    body = json_body()
    username, password = body.get("username"), body.get("password")
    if not isinstance(username, str) or not isinstance(password, str):
        raise Invalid(say("err_username_password_required"),
                      field="username" if not isinstance(username, str)
                      else "password")
    label = body.get("label")
    if label is not None and not isinstance(label, str):
        raise Invalid(say("err_label_text"),
                      field="label")
    with connection() as conn:
        try:
            principal = users.login(conn, username.strip(), password,
                                    request.remote_addr)
        except TooManyRequests as exc:  # the pair must wait, or the account is locked
            response, status = error_response(exc.http_status, exc.code, exc.message,
                                              exc.field, **exc.details)
            response.headers["Retry-After"] = str(exc.details["retry_after"])
            return response, status
        if principal is None:  # the failed attempt is recorded: it counts
            raise Unauthorized(say("wrong_login"),
                               field="password")
        audit.record(conn, principal, "login", "users", principal.username,
                     after={"device": label}, grid_code=principal.grid_code)
        token, expires_at = devices.issue(conn, principal, label)
        described = me.describe(conn, principal)
    return jsonify({"token": token, "expires_at": me.iso(expires_at),
                    "me": described}), 201


@bp.delete("/devices/current")
@requires("map:view")
@accepts(responses={204: None}, errors=(400,))
def delete_device():
    """Log this phone out: revoke the calling device token"""
    with connection() as conn:
        devices.revoke(conn, current(), _bearer() or "")
    return "", 204


@bp.get("/me")
@requires("map:view")
@accepts(responses={200: ME})
def get_me():
    """Who the caller is: role, permissions, staff record and micro-grids"""
    with connection() as conn:
        return jsonify(me.describe(conn, current()))


@bp.get("/me/tasks")
@requires("incidents:read")
@accepts(responses={200: _ITEMS})
def my_tasks():
    """Incidents assigned to the caller's staff person or open in their
    micro-grids, with the actions they may do"""
    with connection() as conn:
        return jsonify({"items": me.tasks(conn, current())})


@bp.get("/me/households")
@requires("households:read")
@accepts(responses={200: _ITEMS})
def my_households():
    """Households of the caller's micro-grids (masked per role, no tags) with
    their last visit; one audited read"""
    with connection() as conn:
        return jsonify({"items": me.my_households(conn, current())})
