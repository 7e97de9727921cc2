"""Editing grids: preview, then save — redraw, split, merge.

Each change has a ``/preview`` twin that answers exactly what the save would do
(new boundaries, neighbours that give up area, households / cameras / open incidents
that change grid, gaps) without changing anything.
"""

from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from geo.edit import EditError, boundary_from_geojson
from layers import grid_edit, proposals
from layers.errors import Invalid, Unprocessable

bp = Blueprint("grid_edit", __name__)

_BODY = {"content": {"application/json": {"schema": {"type": "object"}}}}
_ANSWERS = {"200": {"description": "what changes (preview) / what changed (save)"},
            "400": {"description": "malformed body"},
            "404": {"description": "unknown grid, or not in your jurisdiction"},
            "409": {"description": "stale version: someone else changed it"},
            "422": {"description": "the edit would break the hierarchy"}}


def _op(summary):
    return {"post": {"summary": summary, "requestBody": _BODY, "responses": _ANSWERS}}


OPENAPI = {
    "/grids/{code}": {
        "put": {"summary": "Save a new boundary {geometry, version}",
                "requestBody": _BODY, "responses": _ANSWERS},
        "delete": {"summary": "Delete a micro-grid (?version=&into=): its area and "
                              "points go to a sibling", "responses": _ANSWERS}},
    "/grids/{code}/preview": _op("Preview a new boundary {geometry, version}"),
    "/grids/{code}/split": _op("Split a micro-grid along {line, version, name?}"),
    "/grids/{code}/split/preview": _op("Preview a split"),
    "/grids/merge": _op("Merge sibling micro-grids {codes, versions}"),
    "/grids": {"post": {
        "summary": "Create a micro-grid {parent, name, geometry}: it takes its "
                   "area from its siblings", "requestBody": _BODY,
        "responses": _ANSWERS}},
    "/grids/preview": _op("Preview creating a micro-grid"),
    "/grids/{code}/delete/preview": _op("Preview deleting a micro-grid"),
    "/grids/merge/preview": _op("Preview a merge"),
    "/grids/{code}/propose-micro": _op(
        "Propose micro-grids of 50–100 households for a level-3 grid {target?}"),
    "/grids/{code}/children": {"put": {
        "summary": "Adopt micro-grids {grids: FeatureCollection, versions}",
        "requestBody": _BODY, "responses": _ANSWERS}},
    "/grids/{code}/children/preview": _op("Preview adopting micro-grids"),
}


def _body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid("the request body must be a JSON object", field="body")
    return body


def _shape(body, name, kinds):
    try:
        return boundary_from_geojson(body.get(name), kinds=kinds, field=name)
    except EditError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None


def _redraw(code, dry_run):
    body = _body()
    geometry = _shape(body, "geometry", ("Polygon", "MultiPolygon"))
    with connection() as conn:
        return jsonify(grid_edit.redraw(conn, current(), code, geometry,
                                        body.get("version"), dry_run=dry_run))


@bp.put("/grids/<code>")
@requires("grids:edit")
def save_boundary(code):
    return _redraw(code, dry_run=False)


@bp.post("/grids/<code>/preview")
@requires("grids:edit")
def preview_boundary(code):
    return _redraw(code, dry_run=True)


def _split(code, dry_run):
    body = _body()
    line = _shape(body, "line", ("LineString",))
    with connection() as conn:
        return jsonify(grid_edit.split(conn, current(), code, line,
                                       body.get("version"), body.get("name"),
                                       dry_run=dry_run))


@bp.post("/grids/<code>/split")
@requires("grids:edit")
def save_split(code):
    return _split(code, dry_run=False)


@bp.post("/grids/<code>/split/preview")
@requires("grids:edit")
def preview_split(code):
    return _split(code, dry_run=True)


def _merge(dry_run):
    body = _body()
    codes = body.get("codes")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise Invalid("'codes' must be a list of grid codes", field="codes")
    with connection() as conn:
        return jsonify(grid_edit.merge(conn, current(), codes, body.get("versions"),
                                       dry_run=dry_run))


@bp.post("/grids/merge")
@requires("grids:edit")
def save_merge():
    return _merge(dry_run=False)


@bp.post("/grids/merge/preview")
@requires("grids:edit")
def preview_merge():
    return _merge(dry_run=True)


@bp.post("/grids/<code>/propose-micro")
@requires("grids:edit")
def propose_micro(code):
    body = request.get_json(silent=True) or {}
    target = body.get("target", 75)
    if not isinstance(target, int) or isinstance(target, bool):
        raise Invalid("'target' must be a whole number of households", field="target")
    with connection() as conn:
        return jsonify(proposals.propose(conn, current(), code, target))


def _adopt(code, dry_run):
    body = _body()
    collection = body.get("grids")
    if not isinstance(collection, dict) or not isinstance(
            collection.get("features"), list) or not collection["features"]:
        raise Invalid("'grids' must be a GeoJSON FeatureCollection of the new "
                      "micro-grids", field="grids")
    polygons = [_shape(f if isinstance(f, dict) else {}, "geometry",
                       ("Polygon", "MultiPolygon"))
                for f in collection["features"]]
    with connection() as conn:
        return jsonify(grid_edit.replace_children(
            conn, current(), code, polygons, body.get("versions"), dry_run=dry_run))


@bp.put("/grids/<code>/children")
@requires("grids:edit")
def save_children(code):
    return _adopt(code, dry_run=False)


@bp.post("/grids/<code>/children/preview")
@requires("grids:edit")
def preview_children(code):
    return _adopt(code, dry_run=True)


def _create(dry_run):
    body = _body()
    geometry = _shape(body, "geometry", ("Polygon", "MultiPolygon"))
    with connection() as conn:
        return jsonify(grid_edit.create(conn, current(), str(body.get("parent", "")),
                                        body.get("name"), geometry, dry_run=dry_run))


@bp.post("/grids")
@requires("grids:edit")
def save_create():
    return _create(dry_run=False)


@bp.post("/grids/preview")
@requires("grids:edit")
def preview_create():
    return _create(dry_run=True)


def _delete(code, dry_run):
    with connection() as conn:
        return jsonify(grid_edit.delete(conn, current(), code,
                                        request.args.get("version"),
                                        request.args.get("into") or None,
                                        dry_run=dry_run))


@bp.delete("/grids/<code>")
@requires("grids:edit")
def save_delete(code):
    return _delete(code, dry_run=False)


@bp.post("/grids/<code>/delete/preview")
@requires("grids:edit")
def preview_delete(code):
    return _delete(code, dry_run=True)
