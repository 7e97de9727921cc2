"""GET /api/v1/stats and /api/v1/rankings: incident figures per grid, and the
monthly ranking (bottom three flagged), as JSON, as an XLSX workbook, or as a
printable A4 page in PDF or PNG (``layers/ranking_print.py``).

The figures and their definitions are those of ``layers/stats.py`` (化解率 =
resolved / received, resolved = closed with the outcome mediated or handled); the
score of ``geo/ranking.py``.
"""

import datetime as dt
import io

from flask import Blueprint, Response, current_app, jsonify, request

from api.auth import current, requires
from api.db import connection, read_connection
from api.openapi import OBJECT, STRING, array, obj
from api.params import GRID, LEVEL, MONTH, ChoiceParam, Param, accepts, date_arg
from geo import choropleth, localtime, workdays
from geo.catalogue import both, say
from layers import ranking_print
from layers import stats as stats_layer
from layers.errors import Invalid

__all__ = ["bp", "clock", "period_arg", "xlsx", "PERIOD"]

bp = Blueprint("stats", __name__)

_PRINTED = {"pdf": "application/pdf", "png": "image/png"}
_FORMATS = ("json", "xlsx", *_PRINTED)

_DEFINITIONS = (
    "For the incidents received in the period (China time), as the database "
    "stands now (as_of): received 受理数; by_category; per_100_households = "
    "received × 100 / households; closed 办结数 (status closed or evaluated); "
    "resolved 化解数 = closed with outcome mediated 调解成功 or handled 已处置 "
    "(not_mediated, litigation 转诉讼 and transferred 移交职能部门 are not "
    "resolved); resolution_rate 化解率 = resolved / received (null when nothing "
    "was received); avg_close_days = mean days from receipt to closing of the "
    "closed ones; due = closed, or open past the deadline; on_time = closed by the "
    "deadline; timeliness 按期办结率 = on_time / due; overdue 超期未结 = open past "
    "the deadline; closed_late; mom 环比 (the period before) and yoy 同比 (a year "
    "earlier): {received, received_change = (now − then) / then, resolution_rate, "
    "resolution_rate_change = now − then}. Rates are shares 0–1."
)
_SCORE = (
    "score 0–100 = weighted mean of resolution_rate (0.5), timeliness (0.3) and "
    "coverage (0.2, the share of the grid's households seen by a camera); an "
    "unknown component is left out and the other weights renormalised; rank 1 is "
    "best (equal scores share a rank, null without a score); flagged marks the "
    "bottom three (末位), ties at the boundary included, none when three or fewer "
    "grids are ranked."
)
_PERIOD = (
    GRID.but(zh="根网格编码（默认：您辖区的网格），须在辖区内",
             en="root grid code (default: your jurisdiction's grid); it must lie "
                "in your jurisdiction"),
    LEVEL.but(zh="列出的网格层级，不高于根的层级（默认：根的下一级）",
              en="level of the grids listed, at or below the root's (default: the "
                 "root's children)"),
    Param("month", MONTH.zh + "（默认：上一个完整的月）",
          "YYYY-MM, China time (default: the last complete month); the month "
          "still running ends now, and its 环比 and 同比 compare as long a stretch "
          "of the month before and of the same month a year earlier (上月同期, "
          "去年同期)", parse=lambda name: period_arg(), schema=MONTH.schema),
    Param("from", "第一天 YYYY-MM-DD，与 to 一起代替 month",
          "first day YYYY-MM-DD, with 'to' instead of 'month'",
          parse=lambda name: None, schema={"type": "string", "format": "date"}),
    Param("to", "最后一天 YYYY-MM-DD（含）；至多 366 天",
          "last day YYYY-MM-DD (included); at most 366 days",
          parse=lambda name: None, schema={"type": "string", "format": "date"}),
)
# month, or from and to: the period of another route that reads it with
# period_arg (api/maps.py)
PERIOD = _PERIOD[2:]
_PERIOD_ANSWER = obj(period=OBJECT, as_of=STRING)
FORMAT = ChoiceParam("format", "格式", "json, xlsx, or a printable pdf or png page",
                     default="json", choices=_FORMATS,
                     refuse=lambda raw: say("err_stats_format"))


