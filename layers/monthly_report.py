"""《安全稳定月报分析》: the monthly analysis report of a grid, as Word and PDF.

:func:`build` gathers the month from what the product already computes -- the
figures and ranking of ``layers.stats`` (with the printed ranking's page, map and
all, from ``layers.ranking_print``), Gi* hot spots (``layers.density``), the
month's early warnings and how they were handled, the overdue incidents, 走访率
and the grid workers' 巡查覆盖率 -- into one model: a title and sections of
paragraphs, tables and pictures. :func:`docx` writes it with python-docx
(leaders edit the report in WPS or Word before it goes out) and :func:`pdf` with
matplotlib, the same text in the same order. The last section is left for the
centre to write.

On the 1st the job queue (``layers.jobs.monthly_reports``) runs
:func:`generate_month`: the month just ended, for every town and village, each
report stored as Word and PDF in ``monthly_reports`` (migration 0033);
:func:`list_stored` lists them in a jurisdiction and :func:`stored_file` hands one
out, audited like a report made on demand.
"""

import datetime as dt
import io

from psycopg import sql

from geo.localtime import CHINA_TZ, LABEL
from geo.vocab import INCIDENT_CATEGORIES, label
from layers import audit, density, disputes, print_page, ranking_print, stats, tracks
from layers import incidents as incidents_layer
from layers.access import like_prefix

__all__ = ["build", "docx", "pdf", "filename", "generate_month", "store",
           "list_stored", "stored_file"]

_STATUS_ZH = {"open": "待处置", "acknowledged": "已知悉", "assessing": "研判中",
              "dismissed": "已排除"}
MAX_OVERDUE = 20


def _pct(share):
    return "—" if share is None else f"{share * 100:.1f}%"


def _change(value):
    return "—" if value is None else f"{value * 100:+.1f}%"


