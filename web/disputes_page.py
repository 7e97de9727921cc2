"""The page /disputes: the recurring disputes (矛盾纠纷重点关注) of the
jurisdiction -- the same household, address or pair of parties with repeated
disputes -- each with its history on the one page (every incident, its status,
who handled it) and whether a visit is due. The data is
``layers.disputes.recurring``'s, as ``GET /api/v1/disputes/recurring`` gives it:
scoped, names masked per role, the read audited."""

import datetime as dt

from flask import Blueprint, render_template

from api.auth import current, requires
from api.db import connection
from api.params import GRID
from layers import disputes

__all__ = ["bp"]

bp = Blueprint("disputes_page", __name__)


def _times(value):
    """The ISO times of the layer's answer as datetimes (``local_time`` shows
    them in China time, labelled)."""
    if isinstance(value, dict):
        return {k: (dt.datetime.fromisoformat(v) if k.endswith("_at") and v
                    else _times(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_times(v) for v in value]
    return value


@bp.get("/disputes")
@requires("incidents:read")
def disputes_page():
    grid = GRID.read()
    with connection() as conn:
        found = disputes.recurring(conn, current(), grid=grid,
                                   via={"via": "page"})
    return render_template("disputes.html", rule=found["rule"],
                           as_of=dt.datetime.fromisoformat(found["as_of"]),
                           items=_times(found["items"]), grid=grid)
