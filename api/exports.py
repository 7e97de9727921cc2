"""/api/v1/exports/<layer>: a layer, or a filtered part of it, as a file.

No second query: the rows come from the JSON API's own reads (``layers.grids``,
``layers.households``, ``layers.cameras``, ``layers.incidents``, ``layers.ogc``
for tracks), so an export is scoped, masked and audited exactly as they are (one
audit row per export of households or incidents). The files are written by GDAL
through ``pyogrio.write_dataframe``; XLSX cells that look like formulas are then
kept text with ``api.stats._text_cell`` and CSV ones get the usual apostrophe.

Coordinates: GeoJSON and KML are WGS-84 by their specifications (RFC 7946, OGC
KML 2.2), so another ``crs`` with them is refused. The other formats take
``cgcs2000`` (EPSG:4490), a CGCS2000 3-degree Gauss-Krüger zone (``gk3-<zone>``,
zones 25–45, EPSG:4513–4533 with the zone prefixed to the easting; or the plain
codes EPSG:4534–4554) or ``gcj02`` (高德/腾讯), which has no CRS code: its file,
layer and columns carry ``_gcj02`` instead.
"""

import datetime as dt
import io
import tempfile
import zipfile
from http import HTTPStatus
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from flask import Blueprint, Response, current_app, request

from api.auth import current, requires
from api.db import connection
from api.openapi import file
from api.params import (
    GRID,
    LEVEL,
    SINCE,
    UNTIL,
    FlagParam,
    IntParam,
    Param,
    TextParam,
    accepts,
    ordered,
    raw_arg,
)
from api.stats import _FORMULA_START, _text_cell
from geo import crs as crs_math
from geo import localtime
from geo.catalogue import say
from layers import cameras, grids, households, incidents, ogc
from layers.errors import Forbidden, Invalid, LayerError, NotFound

bp = Blueprint("exports", __name__)

