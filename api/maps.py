"""/api/v1/maps/overview.html: a view of the overview as one standalone HTML file.

The view the overview shows (its layers, the leaders' choropleth with its
measure, level, grid and month, the extent) for sending to a leader: a file that
opens offline with a double click. The data comes from the same reads as the
overview's (``layers.grids``, ``layers.households`` positions only,
``layers.cameras``, ``layers.stats.rankings``), scoped to the user's
jurisdiction; a file carrying households writes an audit row, as any read of
them that leaves gridgov. The file is drawn by folium in ``web/maps.py``, which
the application factory hands in as ``app.extensions["gridgov.map_export"]``
(api/ imports nothing of web/).
"""

import datetime as dt
import urllib.parse

from flask import Blueprint, Response, current_app, request

from api.auth import current, requires
from api.db import connection, read_connection
from api.density import ZOOM
from api.exports import TooLarge
from api.openapi import file
from api.params import BBOX, GRID, LEVEL, ChoiceParam, Param, accepts
from api.stats import PERIOD, clock
from geo import choropleth, localtime, vocab
from geo.catalogue import say, text
from layers import (
    audit,
    cameras,
    coverage,
    density,
    grids,
    households,
    ranking_print,
    stats,
)
from layers.errors import Forbidden, Invalid

__all__ = ["bp", "MEASURES", "LAYERS"]

bp = Blueprint("maps", __name__)

# The choropleth's measures (geo/choropleth.py): the overview's too.
MEASURES = choropleth.MEASURES
# layer -> the permission it needs besides map:view (the overview's overlays:
# the incident heatmap and Gi* hot spots read incidents; the cameras' views and
# blind spots are map:view's, as on the page)
LAYERS = {"level1": None, "level2": None, "level3": None, "level4": None,
          "households": "households:read", "cameras": None,
          "choropleth": "incidents:read", "heatmap": "incidents:read",
          "hotspots": "incidents:read", "views": None, "blind": None}
_MAX = 20_000  # features of one layer in one file (MAP_EXPORT_MAX)



def _layers_arg(name):
    """The layers asked for, each one of LAYERS; None when absent (the view's
    default)."""
    raw = request.args.get(name)
    if raw is None or not raw.strip():
        return None
    asked = [item.strip() for item in raw.split(",") if item.strip()]
    for item in asked:
        if item not in LAYERS:
            raise Invalid(say("export_parameter_name_must_be_one", name=name,
                              value="、".join(LAYERS), value2=repr(item),
                              value3=", ".join(LAYERS)), field=name)
    return asked


def _refuse_measure(raw):
    keys = [k for k, _, _ in MEASURES]
    return say("export_parameter_name_must_be_one", name="measure",
               value="、".join(keys), value2=repr(raw), value3=", ".join(keys))


LAYERS_PARAM = Param(
    "layers", "图层，逗号分隔：" + "、".join(LAYERS)
    + "（默认：四级网格，及有事件权限时的分级着色图）",
    "comma-separated: " + ", ".join(LAYERS) + " (default the four levels, and the "
    "choropleth where the role reads incidents)", parse=_layers_arg,
    schema={"type": "string"}, errors=(403,))
MEASURE = ChoiceParam("measure", "分级着色的指标", "the choropleth's measure",
                      default="resolution_rate",
                      choices=tuple(k for k, _, _ in MEASURES),
                      refuse=_refuse_measure)
_PARAMS = (
    LAYERS_PARAM, MEASURE,
    LEVEL.but(zh="分级着色的网格层级（默认：根的下一级）",
              en="the choropleth's level (default: the root's children)"),
    GRID.but(zh="分级着色的根网格编码（默认：您辖区的网格）",
             en="the choropleth's root grid (default: your jurisdiction's)"),
    *PERIOD,
    BBOX.but(zh="范围：最小经度,最小纬度,最大经度,最大纬度（默认：所示内容的范围）",
             en="the extent: min_lon,min_lat,max_lon,max_lat (default: what the "
                "file shows)"),
    ZOOM.but(zh="地图缩放级别：热力图的格子如总览所画",
             en="the map's zoom: the heatmap's cells as the overview draws them"),
)


