"""The patrol tracks page /tracks (巡查轨迹): a grid worker's tracks of some days on
the map, day by day, with the worker's micro-grids and the week's coverage.

The page is ``templates/tracks.html`` with ``static/tracks.js``; the script asks
the API (``/api/v1/tracks/workers`` for the picker, ``/api/v1/tracks`` for the
lines and the days, ``/api/v1/tracks/summary`` for each week's 巡查覆盖率) with the
session cookie, so it shows exactly what this user may see. This module renders
the page with its strings.
"""

from flask import Blueprint, render_template, request

import api
from api.auth import requires
from geo import vocab
from layers.tracks import MAX_DAYS
from web import assets, basemap
from web.i18n import page_strings

__all__ = ["bp"]

bp = Blueprint("tracks_page", __name__)


@bp.get("/tracks")
@requires("tracks:read")
def tracks():
    config = {
        "urls": {"api": request.script_root + api.PREFIX},
        "basemap": basemap.page(),
        "max_days": MAX_DAYS,
        "roles": {code: list(value[:2]) for code, value in vocab.STAFF_ROLES.items()},
        "strings": page_strings("tracks_"),
        # a link may open a worker and days: /tracks?worker=12&from=…&to=…
        "initial": {k: request.args.get(k, "") for k in ("worker", "from", "to")},
    }
    vendor = {"leaflet_css": assets.local_url("leaflet", "leaflet.css"),
              "leaflet_js": assets.local_url("leaflet", "leaflet.js")}
    return render_template("tracks.html", config=config, vendor=vendor)
