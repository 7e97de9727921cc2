"""The overview map /: the view gathers the data from layers/ and hands it to
``templates/overview.html`` in the page's config, which ``static/overview_map.js``
(the grids, households, cameras, click to locate) and ``static/overview.js`` (the
leaders' layers) draw with Leaflet. The standalone HTML file of a view is
``web/maps.py``'s (folium), served by ``api/maps.py``."""

from flask import Blueprint, current_app, render_template, request, url_for

import api
import api.maps
from api.auth import current, requires
from api.db import connection
from api.stats import clock
from geo import choropleth, vocab
from geo.hotspots import CLASSES as HOT_CLASSES
from layers import cameras, grids, households, tiles
from web import assets, basemap, maps
from web.i18n import STRINGS, both, level_name, page_strings, t
from web.rankings import months

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
    tiled = _tiled(small, see_households, points_on=not principal.can(
        "incidents:read"))
    config = {
        "basemap": basemap.page(),
        "levels": [{"level": lv, "name": level_name(lv), "data": by_level.get(lv),
                    "style": maps.path_style(lv)} for lv in vocab.GRID_LEVELS],
        "tipRows": [["name", t("name")], ["code", t("code")],
                    ["households", t("household_count")]],
        "households": positions,
        "cameras": None if cams is None else maps.camera_features(cams),
        "cameraColours": maps.CAMERA_COLOUR,
        "names": {"households": both("households"), "cameras": both("cameras")},
        "tiles": tiled,
        "locate": url_for("locate.locate") if principal.can("locate") else None,
        "roles": {k: v[0] for k, v in vocab.STAFF_ROLES.items()},
        "strings": {k: STRINGS[k] for k in _MAP_STRINGS},
        "exportUrl": request.script_root + api.PREFIX + "/maps/overview.html",
        "leaders": (_leaders(principal) if principal.can("incidents:read")
                    else None),
    }
    vendor = {"leaflet_css": assets.local_url("leaflet", "leaflet.css"),
              "leaflet_js": assets.local_url("leaflet", "leaflet.js"),
              "css": [], "js": []}
    if positions is not None:
        vendor["css"] += [assets.local_url("leaflet-markercluster", name) for name in
                          ("MarkerCluster.css", "MarkerCluster.Default.css")]
        vendor["js"].append(assets.local_url("leaflet-markercluster",
                                             "leaflet.markercluster.js"))
    if tiled or config["leaders"]:  # the leaders' choropleth may go to tiles
        vendor["js"].append(assets.local_url("leaflet-vectorgrid",
                                             "Leaflet.VectorGrid.bundled.min.js"))
    return render_template("overview.html", config=config, vendor=vendor)


# Strings of the general table the map's script uses (the locate popup, the
# export button).
_MAP_STRINGS = ("grid_chain", "staff", "cameras_seeing", "outside", "loading",
                "failed", "none", "metres", "ov_export")


def _tiled(small, see_households, points_on):
    """The config of the layers drawn from vector tiles, or None: the grid levels
    too large to embed, households and cameras likewise (under the leaders'
    choropleth a city's points would bury it: there they start switched off)."""
    levels = [lv for lv, fits in small["grids"].items() if not fits]
    layers = []
    if levels:
        layers.append({"layer": "grids", "on": True,
                       "name": " / ".join(level_name(lv) for lv in levels)})
    if see_households and not small["households"]:
        layers.append({"layer": "households", "name": both("households"),
                       "on": points_on})
    if not small["cameras"]:
        layers.append({"layer": "cameras", "name": both("cameras"), "on": points_on})
    if not layers:
        return None
    return {"url": request.script_root + "/tiles/{layer}/{z}/{x}/{y}.mvt",
            "layers": layers,
            "levels": {lv: maps.path_style(lv) for lv in levels}}


def _embed_max():
    """Layers with more features than this go to the map as vector tiles
    (``GRIDGOV_MAP_EMBED_MAX``; default ``layers.tiles.EMBED_MAX``)."""
    return int(current_app.config.get("MAP_EMBED_MAX", tiles.EMBED_MAX))


def _leaders(principal):
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
                      "kind": kind, "worse": worse}
                     for k, kind, worse in api.maps.MEASURES],
        "levels": {lv: list(pair) for lv, pair in vocab.GRID_LEVELS.items()},
        "hotLabels": {code: zh for code, zh, _en in HOT_CLASSES.values()},
        "ramp": choropleth.RAMP, "noData": choropleth.NO_DATA,
        "styles": {"hot": maps.HOT, "hotOrder": maps.HOT_ORDER,
                   "views": maps.VIEW_STYLE, "blind": maps.BLIND_STYLE},
        # the early warnings of the panel (static/overview_warnings.js)
        "warnings": {"canHandle": principal.can("warnings:handle"),
                     "style": maps.WARNED_STYLE,
                     "dispatch": url_for("dispatch.dispatch")},
        "can": {"incidents": True},
        # a choropleth of more grids than this is drawn on the grid tiles
        "embedMax": _embed_max(),
        "tiles": request.script_root + "/tiles/grids/{z}/{x}/{y}.mvt",
        "tileZoom": {lv: tiles.first_zoom(lv) for lv in vocab.GRID_LEVELS},
        "strings": page_strings("ov_", "month_"),
    }
