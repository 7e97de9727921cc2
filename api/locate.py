"""GET /api/v1/locate: the grid chain, staff and cameras of a point.

The point may be given in any Chinese CRS (``crs``): longitude and latitude for the
geographic ones (WGS-84, CGCS2000, GCJ-02, BD-09), easting ``x`` and northing ``y``
in metres for a CGCS2000 Gauss-Krüger zone. It is converted to WGS-84 with
``geo.crs.to_wgs84`` before the layer is asked, and the answer says which WGS-84
point was used.
"""

import functools
import math
import re

from flask import Blueprint, current_app, jsonify, request

from api.auth import current, prefetch, prefetched, requires
from api.db import pool, read_connection
from api.openapi import OBJECT, array, obj
from api.params import FlagParam, Param, accepts, angle_arg, float_arg
from geo import catalogue
from geo import crs as crs_math
from geo.coverage import view_rings_wgs84
from layers import db
from layers import locate as locate_layer
from layers.errors import Invalid
from layers.locate_follow import IndexHolder

bp = Blueprint("locate", __name__)

_CRS_HELP = (
    "CRS of the point: wgs84 (default), cgcs2000 (the same within centimetres), "
    "gcj02 (高德 / 腾讯 maps), bd09 (百度 maps) — all with lon/lat in degrees — or a "
    "CGCS2000 3-degree Gauss-Krüger zone EPSG:4534–4554 (EPSG:4513–4533 with the "
    "zone number prefixed to the easting) with x/y in metres instead of lon/lat"
)

# The point is read as a whole (``_point``: the crs decides between lon/lat and
# x/y); these declare its parts, the first one reads it.
_POINT = (
    Param("crs", "点的坐标系", _CRS_HELP, default="wgs84",
          parse=lambda name: _point(), schema={"type": "string", "example": "wgs84"}),
    Param("lon", "经度（十进制或度分秒；高斯-克吕格坐标系时不用）",
          "longitude in degrees, decimal or degrees-minutes-seconds "
          "(116°23'17.5\"E; required unless crs is a Gauss-Krüger zone)",
          parse=lambda name: None, schema={"type": "string", "example": "120.27"}),
    Param("lat", "纬度（十进制或度分秒，如 北纬31度34分）",
          "latitude in degrees, decimal or degrees-minutes-seconds (required "
          "unless crs is a Gauss-Krüger zone)", parse=lambda name: None,
          schema={"type": "string", "example": "31.57"}),
    Param("x", "东坐标（米，仅用于高斯-克吕格坐标系）", "easting in metres (only, and "
          "required, with a Gauss-Krüger crs)", parse=lambda name: None,
          schema={"type": "number"}),
    Param("y", "北坐标（米，仅用于高斯-克吕格坐标系）", "northing in metres (only, "
          "and required, with a Gauss-Krüger crs)", parse=lambda name: None,
          schema={"type": "number"}),
)
NEARBY = FlagParam("nearby", "同时给出 /locate/nearby 的结果", "1: also what "
                   "/locate/nearby answers, as 'nearby', in the same round trip to "
                   "the database (the dispatcher's panel)", default=False)
_POINT_ANSWER = obj(required=("lon", "lat"), lon={"type": "number"},
                    lat={"type": "number"})


@bp.get("/locate/nearby")
@requires("locate")
@accepts(*_POINT, responses={200: obj(
    "{incidents, households, cameras_nearest, point}",
    required=("point",), point=_POINT_ANSWER)})
def nearby(crs, lon, lat, x, y):
    """Around a point: open incidents within 200 m, households within 100 m
    (counted), the 5 nearest cameras"""
    return _answer(locate_layer.nearby, crs)


@bp.get("/locate")
@prefetch(locate_generation=locate_layer.GENERATION)
@requires("locate")
@accepts(*_POINT, NEARBY, responses={200: obj(
    "{grids, staff, cameras, point[, nearby]}: point is the WGS-84 {lon, lat} that "
    "was located; each camera has its field of view as a GeoJSON polygon (view)",
    required=("grids", "staff", "cameras", "point"), grids=array(OBJECT),
    staff=array(OBJECT), cameras=array(OBJECT), point=_POINT_ANSWER)})
def locate(crs, lon, lat, x, y, nearby):
    """Grid chain, responsible staff and cameras seeing a point"""
    return _answer(functools.partial(_with_views, with_nearby=nearby), crs)


