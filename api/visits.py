"""/api/v1/visits: household visits (入户走访) from the phone, and the
confirmation of the tags they propose (dispatcher, administrator)."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.idempotency import idempotent
from api.openapi import INTEGER, NUMBER, OBJECT, STRING, TIME, array, obj
from api.params import accepts, json_body, number_field, parse_moment
from geo.catalogue import say
from layers import visits
from layers.errors import Invalid

bp = Blueprint("visits", __name__)


_NUMBER_OR_TEXT = {"oneOf": [NUMBER, STRING]}
_VISIT = obj(required=("household_id",), household_id=INTEGER, note=STRING,
             size_seen={"type": "integer", "minimum": 0, "maximum": 50},
             tag_proposed=STRING, lon=_NUMBER_OR_TEXT, lat=_NUMBER_OR_TEXT,
             accuracy_m=_NUMBER_OR_TEXT, visited_at=TIME)


@bp.post("/visits")
@requires("visits:record")
@idempotent
@accepts(body=_VISIT, errors=(404,), responses={
    201: obj("{id, distance_m}", required=("id",), id=INTEGER)})
def record():
    """Record a household visit (Idempotency-Key); the distance from the household
    in metres; a proposed tag waits for confirmation"""
    body = json_body()
    point = None
    if body.get("lon") is not None or body.get("lat") is not None:
        point = (number_field(body, "lon"), number_field(body, "lat"))
        if not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
            raise Invalid(say("err_lon_lat_out_range"),
                          field="lon")
    accuracy = None
    if body.get("accuracy_m") is not None:
        accuracy = number_field(body, "accuracy_m")
        if accuracy < 0:
            raise Invalid(say("err_accuracy_m"),
                          field="accuracy_m")
    with connection() as conn:
        done = visits.record(conn, current(), body, point, accuracy,
                             parse_moment(body.get("visited_at"), "visited_at"))
    return jsonify(done), 201


@bp.post("/visits/<int:visit_id>/confirm-tag")
@requires("visits:confirm")
@idempotent
@accepts(errors=(409,), responses={200: obj(
    "{id, household_id, tag, tags}", required=("id",), id=INTEGER,
    tags=array(STRING))})
def confirm_tag(visit_id):
    """Confirm the tag a visit proposed: added to the household (409: no tag
    awaiting confirmation)"""
    with connection() as conn:
        return jsonify(visits.confirm_tag(conn, current(), visit_id))


@bp.get("/visits/pending-tags")
@requires("visits:confirm")
@accepts(responses={200: obj(
    "{items: [{id, household_id, address, grid_code, tag, tag_label, username, "
    "visited_at, note}]}", required=("items",), items=array(OBJECT))})
def pending_tags():
    """Visits whose proposed tag awaits confirmation (oldest first)"""
    with connection() as conn:
        return jsonify({"items": visits.pending_tags(conn, current())})
