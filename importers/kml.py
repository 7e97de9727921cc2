"""KML and KMZ: Placemarks in nested Folders, parsed with defusedxml.

One row per Placemark (``row`` counts them from 1, in document order), with its
``name``, ``description``, ``folder`` (the path of Folder names, ``A/B``) and its
ExtendedData (``<Data name>`` values and ``<SimpleData>`` fields) as columns.
Geometries: Point, LineString, LinearRing (read as a LineString), Polygon (with
holes), MultiGeometry (nested, of one kind → Multi*, mixed → GeometryCollection),
gx:Track and gx:MultiTrack; a geometry outside any Placemark is a row too. A track
with ``<when>`` times becomes one row per point, as GPX track points are:
``kind`` ``track_point`` (the other Placemarks ``placemark``), ``track``,
``segment`` (within a gx:MultiTrack) and ``time`` (UTC; an unreadable one is
empty); a time in 1901 or the future is read with a warning. KML is WGS-84 by
its specification; ``crs=`` overrides it for apps that write GCJ-02.
A KMZ is a zip, opened only within the limits of :mod:`importers.safezip`.
"""

import re

import numpy as np

from .accept import accept_geometries, odd_times
from .messages import say
from .reproject import choose
from .result import MAX_FILE_BYTES, ImportRefused, Result, load_bytes
from .safexml import decode, local_name, parse
from .safezip import open_zip, read_member
from .table import check_mapping

__all__ = ["read"]

_CONTAINERS = ("kml", "Document", "Folder")
_GEOMETRIES = ("Point", "LineString", "LinearRing", "Polygon", "MultiGeometry",
               "Track", "MultiTrack")


def read(source, *, crs=None, swap=False, bbox=None, mapping=None,
         max_bytes=MAX_FILE_BYTES):
    """Read the Placemarks of a KML or KMZ file.

    Parameters
    ----------
    source : path, bytes or binary file object (KML text or a KMZ zip)
    crs : override the format's WGS-84 (``gcj02`` for some Chinese apps)
    swap, bbox, mapping, max_bytes : as in :func:`importers.csvfile.read`

    Returns
    -------
    Result
    """
    import pandas as pd
    import shapely

    data, fmt = load_bytes(source, max_bytes), "kml"
    if data[:4] == b"PK\x03\x04":
        data, fmt = _kml_in_kmz(data), "kmz"
    what = f"{fmt.upper()} file"
    text, encoding = decode(data, what)
    root = parse(text, what)
    geoms, attrs, rejected, tracks = [], [], [], 0
    for placemark, folders in _placemarks(root, ()):
        row = {"name": _text(placemark, "name"),
               "description": _text(placemark, "description"),
               "folder": "/".join(folders) or None}
        row.update((k, v) for k, v in _extended(placemark) if k not in row)
        try:
            timed = _timed(placemark)
            if timed:  # one row per point of a track with times, as in GPX
                for segment, (coords, times) in enumerate(timed):
                    for xy, when in zip(coords, times, strict=True):
                        attrs.append({**row, "kind": "track_point", "track": tracks,
                                      "segment": segment, "time": when})
                        geoms.append(shapely.Point(xy))
                tracks += 1
                continue
            geoms.append(_geometry(placemark))
        except (ValueError, shapely.errors.ShapelyError) as exc:
            geoms.append(None)
            # ours say it in both languages; shapely's (a one-point line) in English
            reason = str(exc) if isinstance(exc, _Unbuilt) else say(
                "geometry_unbuildable", kind="geometry", error=exc)
            rejected.append({"row": len(geoms), "field": "geometry",
                             "reason": reason})
        attrs.append(row)
    if not attrs:
        raise ImportRefused(say("kml_empty", fmt=fmt.upper()))
    frame = pd.DataFrame.from_records(attrs)
    if tracks:
        frame["kind"] = frame["kind"].fillna("placemark")
        for column in ("track", "segment"):
            frame[column] = frame[column].astype("Int64")
        frame["time"] = pd.to_datetime(frame["time"], utc=True, errors="coerce",
                                       format="ISO8601")
    columns = {"geometry": "geometry", **check_mapping(mapping, frame.columns)}
    key, used, notes = choose(None, crs, default_source="format")
    if used.source == "option":
        notes.append(say("format_is_wgs84", fmt="KML", key=key))
    rows = np.arange(1, len(geoms) + 1)
    keep = np.ones(len(geoms), dtype=bool)
    keep[[r["row"] - 1 for r in rejected]] = False
    accepted = accept_geometries(np.array(geoms, dtype=object)[keep], rows[keep],
                                 frame[keep], key, used, swap=swap, bbox=bbox)
    rejected = sorted(rejected + accepted.rejected, key=lambda r: r["row"])
    return Result(frame=accepted.frame, rejected=rejected, crs=accepted.crs,
                  columns=columns, format=fmt, encoding=encoding,
                  warnings=notes + accepted.warnings + odd_times(accepted.frame))


