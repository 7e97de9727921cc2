"""The page /judgements: the 研判 items a leader follows -- the open items of the
jurisdiction (and of the 研判 levels the user sits at), those with overdue tasks
first, then the oldest, each with its age in days, its meeting and its tasks
(deadlines in China time). Marking a task done, escalating and resolving go
through /api/v1/judgements (static/judgements.js); the rules are the layer's
(layers/judgements.py)."""

from flask import Blueprint, render_template

from api.auth import current, requires
from api.db import connection
from api.params import ChoiceParam, accepts
from layers import judgements

__all__ = ["bp"]

bp = Blueprint("judgements_page", __name__)

STATUS = ChoiceParam("status", "状态", "status", default="open",
                     choices=(*judgements.STATUSES, "all"))


@bp.get("/judgements")
@requires("incidents:read")
@accepts(STATUS)
def judgements_page(status):
    with connection() as conn:
        found = judgements.list_items(conn, current(), status=status, limit=200)
    return render_template("judgements.html", items=found["items"],
                           total=found["total"], status=status,
                           statuses=(*judgements.STATUSES, "all"))
