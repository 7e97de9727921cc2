"""PATCH /api/v1/staff/<id>: a grid staff person's 公示电话 (issue 17).

Which number of the person the grid notices print: the work phone (default),
another number the person gave, or none. A planner or administrator of the
person's grid's jurisdiction sets it (``grids:edit``: the notices are the
planners' work; who gets incidents stays the roster import's, ``users:manage``).
"""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import INTEGER, STRING, nullable, obj
from api.params import accepts, json_body, text_field
from layers import notices

bp = Blueprint("staff", __name__)

@bp.patch("/staff/<int:staff_id>")
@requires("grids:edit")
@accepts(body=obj(required=("notice_phone_choice",),
                  notice_phone_choice={"enum": list(notices.PHONE_CHOICES)},
                  notice_phone=STRING),
         responses={200: obj("the choice", id=INTEGER, notice_phone_choice=STRING,
                             notice_phone=nullable(STRING))})
def set_notice_phone(staff_id):
    """Set a grid staff person's 公示电话: the work phone, another number (with
    notice_phone) or none"""
    body = json_body()
    choice = text_field(body, "notice_phone_choice", required=True)
    phone = text_field(body, "notice_phone")
    with connection() as conn:
        return jsonify(notices.set_notice_phone(conn, current(), staff_id, choice,
                                                phone))
