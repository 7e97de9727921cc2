"""POST/GET /api/v1/imports: upload a file into households, cameras, incidents,
grid staff, a worker's patrol tracks or grids (a dry run first if you like), list
the imports, download one's rejected rows."""

import contextlib
import csv
import hashlib
import io
import logging

import psycopg
from flask import Blueprint, Response, jsonify, request

import importers
from api.auth import current, requires
from api.db import connection, second_connection
from api.openapi import OBJECT, array, file, obj
from api.params import LIMIT, OFFSET, FlagParam, Param, TextParam, accepts
from api.search import _cell
from geo.catalogue import say
from layers import import_progress
from layers import imports as imports_layer
from layers.errors import Invalid

bp = Blueprint("imports", __name__)

PREVIEW_ROWS = 20
REJECTED_SHOWN = 100
POINTS_SHOWN = 2000  # rejected rows drawn on the preview map


def _layer(name):
    layer = request.args.get(name, "")
    # the layer's own permission (households:edit …), before any row is read
    imports_layer.check_permission(current(), layer)
    if request.files.get("file") is None:
        raise Invalid(say("err_multipart_file"), field="file")
    return layer


def _query_or_form(name):
    return request.args.get(name) or request.form.get(name) or None


def _address_match(name):
    match = _query_or_form(name) or "add"
    imports_layer.address_match(match)
    return match


def _token(name):
    token = request.args.get(name)
    if token is not None:
        import_progress.check_token(token)
    return token


_IMPORT = (
    Param("layer", "导入到的图层", "the layer imported into", required=True,
          parse=_layer, schema={"type": "string", "enum": list(imports_layer.LAYERS)}),
    Param("on_address_match",
          "layer=households：新 id 的行地址与本微网格已有住户相同时",
          "layer=households: a row whose id is new but whose normalised address is "
          "in its micro-grid already (已有同址住户): add (default, counted in the "
          "warnings), update that household, or skip the row. Rows without an id "
          "are keyed by the address and update a match", default="add",
          parse=_address_match,
          schema={"type": "string", "enum": list(imports_layer.ADDRESS_MATCH)}),
    Param("progress", "自选的进度标记", "a token of your choosing (8–64 of A-Z a-z "
          "0-9 - _): the import's phases can be read at /imports/progress/{token} "
          "while it runs", parse=_token),
    TextParam("crs", "坐标系", "wgs84, cgcs2000, gcj02, bd09 or EPSG:45xx"),
    TextParam("mapping", "字段对应", "target=column,… e.g. address=地址,size=人口"),
    FlagParam("swap", "经纬度对调", "longitude and latitude swapped", default=False),
    FlagParam("dry_run", "只预览", "preview only: nothing stored", default=False),
    FlagParam("force", "再次导入已导入过的文件", "import again a file imported before",
              default=False),
    Param("staff", "layer=tracks：网格员 id（也可为表单字段）",
          "layer=tracks: the grid worker's id (grid_staff); also accepted as a "
          "form field",
          parse=_query_or_form, schema={"type": "integer"}),
    FlagParam("new_area", "layer=grids：接受离部署区 2 公里外的一级网格",
              "layer=grids: accept level-1 grids more than 2 km from the "
              "deployment (listed in new_areas); without it they are rejected",
              default=False),
)
_REPORT = obj(
    "the report: counts, rejected rows (row, field, label: the field's Chinese "
    "name, value, reason, lon, lat), refusal (a dry run that would store nothing or "
    "be refused: why), preview (rows, points, rejected: the rejected rows with a "
    "position, as GeoJSON); tracks: tracks {staff, stored, days}; grids: check "
    "{errors, advisories, slivers}, can_commit, moved, new_areas, preview.shapes",
    required=("counts", "rejected", "preview"), counts=OBJECT,
    rejected=array(OBJECT), preview=OBJECT)


@bp.post("/imports")
@requires("imports:run")
@accepts(*_IMPORT, body=obj(file={"type": "string", "format": "binary"}),
         content_type="multipart/form-data", errors=(409, 413, 422),
         responses={200: _REPORT})
def run_import(layer, on_address_match, progress, crs, mapping, swap, dry_run,
               force, staff, new_area):
    """Import a file (multipart field 'file'); dry_run=1 previews. 403: your role
    may not edit this layer (refused before the file is read); 409: the same file
    was imported before; 422: nothing would be stored (every row rejected, every
    point outside, or grids failing the hierarchy check)"""
    upload = request.files["file"]
    token = progress
    options = {k: v for k, v in (("crs", crs), ("mapping", mapping)) if v}
    if swap:
        options["swap"] = True
    flags = {"dry_run": dry_run, "force": force, "new_area": new_area,
             "on_address_match": on_address_match}
    with contextlib.ExitStack() as stack:
        progress = None
        if token is not None:
            progress = _progress(stack.enter_context(second_connection()), token)
            progress("reading", None, 0.0)
        report = _run(upload, layer, progress, options, staff, flags)
        if progress is not None:
            progress("done", report["counts"]["read"], 0.0)
    return jsonify(_shown(report))