def clock():
    """Now, as the statistics see it: the real clock, or the moment pinned by
    ``GRIDGOV_STATS_NOW`` (ISO 8601; China time when it has no offset) — for
    tests and for showing a fixed dataset (a demo generated ``--as-of`` a past
    day) as it stood then. The default month, the month still running, overdue
    and the answer's ``as_of`` all follow it."""
    return _pinned(current_app.config) or dt.datetime.now(dt.UTC)


def _pinned(config):
    value = config.get("STATS_NOW")
    if not value:
        return None
    if isinstance(value, str):
        try:
            value = dt.datetime.fromisoformat(value)
        except ValueError:
            raise ValueError(f"GRIDGOV_STATS_NOW must be an ISO 8601 moment such "
                             f"as 2026-11-20T10:00+08:00, got {value!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=workdays.CHINA_TZ)


def _check_clock(state):
    _pinned(state.app.config)  # a bad GRIDGOV_STATS_NOW stops the start


bp.record_once(_check_clock)


def period_arg(now=None):
    """The period of the request: ``month``, or ``from`` and ``to``, or None (the
    layer's default, ``layers.stats.default_month``, the last complete month).
    The month running at ``now`` (default :func:`clock`) ends at ``now``."""
    month = request.args.get("month", "").strip()
    has_range = any(request.args.get(n, "").strip() for n in ("from", "to"))
    if month and has_range:
        raise Invalid(say("err_month_or_period"), field="month")
    if month:
        return stats_layer.month_period(month, now=now or clock())
    if has_range:
        return stats_layer.day_period(date_arg("from", required=True),
                                        date_arg("to", required=True))
    return None


def _query(grid, level, month):
    """The layer's arguments: ``month`` is the period (``month`` or ``from``/``to``,
    read together by :func:`period_arg`); ``now`` is the clock it was read at."""
    return {"level": level, "period": month, "root": grid, "now": clock()}


@bp.get("/stats")
@requires("incidents:read")
@accepts(*_PERIOD, errors=(404,), responses={200: obj(
    "{root, level, period, previous_period, year_before_period, as_of, empty, "
    "not_compared: {mom, yoy}, grids: [{code, name, level, parent, households, "
    "received, by_category, per_100_households, closed, resolved, resolution_rate, "
    "avg_close_days, due, on_time, timeliness, overdue, closed_late, mom, yoy}], "
    "total}. " + _DEFINITIONS, required=("period", "grids"), period=OBJECT,
    as_of=STRING, grids=array(OBJECT), total=OBJECT)})
def stats(grid, level, month, from_, to):
    """Incident figures per grid of a level under a root, for a month or from–to,
    with 环比 and 同比"""
    with read_connection() as conn:
        return jsonify(stats_layer.stats(conn, current(), **_query(grid, level,
                                                                   month)))


@bp.get("/stats/workers")
@requires("incidents:read")
@accepts(*_PERIOD, errors=(404,), responses={200: obj(
    "{root, period, as_of, workers: [{id, name, role, grid_code, grid_name, "
    "households, visited_households, visits, visit_rate}]}", required=("workers",),
    period=OBJECT, workers=array(OBJECT))})
def worker_visits(grid, level, month, from_, to):
    """走访率 per grid worker under a root, for a month or from–to: for every
    active grid worker whose grid lies under the root, the households of that
    grid and the grids below it, how many of them the worker visited at least once
    in the period (the phone's 入户走访), and visit_rate = visited / households
    (null without households). Not part of the ranking's score."""
    query = _query(grid, level, month)
    with read_connection() as conn:
        return jsonify(stats_layer.worker_visits(
            conn, current(), query["period"], query["root"], query["now"]))


@bp.get("/rankings")
@requires("incidents:read")
@accepts(FORMAT, *_PERIOD, errors=(404, 503), responses={200: obj(
    "{level, period, as_of, weights, bottom, coverage_known, items: [{rank, "
    "flagged, score, code, name, coverage, area_share, cameras, online_cameras, "
    "...figures of /stats}], classes: {measure: {breaks, exact, colours}} (the "
    "choropleth's classes of each measure over the items)} in rank order; or "
    "(format=xlsx, pdf, png) the XLSX workbook, the PDF or the PNG page "
    "(attachment ranking-CODE-MONTH-levelN). " + _SCORE, required=("items",),
    items=array(OBJECT), weights=OBJECT, classes=OBJECT)})
def rankings(format, grid, level, month, from_, to):
    """Monthly ranking of the grids of a level (bottom three flagged), as JSON,
    XLSX, or a printable PDF or PNG page (A4 landscape, PNG at 150 dpi: title,
    score map, legend, table, period, time generated)"""
    fmt = format
    principal = current()
    with connection() as conn:
        found = stats_layer.rankings(conn, principal, **_query(grid, level, month))
        shapes = (ranking_print.outlines(conn, principal, found)
                  if fmt in _PRINTED else None)
    if fmt == "json":  # with the choropleth's classes of every measure
        return jsonify(found | {"classes": choropleth.classes(found["items"])})
    if fmt in _PRINTED:
        # drawn after the pooled connection went back: it takes a second or two
        return Response(ranking_print.render(found, shapes, fmt),
                        mimetype=_PRINTED[fmt], headers={
                            "Content-Disposition": "attachment; filename="
                            + ranking_print.filename(found, fmt),
                            "Cache-Control": "no-store"})
    when = found["period"]["month"] or found["period"]["from"]
    name = f"rankings-level{found['level']}-{when}.xlsx"
    return Response(xlsx(found), mimetype="application/vnd.openxmlformats-"
                    "officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f"attachment; filename={name}",
                             "Cache-Control": "no-store"})


