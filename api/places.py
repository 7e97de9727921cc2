"""GET /api/v1/places: the local gazetteer (grid, camera and household names)."""

from flask import Blueprint, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import array, obj
from api.params import LIMIT, TextParam, accepts, raw_arg
from layers import places

bp = Blueprint("places", __name__)


Q = TextParam("q", "网格、村、摄像机名称，地址或户主姓名中的字",
              "words of a grid, village or camera name, an address, or a head of "
              "household's name", parse=raw_arg,
              required=True, schema={"type": "string", "maxLength": places.MAX_QUERY})


@bp.get("/places")
@requires("locate")
@accepts(Q, LIMIT.but(default=10, high=50, zh="每类条数", en="hits per kind"),
         responses={200: obj("{kind, code, label, level, detail, lon, lat} lists, "
                             "best first", required=("grids", "cameras", "households"),
                             grids=array(), cameras=array(), households=array())})
def find_places(q, limit):
    """Find a place by name or address in the jurisdiction: grids, cameras,
    households (by address; by head of household only for roles that see names; a
    search of households is audited)"""
    with connection() as conn:
        found = places.find_places(conn, current(), q, limit=limit)
    return jsonify(found)
