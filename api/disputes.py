"""/api/v1/disputes/recurring (重点关注) and /api/v1/me/visits-due: the same
household, address or pair of parties with repeated disputes, with their
history; the phone's "a visit is due" tasks. Scoped, masked per role, audited
(``layers/disputes.py``)."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import BOOLEAN, INTEGER, OBJECT, STRING, TIME, array, nullable, obj
from api.params import GRID, MomentParam, accepts
from layers import disputes, me

bp = Blueprint("disputes", __name__)

AS_OF = MomentParam("as_of", "截至时刻（默认现在）", "as of this moment (default now)")
_RULE = obj("the rule: count disputes or more within days days", count=INTEGER,
            days=INTEGER)
_HOUSEHOLD = nullable(obj("the household (masked per role)", id=INTEGER,
                          address=STRING, head_name=nullable(STRING),
                          phone=nullable(STRING), grid_code=STRING))
GROUP = obj(
    "a recurring dispute", required=("key", "kind", "count", "incidents"),
    key=STRING, kind={"enum": ["household", "address", "parties"]}, count=INTEGER,
    first_at=TIME, last_at=TIME, household=_HOUSEHOLD, address=nullable(STRING),
    parties=array(STRING), grid_code=STRING, grid_name=nullable(STRING),
    last_visit_at=nullable(TIME), visit_due=BOOLEAN, incidents=array(OBJECT))


@bp.get("/disputes/recurring")
@requires("incidents:read")
@accepts(GRID, AS_OF, responses={200: obj(
    "the recurring disputes, latest first", required=("rule", "items"),
    rule=_RULE, as_of=TIME, items=array(GROUP))})
def recurring(grid, as_of):
    """Recurring disputes (重点关注) of your jurisdiction: the same household,
    address or pair of parties with 3 disputes or more in 90 days (the
    deployment's rule), each with its history; names masked per role, the read
    audited"""
    with connection() as conn:
        return jsonify(disputes.recurring(conn, current(), grid=grid, now=as_of))


@bp.get("/me/visits-due")
@requires("incidents:read")
@accepts(responses={200: obj("the visits due", required=("items",), rule=_RULE,
                             items=array(OBJECT))})
def visits_due():
    """The recurring disputes of your micro-grids whose households have had no
    visit since the last dispute: a visit is due (household, address, last
    incident); recording the visit clears it until the next dispute"""
    with connection() as conn:
        principal = current()
        grids = [g["code"] for g in me.micro_grids(
            conn, principal, me.staff_of(conn, principal))]
        return jsonify(disputes.visits_due(conn, principal, grids))