def _with_views(conn, principal, lon, lat, with_nearby=False):
    """The layer's answer, each camera with its field of view (``view``, a GeoJSON
    polygon: the sector or disc the map draws)."""
    found = locate_layer.locate(conn, principal, lon, lat,
                                with_nearby=with_nearby, index=_index(),
                                generation=prefetched("locate_generation"))
    cams = found["cameras"]
    if cams:
        rings = view_rings_wgs84(
            [c["lon"] for c in cams], [c["lat"] for c in cams],
            [c["kind"] for c in cams],
            [math.nan if c["bearing"] is None else c["bearing"] for c in cams],
            [c["fov_deg"] for c in cams], [c["range_m"] for c in cams])
        for cam, ring in zip(cams, rings, strict=True):
            cam["view"] = {"type": "Polygon", "coordinates": [ring]}
    return found


def _index():
    """The process's locate index (``LOCATE_INDEX``: on unless set false)."""
    app = current_app
    if not app.config.get("LOCATE_INDEX", True):
        return None
    holder = app.extensions.get("gridgov.locate_index")
    if holder is None:
        # in the background a follower thread keeps a connection of its own (it
        # LISTENs); LOCATE_INDEX_BACKGROUND false: the request that finds the
        # index behind catches it up itself (tests: which path answers is certain)
        background = app.config.get("LOCATE_INDEX_BACKGROUND", True)
        url = app.config["DATABASE_URL"]
        holder = app.extensions.setdefault("gridgov.locate_index", IndexHolder(
            (lambda: db.connect(url, autocommit=True,
                                connect_timeout=db.CONNECT_TIMEOUT,
                                application_name="gridgov locate follower"))
            if background else pool().connection, background=background))
    return holder


def _answer(query, point):
    """``query(conn, principal, lon, lat)`` at the WGS-84 ``point``, with it."""
    lon, lat = point
    with read_connection() as conn:
        found = query(conn, current(), lon, lat)
    return jsonify(found | {"point": {"lon": lon, "lat": lat}})


def _point():
    """The query's point as WGS-84 ``(lon, lat)``; ``Invalid`` naming the field."""
    plain = _plain_wgs84()
    if plain is not None:
        return plain
    try:
        name = crs_math.normalize_crs(request.args.get("crs") or "wgs84")
    except ValueError as exc:
        raise Invalid(catalogue.say("err_crs_param", exc=exc), field="crs") from None
    if name in crs_math.GEOGRAPHIC_CRS:
        _refuse(("x", "y"), "err_crs_wants_degrees", name)
        _refuse_swapped_axes()
        a, b = angle_arg("lon", -180, 180), angle_arg("lat", -90, 90)
    else:
        _refuse(("lon", "lat"), "err_crs_wants_metres", name)
        a, b = float_arg("x", -1e8, 1e8), float_arg("y", -1e8, 1e8)
    lon, lat = (float(v) for v in crs_math.to_wgs84(a, b, name))
    if not (math.isfinite(lon) and math.isfinite(lat)
            and -180 <= lon <= 180 and -90 <= lat <= 90):
        raise Invalid(catalogue.say("err_not_a_point_of", a=a, b=b,
                                    name=name), field="x")
    return lon, lat


def _plain_wgs84():
    """The common case at a tenth of the cost: decimal lon and lat, within range
    and not swapped, in the default CRS. Anything else (None) goes through the
    full reading, which names what is wrong."""
    args = request.args
    if len(args) > 3 or args.get("crs") or args.get("x") or args.get("y"):
        return None
    try:
        lon, lat = float(args["lon"]), float(args["lat"])
    except (KeyError, ValueError):
        return None
    if -180 <= lon <= 180 and -90 <= lat <= 90:  # false for nan and inf too
        return lon, lat
    return None


def _refuse(names, key, crs):
    for name in names:
        if request.args.get(name, "").strip():
            raise Invalid(catalogue.say(key, name=name, crs=crs), field=name)


_LATITUDE_MARK = re.compile(r"^\s*[NSns]|[NSns]\s*$|北纬|南纬")


def _refuse_swapped_axes():
    """A latitude beyond 90 that would be a longitude is a typical swap: say so;
    so is a longitude typed with a north/south hemisphere (31°34'N, 北纬31度)."""
    if _LATITUDE_MARK.search(request.args.get("lon", "")):
        raise Invalid(catalogue.say("err_lon_marked_lat"), field="lon")
    try:
        lon, lat = float(request.args["lon"]), float(request.args["lat"])
    except (KeyError, ValueError):
        return
    if abs(lat) > 90 and abs(lon) <= 90:
        raise Invalid(
            catalogue.say("err_lat_range_swapped", lat=lat), field="lat")
