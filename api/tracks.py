"""Patrol tracks: POST a GPX file for a grid worker; GET a worker's summary."""

import datetime as dt
import hashlib

from flask import Blueprint, jsonify, request

import importers
from api.auth import current, requires
from api.db import connection
from api.params import int_arg
from layers import tracks
from layers.errors import Invalid

bp = Blueprint("tracks", __name__)

_STAFF = {"name": "staff", "in": "query", "required": True,
          "schema": {"type": "integer"}}
OPENAPI = {
    "/tracks": {"post": {
        "summary": "Store a worker's GPX patrol track (multipart 'file')",
        "parameters": [_STAFF],
        "responses": {"200": {"description": "{tracks, points, dropped}"},
                      "400": {"description": "unreadable file"}}}},
    "/tracks/summary": {"get": {
        "summary": "Distance, time, micro-grids entered per day; coverage",
        "parameters": [_STAFF,
                       {"name": "from", "in": "query", "schema": {"type": "string"}},
                       {"name": "to", "in": "query", "schema": {"type": "string"}}],
        "responses": {"200": {"description": "the summary"}}}},
}


@bp.post("/tracks")
@requires("imports:run")
def upload():
    staff = int_arg("staff", 1, 2**62)
    if staff is None:
        raise Invalid("parameter 'staff' is required: the grid worker's id",
                      field="staff")
    upload = request.files.get("file")
    if upload is None:
        raise Invalid("send the GPX file as the multipart field 'file'", field="file")
    data = upload.read()
    try:
        result = importers.read_any(data, name=upload.filename)
    except importers.ImportRefused as exc:
        raise Invalid(exc.message, field="file") from None
    frame = result.frame
    if "kind" in frame:
        frame = frame[frame["kind"] == "track_point"]
    with connection() as conn:
        saved = tracks.save(conn, current(), staff, frame,
                            name=upload.filename or hashlib.sha256(data).hexdigest())
    return jsonify(saved)


def _date(name, default):
    raw = request.args.get(name)
    if not raw:
        return default
    try:
        return dt.date.fromisoformat(raw)
    except ValueError:
        raise Invalid(f"parameter '{name}' must be a date YYYY-MM-DD, got {raw!r}",
                      field=name) from None


@bp.get("/tracks/summary")
@requires("tracks:read")
def summary():
    staff = int_arg("staff", 1, 2**62)
    if staff is None:
        raise Invalid("parameter 'staff' is required", field="staff")
    today = dt.date.today()
    until = _date("to", today)
    since = _date("from", until - dt.timedelta(days=6))
    if since > until:
        raise Invalid("'from' is after 'to'", field="from")
    with connection() as conn:
        return jsonify(tracks.summary(conn, current(), staff, since, until))
