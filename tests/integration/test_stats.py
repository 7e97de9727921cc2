"""Incident figures per grid and the monthly ranking, on a hand-made set of incidents.

A writable copy of the demo town has its incidents replaced by the ones below,
whose figures are worked out by hand. Times are China time (+08:00); "now" (the
real clock) is long after every deadline.

Village A (village1's jurisdiction), all in its first micro-grid:

====  ===============  ================  ===========  ==========  =================
 #    received         category          closed       deadline    outcome
====  ===============  ================  ===========  ==========  =================
 1    2026-03-02 09:00 dispute           03-05 09:00  03-12       mediated (eval.)
 2    2026-03-10 09:00 dispute           03-25 09:00  03-20       not_mediated
 3    2026-03-15 10:00 environment       03-16 10:00  03-20       handled
 4    2026-03-31 23:30 public_order      open         04-03       — (overdue)
 5    2026-04-01 07:00 environment       open         04-08       — (April: out)
 6    2026-03-01 00:30 dispute           03-03 00:30  03-11       transferred
 7    2026-02-28 23:59 illegal_building  03-01 10:00  03-30       handled
 8-10 2026-02-10/11/20 …                 closed       later       mediated/handled
 11   2025-03-05       dispute           03-08        03-20       mediated
 12   2025-03-20       dispute           03-30        04-04       litigation
====  ===============  ================  ===========  ==========  =================

March 2026 in A: received 5 (#1 2 3 4 6; #6 is 28 Feb 16:30 UTC but 1 March in
China; #5 is 31 March 23:00 UTC but April in China); dispute 3, environment 1,
public order 1; closed 4; resolved 2 (#1 mediated, #3 handled; not_mediated and
transferred are not resolved) → 化解率 0.4; mean days to close (3 + 15 + 1 + 2) / 4 =
5.25; due 5 (4 closed + #4 overdue), on time 3 (#1 3 6) → 0.6; overdue 1; closed
late 1. 环比 (February: #7–10, all resolved): 4 received → +25 %, rate 1.0 →
−0.6. 同比 (March 2025: #11, #12): 2 received → +150 %, rate 0.5 → −0.1.

The other villages in March 2026 (all closed on time unless said):
B 2 resolved; C 4 (3 resolved, 1 open overdue); D 2 (1 resolved, 1 not_mediated
closed late); E 1 open overdue; F 5 resolved (1 late); G 1 resolved late; H none.
Scores with coverage unknown ((0.5·rate + 0.3·timeliness) / 0.8 × 100):
A 47.5, B 100, C 75, D 50, E 0, F (0.5 + 0.24) / 0.8 = 92.5, G 62.5, H none.
"""

import datetime as dt
import io
from types import SimpleNamespace

import openpyxl
import psycopg
import pytest

from layers import stats as stats_layer
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

CN = dt.timezone(dt.timedelta(hours=8))
FORMULA_NAME = '=HYPERLINK("http://example.invalid","点我")'


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=CN)


