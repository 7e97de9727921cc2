"""Administration pages: the audit log (read-only: the database refuses changes),
users and their API tokens (every change audited by layers/users.py).

An administrator scoped to a grid sees and manages the accounts and audit rows of
that grid's subtree only (the layers confine it). A refused change answers with
the page, its reason and the status (400, 403, 404, 409), never a 500."""

import datetime as dt
import re

from flask import Blueprint, flash, redirect, render_template, request, url_for

from api.auth import current, requires
from api.db import connection
from api.params import date_arg
from geo.vocab import bilingual
from layers import audit as audit_layer
from layers import users
from layers.access import ROLES
from layers.errors import Invalid, LayerError
from web.i18n import t

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/admin")

_TABLES = ("users", "api_tokens", "grids", "households", "cameras", "incidents",
           "imports", "database")


def _choice(name, allowed):
    raw = request.args.get(name) or None
    if raw is not None and raw not in allowed:
        raise Invalid(bilingual(f"筛选条件 {name} 无效",
                                f"parameter '{name}' must be one of "
                                f"{', '.join(allowed)}"), field=name)
    return raw


@bp.get("/audit")
@requires("audit:read")
def audit():
    f = {k: request.args.get(k) or None for k in ("user", "since", "until")}
    f["action"] = _choice("action", audit_layer.ACTIONS)
    f["table"] = request.args.get("table") or None
    if f["table"] is not None and not re.fullmatch(r"[a-z_]{1,63}", f["table"]):
        raise Invalid(bilingual("筛选的对象无效", "parameter 'table' must be a table "
                                "name (a–z, _)"), field="table")
    if f["user"] is not None and not users.USERNAME.fullmatch(f["user"]):
        raise Invalid(bilingual("筛选的用户名无效", "parameter 'user' must be a user "
                                f"name of {users.USERNAME_RULE}"), field="user")
    since, until = date_arg("since"), date_arg("until")
    with connection() as conn:
        rows = audit_layer.search(
            conn, current(), username=f["user"], action=f["action"], table=f["table"],
            since=since, until=until and until + dt.timedelta(days=1))
    return render_template("audit.html", rows=rows, f=f, actions=audit_layer.ACTIONS,
                           tables=_TABLES)


@bp.get("/users")
@requires("users:manage")
def users_page():
    return _users_page()


def _users_page(error=None, status=200):
    with connection() as conn:
        return render_template(
            "users.html", users=users.list_users(conn, current()),
            tokens=users.list_tokens(conn, current()), roles=ROLES, error=error,
            ceiling=users.MAX_FAILURES_PER_ACCOUNT), status


def _act(done_message, action):
    """Run ``action(conn)``: when done, flash its outcome and go back to the list;
    when refused, show the list with the reason and the refusal's status."""
    try:
        with connection() as conn:
            result = action(conn)
    except LayerError as exc:
        return _users_page(exc.message, int(exc.http_status))
    flash(done_message(result) if callable(done_message) else done_message)
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


@bp.post("/users/<username>/unlock")
@requires("users:manage")
def user_unlock(username):
    return _act(t("user_unlocked"),
                lambda conn: users.unlock(conn, current(), username))


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