# format -> (GDAL driver, file extension, media type)
FORMATS = {
    "geojson": ("GeoJSON", ".geojson", "application/geo+json"),
    "gpkg": ("GPKG", ".gpkg", "application/geopackage+sqlite3"),
    "shp": ("ESRI Shapefile", ".zip", "application/zip"),
    "kml": ("KML", ".kml", "application/vnd.google-earth.kml+xml"),
    "csv": ("CSV", ".csv", "text/csv"),
    "xlsx": ("XLSX", ".xlsx",
             "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
}
_WGS84_ONLY = ("geojson", "kml")
_TABLES = ("csv", "xlsx")
# layer -> the permission of the read it reuses
LAYERS = {"grids": "map:view", "households": "households:read",
          "cameras": "map:view", "incidents": "incidents:read",
          "tracks": "tracks:read"}
# columns holding a time (ISO text in the API's rows)
_TIMES = ("created_at", "deadline", "closed_at", "valid_from")
# a dBase field name has at most 10 characters: the longer ones, shortened
SHP_NAMES = {"external_id": "ext_id", "households_target": "hh_target",
             "escalation_level": "esc_level", "assignee_id": "assign_id",
             "assignee_name": "assignee", "satisfaction": "satisfied"}
_GK_ZONES = range(25, 46)  # CM 75°E … 135°E
# GCJ-02 has no EPSG code: WGS-84 by its axes, named for what it is
_GCJ02_WKT = (
    'GEOGCRS["GCJ-02 (WGS 84 with the Chinese offset; no EPSG code)",'
    'DATUM["World Geodetic System 1984",ELLIPSOID["WGS 84",6378137,298.257223563]],'
    'CS[ellipsoidal,2],AXIS["longitude",east,ANGLEUNIT["degree",0.0174532925199433]],'
    'AXIS["latitude",north,ANGLEUNIT["degree",0.0174532925199433]]]')


class TooLarge(LayerError):
    """More features than one export may carry."""

    http_status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    code = "too_large"


def _choice(name, allowed, default):
    value = (request.args.get(name) or default).strip().lower()
    if value not in allowed:
        raise Invalid(say("export_parameter_name_must_be_one", name=name,
                          value='、'.join(allowed), value2=repr(value),
                          value3=', '.join(allowed)), field=name)
    return value


def _target_crs(fmt, raw):
    """``(name, crs for GDAL or None)`` of the ``crs`` parameter (``raw``): wgs84,
    cgcs2000, gcj02 or ``EPSG:45xx``."""
    raw = (raw or "wgs84").strip().lower()
    name = None
    if raw.startswith("gk3-") and raw[4:].isdigit() and int(raw[4:]) in _GK_ZONES:
        name = f"EPSG:{4513 + int(raw[4:]) - _GK_ZONES[0]}"
    elif not raw.startswith("gk3"):
        try:
            name = crs_math.normalize_crs(raw)
        except ValueError:
            pass
    if name is None or name == "bd09":
        raise Invalid(say("export_parameter_crs_must_be_wgs",
                          raw_r=repr(raw)), field="crs")
    if fmt in _WGS84_ONLY and name != "wgs84":
        raise Invalid(say("export_value_is_wgs_by_its", value=fmt.upper(),
                          raw=raw), field="crs")
    return name


# -- the rows: the JSON API's own reads ------------------------------------------

def _in(code, grid):
    return grid is None or (code or "").startswith(grid)


def _points(rows):
    rows = [dict(r) for r in rows]
    geoms = shapely.points([[r.pop("lon"), r.pop("lat")] for r in rows]) \
        if rows else []
    return rows, list(geoms)


def _features(features):
    return ([dict(f["properties"]) for f in features],
            [shapely.geometry.shape(f["geometry"]) for f in features])


def _read(conn, principal, layer, grid, cap, q, fmt):
    """``(properties, geometries)`` of the export, at most ``cap + 1`` rows;
    ``q``: the filters of the request; the reads of personal data audited as
    this export (``via``, ``format``)."""
    via = {"via": "export", "format": fmt}
    if layer == "grids":
        # a subtree lies within its root's bounds: a small part of a large level
        # stays under the read's cap (a grid outside the jurisdiction: 404)
        bbox = grid and shapely.geometry.shape(
            _root(conn, principal, grid)["geometry"]).bounds
        found = grids.list_grids(conn, principal, level=q["level"] or 4,
                                 bbox=bbox or None)
        if found["numberMatched"] > found["numberReturned"]:
            raise _too_large(found["numberMatched"], grids.MAX_FEATURES)
        return _features([f for f in found["features"] if _in(f["id"], grid)])
    if layer == "households":
        page = households.list_households(conn, principal, grid=grid, limit=cap + 1,
                                          via=via)
        return _points(page["items"])
    if layer == "cameras":
        return _points(r for r in cameras.list_cameras(conn, principal, limit=10**7)
                       if _in(r["grid_code"], grid))
    if layer == "incidents":
        since, until = q["since"], q["until"]
        ordered(since, until, "since", "until")
        page = incidents.list_incidents(
            conn, principal, status=q["status"], overdue=q["overdue"],
            level=q["level"], category=q["category"], grid=grid, since=since,
            until=until, limit=cap + 1, via=via)
        return _points(page["items"])
    staff = q["staff_id"]
    found, matched = ogc.items(conn, principal, ogc.COLLECTIONS["tracks"],
                               filters={"staff_id": str(staff)} if staff else None,
                               limit=min(cap + 1, ogc.MAX_LIMIT))
    if matched > len(found) and len(found) == ogc.MAX_LIMIT:
        raise _too_large(matched, ogc.MAX_LIMIT)
    return _features([f for f in found if _in(f["properties"]["grid_code"], grid)])


def _root(conn, principal, grid):
    try:
        return grids.get_grid(conn, principal, grid)
    except NotFound:
        raise NotFound(say("export_no_grid_grid_r_in", grid=grid, grid_r=repr(grid)),
                       field="grid") from None


def _too_large(n, cap):
    return TooLarge(say("export_an_export_carries_at_most", cap=cap,
                        n=n), field="grid", limit=cap)


# -- the frame and the file ------------------------------------------------------

def _frame(props, geoms, target):
    """A GeoDataFrame in ``target`` (GCJ-02: shifted, with its own WKT)."""
    frame = pd.DataFrame(props)
    for column in frame.columns:
        if frame[column].map(lambda v: isinstance(v, (list, dict))).any():
            frame[column] = frame[column].map(
                lambda v: ",".join(map(str, v)) if isinstance(v, list) else v)
    gdf = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(geoms, crs=crs_math.WGS84))
    if target == "gcj02":
        gdf.geometry = shapely.transform(
            gdf.geometry.values, lambda xy: _stacked(crs_math.wgs84_to_gcj02(
                xy[:, 0], xy[:, 1])))
        return gdf.set_crs(_GCJ02_WKT, allow_override=True)
    if target == "cgcs2000":
        return gdf.set_crs(crs_math.CGCS2000, allow_override=True)  # same numbers
    return gdf if target == "wgs84" else gdf.to_crs(target)


def _stacked(pair):
    return np.column_stack(pair)