# (village index, received, category, closed or None, deadline, outcome)
INCIDENTS = [
    (0, "2026-03-02 09:00", "dispute", "2026-03-05 09:00", "2026-03-12 09:00",
     "mediated"),
    (0, "2026-03-10 09:00", "dispute", "2026-03-25 09:00", "2026-03-20 09:00",
     "not_mediated"),
    (0, "2026-03-15 10:00", "environment", "2026-03-16 10:00", "2026-03-20 10:00",
     "handled"),
    (0, "2026-03-31 23:30", "public_order", None, "2026-04-03 23:30", None),
    (0, "2026-04-01 07:00", "environment", None, "2026-04-08 07:00", None),
    (0, "2026-03-01 00:30", "dispute", "2026-03-03 00:30", "2026-03-11 00:30",
     "transferred"),
    (0, "2026-02-28 23:59", "illegal_building", "2026-03-01 10:00",
     "2026-03-30 23:59", "handled"),
    (0, "2026-02-10 09:00", "dispute", "2026-02-12 09:00", "2026-02-20 09:00",
     "mediated"),
    (0, "2026-02-11 09:00", "environment", "2026-02-12 09:00", "2026-02-18 09:00",
     "handled"),
    (0, "2026-02-20 09:00", "public_order", "2026-02-21 09:00", "2026-02-24 09:00",
     "handled"),
    (0, "2025-03-05 09:00", "dispute", "2025-03-08 09:00", "2025-03-20 09:00",
     "mediated"),
    (0, "2025-03-20 09:00", "dispute", "2025-03-30 09:00", "2025-04-04 09:00",
     "litigation"),
    # B: 2 resolved on time
    (1, "2026-03-03 09:00", "dispute", "2026-03-04 09:00", "2026-03-13 09:00",
     "mediated"),
    (1, "2026-03-04 09:00", "environment", "2026-03-05 09:00", "2026-03-09 09:00",
     "handled"),
    # C: 3 resolved on time, 1 open overdue
    *[(2, f"2026-03-0{d} 09:00", "environment", f"2026-03-0{d} 18:00",
       f"2026-03-1{d} 09:00", "handled") for d in (2, 3, 4)],
    (2, "2026-03-05 09:00", "public_order", None, "2026-03-10 09:00", None),
    # D: 1 resolved on time, 1 not mediated and late
    (3, "2026-03-02 09:00", "dispute", "2026-03-03 09:00", "2026-03-12 09:00",
     "mediated"),
    (3, "2026-03-02 10:00", "dispute", "2026-03-30 10:00", "2026-03-12 10:00",
     "not_mediated"),
    # E: 1 open overdue
    (4, "2026-03-06 09:00", "illegal_building", None, "2026-03-27 09:00", None),
    # F: 5 resolved, the last one late
    *[(5, f"2026-03-1{d} 09:00", "dispute", f"2026-03-1{d} 17:00",
       f"2026-03-2{d} 09:00", "mediated") for d in (1, 2, 3, 4)],
    (5, "2026-03-16 09:00", "environment", "2026-03-28 09:00", "2026-03-20 09:00",
     "handled"),
    # G: 1 resolved, late
    (6, "2026-03-09 09:00", "public_order", "2026-03-20 09:00", "2026-03-12 09:00",
     "handled"),
]


@pytest.fixture(scope="module")
def env(databases, demo_town):
    g = demo_town.grids
    villages = sorted(g[g.level == 2].code)
    micros = g[g.level == 4].sort_values("code")
    first = {v: micros[micros.code.str.startswith(v)].iloc[0] for v in villages}

    def setup(c):
        c.execute("DELETE FROM incidents")
        for n, (v, received, category, closed, deadline, outcome) in enumerate(
                INCIDENTS, 1):
            micro = first[villages[v]]
            p = micro.geometry.representative_point()
            status = "open" if closed is None else "closed"
            c.execute(
                "INSERT INTO incidents (code, category, source, description, geom,"
                " grid_code, county, status, deadline, created_at, closed_at,"
                " outcome) VALUES (%s, %s, 'walk_in', 'test',"
                " ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s, %s, %s, %s, %s, %s)",
                (f"T{n:04d}", category, p.x, p.y, micro.code, micro.code[:6],
                 "handling" if status == "open" else
                 ("evaluated" if n == 1 else "closed"),
                 at(deadline), at(received), closed and at(closed), outcome))
        c.execute("UPDATE grids SET name = %s WHERE code = %s",
                  (FORMULA_NAME, villages[7]))

    demo = writable_demo(databases, demo_town, setup)
    with psycopg.connect(demo.url) as c:
        households = dict(c.execute(
            "SELECT left(grid_code, 12), count(*) FROM households GROUP BY 1"))
    town = sorted(g[g.level == 1].code)[0]
    return SimpleNamespace(demo=demo, villages=villages, town=town,
                           micro_a=first[villages[0]].code, households=households)


@pytest.fixture()
def no_coverage(monkeypatch):
    """Coverage unknown, whether or not layers/coverage.py exists yet."""
    monkeypatch.setattr(stats_layer, "coverage_shares", lambda *a: {})


def get(env, url, who="admin"):
    r = env.demo.client(who).get(url)
    assert r.status_code == 200, r.get_data(as_text=True)[:400]
    return r.get_json()


def by_code(items):
    return {g["code"]: g for g in items}


