"""GeoJSON: a FeatureCollection, one Feature, or a bare geometry.

Properties become columns; ``row`` is the feature's position from 1. RFC 7946 says
WGS-84; the legacy ``"crs"`` member of GeoJSON 2008 is honoured when present
(``{"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}}``, or
``{"type": "EPSG", "properties": {"code": 4490}}``). A feature whose geometry
cannot be built is rejected with the reason; the others are read.
"""

import json

import numpy as np

from .accept import accept_geometries
from .messages import say
from .reproject import choose
from .result import MAX_FILE_BYTES, ImportRefused, Result, load_bytes
from .table import check_mapping

__all__ = ["read"]

_GEOMETRIES = {"Point", "MultiPoint", "LineString", "MultiLineString", "Polygon",
               "MultiPolygon", "GeometryCollection"}


def read(source, *, crs=None, swap=False, bbox=None, mapping=None,
         max_bytes=MAX_FILE_BYTES):
    """Read a GeoJSON file.

    Parameters
    ----------
    source : path, bytes or binary file object
    crs : the CRS when the file has no ``crs`` member (default WGS-84)
    swap, bbox, mapping, max_bytes : as in :func:`importers.csvfile.read`

    Returns
    -------
    Result
    """
    import pandas as pd

    data = load_bytes(source, max_bytes)
    try:
        doc = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise ImportRefused(say("geojson_not_utf8")) from None
    except json.JSONDecodeError as exc:
        raise ImportRefused(say("geojson_broken", line=exc.lineno, column=exc.colno,
                                error=exc.msg)) from None
    features = _features(doc)
    geoms, props, rejected = [], [], []
    for number, feature in enumerate(features, start=1):
        geometry, reason = _geometry(feature)
        if reason:
            rejected.append({"row": number, "field": "geometry", "reason": reason})
        geoms.append(geometry)
        props.append(_properties(feature))
    attrs = pd.DataFrame.from_records(props, index=pd.RangeIndex(len(props)))
    columns = {"geometry": "geometry", **check_mapping(mapping, attrs.columns)}
    key, used, notes = choose(_legacy_crs(doc), crs, where="the GeoJSON crs member")
    failed = {r["row"] for r in rejected}
    keep = np.array([n not in failed for n in range(1, len(geoms) + 1)], dtype=bool)
    rows = np.arange(1, len(geoms) + 1)
    geoms = np.array(geoms, dtype=object)
    accepted = accept_geometries(geoms[keep], rows[keep], attrs[keep], key, used,
                                 swap=swap, bbox=bbox)
    rejected = sorted(rejected + accepted.rejected, key=lambda r: r["row"])
    return Result(frame=accepted.frame, rejected=rejected, crs=accepted.crs,
                  columns=columns, warnings=notes + accepted.warnings,
                  format="geojson", encoding="UTF-8")


def _features(doc):
    kind = doc.get("type") if isinstance(doc, dict) else None
    if kind == "FeatureCollection":
        features = doc.get("features")
        if not isinstance(features, list):
            raise ImportRefused(say("geojson_no_features"))
        return features
    if kind == "Feature":
        return [doc]
    if kind in _GEOMETRIES or kind == "LinearRing":  # a ring: read as a line
        return [{"type": "Feature", "geometry": doc, "properties": {}}]
    raise ImportRefused(say("geojson_top_type", kind=kind))


def _properties(feature):
    props = feature.get("properties") if isinstance(feature, dict) else None
    return props if isinstance(props, dict) else {}


def _geometry(feature):
    """(shapely geometry or None, reason or None)."""
    import shapely.geometry

    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        return None, say("geojson_not_feature")
    geometry = feature.get("geometry")
    if geometry is None:
        return None, say("feature_no_geometry")
    try:
        return shapely.geometry.shape(geometry), None
    except (AttributeError, IndexError, KeyError, TypeError, ValueError,
            shapely.errors.ShapelyError) as exc:
        kind = geometry.get("type") if isinstance(geometry, dict) else "geometry"
        return None, say("geometry_unbuildable", kind=kind, error=exc)


def _legacy_crs(doc):
    """The CRS named by a legacy ``crs`` member, or None."""
    member = doc.get("crs") if isinstance(doc, dict) else None
    if not isinstance(member, dict):
        return None
    props = member.get("properties") or {}
    if member.get("type") == "name" and props.get("name"):
        return str(props["name"])
    if member.get("type") == "EPSG" and props.get("code"):
        return f"EPSG:{props['code']}"
    raise ImportRefused(say("geojson_crs_member", member=json.dumps(member)[:80]))
