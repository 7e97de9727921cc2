"""/api/v1/visits: household visits (入户走访) from the phone, and the
confirmation of the tags they propose (dispatcher, administrator)."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.idempotency import idempotent
from api.params import json_body, number_field, parse_moment
from geo.catalogue import say
from layers import visits
from layers.errors import Invalid

bp = Blueprint("visits", __name__)

OPENAPI = {
    "/visits": {"post": {
        "summary": "Record a household visit (Idempotency-Key); the distance from "
                   "the household in metres; a proposed tag waits for confirmation",
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": {"type": "object", "required": ["household_id"],
                       "properties": {
                           "household_id": {"type": "integer"},
                           "note": {"type": "string"},
                           "size_seen": {"type": "integer", "minimum": 0,
                                         "maximum": 50},
                           "tag_proposed": {"type": "string"},
                           "lon": {"type": "number"}, "lat": {"type": "number"},
                           "accuracy_m": {"type": "number"},
                           "visited_at": {"type": "string",
                                          "format": "date-time"}}}}}},
        "responses": {"201": {"description": "{id, distance_m}"},
                      "400": {"description": "bad field (named in error.field)"},
                      "404": {"description": "unknown household, or not yours"}},
    }},
    "/visits/pending-tags": {"get": {
        "summary": "Visits whose proposed tag awaits confirmation (oldest first)",
        "responses": {"200": {"description": "{items: [{id, household_id, address, "
                                             "grid_code, tag, tag_label, username, "
                                             "visited_at, note}]}"}}}},
    "/visits/{visit_id}/confirm-tag": {"post": {
        "summary": "Confirm the tag a visit proposed: added to the household",
        "parameters": [{"name": "visit_id", "in": "path", "required": True,
                        "schema": {"type": "integer"}}],
        "responses": {"200": {"description": "{id, household_id, tag, tags}"},
                      "404": {"description": "unknown visit, or not yours"},
                      "409": {"description": "no tag awaiting confirmation"}},
    }},
}


@bp.post("/visits")
@requires("visits:record")
@idempotent
def record():
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
def confirm_tag(visit_id):
    with connection() as conn:
        return jsonify(visits.confirm_tag(conn, current(), visit_id))


@bp.get("/visits/pending-tags")
@requires("visits:confirm")
def pending_tags():
    with connection() as conn:
        return jsonify({"items": visits.pending_tags(conn, current())})
