"""The upload page /import: a field worker's (or planner's) file previewed, then
imported into households, cameras, incidents, grid staff, a worker's patrol
tracks (a worker picker shown for them) or grids (planners).

The page is ``templates/import.html`` with its script ``static/import.js``
(Leaflet, served by gridgov under /vendor). The script sends the file to the
import API (``api/imports.py``: ``POST /api/v1/imports`` with ``dry_run=1`` for the
preview, then without it, ``force=1`` after a "same file" refusal) with the session
cookie and the CSRF token, draws the accepted points on the map with their
micro-grids (``GET /api/v1/grids?level=4&bbox=…``) and lists the recent imports
(``GET /api/v1/imports``). This module only renders the page and its choices.
"""

from flask import Blueprint, render_template, request

import api
from api.auth import current, requires
from api.db import connection
from geo import vocab
from layers import imports as imports_layer
from web import assets, basemap
from web.i18n import page_strings

__all__ = ["bp"]

bp = Blueprint("import_page", __name__)

# The CRS choices (geo.crs.normalize_crs names); "epsg" opens a field for a code.
CRS_CHOICES = ("wgs84", "cgcs2000", "gcj02", "bd09", "epsg")
ACCEPT = (".csv,.txt,.xlsx,.gpx,.geojson,.json,.kml,.kmz,.zip,.shp,.gpkg,"
          "text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/import")
@requires("imports:run")
def import_page():
    principal = current()
    layers = [layer for layer, needs in imports_layer.PERMISSIONS.items()
              if all(principal.can(p) for p in needs)]
    config = {
        "urls": {"api": request.script_root + api.PREFIX},
        "basemap": basemap.page(),
        "fields": {layer: list(imports_layer.LAYERS[layer][1]) for layer in layers},
        "strings": page_strings("import_"),
    }
    vendor = {"leaflet_css": assets.local_url("leaflet", "leaflet.css"),
              "leaflet_js": assets.local_url("leaflet", "leaflet.js")}
    staff = None
    if "tracks" in layers:  # the workers a patrol track can be imported for
        with connection() as conn:
            staff = imports_layer.staff_choices(conn, principal)
    roles = {code: f"{zh} {en}" for code, (zh, en) in vocab.STAFF_ROLES.items()}
    return render_template("import.html", layers=layers, crs_choices=CRS_CHOICES,
                           accept=ACCEPT, config=config, vendor=vendor,
                           staff=staff, roles=roles,
                           address_match=imports_layer.ADDRESS_MATCH)