def _layers(principal, asked):
    """The layers of the file: those asked for (each one the role may read), or
    by default the four levels and, where the role reads incidents, the
    choropleth."""
    if asked is None:
        asked = ["level1", "level2", "level3", "level4"]
        if principal.can("incidents:read"):
            asked.append("choropleth")
        return asked
    for name in asked:
        needs = LAYERS[name]
        if needs and not principal.can(needs):
            raise Forbidden(say("map_export_forbidden_layer", role=principal.role,
                                layer=name), field="layers")
    return asked


def _measure(key):
    for k, kind, worse in MEASURES:
        if k == key:
            return {"key": k, "zh": text(f"ov_m_{k}"), "en": text(f"ov_m_{k}", "en"),
                    "kind": kind, "worse": worse}
    raise AssertionError(key)  # MEASURE admits the keys of MEASURES only


def _too_large(name, cap):
    return TooLarge(say("map_export_layer_too_large", layer=name, cap=cap),
                    field="layers")


@bp.get("/maps/overview.html")
@requires("map:view")
@accepts(*_PARAMS, errors=(404, 413), responses={200: file(
    "text/html", "the map as one HTML file that opens offline (an attachment)")})
def overview_html(layers, measure, level, grid, month, from_, to, bbox, zoom):
    """A view of the overview as one HTML file that opens offline"""
    principal = current()
    asked = _layers(principal, layers)
    choropleth = "choropleth" in asked
    measure, root, now, period = _measure(measure), grid, clock(), month
    cap = int(current_app.config.get("MAP_EXPORT_MAX", _MAX))
    view = {"levels": {}, "bbox": bbox, "households": None, "cameras": None,
            "choropleth": None}
    # the choropleth's ranking computes and stores camera coverage when missing
    with (connection() if choropleth else read_connection()) as conn:
        for lv in vocab.GRID_LEVELS:
            if f"level{lv}" in asked:
                found = grids.list_grids(conn, principal, level=lv)
                if found["numberMatched"] > found["numberReturned"]:
                    raise _too_large(f"level{lv}", grids.MAX_FEATURES)
                view["levels"][lv] = found
        if "households" in asked:
            view["households"] = households.positions(conn, principal, limit=cap + 1)
            if len(view["households"]) > cap:
                raise _too_large("households", cap)
            audit.record_read(conn, principal, "households", {
                "via": "map_export", "layers": ",".join(asked)},
                len(view["households"]))
        if "cameras" in asked:
            view["cameras"] = cameras.list_cameras(conn, principal, limit=cap + 1)
            if len(view["cameras"]) > cap:
                raise _too_large("cameras", cap)
        if choropleth:
            found = stats.rankings(conn, principal, level=level, period=period,
                                   root=root, now=now)
            if len(found["items"]) > cap:
                raise _too_large("choropleth", cap)
            shapes = ranking_print.outlines(conn, principal, found)
            view["choropleth"] = _choropleth(found, shapes, measure)
        view |= _overlays(conn, principal, asked, root, period or
                          stats.default_month(now), bbox, zoom)
    view["title"] = _title(principal, view)
    view["code"] = (view["choropleth"]["code"] if view["choropleth"]
                    else principal.grid_code)
    view["exported"] = " ".join(text("ov_export_at", lang).format(
        time=localtime.shown(now, lang=lang)) for lang in ("zh", "en"))
    if bbox is None:
        view["bbox"] = _extent(view)
    html = current_app.extensions["gridgov.map_export"](view)
    return Response(html, mimetype="text/html", headers={
        "Content-Disposition": _attachment(_file_name(view), _ascii_name(view)),
        "Cache-Control": "no-store"})