# (header "中文 English", value of an item); rates as percentages
_COLUMNS = (  # the headers are the page's and the PDF's (geo/catalogue.py)
    (both("rank_rank"), lambda g: g["rank"]),
    (both("rank_flagged"), lambda g: both("rank_yes") if g["flagged"] else ""),
    (both("rank_code"), lambda g: g["code"]),
    (both("rank_name"), lambda g: g["name"]),
    (both("rank_score"), lambda g: g["score"]),
    (both("rank_resolution") + " %", lambda g: _pct(g["resolution_rate"])),
    (both("rank_timeliness") + " %", lambda g: _pct(g["timeliness"])),
    (both("rank_coverage") + " %", lambda g: _pct(g["coverage"])),
    (both("rank_visit_rate") + " %", lambda g: _pct(g["visit_rate"])),
    (both("rank_received"), lambda g: g["received"]),
    (both("rank_resolved"), lambda g: g["resolved"]),
    (both("overdue_open"), lambda g: g["overdue"]),
    (both("per_100"), lambda g: _round(g["per_100_households"])),
    (both("rank_avg_close_days"), lambda g: g["avg_close_days"]),
    (both("rank_mom") + " %", lambda g: _pct(g["mom"]["received_change"])),
    (both("rank_yoy") + " %", lambda g: _pct(g["yoy"]["received_change"])),
)
# what a spreadsheet would run as a formula, or as DDE, if it began a cell
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _pct(share):
    return None if share is None else round(share * 100, 1)


def _round(value):
    return None if value is None else round(value, 2)


def _text_cell(cell):
    """Keep a text cell text: openpyxl stores a string beginning with '=' as a
    formula; quotePrefix makes Excel keep it text when the cell is edited too."""
    if isinstance(cell.value, str) and cell.value.startswith(_FORMULA_START):
        cell.data_type = "s"
        cell.quotePrefix = True


def xlsx(found):
    """The ranking as an XLSX workbook (bytes): a title row, the header, one row
    per grid."""
    from openpyxl import Workbook  # only the export needs it
    from openpyxl.styles import Font, PatternFill

    book = Workbook()
    sheet = book.active
    sheet.title = "排名 Ranking"
    period = found["period"]
    # the month still running says how far it goes
    when = (period["month"] if period["month"] and period.get("complete", True)
            else f"{period['from']} – {period['to']}")
    title = (f"{both('rank_title')} · {when} · {both('level')} {found['level']}"
             f" · {both('rank_as_of')} {localtime.shown(found['as_of'])}"
             f"（{localtime.label('en')}）")
    sheet.append([title])
    sheet.append([header for header, _ in _COLUMNS])
    for cell in sheet[2]:
        cell.font = Font(bold=True)
    flagged = PatternFill("solid", fgColor="F8D7DA")
    for item in found["items"]:
        sheet.append([value(item) for _, value in _COLUMNS])
        for cell in sheet[sheet.max_row]:
            _text_cell(cell)
            if item["flagged"]:
                cell.fill = flagged
    sheet.append([])
    sheet.append([both("rank_weights")])
    if not found["coverage_known"]:
        sheet.append([both("rank_coverage_unknown")])
    sheet.freeze_panes = "A3"
    for letter, width in zip("ABCDEFGHIJKLMNO", (8, 10, 22, 28), strict=False):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()
