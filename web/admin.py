"""Administration pages: the audit log (read-only: the database refuses changes)."""

import datetime as dt

from flask import Blueprint, render_template, request

from api.auth import requires
from api.db import connection
from layers import audit as audit_layer
from layers.errors import Invalid

__all__ = ["bp"]

bp = Blueprint("admin", __name__, url_prefix="/admin")

_TABLES = ("users", "api_tokens", "grids", "households", "cameras", "incidents",
           "imports", "database")


def _date(name):
    raw = request.args.get(name)
    if not raw:
        return None
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"parameter '{name}' must be a date YYYY-MM-DD", field=name) \
            from None


@bp.get("/audit")
@requires("audit:read")
def audit():
    f = {k: request.args.get(k) or None for k in ("user", "action", "table",
                                                   "since", "until")}
    since, until = _date("since"), _date("until")
    with connection() as conn:
        rows = audit_layer.search(
            conn, username=f["user"], action=f["action"], table=f["table"],
            since=since, until=until and until + dt.timedelta(days=1))
    return render_template("audit.html", rows=rows, f=f, actions=audit_layer.ACTIONS,
                           tables=_TABLES)