class _Unbuilt(ValueError):
    """A Placemark whose geometry cannot be built; the message says why."""


def _kml_in_kmz(data):
    archive = open_zip(data, "KMZ file")
    names = [n for n in archive.namelist() if n.lower().endswith(".kml")]
    if not names:
        raise ImportRefused(say("kmz_no_kml",
                                held="、".join(archive.namelist()) or "nothing"))
    # doc.kml by convention; else the first .kml at the shallowest level
    names.sort(key=lambda n: (n.lower() != "doc.kml", n.count("/"), n))
    return read_member(archive, names[0])


def _children(element, name):
    return [c for c in element if local_name(c.tag) == name]


def _child(element, name):
    found = _children(element, name)
    return found[0] if found else None


def _text(element, name):
    child = _child(element, name)
    return child.text.strip() if child is not None and child.text else None


def _placemarks(element, folders):
    """(Placemark, folder names) in document order, through Documents and Folders."""
    for child in element:
        name = local_name(child.tag)
        if name == "Placemark" or name in _GEOMETRIES:  # a bare geometry: a row
            yield child, folders
        elif name in _CONTAINERS:
            inner = folders + ((_text(child, "name") or "",) if name == "Folder"
                               else ())
            yield from _placemarks(child, inner)


def _extended(placemark):
    data = _child(placemark, "ExtendedData")
    if data is None:
        return
    for item in data.iter():
        kind = local_name(item.tag)
        if kind == "Data" and item.get("name"):
            yield item.get("name"), _text(item, "value")
        elif kind == "SimpleData" and item.get("name"):
            yield item.get("name"), (item.text or "").strip() or None


def _timed(placemark):
    """(coordinates, times) of each gx:Track with <when> times of a Placemark
    (several for a gx:MultiTrack), or None when it has no timed track."""
    tracks = [placemark] if local_name(placemark.tag) == "Track" else []
    for child in placemark:
        kind = local_name(child.tag)
        if kind == "Track":
            tracks.append(child)
        elif kind == "MultiTrack":
            tracks += _children(child, "Track")
    timed = []
    for track in tracks:
        times = [(w.text or "").strip() or None for w in _children(track, "when")]
        coords = [_numbers(c.text) for c in _children(track, "coord")]
        if times and len(times) != len(coords):
            raise _Unbuilt(say("kml_track_times", when=len(times), coord=len(coords)))
        if times:
            timed.append((coords, times))
    return timed or None


def _geometry(placemark):
    if local_name(placemark.tag) in _GEOMETRIES:  # a geometry outside a Placemark
        return _build(placemark)
    for child in placemark:
        if local_name(child.tag) in _GEOMETRIES:
            return _build(child)
    raise _Unbuilt(say("kml_no_geometry"))


def _build(element):
    import shapely

    kind = local_name(element.tag)
    if kind == "Point":
        return shapely.Point(_coordinates(element)[0])
    if kind in ("LineString", "LinearRing"):
        return shapely.LineString(_coordinates(element))
    if kind == "Polygon":
        outer = _child(element, "outerBoundaryIs")
        if outer is None or _child(outer, "LinearRing") is None:
            raise _Unbuilt(say("kml_no_outer"))
        holes = [_coordinates(_child(b, "LinearRing"))
                 for b in _children(element, "innerBoundaryIs")
                 if _child(b, "LinearRing") is not None]
        return shapely.Polygon(_coordinates(_child(outer, "LinearRing")), holes)
    if kind == "Track":
        coords = [_numbers(c.text) for c in _children(element, "coord")]
        if not coords:
            raise _Unbuilt(say("kml_track_empty"))
        return shapely.LineString(coords) if len(coords) > 1 else shapely.Point(
            coords[0])
    parts = [_build(c) for c in element if local_name(c.tag) in _GEOMETRIES]
    if not parts:
        raise _Unbuilt(say("kml_part_empty", kind=kind))
    return _collect(parts)


def _collect(parts):
    import shapely

    flat = []
    for part in parts:
        flat.extend(part.geoms if part.geom_type.startswith("Multi") else [part])
    kinds = {p.geom_type for p in flat}
    if kinds == {"Point"}:
        return shapely.MultiPoint(flat)
    if kinds == {"LineString"}:
        return shapely.MultiLineString(flat)
    if kinds == {"Polygon"}:
        return shapely.MultiPolygon(flat)
    return shapely.GeometryCollection(flat)


def _coordinates(element):
    node = _child(element, "coordinates")
    if node is None or not (node.text or "").strip():
        raise _Unbuilt(say("kml_no_coordinates", kind=local_name(element.tag)))
    return [_numbers(t) for t in re.sub(r"\s*,\s*", ",", node.text).split()]


def _numbers(text):
    try:
        values = [float(v) for v in (text or "").replace(",", " ").split()]
    except ValueError:
        values = []
    if len(values) < 2 or not all(np.isfinite(values)):
        raise _Unbuilt(say("kml_bad_coordinates", text=(text or "").strip()[:40]))
    return values[:2]