def _table(gdf, target):
    """The frame as table columns: x/y for points (``lon``/``lat``, ``x``/``y`` in
    metres, ``lon_gcj02``/``lat_gcj02``), else WKT; times in China time with the
    zone in the header; formula-looking text neutralised for CSV by the caller."""
    suffix = "_gcj02" if target == "gcj02" else ""
    names = ("x", "y") if target.startswith("EPSG:") else ("lon", "lat")
    out = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    if len(gdf) and (gdf.geom_type == "Point").all():
        out[names[0] + suffix] = gdf.geometry.x.values
        out[names[1] + suffix] = gdf.geometry.y.values
    else:
        out["wkt" + suffix] = shapely.to_wkt(gdf.geometry.values, rounding_precision=-1)
    label = localtime.label()
    for column in [c for c in _TIMES if c in out.columns]:
        out[column] = out[column].map(
            lambda v: localtime.shown(v, seconds=True, with_label=False)
            if isinstance(v, (str, dt.datetime)) and v else "")
        out = out.rename(columns={column: f"{column}（{label}）"})
    return out


def _neutral(value):
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _write(gdf, fmt, target, stem):
    """The file's bytes."""
    driver = FORMATS[fmt][0]
    with tempfile.TemporaryDirectory(prefix="gridgov-export-") as tmp:
        if fmt == "shp":
            path = Path(tmp, f"{stem}.shp")
            gdf = gdf.rename(columns=lambda c: SHP_NAMES.get(c, c[:10]))
            pyogrio.write_dataframe(gdf, path, layer=stem, driver=driver,
                                    layer_options={"ENCODING": "UTF-8"})
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                for part in sorted(Path(tmp).iterdir()):
                    zf.write(part, part.name)
            return buffer.getvalue()
        path = Path(tmp, stem + FORMATS[fmt][1])
        if fmt in _TABLES:
            table = _table(gdf, target)
            if fmt == "csv":
                table = table.map(_neutral)
            pyogrio.write_dataframe(
                table, path, layer=stem, driver=driver,
                layer_options={"WRITE_BOM": "YES"} if fmt == "csv" else None)
            if fmt == "xlsx":
                _keep_text(path)
        else:
            pyogrio.write_dataframe(gdf, path, layer=stem, driver=driver)
        return path.read_bytes()


def _keep_text(path):
    from openpyxl import load_workbook  # only the XLSX export needs it

    book = load_workbook(path)
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                _text_cell(cell)
    book.save(path)


_FILTERS = (
    GRID,
    LEVEL.but(en="grids: the level (default 4); incidents: the escalation level"),
    TextParam("status", "事件状态", "incidents: status, or several comma-separated"),
    TextParam("category", "事件类别", "incidents: category"),
    FlagParam("overdue", "事件：只看超期", "incidents: overdue only (or not)"),
    SINCE.but(en="incidents: received from this moment"),
    UNTIL.but(en="incidents: received up to this moment"),
    IntParam("staff_id", "轨迹：网格员 id", "tracks: the grid worker's id", low=1,
             high=2**31 - 1),
)


@bp.get("/exports/<layer>")
@requires("map:view")
@accepts(Param("format", "文件格式", "file format", default="geojson",
               parse=lambda name: _choice(name, tuple(FORMATS), "geojson"),
               schema={"type": "string", "enum": list(FORMATS)}),
         Param("crs", "坐标系", "wgs84, cgcs2000, gk3-<zone> (25–45, or "
               "EPSG:4534–4554), gcj02; GeoJSON and KML: wgs84 only",
               default="wgs84", parse=raw_arg),
         *_FILTERS,
         path=[Param("layer", "图层", "the layer", where="path",
                     schema={"type": "string", "enum": list(LAYERS)})],
         errors=(413,), responses={200: file(
             "application/octet-stream", "the file (a zip for Shapefile): "
             "GeoJSON, GeoPackage, Shapefile, KML, CSV or XLSX")})
def export(layer, format, crs, **q):
    """A layer (scoped, masked, audited like its read) as a file"""
    principal = current()
    if layer not in LAYERS:
        raise Invalid(say("export_no_layer_layer_r_to", layer=layer,
                          value='、'.join(LAYERS), layer_r=repr(layer),
                          value2=', '.join(LAYERS)), field="layer")
    if not principal.can(LAYERS[layer]):
        raise Forbidden(say("export_your_role_role_may_not", role=principal.role,
                            layer=layer, layer_r=repr(layer),
                            value=LAYERS[layer]), field="layer")
    fmt = format
    target = _target_crs(fmt, crs)
    cap = int(current_app.config.get("EXPORT_MAX_FEATURES", 50_000))
    with connection() as conn:
        props, geoms = _read(conn, principal, layer, q["grid"], cap, q, fmt)
    if len(props) > cap:
        raise _too_large(f"{cap}+", cap)
    stem = layer + ("_gcj02" if target == "gcj02" else "")
    data = _write(_frame(props, geoms, target), fmt, target, stem)
    return Response(data, mimetype=FORMATS[fmt][2], headers={
        "Content-Disposition": f"attachment; filename={stem}{FORMATS[fmt][1]}",
        "Cache-Control": "no-store"})
