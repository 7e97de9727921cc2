"""Patrol tracks: POST a GPX file for a grid worker; GET a worker's tracks as
GeoJSON, their summary, and the workers who have tracks."""

import datetime as dt
import hashlib

from flask import Blueprint, jsonify, request

import importers
from api.auth import current, requires
from api.db import connection
from api.openapi import FEATURE_COLLECTION, INTEGER, OBJECT, array, obj
from api.params import FROM, TO, FlagParam, Param, accepts, int_arg
from geo.catalogue import say
from layers import tracks
from layers.errors import Invalid

bp = Blueprint("tracks", __name__)


def _worker_arg(name):
    """The grid worker's id in parameter ``name`` (required)."""
    value = int_arg(name, 1, 2**62)
    if value is None:
        raise Invalid(say("err_parameter_required_grid_worker", name=name), field=name)
    return value


STAFF = Param("staff", "网格员 id（grid_staff）", "grid_staff id", required=True,
              parse=_worker_arg, schema={"type": "integer", "minimum": 1,
                                         "maximum": 2**62}, errors=(404,))
WORKER = STAFF.but(name="worker")
LINES = FlagParam("lines", "是否给出每天的轨迹线", "0: leave out the days' lines",
                  default=True)
_TRACKS = {**FEATURE_COLLECTION, "x-media-type": "application/geo+json",
           "description": "GeoJSON FeatureCollection with worker, from, to, days, "
           "dropped, grids; each leg's properties: day, leg, start, end (ISO 8601, "
           "China time), distance_m, points, vertices and vertex_s (seconds after "
           "start of each vertex: the replay's clock)"}


def _window_order(since, until):
    if since and until and since > until:
        raise Invalid(say("err_from_after_to"),
                      field="from")


@bp.post("/tracks")
@requires("imports:run")
@accepts(STAFF, body=obj(required=("file",), file={"type": "string",
                                                   "format": "binary"}),
         content_type="multipart/form-data", responses={200: obj(
             "{tracks, points, dropped}", points=INTEGER)})
def upload(staff):
    """Store a worker's GPX patrol track (multipart 'file')"""
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
@accepts(STAFF, FROM, TO, LINES, responses={200: obj("the summary")})
def summary(staff, from_, to, lines):
    """Distance, time, micro-grids entered per day; coverage"""
    until = to or dt.date.today()
    since = from_ or until - dt.timedelta(days=6)
    _window_order(since, until)
    with connection() as conn:
        return jsonify(tracks.summary(conn, current(), staff, since, until,
                                      lines=lines))


@bp.get("/tracks")
@requires("tracks:read")
@accepts(WORKER, FROM.but(en="local day; default: the Monday of the last week with "
                             "tracks (or to - 6 days)"),
         TO.but(en="local day, inclusive; default: from + 6 days; at most "
                   f"{tracks.MAX_DAYS} days in all"), responses={200: _TRACKS})
def collection(worker, from_, to):
    """A worker's cleaned tracks, one LineString per leg (simplified to 2 m), the
    micro-grids entered per day, the own micro-grids"""
    since, until = from_, to
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
@accepts(responses={200: obj(
    "{workers: [{id, name, role, grid_code, grid_name, first_day, last_day, "
    "days}]}", required=("workers",), workers=array(OBJECT))})
def workers():
    """The grid staff of your jurisdiction who have tracks"""
    with connection() as conn:
        return jsonify({"workers": tracks.workers(conn, current())})
