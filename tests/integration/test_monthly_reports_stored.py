"""The monthly reports generated on the 1st (issue 19): the job's task run
directly on the demo town (no waiting for cron) stores October's report of the
town and of each village; /reports lists them in the jurisdiction with the time
they were generated (China time); a stored report's download is the file that
was stored, scoped and audited like the report made on demand."""

import datetime as dt
import io
from types import SimpleNamespace

import docx
import psycopg
import pytest

from layers import jobs, users
from layers.access import SYSTEM
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

CHINA = dt.timezone(dt.timedelta(hours=8))
# the job's run on 1 November, 02:00 China time (18:00 UTC on 31 October)
RUN = dt.datetime(2026, 11, 1, 2, 0, tzinfo=CHINA)
VILLAGE = "320282105001"  # village A
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def town(databases, demo_town):
    def setup(c):
        users.add_user(c, SYSTEM, "vleader", "leader", VILLAGE, PASSWORD)

    wd = writable_demo(databases, demo_town, setup)
    wd.app.config["STATS_NOW"] = "2026-11-20T10:00:00+08:00"
    context = SimpleNamespace(additional_context={"database_url": wd.url})
    # the 31st's tick (02:00 in China on the 31st) does nothing: not the 1st
    wd.before = jobs.monthly_reports.func(
        context, int(dt.datetime(2026, 10, 31, 2, 0, tzinfo=CHINA).timestamp()))
    with psycopg.connect(wd.url) as c:
        wd.rows_before = c.execute("SELECT count(*) FROM monthly_reports"
                                   ).fetchone()[0]
    wd.done = jobs.monthly_reports.func(context, int(RUN.timestamp()))
    g = demo_town.grids
    wd.expected = set(g[g.level <= 2].code)
    return wd


def _stored(url):
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT id, grid_code, month, generated_at, generated_by, title, docx,"
            " pdf FROM monthly_reports ORDER BY grid_code").fetchall()


def test_the_job_stores_the_month_just_ended_for_every_town_and_village(town):
    assert town.before is None and town.rows_before == 0
    assert town.done == {"month": "2026-10", "reports": len(town.expected)}
    rows = _stored(town.url)
    assert {r[1] for r in rows} == town.expected  # the town and its 8 villages
    assert len(rows) == 1 + 8
    with psycopg.connect(town.url) as c:
        names = dict(c.execute("SELECT code, name FROM grids WHERE level <= 2"))
    for _id, code, month, at, by, title, word, pdf in rows:
        assert month == "2026-10" and at == RUN and by == "system"
        assert title == f"{names[code]}安全稳定月报分析（2026年10月）"
        document = docx.Document(io.BytesIO(bytes(word)))
        text = "\n".join(p.text for p in document.paragraphs)
        assert title in text
        # generated at the job's moment, in China time with its label
        assert "生成时间：2026-11-01 02:00（北京时间）" in text
        assert bytes(pdf).startswith(b"%PDF")


def test_a_second_run_replaces_rather_than_adds(town):
    from layers import monthly_report

    with psycopg.connect(town.url, autocommit=True) as c:
        before = c.execute("SELECT id FROM monthly_reports WHERE grid_code = %s",
                           (VILLAGE,)).fetchone()[0]
        later = RUN + dt.timedelta(hours=1)
        monthly_report.generate_month(c, SYSTEM, "2026-10", later, codes=[VILLAGE])
        rows = c.execute("SELECT id, generated_at FROM monthly_reports"
                         " WHERE grid_code = %s", (VILLAGE,)).fetchall()
        c.execute("UPDATE monthly_reports SET generated_at = %s WHERE grid_code = %s",
                  (RUN, VILLAGE))
    assert rows == [(before, later)]


def test_the_cron_line_fires_at_two_in_china_on_every_first(town):
    from croniter import croniter

    assert jobs.MONTHLY_REPORTS_CRON == "0 18 28-31 * *"
    periodic = {t.task.name: t
                for t in jobs.app.periodic_registry.periodic_tasks.values()}
    assert periodic[jobs.MONTHLY_REPORTS].cron == jobs.MONTHLY_REPORTS_CRON
    ticks = croniter(jobs.MONTHLY_REPORTS_CRON, dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    china = [ticks.get_next(dt.datetime).astimezone(CHINA) for _ in range(12 * 4)]
    firsts = [t for t in china if t.day == 1]
    assert {(t.month, t.hour, t.minute) for t in firsts} == {
        (m, 2, 0) for m in range(1, 13)}
    # every other tick is a day the task leaves alone
    assert all(t.day in (29, 30, 31) for t in china if t.day != 1)


def test_reports_lists_the_stored_reports_of_the_jurisdiction(town):
    from tests.conftest import log_in_form

    client, _ = log_in_form(town.app, "leader", town.passwords["leader"])
    html = client.get("/reports").get_data(as_text=True)
    assert 'id="reports-stored"' in html
    assert html.count('data-month="2026-10"') == len(town.expected)
    assert "2026-11-01 02:00 北京时间" in html
    village, _ = log_in_form(town.app, "vleader", PASSWORD)
    html = village.get("/reports").get_data(as_text=True)
    ids = [r[0] for r in _stored(town.url) if r[1] == VILLAGE]
    assert html.count('data-month="2026-10"') == 1
    assert f'/api/v1/reports/monthly/{ids[0]}?format=docx' in html


def test_a_stored_report_downloads_as_stored_and_is_audited(town):
    rows = {r[1]: r for r in _stored(town.url)}
    report_id, word = rows[VILLAGE][0], bytes(rows[VILLAGE][6])
    leader = town.client("vleader")
    r = leader.get(f"/api/v1/reports/monthly/{report_id}?format=docx")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert r.data == word
    assert r.headers["Cache-Control"] == "no-store"
    assert f"{VILLAGE}-2026-10.docx" in r.headers["Content-Disposition"]
    r = leader.get(f"/api/v1/reports/monthly/{report_id}?format=pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.data == bytes(rows[VILLAGE][7])
    with psycopg.connect(town.url) as c:
        audited = c.execute(
            "SELECT count(*) FROM audit WHERE username = 'vleader' AND action = 'read'"
            " AND table_name = 'incidents' AND after->'query'->>'report' = 'monthly'"
            " AND (after->'query'->>'stored')::bigint = %s", (report_id,)
        ).fetchone()[0]
    assert audited == 2
    # another village's report is not there for the village's leader
    other = next(code for code in rows if len(code) == 12 and code != VILLAGE)
    r = leader.get(f"/api/v1/reports/monthly/{rows[other][0]}")
    assert r.status_code == 404
    assert r.get_json()["error"]["field"] == "report_id"
    r = leader.get(f"/api/v1/reports/monthly/{report_id}?format=odt")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "format"
    assert town.client("planner").get(
        f"/api/v1/reports/monthly/{report_id}").status_code == 403
