"""Vector tiles for the map pages: ``/tiles/<layer>/<z>/<x>/<y>.mvt``.

Each layer is its own route, so that each declares its own permission (``requires``
checks one permission per view): grids and cameras ``map:view``, households
``households:read``, incidents ``incidents:read``; an unknown layer matches no route
(404). Tiles are cached in this process (``layers.tiles.TileCache``, byte budget
``GRIDGOV_TILE_CACHE_BYTES``, default 64 MB), per jurisdiction and data generation.
"""


from flask import Blueprint, Response, current_app, request

from api.auth import current, requires
from api.db import connection
from api.params import date_arg
from layers import tiles

__all__ = ["bp", "PERMISSIONS", "MIMETYPE"]

MIMETYPE = "application/vnd.mapbox-vector-tile"
PERMISSIONS = {
    "grids": "map:view",
    "cameras": "map:view",
    "households": "households:read",
    "incidents": "incidents:read",
}
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
    with connection() as conn:
        tile = tiles.get_tile(conn, current(), layer, z, x, y,
                              cache=current_app.extensions["gridgov.tiles"],
                              since=since, until=until)
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


for _layer in PERMISSIONS:
    bp.add_url_rule(_RULE.format(_layer), endpoint=_layer, view_func=_view_of(_layer))
