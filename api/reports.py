"""GET /api/v1/reports/monthly: the monthly analysis report (《安全稳定月报分析》)
of a grid as Word or PDF."""

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


@bp.get("/reports/monthly")
@requires("incidents:read")
@accepts(GRID.but(en="the grid (default: your jurisdiction)"),
         MONTH.but(en="YYYY-MM, China time (default: the last complete month)"),
         ChoiceParam("format", "格式：Word（可编辑）或 PDF", "Word (to edit) or PDF",
                     default="docx", choices=tuple(_FORMATS)),
         responses={200: file(_FORMATS["docx"], "the report (Word or PDF)")})
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
    response = send_file(io.BytesIO(data), mimetype=_FORMATS[format],
                         as_attachment=True,
                         download_name=monthly_report.filename(model, format))
    response.headers["Cache-Control"] = "no-store"
    return response
