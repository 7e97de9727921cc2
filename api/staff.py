"""PATCH /api/v1/staff/<id>: a grid staff person's 公示电话 (issue 17).

Which number of the person the grid notices print: the work phone (default),
another number the person gave, or none. A planner or administrator of the
person's grid's jurisdiction sets it (``grids:edit``: the notices are the
planners' work; who gets incidents stays the roster import's, ``users:manage``).
"""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.params import json_body, text_field
from layers import notices

bp = Blueprint("staff", __name__)

OPENAPI = {
    "/staff/{staff_id}": {"patch": {
        "summary": "Set a grid staff person's 公示电话 {notice_phone_choice: "
                   "work|other|none, notice_phone (with other)}",
        "parameters": [{"name": "staff_id", "in": "path", "required": True,
                        "schema": {"type": "integer", "minimum": 1}}],
        "requestBody": {"content": {"application/json": {"schema": {
            "type": "object", "required": ["notice_phone_choice"], "properties": {
                "notice_phone_choice": {"type": "string",
                                        "enum": list(notices.PHONE_CHOICES)},
                "notice_phone": {"type": "string"}}}}}},
        "responses": {
            "200": {"description": "{id, notice_phone_choice, notice_phone}"},
            "400": {"description": "bad choice or number (the field is named)"},
            "403": {"description": "your role edits no grid staff"},
            "404": {"description": "no such person in your jurisdiction"}}}},
}


@bp.patch("/staff/<int:staff_id>")
@requires("grids:edit")
def set_notice_phone(staff_id):
    body = json_body()
    choice = text_field(body, "notice_phone_choice", required=True)
    phone = text_field(body, "notice_phone")
    with connection() as conn:
        return jsonify(notices.set_notice_phone(conn, current(), staff_id, choice,
                                                phone))
