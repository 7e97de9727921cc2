"""Leaflet and its plugins, served by gridgov itself.

folium's pages link Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs,
which fail on isolated government networks. The assets come installed with the
project: as XStatic Python packages (Leaflet, markercluster), or from the npm
registry by ``scripts/setup.sh`` into ``web/vendor/node_modules`` (Leaflet.draw,
Leaflet-Geoman free, pinned in ``web/vendor/package.json``; never committed). This
module serves them under ``/vendor`` and rewrites every folium element's links to
those local URLs. An asset with no local copy is an error at render time, never a
silent CDN request.
"""

import importlib
from pathlib import Path

from flask import Blueprint, abort, send_from_directory, url_for

from api.auth import public

__all__ = ["bp", "localise", "local_url", "local_file"]

bp = Blueprint("assets", __name__)

_NODE_MODULES = Path(__file__).resolve().parent / "vendor" / "node_modules"

# vendor folder -> where its files are: the name of the XStatic module holding them,
# or a directory (an npm package's dist folder)
_PACKAGES = {
    "leaflet": "xstatic.pkg.leaflet",
    "leaflet-markercluster": "xstatic.pkg.leaflet_markercluster",
    # its CSS loads images/spritesheet.* relative to itself: the same folder
    "leaflet-draw": _NODE_MODULES / "leaflet-draw" / "dist",
    # the planner's topological editing: vertex editing with snapping
    "leaflet-geoman": _NODE_MODULES / "@geoman-io" / "leaflet-geoman-free" / "dist",
    # vector tiles (/tiles/...mvt) for layers too large to embed in the page
    "leaflet-vectorgrid": _NODE_MODULES / "leaflet.vectorgrid" / "dist",
    # basemaps (web/basemap.py): WGS-84 / GCJ-02 / BD-09 and Baidu's mercator for
    # the shifted CRSs; an offline PMTiles archive of vector tiles drawn in the page
    "gcoord": _NODE_MODULES / "gcoord" / "dist",
    "protomaps-leaflet": _NODE_MODULES / "protomaps-leaflet" / "dist",
    # /api/v1/docs: the API's OpenAPI document as a page (Swagger UI)
    "swagger-ui": _NODE_MODULES / "swagger-ui-dist",
}

# folium's asset name -> (vendor folder, file)
_LOCAL = {
    "leaflet": ("leaflet", "leaflet.js"),
    "leaflet_css": ("leaflet", "leaflet.css"),
    "markerclusterjs": ("leaflet-markercluster", "leaflet.markercluster.js"),
    "markerclustercss": ("leaflet-markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": ("leaflet-markercluster", "MarkerCluster.Default.css"),
    "leaflet_draw_js": ("leaflet-draw", "leaflet.draw.js"),
    "leaflet_draw_css": ("leaflet-draw", "leaflet.draw.css"),
    "leaflet_geoman_js": ("leaflet-geoman", "leaflet-geoman.min.js"),
    "leaflet_geoman_css": ("leaflet-geoman", "leaflet-geoman.css"),
    "leaflet_vectorgrid": ("leaflet-vectorgrid", "Leaflet.VectorGrid.bundled.min.js"),
}

# folium's defaults that gridgov's maps do not use (Bootstrap styling and
# AwesomeMarkers icons): dropped rather than shipped.
_UNUSED = {
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
}


def _base_dir(package):
    """The directory holding the files of vendor folder ``package``."""
    source = _PACKAGES[package]
    if isinstance(source, Path):
        return source
    return Path(importlib.import_module(source).BASE_DIR)


@bp.get("/vendor/<package>/<path:filename>")
@public
def vendor(package, filename):
    if package not in _PACKAGES:
        abort(404)
    return send_from_directory(_base_dir(package), filename, max_age=86400)


def local_url(package, filename):
    """The local URL of one vendored file; LookupError when it is not installed
    (an npm package before ``scripts/setup.sh`` ran), never a broken page."""
    if not (_base_dir(package) / filename).is_file():
        raise LookupError(
            f"{package}/{filename} is not installed: run scripts/setup.sh "
            "(npm packages go to web/vendor/node_modules)")
    return url_for("assets.vendor", package=package, filename=filename)


def local_file(name):
    """The local copy (a Path) of folium's asset ``name``, for a file that
    carries its assets inlined (``web/maps.py``); None for one of the defaults
    gridgov's maps do not use; LookupError when it has no local copy."""
    if name in _UNUSED:
        return None
    if name not in _LOCAL:
        raise LookupError(f"folium asset {name!r} has no local copy: add its package "
                          "to pyproject.toml and web/assets.py")
    package, filename = _LOCAL[name]
    path = _base_dir(package) / filename
    if not path.is_file():
        raise LookupError(f"{package}/{filename} is not installed: run "
                          "scripts/setup.sh")
    return path


def _local_links(links):
    out = []
    for name, url in links:
        if name in _UNUSED:
            continue
        if name not in _LOCAL:
            raise LookupError(
                f"folium asset {name!r} ({url}) has no local copy: add its package "
                "to pyproject.toml and web/assets.py"
            )
        out.append((name, local_url(*_LOCAL[name])))
    return out


def localise(element):
    """Point ``element`` and all its descendants at gridgov's own asset URLs."""
    if hasattr(element, "default_js"):
        element.default_js = _local_links(element.default_js)
    if hasattr(element, "default_css"):
        element.default_css = _local_links(element.default_css)
    for child in element._children.values():
        localise(child)
    return element
