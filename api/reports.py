"""GET /api/v1/reports/monthly: the monthly analysis report (《安全稳定月报分析》)
of a grid as Word or PDF."""

import io

from flask import Blueprint, request, send_file

from api.auth import current, requires
from api.db import connection
from api.stats import clock
from geo.catalogue import say
from layers import monthly_report, stats
from layers.errors import Invalid

bp = Blueprint("reports", __name__)

_FORMATS = {
    "docx": "application/vnd.openxmlformats-officedocument"
            ".wordprocessingml.document",
    "pdf": "application/pdf",
}

OPENAPI = {
    "/reports/monthly": {"get": {
        "summary": "The monthly analysis report (安全稳定月报分析) of a grid: figures "
                   "and their change, categories, ranking with its map, hot spots, "
                   "early warnings and their handling, overdue incidents, 走访率 and "
                   "巡查覆盖率; Word (to edit) or PDF",
        "parameters": [
            {"name": "grid", "in": "query", "schema": {"type": "string"},
             "description": "the grid (default: your jurisdiction)"},
            {"name": "month", "in": "query", "schema": {"type": "string",
                                                        "pattern": "^\\d{4}-\\d{2}$"},
             "description": "YYYY-MM (default: the last complete month)"},
            {"name": "format", "in": "query",
             "schema": {"enum": list(_FORMATS), "default": "docx"}},
        ],
        "responses": {
            "200": {"description": "the report", "content": {
                mime: {"schema": {"type": "string", "format": "binary"}}
                for mime in _FORMATS.values()}},
            "400": {"description": "bad parameter"},
            "404": {"description": "unknown grid, or outside your jurisdiction"}},
    }},
}


@bp.get("/reports/monthly")
@requires("incidents:read")
def monthly():
    fmt = request.args.get("format") or "docx"
    if fmt not in _FORMATS:
        raise Invalid(say("err_report_format", allowed=", ".join(_FORMATS)),
                      field="format")
    now = clock()
    month = request.args.get("month")
    if month is None:
        month = stats.default_month(now).as_dict()["month"]
    principal = current()
    with connection() as conn:
        model = monthly_report.build(conn, principal,
                                     request.args.get("grid") or principal.grid_code,
                                     month, now=now)
    # written after the pooled connection went back: drawing takes a few seconds
    data = monthly_report.docx(model) if fmt == "docx" else monthly_report.pdf(model)
    response = send_file(io.BytesIO(data), mimetype=_FORMATS[fmt], as_attachment=True,
                         download_name=monthly_report.filename(model, fmt))
    response.headers["Cache-Control"] = "no-store"
    return response