def build(conn, principal, grid, month, now=None):
    """The report model of ``grid`` (a code in the user's jurisdiction, or None
    for all of it) for ``month`` ("YYYY-MM")."""
    now = now or dt.datetime.now(dt.UTC)
    period = stats.month_period(month, now=now)
    found = stats.rankings(conn, principal, level=None, period=period, root=grid,
                           now=now)
    where = found["root"]["name"] if found["root"] else "全辖区"
    total = found["total"]
    first = period.start.astimezone(CHINA_TZ).date()
    title = f"{where}安全稳定月报分析（{first.year}年{first.month}月）"
    sections = []

    mom, yoy = total["mom"], total["yoy"]
    sections.append(("一、总体情况", [
        ("p", f"本月共受理各类事件 {total['received']} 起，环比 "
              f"{_change(mom['received_change'])}（上月 {mom['received']} 起），同比 "
              f"{_change(yoy['received_change'])}（去年同月 {yoy['received']} 起）。"
              f"办结 {total['closed']} 起，化解率 {_pct(total['resolution_rate'])}，"
              f"按期办结率 {_pct(total['timeliness'])}，目前超期未结 "
              f"{total['overdue']} 起。"
              + ("本月无数据。" if found["empty"] else "")),
    ]))

    rows = [["类别", "受理（起）", "占比"]]
    for code in INCIDENT_CATEGORIES:
        n = total["by_category"].get(code, 0)
        rows.append([label(INCIDENT_CATEGORIES, code), str(n),
                     _pct(n / total["received"] if total["received"] else None)])
    sections.append(("二、分类情况", [("table", rows)]))

    ranked = [["名次", "网格", "受理", "化解率", "按期办结率", "走访率", "得分"]]
    for g in found["items"]:
        ranked.append([str(g["rank"] or "—"), g["name"], str(g["received"]),
                       _pct(g["resolution_rate"]), _pct(g["timeliness"]),
                       _pct(g["visit_rate"]),
                       "—" if g["score"] is None else f"{g['score']:.1f}"])
    bottom = [g["name"] for g in found["items"] if g["flagged"]]
    shapes = ranking_print.outlines(conn, principal, found)
    picture = ranking_print.render(found, shapes, fmt="png", generated=now)
    sections.append(("三、网格排名与末位", [
        ("p", "末位网格：" + ("、".join(bottom) if bottom else "无（本月不排名）")
         + "。"),
        ("table", ranked),
        ("picture", picture),
    ]))

    items = []
    if not found["empty"] and len(found["items"]) >= 3:
        spots = density.hotspots(
            conn, principal, found["level"],
            day_from=first, day_to=(period.end - dt.timedelta(seconds=1))
            .astimezone(CHINA_TZ).date(), grid=grid)
        names = {g["code"]: g["name"] for g in found["items"]}
        hot = [names.get(f["properties"].get("code"), f["properties"].get("code"))
               for f in spots["features"] if f["properties"]["bin"] >= 2]
        items.append(("p", "热点网格（Gi*，95% 置信以上）："
                      + ("、".join(str(h) for h in hot) if hot else "无") + "。"))
    warned = conn.execute(
        "SELECT w.kind, coalesce(g.name, w.grid_code), w.category, w.observed,"
        " w.expected, w.since, w.status, w.reason FROM early_warnings w"
        " LEFT JOIN grids g ON g.code = w.grid_code"
        " WHERE w.grid_code LIKE %s AND w.grid_code LIKE %s"
        " AND w.first_day >= %s AND w.first_day < %s ORDER BY w.since, w.id",
        (principal.prefix, like_prefix(grid or ""), first,
         period.end.astimezone(CHINA_TZ).date())).fetchall()
    table = [["网格", "类别", "实际/预期", "起始", "处置"]]
    for kind, name, category, observed, expected, since, status, reason in warned:
        table.append([name, "时空聚集" if kind == "cluster" else
                      label(INCIDENT_CATEGORIES, category),
                      f"{observed} / {expected:.1f}", since.isoformat(),
                      _STATUS_ZH[status] + (f"：{reason}" if reason else "")])
    items.append(("p", f"本月发出预警 {len(warned)} 条。"))
    if warned:
        items.append(("table", table))
    sections.append(("四、热点与预警", items))

    overdue = incidents_layer.list_incidents(conn, principal, overdue=True, grid=grid,
                                             limit=MAX_OVERDUE, now=now)
    audit.record_read(conn, principal, "incidents",
                      {"report": "monthly", "grid": grid, "month": month,
                       "overdue": True}, len(overdue["items"]))
    rows = [["编号", "类别", "网格", "期限"]]
    for inc in overdue["items"]:
        deadline = inc.get("deadline")
        rows.append([inc["code"], label(INCIDENT_CATEGORIES, inc["category"]),
                     inc.get("grid_name") or inc.get("grid_code") or "",
                     deadline.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
                     if isinstance(deadline, dt.datetime) else str(deadline or "")])
    sections.append(("五、超期未结事件", [
        ("p", f"截至报告生成时超期未结 {overdue['total']} 起"
              + (f"，列出最早到期的 {len(overdue['items'])} 起。"
                 if overdue["items"] else "。")),
        *([("table", rows)] if overdue["items"] else []),
    ]))

    last = (period.end - dt.timedelta(seconds=1)).astimezone(CHINA_TZ).date()
    patrol = [["网格员", "网格", "巡查覆盖率"]]
    for w in tracks.workers(conn, principal):
        if grid and not w["grid_code"].startswith(grid):
            continue
        if w["last_day"] < first or w["first_day"] > last:
            continue
        cover = tracks.summary(conn, principal, w["id"], first, last,
                               lines=False)["coverage"]
        patrol.append([w["name"], w["grid_name"] or w["grid_code"],
                       _pct(cover["share"])])
    sections.append(("六、走访与巡查", [
        ("p", f"本月入户走访 {total['visited_households']} 户，走访率 "
              f"{_pct(total['visit_rate'])}。"
              + ("" if len(patrol) > 1 else "本月无巡查轨迹。")),
        *([("table", patrol)] if len(patrol) > 1 else []),
    ]))
    sections.append(_recurring_disputes(conn, principal, grid, month, period))
    sections.append(("八、下步工作建议", [("p", "（请在此填写。）")]))
    generated = now.astimezone(CHINA_TZ).strftime("%Y-%m-%d %H:%M")
    return {"title": title, "grid": grid, "month": period.as_dict()["month"],
            "generated": f"生成时间：{generated}（{LABEL[0]}）", "sections": sections,
            "overdue_listed": len(overdue["items"])}


