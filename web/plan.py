"""The planners' page /plan: redraw, split and merge the grids under one parent,
each previewed before it is saved; create, delete, propose micro-grids and look up
a code's lineage (``static/plan_tools.js``). And /plan/check: the whole hierarchy
checked, every problem listed with a link that opens /plan on it.

The page is ``templates/plan.html`` with its script ``static/plan.js`` (Leaflet and
Leaflet.draw, served by gridgov under /vendor); the previews and saves go to the
grid-edit API (``api/grid_edit.py``) with the session cookie and the CSRF token.
This module renders the page and gives it the grids of the chosen parent.

The grids come at full precision, not through ``GET /api/v1/grids`` (which rounds
coordinates to 7 decimals, about a centimetre): a redrawn boundary is sent back
with all its untouched vertices, and rounded shared vertices would overlap or pull
back from the neighbours by slivers of a few m² along a kilometre of border, which
the edit reports as changed neighbours and gaps.
"""

from flask import Blueprint, jsonify, render_template, request, url_for
from pyproj import Geod
from shapely.geometry import mapping

import api
from api.auth import current, requires
from api.db import connection
from api.errors import error_response
from geo.catalogue import say
from layers import check, grids
from layers.errors import LayerError, NotFound
from web import assets, basemap
from web.i18n import level_name, page_strings, t

__all__ = ["bp"]

bp = Blueprint("plan", __name__)

# Areas on the ellipsoid, as PostGIS's ST_Area(geography) measures the areas of
# the edit API's answers: "before" and "after" are then comparable to the m².
_GEOD = Geod(ellps="WGS84")


@bp.get("/plan")
@requires("grids:edit")
def plan():
    principal = current()
    with connection() as conn:
        parents = _parents(conn, principal)
    if not parents:
        return render_template("message.html", heading=t("nav_plan"),
                               message=t("plan_no_grids"))
    wanted = request.args.get("parent")
    if wanted and wanted not in {p["code"] for p in parents}:
        raise NotFound(say("err_no_grid_to_plan", code=wanted),
                       field="parent")
    level3 = [p["code"] for p in parents if p["level"] == 3]
    parent = wanted or (level3 or [parents[0]["code"]])[0]
    config = {
        "parent": parent,
        "parent_level": next(p["level"] for p in parents if p["code"] == parent),
        # from the check page (a problem to show) or a lineage link (a grid)
        "focus": {k: request.args.get(k, "")[:200]
                  for k in ("problem", "codes", "select")},
        "urls": {"grids": url_for("plan.grids_data"),
                 "api": request.script_root + api.PREFIX,
                 "plan": url_for("plan.plan"),
                 "check": url_for("plan.check_page")},
        "households": principal.can("households:read"),
        "basemap": basemap.page(),
        "strings": page_strings("plan_", "notice_"),
    }
    groups = [(level_name(lv), [p for p in parents if p["level"] == lv])
              for lv in (1, 2, 3)]
    vendor = {
        "leaflet_css": assets.local_url("leaflet", "leaflet.css"),
        "leaflet_js": assets.local_url("leaflet", "leaflet.js"),
        "draw_css": assets.local_url("leaflet-draw", "leaflet.draw.css"),
        "draw_js": assets.local_url("leaflet-draw", "leaflet.draw.js"),
        "geoman_css": assets.local_url("leaflet-geoman", "leaflet-geoman.css"),
        "geoman_js": assets.local_url("leaflet-geoman", "leaflet-geoman.min.js"),
    }
    return render_template("plan.html", groups=[g for g in groups if g[1]],
                           parent=parent, config=config, vendor=vendor)


@bp.get("/plan/check")
@requires("grids:edit")
def check_page():
    """The hierarchy check of ``?root=`` (default: the whole jurisdiction) as a
    page: its script (``static/plan_check.js``) asks ``GET /api/v1/grids/check``
    and lists the problems by kind, each linked to /plan."""
    principal = current()
    with connection() as conn:
        parents = _parents(conn, principal)
    if not parents:
        return render_template("message.html", heading=t("plan_check_title"),
                               message=t("plan_no_grids"))
    root = request.args.get("root") or ""
    if root and root not in {p["code"] for p in parents}:
        raise NotFound(say("err_no_grid_to_check", root=root),
                       field="root")
    config = {
        "root": root,
        "urls": {"api": request.script_root + api.PREFIX,
                 "plan": url_for("plan.plan"), "check": url_for("plan.check_page")},
        "strings": page_strings("plan_"),
    }
    groups = [(level_name(lv), [p for p in parents if p["level"] == lv])
              for lv in (1, 2, 3)]
    return render_template("plan_check.html", groups=[g for g in groups if g[1]],
                           root=root, config=config)




@bp.get("/plan/grids")
@requires("grids:edit")
def grids_data():
    """``{"parent": Feature, "children": FeatureCollection}`` of ``?parent=<code>``,
    geometries at full precision, each with ``area_m2`` and the ``warning`` an edit
    left on it (layers/check.py) or None; errors as the API's JSON."""
    principal = current()
    code = request.args.get("parent", "")
    try:
        with connection() as conn:
            parent = grids.get_grid(conn, principal, code)
            children = grids.list_grids(conn, principal, parent=code)
            subtree, _ = check.load_subtree(conn, principal, code)
            warned = {w["code"]: w for w in check.warnings(conn, principal, code)}
    except LayerError as exc:
        return error_response(exc.http_status, exc.code, exc.message, exc.field)
    exact = dict(zip(subtree.code, subtree.geometry, strict=True))
    for feature in [parent, *children["features"]]:
        geom = exact[feature["properties"]["code"]]
        feature["geometry"] = mapping(geom)
        area, _ = _GEOD.geometry_area_perimeter(geom)
        feature["properties"]["area_m2"] = round(abs(area), 1)
        feature["properties"]["warning"] = warned.get(feature["properties"]["code"])
    return jsonify({"parent": parent, "children": children})


def _parents(conn, principal):
    """The grids of levels 1–3 in the user's jurisdiction (not the ancestors'
    outlines a user sees above it): ``[{code, name, level}]``, by level and code."""
    root = principal.grid_code or ""
    out = []
    for level in (1, 2, 3):
        for feature in grids.list_grids(conn, principal, level=level)["features"]:
            props = feature["properties"]
            if props["code"].startswith(root):
                out.append({k: props[k] for k in ("code", "name", "level")})
    return out
