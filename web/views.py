"""The map pages: each view gathers data from layers/ and renders one map."""

from flask import Blueprint, current_app, request, url_for
from flask_wtf.csrf import generate_csrf

import api
from api.auth import current, requires
from api.db import connection
from api.stats import clock
from geo import vocab
from geo.hotspots import CLASSES as HOT_CLASSES
from layers import cameras, grids, households, tiles
from web import assets, maps
from web.i18n import page_strings, role_label, t
from web.rankings import months
from web.security import add_nonce

__all__ = ["bp"]

bp = Blueprint("views", __name__)


@bp.get("/")
@requires("map:view")
def overview():
    principal = current()
    with connection() as conn:
        # what fits in the page is embedded; the rest comes as vector tiles
        small = tiles.embeddable(conn, principal, _embed_max())
        by_level = {lv: grids.list_grids(conn, principal, level=lv)
                    for lv, fits in small["grids"].items() if fits}
        see_households = principal.can("households:read")
        positions = (households.positions(conn, principal)
                     if see_households and small["households"] else None)
        cams = (cameras.list_cameras(conn, principal) if small["cameras"]
                else None)
    tiled = {"url": request.script_root + "/tiles/{layer}/{z}/{x}/{y}.mvt",
             "grids": [lv for lv, fits in small["grids"].items() if not fits],
             "households": see_households and not small["households"],
             "cameras": not small["cameras"]}
    any_tiled = bool(tiled["grids"] or tiled["households"] or tiled["cameras"])
    m = maps.overview_map(
        by_level, positions, cams,
        page={"scripts": [url_for("static", filename="gg.js")],
              "styles": [url_for("static", filename="overview.css")]},
        basemap_url=current_app.config["BASEMAP_URL"],
        basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"],
        locate_url=url_for("locate.locate") if principal.can("locate") else None,
        user={"name": principal.username, "role": role_label(principal.role),
              "logout_url": url_for("auth.logout"), "csrf_token": generate_csrf(),
              "links": _nav_links(principal)},
        leaders=(_leaders(principal, any_tiled) if principal.can("incidents:read")
                 else None),
        tiles=tiled,
    )
    html = add_nonce(assets.localise(m).get_root().render())
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}


# The choropleth's measures: key in the rankings API's items, label, how to print
# it, and which end is worse (the legend's dark end, the list's top).
_MEASURES = (
    ("resolution_rate", "share", "low"), ("timeliness", "share", "low"),
    ("received", "count", "high"), ("per_100_households", "count", "high"),
    ("overdue", "count", "high"), ("avg_close_days", "days", "high"),
    ("received_change", "change", "high"), ("yoy_change", "change", "high"),
    ("coverage", "share", "low"), ("visit_rate", "share", "low"),
    ("score", "count", "low"),
)


def _embed_max():
    """Layers with more features than this go to the map as vector tiles
    (``GRIDGOV_MAP_EMBED_MAX``; default ``layers.tiles.EMBED_MAX``)."""
    return int(current_app.config.get("MAP_EMBED_MAX", tiles.EMBED_MAX))


def _leaders(principal, tiled):
    """The config of the leaders' layers (``static/overview.js``)."""
    root = principal.grid_code
    if root:
        with connection() as conn:
            top = grids.get_grid(conn, principal, root)["properties"]
        start = {"code": top["code"], "name": top["name"], "level": top["level"]}
    else:
        start = {"code": "", "name": t("ov_everywhere"), "level": 0}
    # the month the page opens on, the latest it offers and that one's label
    offered = months(clock())
    return {
        "api": request.script_root + api.PREFIX,
        "root": start, "level": min(start["level"] + 1, 4),
        "measure": "resolution_rate",
        "month": request.args.get("month", "") or offered["default"],
        "months": offered,
        "measures": [{"key": k, "zh": t(f"ov_m_{k}"), "en": t(f"ov_m_{k}", "en"),
                      "kind": kind, "worse": worse} for k, kind, worse in _MEASURES],
        "levels": {lv: list(pair) for lv, pair in vocab.GRID_LEVELS.items()},
        "hotLabels": {code: zh for code, zh, _en in HOT_CLASSES.values()},
        "can": {"incidents": True},
        # a choropleth of more grids than this is drawn on the grid tiles
        "embedMax": _embed_max(),
        "tiles": request.script_root + "/tiles/grids/{z}/{x}/{y}.mvt",
        "tileZoom": {lv: tiles.first_zoom(lv) for lv in vocab.GRID_LEVELS},
        "strings": page_strings("ov_", "month_"),
        # VectorGrid for a choropleth drawn on tiles (web/maps.py's tiled layers
        # load it already when the page has some)
        "scripts": ([] if tiled else [assets.local_url(
                        "leaflet-vectorgrid", "Leaflet.VectorGrid.bundled.min.js")])
                   + [url_for("static", filename="overview.js")],
    }


def _nav_links(principal):
    links = []
    if principal.can("locate"):
        links.append((t("nav_dispatch"), url_for("dispatch.dispatch")))
    if principal.can("tracks:read"):
        links.append((t("tracks"), url_for("tracks_page.tracks")))
    if principal.can("incidents:read"):
        links.append((t("rank_nav"), url_for("rankings.rankings")))
    if principal.can("grids:edit"):
        links.append((t("nav_plan"), url_for("plan.plan")))
    if principal.can("imports:run"):
        links.append((t("nav_import"), url_for("import_page.import_page")))
    if principal.can("audit:read"):
        links.append((t("nav_audit"), url_for("admin.audit")))
    if principal.can("users:manage"):
        links.append((t("nav_users"), url_for("admin.users_page")))
    return links