def _recurring_disputes(conn, principal, grid, month, period):
    """七、重点关注矛盾纠纷: the groups recurring at the month's end with a
    dispute in the month (``layers.disputes``), names masked whatever the role
    (the report is handed round)."""
    found = disputes.recurring(conn, principal, grid=grid,
                               now=period.end - dt.timedelta(microseconds=1),
                               since=period.start, personal=False,
                               via={"via": "report", "month": month})
    rule = found["rule"]
    rows = [["类型", "住户或地址", "当事人", "起数", "最近一起", "走访"]]
    kinds = {"household": "同一住户", "address": "同一地址", "parties": "同一对当事人"}
    for it in found["items"]:
        last = it["incidents"][-1]
        rows.append([kinds[it["kind"]],
                     (it["household"] or {}).get("address") or it["address"] or "—",
                     "、".join(it["parties"]) or "—", str(it["count"]),
                     f"{last['code']}（{last['status_label']}）",
                     "待走访" if it["visit_due"] else "已走访"])
    return ("七、重点关注矛盾纠纷", [
        ("p", f"同一住户、地址或同一对当事人 {rule['days']} 天内发生 {rule['count']} "
              f"起及以上矛盾纠纷的列为重点关注，本月 {len(found['items'])} 处。"),
        *([("table", rows)] if found["items"] else []),
    ])


def docx(model):
    """The report as a Word document (bytes)."""
    from docx import Document
    from docx.oxml.ns import qn
    from docx.shared import Cm, Pt

    doc = Document()
    style = doc.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(11)
    # East Asian text takes its font from w:eastAsia, not from the Latin name
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")
    doc.add_heading(model["title"], level=0)
    doc.add_paragraph(model["generated"])
    for heading, items in model["sections"]:
        doc.add_heading(heading, level=1)
        for kind, value in items:
            if kind == "p":
                doc.add_paragraph(value)
            elif kind == "table":
                table = doc.add_table(rows=len(value), cols=len(value[0]))
                table.style = "Table Grid"
                for r, row in enumerate(value):
                    for c, cell in enumerate(row):
                        table.cell(r, c).text = str(cell)
            elif kind == "picture":
                doc.add_picture(io.BytesIO(value), width=Cm(16))
    out = io.BytesIO()
    doc.core_properties.title = model["title"]
    doc.save(out)
    return out.getvalue()


def pdf(model):
    """The report as PDF (bytes): A4 pages of the same text, tables and pictures,
    drawn by matplotlib with the printed pages' font (``layers.print_page``)."""
    import matplotlib
    from matplotlib.backends.backend_pdf import PdfPages
    from matplotlib.figure import Figure
    from PIL import Image

    matplotlib.rcParams["pdf.fonttype"] = 42
    from matplotlib.font_manager import FontProperties

    font = FontProperties(fname=print_page.font_path())
    width, height = 8.27, 11.69
    out = io.BytesIO()
    with PdfPages(out, metadata={"Title": model["title"], "Creator": "gridgov"}) as pp:
        page = {"fig": None, "y": 0.0}

        def new_page():
            if page["fig"] is not None:
                pp.savefig(page["fig"])
            page["fig"] = Figure(figsize=(width, height))
            page["y"] = 0.95

        def line(text, size=10.5, indent=0.08, bold=False):
            wrapped = print_page.wrap(text, int(46 * 10.5 / size))
            for part in wrapped:
                if page["y"] < 0.06:
                    new_page()
                page["fig"].text(indent, page["y"], part, fontproperties=font,
                                 fontsize=size, weight="bold" if bold else "normal",
                                 va="top")
                page["y"] -= size * 1.7 / 72 / height

        new_page()
        line(model["title"], size=16, bold=True)
        line(model["generated"], size=9)
        for heading, items in model["sections"]:
            page["y"] -= 0.01
            line(heading, size=13, bold=True)
            for kind, value in items:
                if kind == "p":
                    line(value)
                elif kind == "table":
                    for row in value:
                        line("  |  ".join(str(c) for c in row), size=9, indent=0.1)
                elif kind == "picture":
                    image = Image.open(io.BytesIO(value))
                    h = 0.84 * width * image.height / image.width / height
                    if page["y"] - h < 0.05:
                        new_page()
                    ax = page["fig"].add_axes([0.08, page["y"] - h, 0.84, h])
                    ax.imshow(image)
                    ax.set_axis_off()
                    page["y"] -= h + 0.02
        pp.savefig(page["fig"])
    return out.getvalue()


