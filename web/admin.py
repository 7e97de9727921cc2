"""Administration pages: the audit log (read-only: the database refuses changes),
users and their API tokens (every change audited by layers/users.py)."""

import datetime as dt

from flask import Blueprint, flash, redirect, render_template, request, url_for

from api.auth import current, requires
from api.db import connection
from api.params import date_arg
from layers import audit as audit_layer
from layers import users
from layers.access import ROLES
from layers.errors import LayerError
from web.i18n import t

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/admin")

_TABLES = ("users", "api_tokens", "grids", "households", "cameras", "incidents",
           "imports", "database")


@bp.get("/audit")
@requires("audit:read")
def audit():
    f = {k: request.args.get(k) or None for k in ("user", "action", "table",
                                                   "since", "until")}
    since, until = date_arg("since"), date_arg("until")
    with connection() as conn:
        rows = audit_layer.search(
            conn, username=f["user"], action=f["action"], table=f["table"],
            since=since, until=until and until + dt.timedelta(days=1))
    return render_template("audit.html", rows=rows, f=f, actions=audit_layer.ACTIONS,
                           tables=_TABLES)


@bp.get("/users")
@requires("users:manage")
def users_page():
    with connection() as conn:
        return render_template("users.html", users=users.list_users(conn),
                               tokens=users.list_tokens(conn), roles=ROLES)


def _act(done_message, action):
    """Run ``action(conn)``; flash its outcome, errors included, and go back."""
    try:
        with connection() as conn:
            result = action(conn)
        flash(done_message(result) if callable(done_message) else done_message)
    except LayerError as exc:
        flash(exc.message, "error")
    return redirect(url_for("admin.users_page"))


@bp.post("/users")
@requires("users:manage")
def user_create():
    form = request.form
    return _act(t("user_created"), lambda conn: users.add_user(
        conn, current(), form.get("username", "").strip(), form.get("role", ""),
        form.get("grid", "").strip() or None, form.get("password") or None))


@bp.post("/users/<username>/active")
@requires("users:manage")
def user_active(username):
    active = request.form.get("active") == "1"
    return _act(t("user_updated"),
                lambda conn: users.set_active(conn, current(), username, active))


@bp.post("/users/<username>/password")
@requires("users:manage")
def user_password(username):
    password = request.form.get("password", "")
    return _act(t("user_updated"),
                lambda conn: users.set_password(conn, current(), username, password))


@bp.post("/users/<username>/tokens")
@requires("users:manage")
def user_token(username):
    label = request.form.get("label", "").strip() or "token"
    # the token is shown once, here, and never again
    return _act(lambda token: f"{t('token_created')}: {token}",
                lambda conn: users.create_token(conn, current(), username, label))


@bp.post("/tokens/<int:token_id>/revoke")
@requires("users:manage")
def token_revoke(token_id):
    return _act(t("token_revoked"),
                lambda conn: users.revoke_token(conn, current(), token_id))
