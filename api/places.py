"""GET /api/v1/places: the local gazetteer (grid, camera and household names)."""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.params import int_arg
from layers import places

bp = Blueprint("places", __name__)

OPENAPI = {
    "/places": {
        "get": {
            "summary": "Find a place by name or address in the jurisdiction: grids, "
                       "cameras, households (by address; by head of household only "
                       "for roles that see names; a search of households is "
                       "audited)",
            "parameters": [
                {"name": "q", "in": "query", "required": True,
                 "description": "words of a grid, village or camera name, an "
                                "address, or a head of household's name",
                 "schema": {"type": "string", "maxLength": places.MAX_QUERY}},
                {"name": "limit", "in": "query", "required": False,
                 "description": "hits per kind",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 50,
                            "default": 10}},
            ],
            "responses": {
                "200": {"description": "{grids, cameras, households}: each a list "
                                       "of {kind, code, label, level, detail, lon, "
                                       "lat}, best first"},
                "400": {"description": "missing or too long q"},
            },
        }
    },
}


@bp.get("/places")
@requires("locate")
def find_places():
    with connection() as conn:
        found = places.find_places(conn, current(), request.args.get("q"),
                                   limit=int_arg("limit", 1, 50, default=10))
    return jsonify(found)
