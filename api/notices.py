"""网格公示牌 (issue 17): a grid's printable notice, a village's notices in one PDF.

``GET /grids/<code>/notice?format=pdf|png|json`` for a comprehensive grid or a
micro-grid; ``GET /grids/<code>/notices.pdf`` for every such grid under a
village or town, a page each, in code order. Drawn by ``layers/notice_print.py``
over the offline basemap when ``BASEMAP_FILE`` is configured
(``layers/notice_basemap.py``). Phone numbers are staff data (no audit row, as
the staff of ``locate``).
"""

from flask import Blueprint, Response, current_app, jsonify

from api.auth import current, requires
from api.db import connection
from api.openapi import file
from api.params import CODE, ChoiceParam, accepts
from geo.catalogue import CATALOGUE
from layers import notice_basemap, notice_print, notices

bp = Blueprint("notices", __name__)

_PRINTED = {"pdf": "application/pdf", "png": "image/png"}
def _context(found):
    """The offline basemap's features around the grid (none without one)."""
    x0, y0, x1, y1 = found["geometry"].bounds
    pad = notice_print.MAP_MARGIN * 2 * max(x1 - x0, y1 - y0)
    return notice_basemap.context(current_app.config.get("BASEMAP_FILE"),
                                  (x0 - pad, y0 - pad, x1 + pad, y1 + pad))


def _attachment(body, mimetype, name):
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={name}",
        "Cache-Control": "no-store"})


@bp.get("/grids/<code>/notice")
@requires("notices:print")
@accepts(ChoiceParam("format", "格式", "PDF, PNG or the notice's data as JSON",
                     default="pdf", choices=(*_PRINTED, "json")),
         path=[CODE], errors=(422, 503),
         responses={200: file("application/pdf", "the page (PDF or PNG), or its "
                                                 "data as JSON")})
def notice(code, format):
    """网格公示牌: the notice of a comprehensive grid or micro-grid as one A4
    portrait page (PDF or PNG), or its data as JSON"""
    fmt = format
    with connection() as conn:
        found = notices.notice(conn, current(), code)
    if fmt == "json":
        return jsonify({k: v for k, v in found.items()
                        if k not in ("geometry", "neighbours")})
    body = notice_print.render(found, _context(found), fmt,
                               centre=current_app.config.get("CENTRE_NAME"))
    return _attachment(body, _PRINTED[fmt], notice_print.filename(code, fmt))


@bp.get("/grids/<code>/notices.pdf")
@requires("notices:print")
@accepts(path=[CODE], errors=(422, 503),
         responses={200: file("application/pdf", "one page per grid")})
def notices_pdf(code):
    """The notices of every level-3 and level-4 grid under a grid (a village, a
    town) in one PDF, a page each, in code order"""
    principal = current()
    with connection() as conn:
        pages = [notices.notice(conn, principal, c)
                 for c in notices.notice_codes(conn, principal, code)]
    title = f"{CATALOGUE['notice_title'][0]} {code}"
    body = notice_print.render_many(
        ((found, _context(found)) for found in pages), title,
        centre=current_app.config.get("CENTRE_NAME"))
    return _attachment(body, "application/pdf",
                       notice_print.filename(code, "pdf", many=True))
