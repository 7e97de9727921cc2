"""Leaflet and its plugins, served by gridgov itself.

folium's pages link Leaflet, jQuery, Bootstrap and Font Awesome from public CDNs,
which fail on isolated government networks. The assets come installed with the
project as XStatic Python packages; this module serves them under ``/vendor`` and
rewrites every folium element's links to those local URLs. An asset with no local
copy is an error at render time, never a silent CDN request.
"""

import importlib

from flask import Blueprint, abort, send_from_directory, url_for

from api.auth import public

__all__ = ["bp", "localise"]

bp = Blueprint("assets", __name__)

# vendor folder -> XStatic module holding it
_PACKAGES = {
    "leaflet": "xstatic.pkg.leaflet",
    "leaflet-markercluster": "xstatic.pkg.leaflet_markercluster",
}

# folium's asset name -> (vendor folder, file)
_LOCAL = {
    "leaflet": ("leaflet", "leaflet.js"),
    "leaflet_css": ("leaflet", "leaflet.css"),
    "markerclusterjs": ("leaflet-markercluster", "leaflet.markercluster.js"),
    "markerclustercss": ("leaflet-markercluster", "MarkerCluster.css"),
    "markerclusterdefaultcss": ("leaflet-markercluster", "MarkerCluster.Default.css"),
}

# folium's defaults that gridgov's maps do not use (Bootstrap styling and
# AwesomeMarkers icons): dropped rather than shipped.
_UNUSED = {
    "jquery", "bootstrap", "awesome_markers", "bootstrap_css", "glyphicons_css",
    "awesome_markers_font_css", "awesome_markers_css", "awesome_rotate_css",
}


@bp.get("/vendor/<package>/<path:filename>")
@public
def vendor(package, filename):
    module = _PACKAGES.get(package)
    if module is None:
        abort(404)
    base = importlib.import_module(module).BASE_DIR
    return send_from_directory(base, filename, max_age=86400)


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
        package, filename = _LOCAL[name]
        out.append((name, url_for("assets.vendor", package=package, filename=filename)))
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