def _choropleth(found, shapes, measure):
    import shapely

    root = found["root"]
    level_zh = vocab.GRID_LEVELS[found["level"]][0]
    month = found["period"]["month"] or (
        f"{found['period']['from']} – {found['period']['to']}")
    return {
        "measure": measure, "items": found["items"], "month": month,
        "root": root["name"] if root else text("ov_everywhere"),
        "code": root["code"] if root else None,
        "shapes": {"type": "FeatureCollection", "features": [
            {"type": "Feature", "geometry": shapely.geometry.mapping(geom),
             "properties": {"code": g["code"], "name": g["name"]}}
            for g in found["items"] if (geom := shapes.get(g["code"])) is not None]},
        "subtitle": " · ".join((level_zh, measure["zh"], month)),
    }


def _overlays(conn, principal, asked, root, period, bbox, zoom):
    """The overview's other layers as it draws them (static/overview.js): the
    incident heatmap (kernel density of the view's extent and zoom), the Gi* hot
    spots of the micro-grids under the root, the cameras' views and the blind
    spots under it; each None unless asked. Too few micro-grids for Gi* leave
    the hot spots empty, as on the page."""
    out = {"heatmap": None, "hotspots": None, "views": None, "blind": None}
    days = period.as_dict()
    first, last = (dt.date.fromisoformat(days[k]) for k in ("from", "to"))
    if "heatmap" in asked:
        out["heatmap"] = density.heatmap(conn, principal, first, last, bbox=bbox,
                                         zoom=zoom, geojson=True, method="kde")
    if "hotspots" in asked:
        try:
            out["hotspots"] = density.hotspots(conn, principal, 4, first, last,
                                               grid=root)
        except Invalid:
            out["hotspots"] = {"type": "FeatureCollection", "features": []}
    if "views" in asked:
        out["views"] = coverage.views(conn, principal, root)
    if "blind" in asked:
        out["blind"] = coverage.blind_spots(conn, principal, root)
    return out


def _title(principal, view):
    """"<the area> · 网格地图": the choropleth's root, else the user's own grid."""
    if view["choropleth"]:
        area = view["choropleth"]["root"]
    else:
        own = [f for fc in view["levels"].values() for f in fc["features"]
               if f["properties"]["code"] == principal.grid_code]
        area = own[0]["properties"]["name"] if own else text("ov_everywhere")
    return f"{area} · {text('ov_export_file')}"


def _extent(view):
    """(w, s, e, n) of what the file shows, or None when it shows nothing."""
    xs, ys = [], []

    def walk(coords):
        if coords and isinstance(coords[0], (int, float)):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for c in coords:
                walk(c)

    collections = ([view["choropleth"]["shapes"]] if view["choropleth"] else [])
    if not collections:  # the user's own area: the deepest level with one grid
        present = [fc for _, fc in sorted(view["levels"].items()) if fc["features"]]
        single = [fc for fc in present if len(fc["features"]) == 1]
        collections = single[-1:] or present[:1]
    for fc in collections:
        for f in fc["features"]:
            walk(f["geometry"]["coordinates"])
    return (min(xs), min(ys), max(xs), max(ys)) if xs else None


def _file_name(view):
    parts = [view["title"].replace(" · ", "-")]
    if view["choropleth"]:
        ch = view["choropleth"]
        parts += [ch["measure"]["zh"], ch["month"].replace(" – ", "_")]
    return "-".join(parts) + ".html"


def _ascii_name(view):
    """The name for a client that reads no ``filename*``: codes and the month."""
    ch = view["choropleth"]
    parts = ["gridgov-map", view["code"] or "all"]
    if ch:
        parts += [ch["measure"]["key"], ch["month"].replace(" – ", "_")]
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_"
                   for c in "-".join(parts)) + ".html"


def _attachment(name, fallback):
    """Content-Disposition for a file name in Chinese (RFC 6266, RFC 5987): the
    ASCII ``fallback``, and the UTF-8 name percent-encoded in ``filename*``."""
    return (f'attachment; filename="{fallback}"; '
            f"filename*=UTF-8''{urllib.parse.quote(name, safe='')}")
