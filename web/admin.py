"""Administration pages: the audit log (read-only: the database refuses changes),
the background jobs and webhooks (``/admin/jobs``: failed jobs to retry, the
webhooks to register or delete, through /api/v1), users and their API tokens
(every change audited by layers/users.py): their
role and jurisdiction (a grid picked by name, ``/admin/grids``), and the accounts
left on grids that no longer exist, listed for reassignment; the 研判 levels
above the town and who sits at them (an administrator of the whole deployment
sets them through /api/v1/judgement-levels, static/judgement_levels.js).

An administrator scoped to a grid sees and manages the accounts and audit rows of
that grid's subtree only (the layers confine it). A refused change answers with
the page, its reason and the status (400, 403, 404, 409), never a 500."""

import datetime as dt
import re

from flask import (
    Blueprint,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)

from api.auth import current, requires
from api.db import connection
from api.errors import error_response
from api.params import date_arg
from geo.catalogue import say
from geo.localtime import CHINA_TZ
from layers import audit as audit_layer
from layers import jobs as jobs_layer
from layers import judgements, jurisdictions, users, webhooks
from layers.access import ROLE_PERMISSIONS, ROLES
from layers.errors import Invalid, LayerError
from web.i18n import t

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/admin")

_TABLES = ("users", "api_tokens", "grids", "households", "cameras", "incidents",
           "imports", "database")


def _choice(name, allowed):
    raw = request.args.get(name) or None
    if raw is not None and raw not in allowed:
        raise Invalid(say("err_parameter", name=name, v=', '.join(allowed)), field=name)
    return raw


@bp.get("/audit")
@requires("audit:read")
def audit():
    f = {k: request.args.get(k) or None for k in ("user", "since", "until")}
    f["action"] = _choice("action", audit_layer.ACTIONS)
    f["table"] = request.args.get("table") or None
    if f["table"] is not None and not re.fullmatch(r"[a-z_]{1,63}", f["table"]):
        raise Invalid(say("err_parameter_table_table_name"), field="table")
    if f["user"] is not None and not users.USERNAME.fullmatch(f["user"]):
        raise Invalid(say("err_parameter_user_user_name",
                          USERNAME_RULE=users.USERNAME_RULE), field="user")
    # the days are the deployment's (China time), not the database session's
    since, until = date_arg("since"), date_arg("until")
    since = since and dt.datetime.combine(since, dt.time(), CHINA_TZ)
    until = until and dt.datetime.combine(until + dt.timedelta(days=1), dt.time(),
                                          CHINA_TZ)
    with connection() as conn:
        rows = audit_layer.search(
            conn, current(), username=f["user"], action=f["action"], table=f["table"],
            since=since, until=until)
    return render_template("audit.html", rows=rows, f=f, actions=audit_layer.ACTIONS,
                           tables=_TABLES)


@bp.get("/jobs")
@requires("users:manage")
def jobs_page():
    """Failed jobs first, then the latest; the webhooks of the jurisdiction."""
    actor = current()
    with connection() as conn:
        failed = jobs_layer.list_jobs(conn, actor, status="failed", limit=200)
        recent = jobs_layer.list_jobs(conn, actor, limit=50)
        hooks = webhooks.list_webhooks(conn, actor)
    return render_template("jobs.html", failed=failed["items"],
                           recent=recent["items"], hooks=hooks,
                           events=list(webhooks.EVENTS))


@bp.get("/users")
@requires("users:manage")
def users_page():
    return _users_page()


# The role a new account starts with in the form: the least privileged one (访客
# today; an administrator raises it on purpose, never by leaving the default).
_LEAST_ROLE = min(ROLES, key=lambda role: len(ROLE_PERMISSIONS[role][1]))


def _users_page(error=None, status=200):
    actor = current()
    with connection() as conn:
        accounts = users.list_users(conn, actor)
        return render_template(
            "users.html", users=accounts, tokens=users.list_tokens(conn, actor),
            chains=jurisdictions.chains(conn, [u["grid_code"] for u in accounts]),
            orphaned=jurisdictions.orphaned(conn, actor), roles=ROLES,
            default_role=_LEAST_ROLE, error=error,
            ceiling=users.MAX_FAILURES_PER_ACCOUNT,
            levels=judgements.list_levels(conn)), status


@bp.get("/grids")
@requires("users:manage")
def grid_choices():
    """The grids the administrator may grant whose name holds ``?q=``, with their
    name chains (the users page's jurisdiction picker): ``{"items": [...]}``;
    errors as the API's JSON."""
    try:
        with connection() as conn:
            items = jurisdictions.grid_choices(conn, current(),
                                               request.args.get("q", ""))
    except LayerError as exc:
        return error_response(exc.http_status, exc.code, exc.message, exc.field)
    return jsonify({"items": items})


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


@bp.post("/users/<username>/access")
@requires("users:manage")
def user_access(username):
    role, grid = request.form.get("role", ""), request.form.get("grid", "").strip()
    return _act(lambda changed: t("user_updated") if changed else t("user_unchanged"),
                lambda conn: users.set_access(conn, current(), username, role,
                                              grid or None))


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
