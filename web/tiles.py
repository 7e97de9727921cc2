"""Vector tiles for the map pages and desktop GIS: ``/tiles/<layer>/<z>/<x>/<y>.mvt``
(an XYZ template QGIS's vector-tile source reads, with HTTP Basic: user name and
API token, ``api.auth``), and ``/tiles/<layer>.json``, the layer's TileJSON 3.0
for MapLibre and newer clients.

Each layer is its own route, so that each declares its own permission (``requires``
checks one permission per view): grids and cameras ``map:view``, households
``households:read``, incidents ``incidents:read``; an unknown layer matches no route
(404). Tiles are cached in this process (``layers.tiles.TileCache``, byte budget
``GRIDGOV_TILE_CACHE_BYTES``, default 64 MB), per jurisdiction and data generation.
"""


from flask import Blueprint, Response, current_app, jsonify, request

from api.auth import current, requires
from api.db import read_connection
from api.params import date_arg
from geo.vocab import bilingual
from layers import ogc, tiles

__all__ = ["bp", "PERMISSIONS", "MIMETYPE", "FIELDS"]

MIMETYPE = "application/vnd.mapbox-vector-tile"
PERMISSIONS = {
    "grids": "map:view",
    "cameras": "map:view",
    "households": "households:read",
    "incidents": "incidents:read",
}
# What each layer's features carry (layers/tiles.py's queries); a point layer
# below its point zoom carries squares with ``count`` instead.
FIELDS = {
    "grids": {"code": "网格编码（grid code）", "name": "名称（name）",
              "level": "层级 1–4（level）"},
    "cameras": {"code": "编号（code）", "kind": "类型（kind）",
                "status": "状态（status）",
                "bearing": "朝向，度（bearing, degrees）",
                "fov_deg": "视场角，度（field of view, degrees）",
                "range_m": "可视距离，米（range, metres）"},
    "households": {"id": "住户编号（household id）"},
    "incidents": {"code": "事件编号（code）", "category": "类别（category）",
                  "status": "状态（status; the open incidents, or ?from=&to=）"},
}
_COUNT = {"count": "该格内的数量（features in the square, below the point zoom）"}
_TITLES = {"grids": ("网格", "grids"), "cameras": ("摄像头", "cameras"),
           "households": ("住户", "households"), "incidents": ("事件", "incidents")}
_DEFAULT_CACHE_BYTES = 64 * 1024 * 1024

bp = Blueprint("tiles", __name__)


@bp.record_once
def _make_cache(state):
    size = state.app.config.get("TILE_CACHE_BYTES", _DEFAULT_CACHE_BYTES)
    state.app.extensions["gridgov.tiles"] = tiles.TileCache(size)


def _serve(layer, z, x, y):
    since = until = None
    if layer == "incidents":  # default: the open incidents
        since, until = date_arg("from"), date_arg("to")
    # a map on a GCJ-02 / BD-09 basemap (gg.tileUrl): the geometry shifted onto it
    shift = request.args.get("shift") or None
    with read_connection() as conn:
        tile = tiles.get_tile(conn, current(), layer, z, x, y,
                              cache=current_app.extensions["gridgov.tiles"],
                              since=since, until=until, shift=shift)
    if tile.body:
        response = Response(tile.body, mimetype=MIMETYPE)
    else:
        response = Response(status=204)
    response.set_etag(tile.etag)
    # The tile depends on who asks (jurisdiction): browsers may keep it, shared
    # caches may not; no-cache makes the browser ask again (a 304 when unchanged),
    # so an edited grid shows at once.
    response.headers["Cache-Control"] = "private, no-cache"
    response.vary.update(("Authorization", "Cookie"))
    return response.make_conditional(request)


# signed: a negative z/x/y reaches the view and gets a 400, not a routing 404
_RULE = "/tiles/{}/<int(signed=True):z>/<int(signed=True):x>/<int(signed=True):y>.mvt"


def _view_of(layer):
    def view(z, x, y):
        return _serve(layer, z, x, y)

    view.__name__ = view.__qualname__ = layer
    return requires(PERMISSIONS[layer])(view)


def _tilejson(layer):
    """The TileJSON 3.0 document of ``layer``: its XYZ template, zooms, the
    bounds of the user's jurisdiction and the fields of its features."""
    with read_connection() as conn:
        bounds = ogc.extent(conn, current(), ogc.COLLECTIONS["grids-4"])
    bounds = bounds or [-180.0, -85.0511, 180.0, 85.0511]
    fields = FIELDS[layer] | (_COUNT if layer in tiles.POINT_ZOOM else {})
    center = [(bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2,
              tiles.first_zoom(4)]
    template = request.url_root + f"tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt"
    return jsonify({
        "tilejson": "3.0.0", "name": f"gridgov {layer}",
        "description": bilingual(*_TITLES[layer]), "scheme": "xyz",
        "tiles": [template], "minzoom": 0, "maxzoom": tiles.MAX_ZOOM,
        "bounds": bounds, "center": center,
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": 0,
                           "maxzoom": tiles.MAX_ZOOM}],
    })


def _tilejson_of(layer):
    def view():
        return _tilejson(layer)

    view.__name__ = view.__qualname__ = f"{layer}_tilejson"
    return requires(PERMISSIONS[layer])(view)


for _layer in PERMISSIONS:
    bp.add_url_rule(_RULE.format(_layer), endpoint=_layer, view_func=_view_of(_layer))
    bp.add_url_rule(f"/tiles/{_layer}.json", endpoint=f"{_layer}_tilejson",
                    view_func=_tilejson_of(_layer))
