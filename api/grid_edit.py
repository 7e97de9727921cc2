"""Editing grids: preview, then save — redraw, split, merge (at every level).

Each change has a ``/preview`` twin that answers exactly what the save would do
(new boundaries, neighbours that give up area, households / cameras / open incidents
that change grid, gaps) without changing anything. The households that change grid
come with their address and head of household as the role allows (masked as the
household list masks them; the read audited like a listing).
"""

import math

import shapely
from flask import Blueprint, jsonify, request

from api.auth import current, requires
from api.db import connection
from api.openapi import INTEGER, OBJECT, STRING, array, obj
from api.params import CODE, Param, TextParam, accepts, raw_arg
from geo.catalogue import say
from geo.edit import EditError, boundary_from_geojson
from layers import grid_edit, grid_recode, grid_scope, households, proposals
from layers.errors import Invalid, Unprocessable

bp = Blueprint("grid_edit", __name__)

# The households of an edit's answer given with their address and head (the
# first ones, as many as one page of the household list).
MAX_DESCRIBED = 1000

_VERSION = {"oneOf": [INTEGER, STRING],
            "description": "the version read (required: the layer names it)"}
_GEOMETRY = {"type": "object", "description": "GeoJSON Polygon or MultiPolygon"}
_VERSIONS = {"type": "object", "description": "{code: version}"}
_ANSWER = obj("what changes (preview) / what changed (save); the households that "
              "change grid (moves.households) with address and head_name for a "
              "role that reads households (masked per role, the first "
              f"{MAX_DESCRIBED}; the read is audited)", required=("moves",),
              moves=obj(households=array(OBJECT)))
_EDIT = {"errors": (404, 409, 422), "responses": {200: _ANSWER}}


def _body():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise Invalid(say("err_body_not_object"), field="body")
    return body


def _shape(body, name, kinds, field=None):
    try:
        return boundary_from_geojson(body.get(name), kinds=kinds, field=field or name)
    except EditError as exc:
        raise Unprocessable(str(exc), field=exc.field) from None


def _redraw(code, dry_run):
    body = _body()
    geometry = _shape(body, "geometry", ("Polygon", "MultiPolygon"))
    neighbours, give = _neighbours(body), _give(body)
    if code in neighbours:
        raise Invalid(say("err_neighbours_cannot_hold_grid", code=code),
                      field="neighbours")
    with connection() as conn:
        return grid_edit.redraw(conn, current(), code, geometry,
                                body.get("version"), dry_run=dry_run,
                                neighbours=neighbours, give=give)


def _neighbours(body):
    """``{"neighbours": {code: {geometry, version}}}``: siblings redrawn with the
    grid (a shared vertex moved in all of them) → code → (shape, version)."""
    value = body.get("neighbours") or {}
    if not isinstance(value, dict) or not all(
            isinstance(v, dict) for v in value.values()):
        raise Invalid(say("err_neighbours_object"),
            field="neighbours")
    return {code: (_shape(v, "geometry", ("Polygon", "MultiPolygon"),
                          f"neighbours.{code}.geometry"), v.get("version"))
            for code, v in value.items()}


def _give(body):
    """``{"give": [{at: [lon, lat], to: code, version?}]}``: the gap at each point
    is handed to grid ``to`` → [(Point, code, version)]."""
    value = body.get("give") or []
    bad = Invalid(say("err_give_list"), field="give")
    if not isinstance(value, list):
        raise bad
    out = []
    for item in value:
        at = item.get("at") if isinstance(item, dict) else None
        if not (isinstance(at, list) and len(at) == 2 and all(
                isinstance(v, (int, float)) and not isinstance(v, bool)
                and math.isfinite(v) for v in at)
                and isinstance(item.get("to"), str)):
            raise bad
        out.append((shapely.Point(at), item["to"], item.get("version")))
    return out


def _split(code, dry_run):
    body = _body()
    line = _shape(body, "line", ("LineString",))
    with connection() as conn:
        return grid_edit.split(conn, current(), code, line, body.get("version"),
                               body.get("name"), dry_run=dry_run)


def _merge(dry_run):
    body = _body()
    codes = body.get("codes")
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise Invalid(say("err_codes_list"), field="codes")
    keep = body.get("keep")
    if keep is not None and not isinstance(keep, str):
        raise Invalid(say("err_keep_code"), field="keep")
    versions = body.get("versions")
    if versions is not None and not isinstance(versions, dict):
        raise Invalid(say("err_versions_object"),
                      field="versions")
    with connection() as conn:
        return grid_edit.merge(conn, current(), codes, versions, keep=keep,
                               dry_run=dry_run)


@bp.get("/grids/<code>/lineage")
@requires("map:view")
@accepts(path=[CODE], responses={200: obj(
    "{code, exists, became, came_from, now}", required=("code",), code=STRING)})
def lineage(code):
    """What a grid code became and came from (split, merge, re-code), and the
    grids holding its area now"""
    with connection() as conn:
        return jsonify(grid_recode.lineage(conn, current(), code))


@bp.post("/grids/<code>/propose-micro")
@requires("grids:edit")
@accepts(path=[CODE], body=obj(target={"type": "integer", "default": 75,
                                       "description": "households per micro-grid"}),
         body_required=False, errors=(422,), responses={200: obj("the proposal")})