def test_village_a_march_figures_by_hand(env):
    body = get(env, f"/api/v1/stats?grid={env.town}&level=2&month=2026-03")
    assert body["period"] == {
        "month": "2026-03", "from": "2026-03-01", "to": "2026-03-31",
        "start": "2026-03-01T00:00:00+08:00", "end": "2026-04-01T00:00:00+08:00",
        "complete": True}
    assert body["empty"] is False
    assert body["not_compared"] == {"mom": None, "yoy": None}
    assert body["previous_period"]["month"] == "2026-02"
    assert body["year_before_period"]["month"] == "2025-03"
    assert [g["code"] for g in body["grids"]] == env.villages
    a = by_code(body["grids"])[env.villages[0]]
    assert a["received"] == 5
    assert a["by_category"] == {"dispute": 3, "public_order": 1, "environment": 1,
                                "illegal_building": 0}
    assert (a["closed"], a["resolved"]) == (4, 2)
    assert a["resolution_rate"] == 0.4
    assert a["avg_close_days"] == 5.25
    assert (a["due"], a["on_time"], a["timeliness"]) == (5, 3, 0.6)
    assert (a["overdue"], a["closed_late"]) == (1, 1)
    households = env.households[env.villages[0]]
    assert a["households"] == households
    assert a["per_100_households"] == pytest.approx(500 / households, rel=1e-12)
    assert a["mom"]["received"] == 4
    assert a["mom"]["received_change"] == 0.25
    assert a["mom"]["resolution_rate"] == 1.0
    assert a["mom"]["resolution_rate_change"] == pytest.approx(-0.6, abs=1e-12)
    assert a["yoy"]["received"] == 2
    assert a["yoy"]["received_change"] == 1.5
    assert a["yoy"]["resolution_rate"] == 0.5
    assert a["yoy"]["resolution_rate_change"] == pytest.approx(-0.1, abs=1e-12)


def test_other_villages_and_the_total(env):
    body = get(env, f"/api/v1/stats?grid={env.town}&level=2&month=2026-03")
    g = by_code(body["grids"])
    v = env.villages
    b, h = g[v[1]], g[v[7]]
    assert (b["received"], b["resolution_rate"], b["timeliness"]) == (2, 1.0, 1.0)
    # nothing in February: the month-on-month change is undefined, not infinite
    assert b["mom"] == {"received": 0, "received_change": None,
                        "resolution_rate": None, "resolution_rate_change": None}
    assert (h["received"], h["resolution_rate"], h["timeliness"]) == (0, None, None)
    assert h["per_100_households"] == 0.0
    # the town: 5 + 2 + 4 + 2 + 1 + 5 + 1 = 20 received, 2+2+3+1+0+5+1 = 14 resolved
    t = body["total"]
    assert (t["received"], t["resolved"]) == (20, 14)
    assert t["resolution_rate"] == 14 / 20
    town = get(env, f"/api/v1/stats?grid={env.town}&level=1&month=2026-03")
    assert [x["code"] for x in town["grids"]] == [env.town]
    assert town["grids"][0]["received"] == 20


def test_level_4_puts_the_incidents_in_their_micro_grid(env):
    body = get(env, f"/api/v1/stats?grid={env.villages[0]}&level=4&month=2026-03")
    counts = {g["code"]: g["received"] for g in body["grids"]}
    assert all(c.startswith(env.villages[0]) for c in counts)
    assert counts.pop(env.micro_a) == 5
    assert set(counts.values()) == {0}


def test_from_to_period_and_its_comparisons(env):
    # 1–15 March: #1 2 3 (15 March 10:00, the last day is included) 6 → 4
    # before: 14–28 February (15 days): #7 (28 Feb 23:59) and #10 → 2
    # a year earlier: 1–15 March 2025: #11 → 1
    body = get(env, f"/api/v1/stats?grid={env.villages[0]}&level=2"
                    "&from=2026-03-01&to=2026-03-15")
    a = body["grids"][0]
    assert body["previous_period"]["from"] == "2026-02-14"
    assert (a["received"], a["mom"]["received"], a["yoy"]["received"]) == (4, 2, 1)
    assert a["mom"]["received_change"] == 1.0


@pytest.fixture()
def clock(env, monkeypatch):
    """``clock("2026-03-15T12:00:00+08:00")``: pin the statistics' now
    (GRIDGOV_STATS_NOW) of the test's app."""

    def pin(moment):
        monkeypatch.setitem(env.demo.app.config, "STATS_NOW", moment)

    return pin