def filename(model, fmt):
    """``月报-<grid>-<month>.<fmt>``."""
    return f"月报-{model['grid'] or '全辖区'}-{model['month']}.{fmt}"


# -- the reports generated on the 1st (migration 0033) ------------------------------

def generate_month(conn, principal, month, now, codes=None):
    """Build and store the report of ``month`` for every town and village (level
    1 and 2 grids) of ``principal``'s jurisdiction, or for the grids ``codes``;
    each in its own transaction, so that one failing leaves the others stored
    (RuntimeError naming the failed ones at the end). Returns the stored rows'
    ``[(grid_code, id)]``. ``conn`` in autocommit mode (the job's)."""
    if codes is None:
        codes = [r[0] for r in conn.execute(
            "SELECT code FROM grids WHERE level <= 2 AND code LIKE %s ORDER BY code",
            (principal.prefix,))]
    done, failed = [], []
    for code in codes:
        try:
            with conn.transaction():
                model = build(conn, principal, code, month, now=now)
                report_id = store(conn, model, docx(model), pdf(model), now,
                                  principal.username)
            done.append((code, report_id))
        except Exception as exc:  # noqa: BLE001 -- the others still get theirs
            failed.append(f"{code}: {type(exc).__name__}: {exc}")
    if failed:
        raise RuntimeError(f"monthly reports of {month} failed for "
                           + "; ".join(failed))
    return done


def store(conn, model, word, pdf_bytes, generated_at, generated_by):
    """Keep one report (replacing the grid's earlier one of the same month);
    its id."""
    return conn.execute(
        """INSERT INTO monthly_reports (grid_code, month, title, generated_at,
               generated_by, overdue_listed, docx, pdf)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
           ON CONFLICT (grid_code, month) DO UPDATE SET title = EXCLUDED.title,
               generated_at = EXCLUDED.generated_at,
               generated_by = EXCLUDED.generated_by,
               overdue_listed = EXCLUDED.overdue_listed, docx = EXCLUDED.docx,
               pdf = EXCLUDED.pdf
           RETURNING id""",
        (model["grid"], model["month"], model["title"], generated_at,
         generated_by, model.get("overdue_listed", 0), word, pdf_bytes)).fetchone()[0]


def list_stored(conn, principal, limit=200):
    """The stored reports of the jurisdiction, the newest month first (then the
    latest generated, then by code): id, grid_code, grid_name, level, month,
    title, generated_at (China time), generated_by."""
    from psycopg.rows import dict_row

    rows = conn.cursor(row_factory=dict_row).execute(
        """SELECT r.id, r.grid_code, g.name AS grid_name, g.level, r.month, r.title,
                  r.generated_at, r.generated_by
           FROM monthly_reports r LEFT JOIN grids g ON g.code = r.grid_code
           WHERE r.grid_code LIKE %s
           ORDER BY r.month DESC, r.generated_at DESC, r.grid_code LIMIT %s""",
        (principal.prefix, limit)).fetchall()
    for row in rows:
        row["generated_at"] = row["generated_at"].astimezone(CHINA_TZ)
    return rows


def stored_file(conn, principal, report_id, fmt):
    """One stored report of the jurisdiction as ``(bytes, file name)`` in ``fmt``
    ("docx" or "pdf"); NotFound outside it. Audited as the report made on demand
    is (its overdue incidents are a reading of incidents)."""
    from geo.catalogue import say
    from layers.errors import NotFound

    row = conn.execute(
        sql.SQL("SELECT grid_code, month, overdue_listed, {} FROM monthly_reports"
                " WHERE id = %s AND grid_code LIKE %s").format(
            sql.Identifier("docx" if fmt == "docx" else "pdf")),
        (report_id, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_no_stored_report", report_id=report_id),
                       field="report_id")
    grid, month, listed, data = row
    audit.record_read(conn, principal, "incidents",
                      {"report": "monthly", "grid": grid, "month": month,
                       "overdue": True, "stored": report_id}, listed)
    return bytes(data), filename({"grid": grid, "month": month}, fmt)
