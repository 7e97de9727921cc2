"""Patrol tracks: POST a GPX file for a grid worker; GET a worker's tracks as
GeoJSON, their summary, and the workers who have tracks."""

import datetime as dt
import hashlib

from flask import Blueprint, jsonify, request

import importers
from api.auth import current, requires
from api.db import connection
from api.params import date_arg, flag_arg, int_arg
from geo.catalogue import say
from layers import tracks
from layers.errors import Invalid

bp = Blueprint("tracks", __name__)

_STAFF = {"name": "staff", "in": "query", "required": True,
          "schema": {"type": "integer"}}
_DAY = {"in": "query", "schema": {"type": "string", "format": "date"}}
OPENAPI = {
    "/tracks": {"post": {
        "summary": "Store a worker's GPX patrol track (multipart 'file')",
        "parameters": [_STAFF],
        "responses": {"200": {"description": "{tracks, points, dropped}"},
                      "400": {"description": "unreadable file"}}},
        "get": {
        "summary": "A worker's cleaned tracks, one LineString per leg (simplified "
                   "to 2 m), the micro-grids entered per day, the own micro-grids",
        "parameters": [
            {"name": "worker", "in": "query", "required": True,
             "schema": {"type": "integer"}, "description": "grid_staff id"},
            {"name": "from", **_DAY, "description": "local day; default: the "
             "Monday of the last week with tracks (or to - 6 days)"},
            {"name": "to", **_DAY, "description": "local day, inclusive; default: "
             f"from + 6 days; at most {tracks.MAX_DAYS} days in all"}],
        "responses": {"200": {"description": "GeoJSON FeatureCollection with "
                              "worker, from, to, days, dropped, grids; each leg's "
                              "properties: day, leg, start, end (ISO 8601, China "
                              "time), distance_m, points, vertices and vertex_s "
                              "(seconds after start of each vertex: the replay's "
                              "clock)"},
                      "400": {"description": "bad date or window too long"},
                      "404": {"description": "no such worker in your jurisdiction"}}}},
    "/tracks/workers": {"get": {
        "summary": "The grid staff of your jurisdiction who have tracks",
        "responses": {"200": {"description": "{workers: [{id, name, role, "
                              "grid_code, grid_name, first_day, last_day, days}]}"}}}},
    "/tracks/summary": {"get": {
        "summary": "Distance, time, micro-grids entered per day; coverage",
        "parameters": [_STAFF,
                       {"name": "from", "in": "query", "schema": {"type": "string"}},
                       {"name": "to", "in": "query", "schema": {"type": "string"}},
                       {"name": "lines", "in": "query", "schema": {"type": "boolean"},
                        "description": "0: leave out the days' lines (default 1)"}],
        "responses": {"200": {"description": "the summary"}}}},
}


def _worker_arg(name):
    """The grid worker's id in parameter ``name`` (required)."""
    value = int_arg(name, 1, 2**62)
    if value is None:
        raise Invalid(say("err_parameter_required_grid_worker", name=name), field=name)
    return value


def _window_order(since, until):
    if since and until and since > until:
        raise Invalid(say("err_from_after_to"),
                      field="from")


@bp.post("/tracks")
@requires("imports:run")
def upload():
    staff = _worker_arg("staff")
    upload = request.files.get("file")
    if upload is None:
        raise Invalid(say("err_send_gpx_file_multipart"),
                      field="file")
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


@bp.get("/tracks/summary")
@requires("tracks:read")
def summary():
    staff = _worker_arg("staff")
    until = date_arg("to") or dt.date.today()
    since = date_arg("from") or until - dt.timedelta(days=6)
    _window_order(since, until)
    with connection() as conn:
        return jsonify(tracks.summary(conn, current(), staff, since, until,
                                      lines=flag_arg("lines", True)))


@bp.get("/tracks")
@requires("tracks:read")
def collection():
    worker = _worker_arg("worker")
    since, until = date_arg("from"), date_arg("to")
    week = dt.timedelta(days=6)
    _window_order(since, until)
    with connection() as conn:
        if since is None and until is None:
            since, until = tracks.latest_week(conn, current(), worker)
        since, until = since or until - week, until or since + week
        answer = tracks.collection(conn, current(), worker, since, until)
    return jsonify(answer), 200, {"Content-Type": "application/geo+json"}


@bp.get("/tracks/workers")
@requires("tracks:read")
def workers():
    with connection() as conn:
        return jsonify({"workers": tracks.workers(conn, current())})
