"""/api/v1/patrols/points: a phone's patrol, batch by batch, into the day's track
of the user's staff person (``layers/patrols.py``)."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.idempotency import idempotent
from api.incidents import _body
from layers import patrols

bp = Blueprint("patrols", __name__)

OPENAPI = {
    "/patrols/points": {"post": {
        "summary": "Append a batch of GPS points (≤ 5,000) to a patrol: that day's "
                   "track of your staff person (Idempotency-Key)",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "required": ["patrol_id", "points"],
                       "properties": {
                           "patrol_id": {"type": "string", "format": "uuid"},
                           "points": {"type": "array", "maxItems": patrols.MAX_POINTS,
                                      "items": {"type": "object",
                                                "required": ["lon", "lat", "time"],
                                                "properties": {
                                                    "lon": {"type": "number"},
                                                    "lat": {"type": "number"},
                                                    "time": {"type": "string"},
                                                    "accuracy_m": {
                                                        "type": "number"}}}}}}}}},
        "responses": {"201": {"description": "{stored, track_id}"},
                      "400": {"description": "bad point (named: points[i].lon)"},
                      "409": {"description": "the account is linked to no staff "
                                             "person, or the patrol is another's"}},
    }},
}


@bp.post("/patrols/points")
@requires("patrols:record")
@idempotent
def points():
    body = _body()
    with connection() as conn:
        stored = patrols.append(conn, current(), body.get("patrol_id"),
                                body.get("points"))
    return jsonify(stored), 201
