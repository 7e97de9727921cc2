"""The monthly report (《安全稳定月报分析》) of the demo town's October: the town's
own figures in Word and PDF, scoped, audited, bad input refused."""

import io

import docx
import psycopg
import pytest
from pypdf import PdfReader

from layers import stats
from layers.access import Principal
from tests.conftest import writable_demo

TOWN = "320282105"


@pytest.fixture(scope="module")
def town(databases, demo_town):
    wd = writable_demo(databases, demo_town)
    wd.app.config["STATS_NOW"] = "2026-11-01T12:00:00+08:00"
    return wd


def _text_of_docx(data):
    document = docx.Document(io.BytesIO(data))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    return "\n".join(parts), document


def test_the_towns_october_opens_in_word_with_its_own_figures(town):
    r = town.client("leader").get(f"/api/v1/reports/monthly?grid={TOWN}"
                                  "&month=2026-10&format=docx")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.mimetype == ("application/vnd.openxmlformats-officedocument"
                          ".wordprocessingml.document")
    assert "attachment" in r.headers["Content-Disposition"]
    text, document = _text_of_docx(r.data)
    with psycopg.connect(town.url) as c:
        found = stats.stats(c, Principal("t", "admin"), root=TOWN,
                            period=stats.month_period("2026-10"))
        name = c.execute("SELECT name FROM grids WHERE code = %s",
                         (TOWN,)).fetchone()[0]
    total = found["total"]
    assert f"{name}安全稳定月报分析（2026年10月）" in text
    assert f"本月共受理各类事件 {total['received']} 起" in text
    assert f"上月 {total['mom']['received']} 起" in text
    for g in found["grids"]:          # every village in the ranking table
        assert g["name"] in text
    for heading in ("一、总体情况", "三、网格排名与末位", "四、热点与预警",
                    "五、超期未结事件", "六、走访与巡查"):
        assert heading in text
    # the printed ranking's page with its map is in it as a picture
    assert len(document.inline_shapes) == 1
    with psycopg.connect(town.url) as c:
        audited = c.execute(
            "SELECT count(*) FROM audit WHERE username = 'leader'"
            " AND action = 'read' AND after->'query'->>'report' = 'monthly'"
        ).fetchone()[0]
    assert audited == 1


def test_the_same_report_as_pdf(town):
    r = town.client("leader").get(f"/api/v1/reports/monthly?grid={TOWN}"
                                  "&month=2026-10&format=pdf")
    assert r.status_code == 200
    assert r.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages)
    assert "安全稳定月报分析（2026年10月）" in text
    assert "一、总体情况" in text and "六、走访与巡查" in text


def test_scope_and_bad_input(town, demo_town):
    g = demo_town.grids
    village_b = sorted(g[g.level == 2].code)[1]
    worker = town.client("worker")      # a comprehensive grid of village A
    assert worker.get(f"/api/v1/reports/monthly?grid={village_b}&month=2026-10"
                      ).status_code == 404
    assert town.client("planner").get(
        f"/api/v1/reports/monthly?grid={TOWN}&month=2026-10").status_code == 403
    leader = town.client("leader")
    for query, field in (("month=2026-13", "month"),
                         ("month=2026-10&format=odt", "format")):
        r = leader.get(f"/api/v1/reports/monthly?grid={TOWN}&{query}")
        assert r.status_code == 400, query
        assert r.get_json()["error"]["field"] == field
