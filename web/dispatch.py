"""The dispatchers' page /dispatch (指挥调度): locate a spot, see who and what covers
it, register an incident there, and follow each level's queue.

The page is ``templates/dispatch.html`` with ``static/dispatch.js``; everything it
shows comes from the API (locate with nearby=1, places, incidents, their
queues and transitions) with the session cookie and the CSRF token, so the page
sees exactly what the API lets this user see. This module renders the page with
its vocabulary and strings.
"""

from flask import Blueprint, render_template, request, url_for

import api
from api.auth import current, requires
from api.db import connection
from geo import vocab
from layers import grids
from layers.errors import NotFound
from web import assets, basemap
from web.i18n import page_strings, t

__all__ = ["bp"]

bp = Blueprint("dispatch", __name__)

@bp.get("/dispatch")
@requires("locate")
def dispatch():
    principal = current()
    root = principal.grid_code
    with connection() as conn:
        if root:
            try:
                top = grids.get_grid(conn, principal, root)["properties"]
            except NotFound:
                top = {"code": root, "name": root}
        else:
            top = {"code": "", "name": t("dispatch_scope_mine")}
    config = {
        "urls": {"api": request.script_root + api.PREFIX},
        "root": {"code": top["code"], "name": top["name"]},
        "can": {p: principal.can(p) for p in (
            "incidents:read", "incidents:edit", "households:read")},
        "basemap": basemap.page(),
        "vocab": {
            "levels": _pairs(vocab.GRID_LEVELS),
            "roles": _pairs(vocab.STAFF_ROLES),
            "camera_statuses": _pairs(vocab.CAMERA_STATUSES),
            "categories": {code: {"label": [zh, en], "subtypes": _pairs(subtypes)}
                           for code, (zh, en, subtypes)
                           in vocab.INCIDENT_CATEGORIES.items()},
            "sources": _pairs(vocab.INCIDENT_SOURCES),
            "statuses": _pairs(vocab.INCIDENT_STATUSES),
            "outcomes": _pairs(vocab.INCIDENT_OUTCOMES),
            "satisfaction": _pairs(vocab.INCIDENT_SATISFACTION),
            "outcomes_by_category": {code: vocab.outcomes_for(code)
                                     for code in vocab.INCIDENT_CATEGORIES},
            "actions": _pairs(vocab.INCIDENT_ACTIONS),
            "camera_kinds": _pairs(vocab.CAMERA_KINDS),
            "tags": _pairs(vocab.HOUSEHOLD_TAGS),
        },
        "crs": [["wgs84", "WGS-84（GPS）"], ["gcj02", "GCJ-02（高德 / 腾讯）"],
                ["bd09", "BD-09（百度）"], ["cgcs2000", "CGCS2000"],
                *[[f"EPSG:{e}", f"CGCS2000 高斯-克吕格 3° {lon}°E（EPSG:{e}）"]
                  for e, lon in _GK_ZONES]],
        "strings": page_strings("dispatch_"),
    }
    vendor = {"leaflet_css": assets.local_url("leaflet", "leaflet.css"),
              "leaflet_js": assets.local_url("leaflet", "leaflet.js")}
    return render_template("dispatch.html", config=config, vendor=vendor,
                           nav_map=url_for("views.overview"))


# The CGCS2000 3-degree zones without the zone prefix on the easting (EPSG:4534–
# 4554, central meridians 75°E … 135°E): what Chinese survey data mostly uses.
_GK_ZONES = [(4534 + i, 75 + 3 * i) for i in range(21)]


def _pairs(table):
    """``{code: [中文, English]}`` of a vocabulary table (extra items dropped)."""
    return {code: list(value[:2]) for code, value in table.items()}