def _run(upload, layer, progress, options, staff, flags):
    data = upload.read()
    try:
        # a large CSV is handed over part by part: its first rows are stored
        # while the next are read (layers.imports.run_import)
        result = importers.read_any(data, name=upload.filename or "upload",
                                    stream=True, **options)
    except importers.ImportRefused as exc:
        raise Invalid(exc.message, field="file") from None
    if staff:
        options["staff"] = staff  # not a reader's option: after reading
    with connection() as conn:
        return imports_layer.run_import(
            conn, current(), result, layer, upload.filename or "upload",
            hashlib.sha256(data).hexdigest(), options, progress=progress, **flags)


def _progress(side, token):
    """A ``progress(phase, rows, seconds)`` callback that records on ``side``,
    the second connection; a failure to record never fails the import."""
    principal = current()

    def progress(phase, rows, seconds):
        try:
            import_progress.record(side, principal, token, phase, rows, seconds)
        except psycopg.Error:
            logging.getLogger(__name__).warning("import progress not recorded",
                                                exc_info=True)

    return progress


@bp.get("/imports/progress/<token>")
@requires("imports:run")
@accepts(responses={200: obj(
    "{phase, rows, seconds, updated_at}: phase reading, checking, assigning, "
    "writing, inserting, indexing or done; waiting when nothing of yours is "
    "recorded under the token", required=("phase",), phase={"type": "string"})})
def progress_of(token):
    """Where your running import (sent with progress=token) has got to"""
    import_progress.check_token(token, field="token")
    with connection() as conn:
        return jsonify(import_progress.read(conn, current(), token))


def _shown(report):
    """The report as the API answers it: the first rejected rows, a preview table
    and the accepted points as GeoJSON."""
    points = report.pop("points")
    shapes = report.pop("shapes", None)
    rejected_points = _rejected_points(report["rejected"])
    report["rejected"] = report["rejected"][:REJECTED_SHOWN]
    report["preview"] = {
        "rows": report["preview"][:PREVIEW_ROWS],
        "points": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": {"type": "Point",
                                             "coordinates": [p["lon"], p["lat"]]},
             "properties": {"row": p["row"], "grid_code": p["grid_code"]}}
            for p in points]},
        # the rejected rows with a position, for the map (drawn in red)
        "rejected": rejected_points,
    }
    if shapes is not None:  # grids: the polygons themselves
        report["preview"]["shapes"] = shapes
    return report


def _rejected_points(rejected):
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": {"type": "Point",
                                         "coordinates": [r["lon"], r["lat"]]},
         "properties": {"row": r["row"], "field": r.get("field"),
                        "label": r.get("label"), "reason": r["reason"]}}
        for r in [r for r in rejected if r.get("lon") is not None][:POINTS_SHOWN]]}


@bp.get("/imports")
@requires("imports:run")
@accepts(LIMIT, OFFSET, responses={200: obj(required=("items",),
                                            items=array(OBJECT))})
def list_imports(limit, offset):
    """The imports, newest first"""
    with connection() as conn:
        items = imports_layer.list_imports(conn, current(), limit, offset)
    return jsonify({"items": items})


@bp.get("/imports/<int:import_id>/rejected.csv")
@requires("imports:run")
@accepts(responses={200: file("text/csv", "CSV: row, field, value, reason")})
def rejected_csv(import_id):
    """The rejected rows of an import, as CSV (UTF-8 with BOM)"""
    with connection() as conn:
        rows = imports_layer.rejected_rows(conn, current(), import_id)
    out = io.StringIO()
    writer = csv.writer(out)
    # the field by its Chinese name (地址, 人口, 位置) beside its code, and the
    # row's position when known
    writer.writerow(["row", "field", "value", "reason", "字段", "经度", "纬度"])
    for r in rows:
        writer.writerow([_cell(r.get(k)) for k in ("row", "field", "value", "reason",
                                                   "label", "lon", "lat")])
    # BOM: Excel opens UTF-8 Chinese text correctly only with it
    return Response("\ufeff" + out.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition":
                             f"attachment; filename=import-{import_id}-rejected.csv",
                             "Cache-Control": "no-store"})
