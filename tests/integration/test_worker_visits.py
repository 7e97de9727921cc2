"""走访率 per grid worker (``GET /api/v1/stats/workers``), on hand-made visits.

In a copy of the demo town, worker W serves one micro-grid M of village A, and
in March 2026 (China time):

- W visits households h1, h2, h3 of M, and h1 a second time → 3 households, 4
  visits in M;
- W visits h4, a household of another micro-grid (helping out) → a 5th visit,
  not a household of W's grid;
- W visits h2 on 1 April 00:30 China time (31 March 16:30 UTC) → April: out;
- another worker visits h5 of M → not W's visit.

So W: visited_households 3, visits 5, visit_rate 3 / (households of M).
"""

import datetime as dt
from types import SimpleNamespace

import pytest

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

CN = dt.timezone(dt.timedelta(hours=8))
URL = "/api/v1/stats/workers?month=2026-03"


@pytest.fixture(scope="module")
def env(databases, demo_town):
    grids = demo_town.grids
    village_a = sorted(grids[grids.level == 2].code)[0]
    made = {}

    def setup(c):
        c.execute("DELETE FROM visits")
        # a micro-grid of village A with at least 5 households
        micro = c.execute(
            "SELECT grid_code FROM households WHERE grid_code LIKE %s"
            " GROUP BY 1 HAVING count(*) >= 5 ORDER BY 1 LIMIT 1",
            (village_a + "%",)).fetchone()[0]
        worker = c.execute(
            "INSERT INTO grid_staff (name, role, grid_code) VALUES"
            " ('走访测试员', 'full_time', %s) RETURNING id", (micro,)).fetchone()[0]
        other = c.execute(
            "INSERT INTO grid_staff (name, role, grid_code) VALUES"
            " ('另一网格员', 'volunteer', %s) RETURNING id", (micro,)).fetchone()[0]
        mine = [r[0] for r in c.execute(
            "SELECT id FROM households WHERE grid_code = %s ORDER BY id LIMIT 5",
            (micro,))]
        elsewhere, elsewhere_grid = c.execute(
            "SELECT id, grid_code FROM households WHERE grid_code <> %s"
            " AND grid_code LIKE %s ORDER BY id LIMIT 1",
            (micro, village_a + "%")).fetchone()
        visits = [
            (worker, mine[0], micro, "2026-03-02 09:00"),
            (worker, mine[1], micro, "2026-03-03 09:00"),
            (worker, mine[2], micro, "2026-03-04 09:00"),
            (worker, mine[0], micro, "2026-03-20 09:00"),
            (worker, elsewhere, elsewhere_grid, "2026-03-05 09:00"),
            (worker, mine[1], micro, "2026-04-01 00:30"),
            (other, mine[4], micro, "2026-03-06 09:00"),
        ]
        for staff, household, grid, when in visits:
            c.execute(
                "INSERT INTO visits (household_id, grid_code, username, staff_id,"
                " visited_at) VALUES (%s, %s, 'worker', %s, %s)",
                (household, grid, staff,
                 dt.datetime.fromisoformat(when).replace(tzinfo=CN)))
        made.update(micro=micro, worker=worker, other=other, households=c.execute(
            "SELECT count(*) FROM households WHERE grid_code = %s",
            (micro,)).fetchone()[0])

    demo = writable_demo(databases, demo_town, setup)
    return SimpleNamespace(demo=demo, village_a=village_a,
                           villages=sorted(grids[grids.level == 2].code), **made)


def _workers(env, url=URL, who="admin"):
    r = env.demo.client(who).get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:400]
    return {w["id"]: w for w in r.get_json()["workers"]}


def test_a_worker_s_visit_rate_counts_their_own_visits_in_their_grid(env):
    w = _workers(env)[env.worker]
    assert (w["name"], w["grid_code"]) == ("走访测试员", env.micro)
    assert w["households"] == env.households
    assert w["visited_households"] == 3
    assert w["visits"] == 5
    assert w["visit_rate"] == round(3 / env.households, 4)
    other = _workers(env)[env.other]
    assert (other["visited_households"], other["visits"]) == (1, 1)


def test_april_starts_at_midnight_china_time(env):
    w = _workers(env, "/api/v1/stats/workers?month=2026-04")[env.worker]
    assert (w["visited_households"], w["visits"]) == (1, 1)


def test_a_village_account_sees_only_its_own_workers(env):
    seen = _workers(env, who="village1")
    assert env.worker in seen
    assert all(w["grid_code"].startswith(env.village_a) for w in seen.values())
    r = env.demo.client("village1").get(
        f"/api/v1/stats/workers?month=2026-03&grid={env.villages[1]}")
    assert r.status_code == 404


def test_a_planner_may_not_read_it_and_a_bad_month_is_named(env):
    assert env.demo.client("planner").get(URL).status_code == 403
    r = env.demo.client("admin").get("/api/v1/stats/workers?month=2026-13")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "month"
