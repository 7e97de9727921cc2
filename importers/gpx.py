"""GPX 1.0 and 1.1 (gpxpy): waypoints, route points and track points.

One row per point, in the order of the file (``row`` counts them from 1), with
``kind`` (``waypoint``, ``route_point`` or ``track_point``), ``track``,
``segment`` and ``route`` indices (from 0; empty where they do not apply), the
point's ``name``, ``time`` (UTC), ``elevation`` in metres, and the track or route
name. Route points keep their ``<time>`` as track points do; a time in 1901 or
more than a day in the future is read with a warning naming the rows.
Extensions (speed, heart rate, …) are ignored. GPX is WGS-84 by its
specification; a ``crs=`` option overrides that for apps that write GCJ-02.

The XML is first parsed with defusedxml (entities refused), then handed to gpxpy.
"""

import re

import numpy as np

from .accept import accept_points, odd_times
from .messages import say
from .reproject import choose
from .result import MAX_FILE_BYTES, ImportRefused, Result, load_bytes, parse_mapping
from .safexml import decode, parse

__all__ = ["read"]

_FIELDS = ("kind", "track", "segment", "route", "name", "track_name", "time",
           "elevation", "description")


_DECLARATION = re.compile(r"\A\s*<\?xml[^>]*\?>")


def read(source, *, crs=None, swap=False, bbox=None, mapping=None,
         max_bytes=MAX_FILE_BYTES):
    """Read the points of a GPX file.

    Parameters
    ----------
    source : path, bytes or binary file object
    crs : override the format's WGS-84 (``gcj02`` for a phone app's export)
    swap, bbox, max_bytes : as in :func:`importers.csvfile.read`
    mapping : target → one of the columns above, reported in ``columns``

    Returns
    -------
    Result
    """
    import gpxpy
    import gpxpy.gpx
    import pandas as pd

    text, encoding = decode(load_bytes(source, max_bytes), "GPX file")
    parse(text, "GPX file")
    try:
        # the text is decoded already: its declaration (encoding="GBK") must not
        # reach gpxpy, which hands lxml (when installed) UTF-8 bytes that lxml
        # would then read as the declared encoding
        doc = gpxpy.parse(_DECLARATION.sub("", text, count=1))
    except gpxpy.gpx.GPXException as exc:
        raise ImportRefused(say("gpx_unreadable", error=exc)) from None
    points = list(_points(doc))
    if not points:
        raise ImportRefused(say("gpx_empty"))
    x = np.array([p[0] for p in points], dtype=np.float64)
    y = np.array([p[1] for p in points], dtype=np.float64)
    attrs = pd.DataFrame([p[2] for p in points], columns=list(_FIELDS))
    for column in ("track", "segment", "route"):
        attrs[column] = attrs[column].astype("Int64")
    attrs["time"] = pd.to_datetime(attrs["time"], utc=True)
    attrs["elevation"] = attrs["elevation"].astype(np.float64)
    rows = np.arange(1, len(points) + 1)
    key, used, notes = choose(None, crs, default_source="format")
    if used.source == "option":
        notes.append(say("format_is_wgs84", fmt="GPX", key=key))
    accepted = accept_points(x, y, rows, attrs, key, used, swap=swap, bbox=bbox)
    columns = {"lon": "lon", "lat": "lat", **_mapping(mapping)}
    return Result(frame=accepted.frame, rejected=accepted.rejected, crs=accepted.crs,
                  columns=columns, format="gpx", encoding=encoding,
                  warnings=notes + accepted.warnings + odd_times(accepted.frame))


def _mapping(mapping):
    mapping = parse_mapping(mapping)
    unknown = [c for c in mapping.values() if c not in _FIELDS]
    if unknown:
        raise ImportRefused(say("mapping_not_gpx", unknown="、".join(unknown),
                                fields="、".join(_FIELDS)))
    return mapping


def _points(doc):
    """(lon, lat, attributes) of every point: waypoints, routes, tracks."""
    for p in doc.waypoints:
        yield p.longitude, p.latitude, _attrs(p, "waypoint", None, None, None, None)
    for r, route in enumerate(doc.routes):
        for p in route.points:
            yield p.longitude, p.latitude, _attrs(p, "route_point", None, None, r,
                                                  route.name)
    for t, track in enumerate(doc.tracks):
        for s, segment in enumerate(track.segments):
            for p in segment.points:
                yield p.longitude, p.latitude, _attrs(p, "track_point", t, s, None,
                                                      track.name)


def _attrs(point, kind, track, segment, route, parent):
    return (kind, track, segment, route, point.name, parent, point.time,
            point.elevation, point.description)