def propose_micro(code):
    """Propose micro-grids of 50–100 households for a level-3 grid {target?}"""
    body = request.get_json(silent=True) or {}
    target = body.get("target", 75)
    if not isinstance(target, int) or isinstance(target, bool):
        raise Invalid(say("err_target_households"), field="target")
    grid_scope.check_editable(current(), code, root_ok=True)
    with connection() as conn:
        return jsonify(proposals.propose(conn, current(), code, target))


def _adopt(code, dry_run):
    body = _body()
    collection = body.get("grids")
    if not isinstance(collection, dict) or not isinstance(
            collection.get("features"), list) or not collection["features"]:
        raise Invalid(say("err_grids_collection"), field="grids")
    polygons = [_shape(f if isinstance(f, dict) else {}, "geometry",
                       ("Polygon", "MultiPolygon"))
                for f in collection["features"]]
    with connection() as conn:
        return grid_edit.replace_children(
            conn, current(), code, polygons, body.get("versions"), dry_run=dry_run)


def _create(dry_run):
    body = _body()
    geometry = _shape(body, "geometry", ("Polygon", "MultiPolygon"))
    with connection() as conn:
        return grid_edit.create(conn, current(), str(body.get("parent", "")),
                                body.get("name"), geometry, dry_run=dry_run)


def _delete(code, dry_run, version, into):
    with connection() as conn:
        return grid_edit.delete(conn, current(), code, version, into,
                                dry_run=dry_run)


def _described(answer, preview):
    """The households that change grid in ``answer``, with their address and head
    of household as the user's role allows (none without households:read)."""
    principal = current()
    moved = answer["moves"]["households"]
    if not moved or not principal.can("households:read"):
        return answer
    ids = [m["id"] for m in moved[:MAX_DESCRIBED]]
    with connection() as conn:
        found = households.describe(conn, principal, ids, {
            "via": "grid_edit", "preview": preview, "households": len(ids)})
    for m in moved:
        m.update(found.get(m["id"], {}))
    return answer


def _with_preview(name, handler, save, preview, summary, **declared):
    """Register an edit twice: ``save`` = (method, rule) commits it, the POST rule
    ``preview`` runs the very same handler in a transaction rolled back; both
    declare what they take (``declared``: :func:`api.params.accepts`)."""
    method, rule = save
    path = [CODE] if "<code>" in rule else []
    query = declared.pop("query", ())

    @requires("grids:edit")
    @accepts(*query, **_EDIT, **declared, path=path, summary=summary)
    def commit(**kwargs):
        return jsonify(_described(handler(dry_run=False, **kwargs), False))

    @requires("grids:edit")
    @accepts(*query, **_EDIT, **declared, path=path, summary="Preview: " + summary)
    def rehearse(**kwargs):
        return jsonify(_described(handler(dry_run=True, **kwargs), True))

    bp.add_url_rule(rule, f"save_{name}", commit, methods=[method])
    bp.add_url_rule(preview, f"preview_{name}", rehearse, methods=["POST"])


_with_preview("boundary", _redraw, ("PUT", "/grids/<code>"), "/grids/<code>/preview",
              "Save a new boundary {geometry, version, neighbours?, give?}: "
              "neighbours {code: {geometry, version}} are siblings redrawn with it "
              "(a shared vertex moved in all); give [{at: [lon, lat], to, version}] "
              "hands the gap at each point to grid to; the preview's gap_info lists "
              "each gap's point and the grids bordering it",
              body=obj(required=("geometry",), geometry=_GEOMETRY,
                       version=_VERSION, neighbours=OBJECT, give=array(obj(
                           at=array({"type": "number"}), to=STRING,
                           version=_VERSION))))
_with_preview("split", _split, ("POST", "/grids/<code>/split"),
              "/grids/<code>/split/preview",
              "Split a grid along {line, version, name?}; above level 4 its "
              "children go whole to their side and those of the new part are "
              "re-coded",
              body=obj(required=("line",), line={
                  "type": "object", "description": "GeoJSON LineString"},
                  version=_VERSION, name=STRING))
_with_preview("merge", _merge, ("POST", "/grids/merge"), "/grids/merge/preview",
              "Merge adjacent sibling grids {codes, versions, keep?} into keep "
              "(default the lowest code); the others' children are re-coded under "
              "it",
              body=obj(required=("codes",), codes=array(STRING), versions=_VERSIONS,
                       keep=STRING))
_with_preview("children", _adopt, ("PUT", "/grids/<code>/children"),
              "/grids/<code>/children/preview",
              "Adopt micro-grids {grids: FeatureCollection, versions}",
              body=obj(required=("grids",), grids={
                  "type": "object", "description": "GeoJSON FeatureCollection"},
                  versions=_VERSIONS))
_with_preview("create", _create, ("POST", "/grids"), "/grids/preview",
              "Create a micro-grid {parent, name, geometry}: it takes its area from "
              "its siblings",
              body=obj(required=("parent", "name", "geometry"), parent=STRING,
                       name=STRING, geometry=_GEOMETRY))
_with_preview("delete", _delete, ("DELETE", "/grids/<code>"),
              "/grids/<code>/delete/preview",
              "Delete a micro-grid (?version=&into=): its area and points go to a "
              "sibling",
              query=(Param("version", "读到的版本", "the version read",
                           required=True, parse=raw_arg,
                           schema={"type": "integer", "minimum": 0}),
                     TextParam("into", "并入的相邻网格（默认：自动选）",
                               "the sibling that takes it (default: chosen)")))
