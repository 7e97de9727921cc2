"""GET /api/v1/households[/<id>]: personal data, masked per role, in jurisdiction."""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import int_arg
from layers import households

bp = Blueprint("households", __name__)

OPENAPI = {
    "/households": {
        "get": {
            "summary": "Households of your jurisdiction (masked per role; the read "
                       "is audited: one row per request)",
            "parameters": [
                {"name": "grid", "in": "query", "schema": {"type": "string"}},
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                {"name": "offset", "in": "query",
                 "schema": {"type": "integer", "minimum": 0}},
            ],
            "responses": {"200": {"description": "{total, items}"},
                          "401": {"description": "not logged in"}},
        }
    },
    "/households/{household_id}": {
        "get": {
            "summary": "One household's record (the read is audited)",
            "parameters": [{"name": "household_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "the household"},
                          "404": {"description": "unknown, or not yours"}},
        }
    },
}


@bp.get("/households")
@requires("households:read")
def list_households():
    limit = int_arg("limit", 1, 1000, default=100)
    offset = int_arg("offset", 0, 10**9, default=0)
    with connection() as conn:
        page = households.list_households(conn, current(), request.args.get("grid"),
                                          limit, offset)
    return jsonify(page)


@bp.get("/households/<int:household_id>")
@requires("households:read")
def get_household(household_id):
    with connection() as conn:
        return jsonify(households.get_household(conn, current(), household_id))
