"""The page /reports: the monthly analysis reports (《安全稳定月报分析》) of the
jurisdiction -- its town(s) and villages. First those the job queue generated on
the 1st (``layers.monthly_report.list_stored``), the newest first with the time
they were generated (China time), from ``GET /api/v1/reports/monthly/<id>``;
then any month's made on demand, each as Word (to edit before it goes out) and
PDF, from ``GET /api/v1/reports/monthly``."""

from urllib.parse import urlencode

from flask import Blueprint, render_template, request, url_for

import api
from api.auth import current, requires
from api.db import connection
from api.stats import clock
from geo import localtime
from layers import monthly_report, stats
from web.rankings import months

__all__ = ["bp"]

bp = Blueprint("reports_page", __name__)


@bp.get("/reports")
@requires("incidents:read")
def reports():
    principal = current()
    now = clock()
    offered = months(now)
    month = request.args.get("month", "").strip() or offered["default"]
    stats.month_period(month, now=now)  # a 400 naming `month` when it is not one
    root = principal.grid_code or ""
    with connection() as conn:
        # the user's own grid, and the towns and villages under it
        grids = conn.execute(
            "SELECT code, name, level FROM grids WHERE code LIKE %s"
            " AND (code = %s OR level <= 2) ORDER BY code",
            (principal.prefix, root)).fetchall()
        stored = monthly_report.list_stored(conn, principal)
    base = request.script_root + api.PREFIX + "/reports/monthly?"
    one = request.script_root + api.PREFIX + "/reports/monthly/"
    generated = [{**r, "shown_at": localtime.shown(r["generated_at"]),
                  "iso_at": r["generated_at"].isoformat(),
                  "docx": f"{one}{r['id']}?format=docx",
                  "pdf": f"{one}{r['id']}?format=pdf"} for r in stored]
    rows = [{"code": code, "name": name, "level": level,
             "docx": base + urlencode({"grid": code, "month": month,
                                       "format": "docx"}),
             "pdf": base + urlencode({"grid": code, "month": month,
                                      "format": "pdf"})}
            for code, name, level in grids]
    return render_template("reports.html", rows=rows, month=month, offered=offered,
                           stored=generated, action=url_for("reports_page.reports"))
