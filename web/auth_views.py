"""Login and logout pages."""

from urllib.parse import urlsplit

from flask import Blueprint, redirect, render_template, request, url_for

from api.auth import current, log_in, log_out, public
from api.db import connection
from layers import audit, users
from layers.errors import TooManyRequests
from web.i18n import t

__all__ = ["bp"]

bp = Blueprint("auth", __name__)


def _safe_next(target):
    """Only a path on this site (no scheme, no host): no open redirect.

    Browsers and Werkzeug drop tabs and newlines from URLs, so '/\t/evil.com'
    would become '//evil.com': any control character or backslash disqualifies.
    """
    if (target and target.startswith("/") and not target.startswith("//")
            and not any(c == "\\" or ord(c) < 0x21 or ord(c) == 0x7F for c in target)):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc:
            return target
    return url_for("views.overview")


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    target = _safe_next(request.args.get("next"))
    if request.method != "POST":
        if current() is not None:
            return redirect(target)
        return render_template("login.html", next=target)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    try:
        with connection() as conn:
            principal = users.login(conn, username, password, request.remote_addr)
            if principal is not None:
                audit.record(conn, principal, "login", "users", username,
                             grid_code=principal.grid_code)
    except TooManyRequests as exc:  # the pair must wait, or the account is locked
        return render_template("login.html", next=target, username=username,
                               error=exc.message), 429, {
            "Retry-After": str(exc.details["retry_after"])}
    if principal is None:  # the failed attempt is committed: it counts
        return render_template("login.html", next=target, username=username,
                               error=t("wrong_login")), 401
    log_in(principal)
    return redirect(target)


@bp.post("/logout")
@public
def logout():
    log_out()
    return redirect(url_for("auth.login"))
