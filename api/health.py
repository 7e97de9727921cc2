"""GET /api/v1/health: is the service up and its database reachable; the read
replicas' state when there are any (``state`` ok, lagging, down or not_a_replica,
``lag_s``, ``lag_bytes``, ``replay_paused``: what the last check found)."""

from flask import Blueprint, jsonify

from api.auth import public
from api.db import connection, replicas
from api.errors import RETRY_AFTER_S, UNAVAILABLE, first_line
from api.openapi import OBJECT, STRING, array, nullable, obj
from api.params import accepts
from layers import db

bp = Blueprint("health", __name__)


@bp.get("/health")
@public
@accepts(responses={200: obj("up", required=("status",), status=STRING,
                             postgis=nullable(STRING),
                             pending_migrations=array(),
                             replicas=array(OBJECT)),
                    503: obj("down", status=STRING, message=STRING)})
def health():
    """Service and database health"""
    try:
        with connection() as conn:
            postgis = db.is_postgis(conn)
            pending = db.pending(conn)
    except Exception as exc:  # noqa: BLE001 -- health reports, never raises
        body = jsonify(status="down", message=UNAVAILABLE, database=first_line(exc))
        return body, 503, {"Retry-After": str(RETRY_AFTER_S)}
    status = "ok" if postgis and not pending else "degraded"
    found = replicas()
    more = {} if found is None else {"replicas": found.states()}
    return jsonify(status=status, postgis=postgis, pending_migrations=pending, **more)