def test_the_month_still_running_compares_as_long_a_stretch(env, clock):
    # now 15 March 12:00: March so far holds A's #1 2 3 (10:00) 6 → 4; the month
    # before to 15 February 12:00: #8 #9 → 2 (+100 %); March 2025 to the 15th
    # 12:00: #11 → 1 (+300 %). Against whole months it would read −0 % and +100 %.
    clock("2026-03-15T12:00:00+08:00")
    body = get(env, f"/api/v1/stats?grid={env.villages[0]}&level=2&month=2026-03")
    period = body["period"]
    assert (period["month"], period["to"], period["end"], period["complete"]) == (
        "2026-03", "2026-03-15", "2026-03-15T12:00:00+08:00", False)
    assert body["previous_period"]["end"] == "2026-02-15T12:00:00+08:00"
    assert body["year_before_period"]["end"] == "2025-03-15T12:00:00+08:00"
    a = body["grids"][0]
    assert (a["received"], a["mom"]["received"], a["yoy"]["received"]) == (4, 2, 1)
    assert (a["mom"]["received_change"], a["yoy"]["received_change"]) == (1.0, 3.0)
    # by default the last complete month, February; as of the pinned moment
    default = get(env, f"/api/v1/stats?grid={env.villages[0]}&level=2")
    assert (default["period"]["month"], default["period"]["complete"]) == (
        "2026-02", True)
    assert default["as_of"] == "2026-03-15T12:00:00+08:00"
    assert default["grids"][0]["received"] == 4  # #7–10


def test_an_empty_month_compares_nothing_and_ranks_nobody(env, monkeypatch):
    # May 2026: nothing anywhere; April held A's #5. Coverage known everywhere
    # (alone it used to rank the villages and flag three of them 末位).
    v = env.villages
    shares = {code: {"household_share": 0.1 * k, "area_share": 0.1, "cameras": k,
                     "online_cameras": k} for k, code in enumerate(v, 1)}
    monkeypatch.setattr(stats_layer, "coverage_shares", lambda *a: shares)
    body = get(env, f"/api/v1/rankings?grid={env.town}&level=2&month=2026-05")
    assert body["empty"] is True
    assert body["not_compared"] == {"mom": "empty", "yoy": "empty"}
    total = body["total"]
    assert (total["received"], total["mom"]["received"]) == (0, 1)
    assert total["mom"]["received_change"] is None  # not −100 %
    a = by_code(body["items"])[v[0]]
    assert (a["mom"]["received"], a["mom"]["received_change"]) == (1, None)
    assert [(g["rank"], g["score"], g["flagged"]) for g in body["items"]] == [
        (None, None, False)] * 8
    assert by_code(body["items"])[v[7]]["coverage"] == pytest.approx(0.8)
    # the page says so, and flags nobody
    html = env.demo.client("leader").get(
        f"/rankings?grid={env.town}&level=2&month=2026-05").get_data(as_text=True)
    assert "本月无数据" in html and 'id="rank-no-data"' in html
    assert "rank-flagged" not in html and "-100.0%" not in html


def test_a_comparison_with_an_empty_period_says_why_it_is_missing(env):
    # April 2026 (A's #5) against March (20) and April 2025 (nothing)
    body = get(env, f"/api/v1/stats?grid={env.town}&level=2&month=2026-04")
    assert body["empty"] is False
    assert body["not_compared"] == {"mom": None, "yoy": "none_then"}
    assert body["total"]["mom"]["received_change"] == (1 - 20) / 20
    assert body["total"]["yoy"]["received_change"] is None
    html = env.demo.client("leader").get(
        f"/rankings?grid={env.town}&level=2&month=2026-04").get_data(as_text=True)
    assert "去年同期无数据" in html and "上月无数据" not in html


def test_a_bad_pinned_clock_stops_the_start(env):
    from web import create_app

    with pytest.raises(ValueError, match="GRIDGOV_STATS_NOW"):
        create_app({"DATABASE_URL": env.demo.url, "TESTING": True,
                    "SECRET_KEY": "x" * 32, "LOCATE_INDEX_BACKGROUND": False,
                    "STATS_NOW": "next Tuesday"})


def test_village1_sees_only_its_village(env, no_coverage):
    body = get(env, "/api/v1/stats?level=2&month=2026-03", who="village1")
    assert [g["code"] for g in body["grids"]] == [env.villages[0]]
    assert body["grids"][0]["received"] == 5
    # by default its own village's comprehensive grids
    body = get(env, "/api/v1/stats?month=2026-03", who="village1")
    assert body["level"] == 3 and body["root"]["code"] == env.villages[0]
    assert all(g["code"].startswith(env.villages[0]) for g in body["grids"])
    assert sum(g["received"] for g in body["grids"]) == 5
    ranked = get(env, "/api/v1/rankings?level=2&month=2026-03", who="village1")
    assert [g["code"] for g in ranked["items"]] == [env.villages[0]]
    client = env.demo.client("village1")
    for root in (env.villages[1], env.town):  # a neighbour, its own town: 404
        r = client.get(f"/api/v1/stats?grid={root}&level=2&month=2026-03")
        assert r.status_code == 404, root
        assert r.get_json()["error"]["field"] == "grid"


