"""Early warnings on the demo town: a planted burst is warned where it happened,
the list is scoped, acting on a warning is checked and audited, and a dismissed
warning is not raised again by the next day's run."""

import datetime as dt

import psycopg
import pytest

from layers import early_warning, users
from layers.access import SYSTEM
from tests.conftest import writable_demo

TODAY = dt.date(2026, 10, 31)
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def town(databases, demo_town):
    g = demo_town.grids
    villages = sorted(g[g.level == 2].code)
    micro = sorted(g[(g.level == 4) & g.code.str.startswith(villages[0])].code)[3]
    point = g.set_index("code").geometry[micro].representative_point()

    def setup(c):
        users.add_user(c, SYSTEM, "ew-b-dispatcher", "dispatcher", villages[1],
                       PASSWORD)
        users.add_user(c, SYSTEM, "ew-planner", "planner", None, PASSWORD)
        # nine environment reports in four days at one spot of one micro-grid
        for k in range(9):
            c.execute(
                "INSERT INTO incidents (code, category, source, description, geom,"
                " grid_code, county, created_at)"
                " VALUES (%s, 'environment', 'hotline', '河道垃圾堆积',"
                " ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s)",
                (f"EW-{k}", point.x, point.y, micro, micro[:6],
                 dt.datetime(2026, 10, 28 + k % 4, 1 + k, tzinfo=dt.UTC)))

    wd = writable_demo(databases, demo_town, setup)
    with psycopg.connect(wd.url) as c:
        found = early_warning.run(c, today=TODAY)
    wd.micro, wd.point, wd.villages, wd.found = micro, point, villages, found
    return wd


def _mine(items, micro):
    return [w for w in items if w["kind"] == "grid" and w["grid_code"] == micro
            and w["category"] == "environment"]


def test_the_burst_is_warned_at_its_micro_grid_with_its_incidents(town):
    items = town.client("admin").get("/api/v1/warnings?limit=1000").get_json()["items"]
    (warning,) = _mine(items, town.micro)
    assert warning["observed"] >= 9
    assert warning["expected"] < 3
    assert warning["q"] <= 0.05
    assert dt.date(2026, 10, 27) <= dt.date.fromisoformat(warning["since"]) <= \
        dt.date(2026, 10, 28)
    assert {f"EW-{k}" for k in range(9)} <= set(warning["incidents"])
    assert warning["category_label"] == "环境"
    assert warning["status"] == "open"


def test_a_space_time_cluster_covers_the_spot(town):
    items = town.client("admin").get("/api/v1/warnings?limit=1000").get_json()["items"]
    clusters = [w for w in items if w["kind"] == "cluster"]
    assert clusters, town.found
    with psycopg.connect(town.url) as c:
        inside = [w["id"] for w in clusters if c.execute(
            "SELECT ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
            " FROM early_warnings WHERE id = %s",
            (town.point.x, town.point.y, w["id"])).fetchone()[0]]
    assert inside


def test_the_list_is_scoped_and_follows_the_spot(town):
    other = town.client("ew-b-dispatcher").get("/api/v1/warnings?limit=1000")
    assert other.status_code == 200
    assert not _mine(other.get_json()["items"], town.micro)
    assert all(w["grid_code"].startswith(town.villages[1])
               for w in other.get_json()["items"])
    at = town.client("dispatcher").get(f"/api/v1/warnings?at={town.micro}")
    assert _mine(at.get_json()["items"], town.micro)
    assert town.client("ew-planner").get("/api/v1/warnings").status_code == 403


def test_dismissing_needs_a_reason_is_audited_and_sticks(town):
    admin = town.client("admin")
    (warning,) = _mine(admin.get("/api/v1/warnings?limit=1000").get_json()["items"],
                       town.micro)
    url = f"/api/v1/warnings/{warning['id']}"
    r = town.client("dispatcher").post(url, json={"action": "dismiss"})
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == "reason"
    r = town.client("dispatcher").post(url, json={"action": "fly"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "action"
    r = town.client("ew-b-dispatcher").post(url, json={"action": "acknowledge"})
    assert r.status_code == 404
    r = town.client("dispatcher").post(
        url, json={"action": "dismiss", "reason": "清运公司已处理，系集中投诉"})
    assert r.status_code == 200
    assert r.get_json()["status"] == "dismissed"
    assert r.get_json()["handled_by"] == "dispatcher"
    with psycopg.connect(town.url) as c:
        row = c.execute(
            "SELECT username, after->>'status' FROM audit"
            " WHERE table_name = 'early_warnings' AND row_key = %s",
            (str(warning["id"]),)).fetchone()
        assert row == ("dispatcher", "dismissed")
        # the next day's run still sees the burst, but it was dismissed
        early_warning.run(c, today=TODAY + dt.timedelta(days=1))
    live = admin.get("/api/v1/warnings?limit=1000").get_json()["items"]
    assert not _mine(live, town.micro)
    r = town.client("dispatcher").post(url, json={"action": "acknowledge"})
    assert r.status_code == 409


def test_a_second_run_of_the_day_adds_nothing(town):
    with psycopg.connect(town.url) as c:
        before = c.execute("SELECT count(*) FROM early_warnings").fetchone()[0]
        early_warning.run(c, today=TODAY + dt.timedelta(days=1))
        after = c.execute("SELECT count(*) FROM early_warnings").fetchone()[0]
    assert after == before


def test_the_command_line_runs_a_day(town, tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    result = CliRunner().invoke(
        main, ["warnings", "run", "--day", "2026-10-31"], catch_exceptions=False,
        env={"GRIDGOV_DATABASE_URL": town.url, "GRIDGOV_HOME": str(tmp_path)})
    assert result.exit_code == 0, result.output
    assert "预警计算完成：网格预警" in result.output
    bad = CliRunner().invoke(main, ["warnings", "run", "--day", "31/10/2026"],
                             env={"GRIDGOV_DATABASE_URL": town.url,
                                  "GRIDGOV_HOME": str(tmp_path)})
    assert bad.exit_code == 2 and "Traceback" not in bad.output


def test_the_daily_job_computes_the_day_that_just_ended(town):
    from types import SimpleNamespace

    from layers import jobs

    assert jobs.DAILY_WARNINGS_CRON == "30 17 * * *"  # 01:30 China time
    context = SimpleNamespace(additional_context={"database_url": town.url})
    ran_at = dt.datetime(2026, 11, 1, 1, 30, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    found = jobs.early_warnings.func(context, int(ran_at.timestamp()))
    assert found["grids"] >= 1
    with psycopg.connect(town.url) as c:
        days = {r[0] for r in c.execute("SELECT DISTINCT last_day FROM early_warnings")}
    assert dt.date(2026, 10, 31) in days and max(days) <= dt.date(2026, 11, 1)
