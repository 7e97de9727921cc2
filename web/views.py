"""The map pages: each view gathers data from layers/ and renders one map."""

from flask import Blueprint, current_app, url_for

from api.db import connection
from layers import cameras, grids, households
from web import assets, maps

__all__ = ["bp"]

bp = Blueprint("views", __name__)


@bp.get("/")
def overview():
    with connection() as conn:
        by_level = {lv: grids.list_grids(conn, level=lv) for lv in (1, 2, 3, 4)}
        positions = households.positions(conn)
        cams = cameras.list_cameras(conn)
    m = maps.overview_map(
        by_level, positions, cams,
        basemap_url=current_app.config["BASEMAP_URL"],
        basemap_attribution=current_app.config["BASEMAP_ATTRIBUTION"],
        locate_url=url_for("locate.locate"),
    )
    html = assets.localise(m).get_root().render()
    return html, 200, {"Content-Type": "text/html; charset=utf-8"}
