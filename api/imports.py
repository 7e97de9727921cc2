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
from api.params import flag_arg, int_arg
from api.search import _cell
from geo.catalogue import say
from layers import import_progress
from layers import imports as imports_layer
from layers.errors import Invalid

bp = Blueprint("imports", __name__)

PREVIEW_ROWS = 20
REJECTED_SHOWN = 100
POINTS_SHOWN = 2000  # rejected rows drawn on the preview map

OPENAPI = {
    "/imports": {
        "post": {
            "summary": "Import a file (multipart field 'file'); dry_run=1 previews",
            "parameters": [
                {"name": "layer", "in": "query", "required": True,
                 "schema": {"enum": list(imports_layer.LAYERS)}},
                {"name": "crs", "in": "query", "schema": {"type": "string"},
                 "description": "wgs84, cgcs2000, gcj02, bd09 or EPSG:45xx"},
                {"name": "mapping", "in": "query", "schema": {"type": "string"},
                 "description": "target=column,… e.g. address=地址,size=人口"},
                {"name": "swap", "in": "query", "schema": {"type": "boolean"}},
                {"name": "dry_run", "in": "query", "schema": {"type": "boolean"}},
                {"name": "force", "in": "query", "schema": {"type": "boolean"},
                 "description": "import again a file imported before"},
                {"name": "staff", "in": "query", "schema": {"type": "integer"},
                 "description": "layer=tracks: the grid worker's id (grid_staff); "
                                "also accepted as a form field"},
                {"name": "on_address_match", "in": "query",
                 "schema": {"enum": list(imports_layer.ADDRESS_MATCH)},
                 "description": "layer=households: a row whose id is new but "
                                "whose normalised address is in its micro-grid "
                                "already (已有同址住户): add (default, counted "
                                "in the warnings), update that household, or "
                                "skip the row. Rows without an id are keyed "
                                "by the address and update a match"},
                {"name": "new_area", "in": "query", "schema": {"type": "boolean"},
                 "description": "layer=grids: accept level-1 grids more than "
                                "2 km from the deployment (listed in "
                                "new_areas); without it they are rejected"},
                {"name": "progress", "in": "query", "schema": {"type": "string"},
                 "description": "a token of your choosing (8–64 of A-Z a-z 0-9 - _): "
                                "the import's phases can be read at "
                                "/imports/progress/{token} while it runs"},
            ],
            "requestBody": {"content": {"multipart/form-data": {"schema": {
                "type": "object", "properties": {
                    "file": {"type": "string", "format": "binary"}}}}}},
            "responses": {
                "200": {"description": "the report: counts, rejected rows "
                        "(row, field, label: the field's Chinese name, value, "
                        "reason, lon, lat), refusal (a dry run that would store "
                        "nothing or be refused: why), preview (rows, points, "
                        "rejected: the rejected rows with a position, as "
                        "GeoJSON); tracks: tracks {staff, stored, days}; "
                        "grids: check {errors, advisories, slivers}, can_commit, "
                        "moved, new_areas, preview.shapes"},
                "400": {"description": "the file cannot be read"},
                "403": {"description": "your role may not edit this layer (the "
                        "permission editing it needs: households:edit, "
                        "cameras:edit, incidents:edit, users:manage for staff, "
                        "grids:edit), refused before the file is read"},
                "409": {"description": "the same file was imported before"},
                "413": {"description": "the file is too large"},
                "422": {"description": "nothing would be stored: every row "
                        "rejected (error.message says why, the commonest reason "
                        "first with its count; error.counts, error.rejected), or "
                        "every point outside the deployment or jurisdiction (the "
                        "distance and direction); or grids failing the "
                        "hierarchy check (error.check lists the problems). "
                        "Not recorded: the same file may be sent again"}},
        },
        "get": {
            "summary": "The imports, newest first",
            "parameters": [
                {"name": "limit", "in": "query",
                 "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
                {"name": "offset", "in": "query",
                 "schema": {"type": "integer", "minimum": 0}}],
            "responses": {"200": {"description": "{items: [...]}"}},
        },
    },
    "/imports/progress/{token}": {
        "get": {
            "summary": "Where your running import (sent with progress=token) has "
                       "got to",
            "parameters": [{"name": "token", "in": "path", "required": True,
                            "schema": {"type": "string"}}],
            "responses": {"200": {"description": "{phase, rows, seconds, "
                                                 "updated_at}: phase reading, "
                                                 "checking, assigning, writing, "
                                                 "inserting, indexing or done; "
                                                 "waiting when nothing of yours "
                                                 "is recorded under the token"}},
        }
    },
    "/imports/{import_id}/rejected.csv": {
        "get": {
            "summary": "The rejected rows of an import, as CSV (UTF-8 with BOM)",
            "parameters": [{"name": "import_id", "in": "path", "required": True,
                            "schema": {"type": "integer"}}],
            "responses": {"200": {"description": "CSV: row, field, value, reason"},
                          "404": {"description": "unknown, or not yours"}},
        }
    },
}


@bp.post("/imports")
@requires("imports:run")
def run_import():
    layer = request.args.get("layer", "")
    # the layer's own permission (households:edit …), before any row is read
    imports_layer.check_permission(current(), layer)
    upload = request.files.get("file")
    if upload is None:
        raise Invalid(say("err_multipart_file"), field="file")
    # the parameters, before the file is read
    imports_layer.address_match(request.args.get("on_address_match")
                                or request.form.get("on_address_match") or "add")
    token = request.args.get("progress")
    if token is not None:
        import_progress.check_token(token)
    with contextlib.ExitStack() as stack:
        progress = None
        if token is not None:
            progress = _progress(stack.enter_context(second_connection()), token)
            progress("reading", None, 0.0)
        report = _run(upload, layer, progress)
        if progress is not None:
            progress("done", report["counts"]["read"], 0.0)
    return jsonify(_shown(report))


def _run(upload, layer, progress):
    data = upload.read()
    options = {k: request.args[k] for k in ("crs", "mapping")
               if request.args.get(k)}
    if flag_arg("swap"):
        options["swap"] = True
    try:
        # a large CSV is handed over part by part: its first rows are stored
        # while the next are read (layers.imports.run_import)
        result = importers.read_any(data, name=upload.filename or "upload",
                                    stream=True, **options)
    except importers.ImportRefused as exc:
        raise Invalid(exc.message, field="file") from None
    staff = request.args.get("staff") or request.form.get("staff")
    if staff:
        options["staff"] = staff  # not a reader's option: after reading
    match = (request.args.get("on_address_match")
             or request.form.get("on_address_match") or "add")
    with connection() as conn:
        return imports_layer.run_import(
            conn, current(), result, layer, upload.filename or "upload",
            hashlib.sha256(data).hexdigest(), options, dry_run=flag_arg("dry_run"),
            force=flag_arg("force"), progress=progress, on_address_match=match,
            new_area=flag_arg("new_area"))


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
def progress_of(token):
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
def list_imports():
    limit = int_arg("limit", 1, 1000, default=100)
    offset = int_arg("offset", 0, 10**9, default=0)
    with connection() as conn:
        items = imports_layer.list_imports(conn, current(), limit, offset)
    return jsonify({"items": items})


@bp.get("/imports/<int:import_id>/rejected.csv")
@requires("imports:run")
def rejected_csv(import_id):
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
