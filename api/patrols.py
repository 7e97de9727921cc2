"""/api/v1/patrols/points: a phone's patrol, batch by batch, into the day's track
of the user's staff person (``layers/patrols.py``)."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.idempotency import idempotent
from api.openapi import INTEGER, NUMBER, STRING, obj
from api.params import accepts, json_body
from layers import patrols

bp = Blueprint("patrols", __name__)


_BATCH = obj(required=("patrol_id", "points"),
             patrol_id={"type": "string", "format": "uuid"},
             points={"type": "array", "maxItems": patrols.MAX_POINTS, "items": obj(
                 required=("lon", "lat", "time"), lon=NUMBER, lat=NUMBER,
                 time=STRING, accuracy_m=NUMBER)})


@bp.post("/patrols/points")
@requires("patrols:record")
@idempotent
@accepts(body=_BATCH, errors=(409,), responses={201: obj(
    "{stored, track_id}", required=("stored",), stored=INTEGER)})
def points():
    """Append a batch of GPS points (≤ 5,000) to a patrol: that day's track of
    your staff person (Idempotency-Key); 400 names the point (points[i].lon); 409:
    the account is linked to no staff person, or the patrol is another's"""
    body = json_body()
    with connection() as conn:
        stored = patrols.append(conn, current(), body.get("patrol_id"),
                                body.get("points"))
    return jsonify(stored), 201
