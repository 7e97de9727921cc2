"""GET /api/v1/reports/monthly: the monthly analysis report (《安全稳定月报分析》)
of a grid as Word or PDF, made on demand; GET /api/v1/reports/monthly/<id>: one
of the reports the job queue generated on the 1st and stored (migration 0033),
audited as the one made on demand."""

import io

from flask import Blueprint, send_file

from api.auth import current, requires
from api.db import connection
from api.openapi import file
from api.params import GRID, MONTH, ChoiceParam, accepts
from api.stats import clock
from layers import monthly_report, stats

bp = Blueprint("reports", __name__)

_FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument"
            ".wordprocessingml.document",
    "pdf": "application/pdf",
}


FORMAT = ChoiceParam("format", "格式：Word（可编辑）或 PDF", "Word (to edit) or PDF",
                     default="docx", choices=tuple(_FORMATS))


@bp.get("/reports/monthly")
@requires("incidents:read")
@accepts(GRID.but(en="the grid (default: your jurisdiction)"),
         MONTH.but(en="YYYY-MM, China time (default: the last complete month)"),
         FORMAT, responses={200: file(_FORMATS["docx"], "the report (Word or PDF)")})
def monthly(grid, month, format):
    """The monthly analysis report (安全稳定月报分析) of a grid: figures and their
    change, categories, ranking with its map, hot spots, early warnings and their
    handling, overdue incidents, 走访率 and 巡查覆盖率"""
    now = clock()
    if month is None:
        month = stats.default_month(now).as_dict()["month"]
    principal = current()
    with connection() as conn:
        model = monthly_report.build(conn, principal, grid or principal.grid_code,
                                     month, now=now)
    # written after the pooled connection went back: drawing takes a few seconds
    data = (monthly_report.docx(model) if format == "docx"
            else monthly_report.pdf(model))
    return _attachment(data, format, monthly_report.filename(model, format))


@bp.get("/reports/monthly/<int:report_id>")
@requires("incidents:read")
@accepts(FORMAT, errors=(404,), responses={
    200: file(_FORMATS["docx"], "the stored report (Word or PDF)")})
def stored(report_id, format):
    """One of the monthly reports generated on the 1st for every town and
    village (listed on /reports), as it was generated; audited"""
    with connection() as conn:
        data, name = monthly_report.stored_file(conn, current(), report_id, format)
    return _attachment(data, format, name)


def _attachment(data, fmt, name):
    response = send_file(io.BytesIO(data), mimetype=_FORMATS[fmt],
                         as_attachment=True, download_name=name)
    response.headers["Cache-Control"] = "no-store"
    return response
