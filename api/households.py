"""GET /api/v1/households[/<id>]: personal data, masked per role, in jurisdiction."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import INTEGER, OBJECT, array, obj
from api.params import GRID, LIMIT, OFFSET, accepts
from layers import households

bp = Blueprint("households", __name__)


@bp.get("/households")
@requires("households:read")
@accepts(GRID, LIMIT, OFFSET, responses={200: obj(
    "a page", required=("total", "items"), total=INTEGER, items=array(OBJECT))})
def list_households(grid, limit, offset):
    """Households of your jurisdiction (masked per role; the read is audited: one
    row per request)"""
    with connection() as conn:
        page = households.list_households(conn, current(), grid, limit, offset)
    return jsonify(page)


@bp.get("/households/<int:household_id>")
@requires("households:read")
@accepts(responses={200: obj("the household", required=("id",), id=INTEGER)})
def get_household(household_id):
    """One household's record (the read is audited)"""
    with connection() as conn:
        return jsonify(households.get_household(conn, current(), household_id))