def test_ranking_with_coverage_unknown(env, no_coverage):
    body = get(env, f"/api/v1/rankings?grid={env.town}&level=2&month=2026-03")
    v = env.villages
    assert body["coverage_known"] is False
    order = [(g["code"], g["rank"], g["score"], g["flagged"]) for g in body["items"]]
    assert order == [
        (v[1], 1, 100.0, False), (v[5], 2, 92.5, False), (v[2], 3, 75.0, False),
        (v[6], 4, 62.5, False), (v[3], 5, 50.0, True), (v[0], 6, 47.5, True),
        (v[4], 7, 0.0, True), (v[7], None, None, False)]


def test_ranking_with_coverage(env, monkeypatch):
    v = env.villages
    shares = {v[0]: {"household_share": 1.0, "area_share": 0.5, "cameras": 9,
                     "online_cameras": 8},
              v[7]: {"household_share": 0.1, "area_share": 0.05, "cameras": 1,
                     "online_cameras": 1}}
    monkeypatch.setattr(stats_layer, "coverage_shares", lambda *a: shares)
    body = get(env, "/api/v1/rankings?level=2&month=2026-03")
    g = by_code(body["items"])
    # A: 0.5·0.4 + 0.3·0.6 + 0.2·1 = 0.58; H: coverage alone, 0.1
    assert g[v[0]]["score"] == 58.0 and g[v[0]]["cameras"] == 9
    assert g[v[7]]["score"] == 10.0
    assert {c for c, x in g.items() if x["flagged"]} == {v[3], v[4], v[7]}


def test_xlsx_export_opens_and_keeps_formulas_as_text(env, no_coverage):
    r = env.demo.client("leader").get(
        f"/api/v1/rankings?grid={env.town}&level=2&month=2026-03&format=xlsx")
    assert r.status_code == 200
    assert r.mimetype.endswith("spreadsheetml.sheet")
    assert "rankings-level2-2026-03.xlsx" in r.headers["Content-Disposition"]
    sheet = openpyxl.load_workbook(io.BytesIO(r.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert "2026-03" in rows[0][0]
    assert rows[1][:5] == ("排名 Rank", "末位 Bottom three", "网格编码 Code",
                           "网格名称 Name", "得分 Score")
    data = rows[2:10]
    v = env.villages
    assert [row[2] for row in data] == [v[1], v[5], v[2], v[6], v[3], v[0], v[4],
                                        v[7]]
    assert [row[0] for row in data] == [1, 2, 3, 4, 5, 6, 7, None]
    assert [row[1] for row in data].count("是 yes") == 3
    assert data[5][4] == 47.5 and data[5][5] == 40.0  # A: score, 化解率 %
    # the village renamed "=HYPERLINK(…)" is a text cell, not a formula
    cell = sheet.cell(row=10, column=4)
    assert cell.value == FORMULA_NAME and cell.data_type == "s"


@pytest.mark.parametrize(("query", "field"), [
    ("month=2026-13", "month"), ("month=March", "month"), ("level=5", "level"),
    ("month=2026-03&from=2026-03-01&to=2026-03-02", "month"),
    ("from=2026-03-05&to=2026-03-01", "to"), ("from=2025-01-01&to=2026-03-01", "to"),
    ("from=yesterday&to=2026-03-01", "from"), ("format=svg", "format"),
])
def test_bad_parameters_are_named(env, query, field):
    r = env.demo.client("admin").get(f"/api/v1/rankings?{query}")
    assert r.status_code == 400, query
    assert r.get_json()["error"]["field"] == field


def test_a_level_above_the_root_is_refused(env):
    r = env.demo.client("village1").get("/api/v1/stats?level=1")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "level"


@pytest.mark.parametrize(("who", "status"), [
    ("leader", 200), ("dispatcher", 200), ("worker", 200), ("admin", 200),
    ("planner", 403), ("viewer", 403)])
def test_permission_incidents_read(env, who, status):
    for url in ("/api/v1/stats?month=2026-03", "/api/v1/rankings?month=2026-03",
                "/rankings?month=2026-03"):
        assert env.demo.client(who).get(url).status_code == status, (who, url)


def test_the_page_lists_the_ranking_and_flags_the_last_three(env, no_coverage):
    r = env.demo.client("leader").get(f"/rankings?grid={env.town}&level=2"
                                      "&month=2026-03")
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert html.count('class="rank-flagged"') == 3
    assert "format=xlsx" in html and "网格月度排名" in html
    # the formula-looking name is escaped text in the page
    assert "=HYPERLINK(&#34;http://example.invalid&#34;" in html
