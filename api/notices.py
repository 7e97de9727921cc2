"""网格公示牌 (issue 17): a grid's printable notice, a village's notices in one PDF.

``GET /grids/<code>/notice?format=pdf|png|json`` for a comprehensive grid or a
micro-grid; ``GET /grids/<code>/notices.pdf`` for every such grid under a
village or town, a page each, in code order: at once for a village, by the job
queue for a town or past ``NOTICES_SYNC_PAGES`` pages (202 and
``/notice-prints/<id>``: layers/notice_prints.py). Drawn by
``layers/notice_print.py`` over the offline basemap when ``BASEMAP_FILE`` is configured
(``layers/notice_basemap.py``). Phone numbers are staff data (no audit row, as
the staff of ``locate``).
"""

from flask import Blueprint, Response, current_app, jsonify, url_for

from api.auth import current, requires
from api.db import connection
from api.openapi import INTEGER, STRING, TIME, file, nullable, obj
from api.params import CODE, ChoiceParam, Param, accepts
from geo.catalogue import CATALOGUE
from layers import notice_print, notice_prints, notices

bp = Blueprint("notices", __name__)

_PRINTED = {"pdf": "application/pdf", "png": "image/png"}
_PRINT = obj("a notice print drawn by the job queue", required=("id", "status"),
             id=INTEGER, grid_code=STRING,
             status={"type": "string",
                     "enum": ["pending", "running", "ready", "failed"]},
             pages=INTEGER, done=INTEGER, error=nullable(STRING), url=STRING,
             download=nullable(STRING), created_at=TIME,
             finished_at=nullable(TIME))
PRINT_ID = Param("print_id", "公示牌打印任务编号", "the notice print's id",
                 where="path")


def _attachment(body, mimetype, name):
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename={name}",
        "Cache-Control": "no-store"})


def _context(found):
    return notice_print.context(found, current_app.config.get("BASEMAP_FILE"))


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
         responses={200: file("application/pdf", "one page per grid"),
                    202: _PRINT})
def notices_pdf(code):
    """The notices of every level-3 and level-4 grid under a grid (a village, a
    town) in one PDF, a page each, in code order. A town's, or more pages than
    NOTICES_SYNC_PAGES (default 40), are drawn by the job queue: 202 with the
    print (its URL in Location), whose download follows when it is ready"""
    principal = current()
    sync_max = int(current_app.config.get("NOTICES_SYNC_PAGES",
                                          notice_prints.SYNC_MAX))
    with connection() as conn:
        codes, as_job = notice_prints.plan(conn, principal, code, sync_max)
        if as_job:
            started = notice_prints.start(
                conn, principal, code, len(codes),
                current_app.config.get("BASEMAP_FILE"),
                current_app.config.get("CENTRE_NAME"))
            return _print_answer(started, 202)
        pages = [notices.notice(conn, principal, c) for c in codes]
    title = f"{CATALOGUE['notice_title'][0]} {code}"
    body = notice_print.render_many(
        ((found, _context(found)) for found in pages), title,
        centre=current_app.config.get("CENTRE_NAME"))
    return _attachment(body, "application/pdf",
                       notice_print.filename(code, "pdf", many=True))


def _print_answer(found, status=200):
    url = url_for("notices.print_state", print_id=found["id"])
    found = found | {"url": url, "download": url_for(
        "notices.print_pdf", print_id=found["id"])
        if found["status"] == "ready" else None}
    answer = jsonify(found)
    answer.status_code = status
    answer.headers["Cache-Control"] = "no-store"
    if status == 202:
        answer.headers["Location"] = url
    return answer


@bp.get("/notice-prints/<int:print_id>")
@requires("notices:print")
@accepts(path=[PRINT_ID], responses={200: _PRINT})
def print_state(print_id):
    """A notice print drawn by the job queue: its state and pages drawn, and
    its download once ready"""
    with connection() as conn:
        return _print_answer(notice_prints.get_print(conn, current(), print_id))


@bp.get("/notice-prints/<int:print_id>/notices.pdf")
@requires("notices:print")
@accepts(path=[PRINT_ID], errors=(409,),
         responses={200: file("application/pdf", "one page per grid")})
def print_pdf(print_id):
    """The PDF of a ready notice print (409 while it is being drawn)"""
    with connection() as conn:
        code, body = notice_prints.pdf(conn, current(), print_id)
    return _attachment(body, "application/pdf",
                       notice_print.filename(code, "pdf", many=True))
