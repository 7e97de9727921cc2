"""The leaders' page /rankings: the monthly ranking of towns, villages or grids
(bottom three flagged), a small choropleth of the score, XLSX, PDF and PNG export
and print.

The page is rendered on the server from ``layers.stats.rankings`` (the same answer
as ``GET /api/v1/rankings``); the download links are that API route with
``format=xlsx``, ``pdf`` or ``png`` (the printable A4 page drawn on the server by
``layers/ranking_print.py``); the browser's print uses the page itself with
``static/rankings.css``'s print rules (the table and the map, without the header
and the form). The map is Leaflet served by gridgov under /vendor, drawn by the
template's one script.
"""

from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for
from shapely.geometry import shape

import api
from api.auth import current, requires
from api.db import connection
from api.params import int_arg
from api.stats import clock, period_arg
from geo import vocab
from layers import grids, ranking_print, stats
from web import assets, basemap
from web.i18n import level_name, ordinal, t

__all__ = ["bp", "SCORE_CLASSES", "months"]

bp = Blueprint("rankings", __name__)

# Score classes of the map and the table: (lowest score of the class, colour,
# legend), the same as the printed page's (layers/ranking_print.py): fixed breaks,
# so one colour means the same score from one month to the next, on a sequential
# ramp whose lightness grows with the score, so the order survives grey print.
SCORE_CLASSES = ranking_print.SCORE_CLASSES
NO_SCORE = ranking_print.NO_SCORE
score_colour = ranking_print.score_colour


def months(now):
    """The months the pages offer at ``now``: the one they open on (the last
    complete month, ``layers.stats.default_month``), the one still running (the
    latest a picker offers) and its label "本月截至 X 日 / this month to the Xth"."""
    day = stats.today(now).day
    return {"default": stats.default_month(now).month,
            "current": stats.current_month(now).month,
            "to_date": [t("month_to_date").format(day=day),
                        t("month_to_date", "en").format(nth=ordinal(day))]}


@bp.get("/rankings")
@requires("incidents:read")
def rankings():
    principal = current()
    root = request.args.get("grid", "").strip() or None
    now = clock()
    with connection() as conn:
        found = stats.rankings(conn, principal, level=int_arg("level", 1, 4),
                               period=period_arg(now), root=root, now=now)
        features = _features(conn, principal, found)
        workers = stats.worker_visits(conn, principal, period=period_arg(now),
                                      root=root, now=now)["workers"]
    top = found["root"]["level"] if found["root"] else 1
    query = {k: v for k, v in (("grid", root), ("level", found["level"]),
                               ("month", found["period"]["month"]))
             if v is not None}
    if found["period"]["month"] is None:
        query |= {"from": found["period"]["from"], "to": found["period"]["to"]}
    config = {
        "features": features,
        "scores": {g["code"]: g["score"] for g in found["items"]},
        "classes": [[low, colour] for low, colour, _ in SCORE_CLASSES],
        "no_score": NO_SCORE,
        "basemap": basemap.page(),
    }
    vendor = {"leaflet_css": assets.local_url("leaflet", "leaflet.css"),
              "leaflet_js": assets.local_url("leaflet", "leaflet.js")}
    return render_template(
        "rankings.html", found=found, config=config, vendor=vendor,
        levels=[(lv, level_name(lv)) for lv in range(top, 5)],
        classes=SCORE_CLASSES, no_score=NO_SCORE, colour=score_colour,
        level_label=level_name(found["level"]), months=months(now),
        workers=workers, staff_roles=vocab.STAFF_ROLES,
        **{f"{fmt}_url": request.script_root + api.PREFIX + "/rankings?"
           + urlencode(query | {"format": fmt}) for fmt in ("xlsx", "pdf", "png")},
        page_url=url_for("rankings.rankings"),
        grids_api=request.script_root + api.PREFIX + "/grids",  # notices
        too_many=features is None)


def _features(conn, principal, found):
    """The ranked grids' outlines as a FeatureCollection (code and name only), or
    None when they are more than a map may show (``grids.MAX_FEATURES``)."""
    if len(found["items"]) > grids.MAX_FEATURES:
        return None
    root = found["root"]
    if root is not None and found["level"] == root["level"] + 1:
        listed = grids.list_grids(conn, principal, parent=root["code"])
    else:
        # the root's bounding box bounds the listing (MAX_FEATURES in code order
        # over the whole jurisdiction could miss the root's grids)
        bbox = None
        if root is not None:
            outline = shape(grids.get_grid(conn, principal, root["code"])["geometry"])
            bbox = outline.bounds
        listed = grids.list_grids(conn, principal, level=found["level"], bbox=bbox)
    wanted = {g["code"] for g in found["items"]}
    kept = [{"type": "Feature", "geometry": f["geometry"],
             "properties": {"code": f["properties"]["code"],
                            "name": f["properties"]["name"]}}
            for f in listed["features"] if f["properties"]["code"] in wanted]
    return {"type": "FeatureCollection", "features": kept}
