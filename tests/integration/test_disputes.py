"""Whom and where incidents concern, and the recurring disputes (重点关注), through
the API on a writable copy of the demo town.

The rule (3 disputes in 90 days, ``geo.disputes``): as of T = 2026-06-30 12:00
China time, three disputes of one household received at T − n days, T − 10 days
and T. With n = 89 and n = 90 (exactly 90 × 24 h: the window's edge is
inclusive) the household is recurring; with n = 91 it has two disputes in the
window and is not. Three public-order incidents of another household never
count (not 矛盾纠纷).
"""

import datetime as dt
import io
from types import SimpleNamespace

import docx
import psycopg
import pytest

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

URL = "/api/v1/incidents"
RECURRING = "/api/v1/disputes/recurring"
CN = dt.timezone(dt.timedelta(hours=8))
T = dt.datetime(2026, 6, 30, 12, 0, tzinfo=CN)


@pytest.fixture(scope="module")
def env(databases, demo_town):
    demo = writable_demo(databases, demo_town)
    g = demo_town.grids
    villages = sorted(g[g.level == 2].code)
    micros = g[g.level == 4].sort_values("code")
    micro = micros.iloc[0]  # village A's first micro-grid: the worker's too
    other = micros[micros.code.str.startswith(villages[1])].iloc[0]
    with psycopg.connect(demo.url) as c:
        homes = [r[0] for r in c.execute(
            "SELECT id FROM households WHERE grid_code = %s AND phone IS NOT NULL"
            " ORDER BY id LIMIT 12", (micro.code,))]
        elsewhere = c.execute(
            "SELECT id FROM households WHERE grid_code = %s ORDER BY id LIMIT 1",
            (other.code,)).fetchone()[0]
    p, q = micro.geometry.representative_point(), other.geometry.representative_point()
    return SimpleNamespace(demo=demo, micro=micro.code, point=(p.x, p.y),
                           other=other.code, other_point=(q.x, q.y), homes=homes,
                           elsewhere=elsewhere)


def report(env, who="dispatcher", point=None, at=None, **fields):
    lon, lat = point or env.point
    body = {"category": "dispute", "subtype": "neighbour", "source": "walk_in",
            "description": "邻里因排水问题发生争执", "lon": lon, "lat": lat} | fields
    if at is not None:
        body["received_at"] = at.isoformat()
    return env.demo.client(who).post(URL, json=body)


def recurring(env, who="dispatcher", as_of=T, **params):
    r = env.demo.client(who).get(RECURRING, query_string={
        "as_of": as_of.isoformat(), **params})
    assert r.status_code == 200, r.get_json()
    return {it["key"]: it for it in r.get_json()["items"]}


def head(env, household_id):
    with psycopg.connect(env.demo.url) as c:
        return c.execute("SELECT head_name, phone, address FROM households"
                         " WHERE id = %s", (household_id,)).fetchone()


def test_a_registration_keeps_its_household_and_parties_masked_per_role(env):
    home = env.homes[0]
    r = report(env, household_id=home, parties=["张三丰", " 李四 ", "张三丰"],
               at=T - dt.timedelta(days=400))
    assert r.status_code == 201, r.get_json()
    made = r.get_json()
    name, phone, address = head(env, home)
    # the dispatcher may see households whole: names and phone as they are; a
    # name typed twice is one party
    assert made["concern"]["parties"] == ["张三丰", "李四"]
    assert made["concern"]["household"]["head_name"] == name
    assert made["concern"]["address"] == address  # the snapshot
    with psycopg.connect(env.demo.url) as c:
        before = c.execute("SELECT count(*) FROM audit WHERE username = 'leader'"
                           " AND action = 'read' AND table_name = 'incidents'"
                           " AND row_key = %s", (made["code"],)).fetchone()[0]
    # a leader may not: masked, 张三丰 → 张**, the phone 138****5678
    seen = env.demo.client("leader").get(f"{URL}/{made['code']}").get_json()
    assert seen["concern"]["parties"] == ["张**", "李*"]
    assert seen["concern"]["household"]["head_name"] == name[0] + "*" * max(
        len(name) - 1, 1)
    assert seen["concern"]["household"]["phone"] == phone[:3] + "****" + phone[-4:]
    with psycopg.connect(env.demo.url) as c:
        after = c.execute("SELECT count(*) FROM audit WHERE username = 'leader'"
                          " AND action = 'read' AND table_name = 'incidents'"
                          " AND row_key = %s", (made["code"],)).fetchone()[0]
    assert after == before + 1


def test_a_free_address_is_linked_to_the_one_household_there(env):
    home = env.homes[1]
    _, _, address = head(env, home)
    typed = " " + address.replace("号", "#") if "号" in address else address
    r = report(env, address=typed, at=T - dt.timedelta(days=400))
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["concern"]["household_id"] == home
    # an address nobody lives at stays an address
    r = report(env, address="测试村无名路９９９号", at=T - dt.timedelta(days=400))
    assert r.get_json()["concern"] == {"household_id": None, "household": None,
                                       "address": "测试村无名路９９９号",
                                       "parties": []}


@pytest.mark.parametrize(("fields", "field"), [
    ({"household_id": "abc"}, "household_id"),
    ({"household_id": 0}, "household_id"),
    ({"household_id": True}, "household_id"),
    ({"household_id": 2**62}, "household_id"),
    ({"household_id": 999_999_999}, "household_id"),  # none such
    ({"address": 123}, "address"),
    ({"address": "路" * 201}, "address"),
    ({"address": "兴业路\x07181号"}, "address"),
    ({"parties": {"a": 1}}, "parties"),
    ({"parties": [1]}, "parties"),
    ({"parties": ["张" * 51]}, "parties"),
    ({"parties": [f"人{i}" for i in range(21)]}, "parties"),
    ({"parties": ["张三\x07"]}, "parties"),
])
def test_a_bad_concern_is_a_400_naming_the_field_and_stores_nothing(env, fields,
                                                                   field):
    with psycopg.connect(env.demo.url) as c:
        before = c.execute("SELECT count(*) FROM incidents").fetchone()[0]
    r = report(env, **fields)
    assert r.status_code == 400, r.get_json()
    error = r.get_json()["error"]
    assert error["field"] == field
    assert "（" in error["message"]  # 中文（English）
    with psycopg.connect(env.demo.url) as c:
        assert c.execute("SELECT count(*) FROM incidents").fetchone()[0] == before


def test_a_household_outside_the_jurisdiction_is_refused(env):
    # village1 is a dispatcher of village A; the household lies in village B
    r = report(env, who="village1", household_id=env.elsewhere)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == "household_id"
    # the preview refuses it too
    r = env.demo.client("village1").post(URL + "/preview", json={
        "category": "dispute", "source": "walk_in", "description": "纠纷",
        "lon": env.point[0], "lat": env.point[1], "household_id": env.elsewhere})
    assert r.status_code == 400


@pytest.mark.parametrize(("n", "listed"), [(89, True), (90, True), (91, False)])
def test_three_disputes_in_90_days(env, n, listed):
    home = env.homes[{89: 2, 90: 3, 91: 4}[n]]
    for days in (n, 10, 0):
        r = report(env, household_id=home, at=T - dt.timedelta(days=days))
        assert r.status_code == 201, r.get_json()
    found = recurring(env)
    assert (f"h{home}" in found) is listed
    if listed:
        item = found[f"h{home}"]
        assert (item["kind"], item["count"]) == ("household", 3)
        assert [i["created_at"] for i in item["incidents"]] == [
            (T - dt.timedelta(days=d)).isoformat() for d in (n, 10, 0)]
        assert item["last_at"] == T.isoformat()
        # the history says who handled each one and its state
        assert {i["status"] for i in item["incidents"]} == {"registered"}
        assert all(i["actors"] == ["dispatcher"] for i in item["incidents"])
        # the oldest exactly 90 days back still counts, a second more does not
        edge = T + dt.timedelta(days=90 - n)
        assert f"h{home}" in recurring(env, as_of=edge)
        assert f"h{home}" not in recurring(env, as_of=edge + dt.timedelta(seconds=1))


def test_other_categories_do_not_count(env):
    home = env.homes[5]
    for days in (20, 10, 0):
        r = report(env, household_id=home, category="public_order", subtype="fight",
                   at=T - dt.timedelta(days=days))
        assert r.status_code == 201
    assert f"h{home}" not in recurring(env)


def test_the_same_address_and_the_same_pair_of_parties(env):
    for days, address in ((30, "测试村幸福路１８８号"), (20, "测试村 幸福路188#"),
                          (5, "测试村幸福路188号")):
        report(env, address=address, at=T - dt.timedelta(days=days))
    for days, names in ((40, ["王五", "赵六"]), (25, ["赵六", "王 五"]),
                        (2, ["王五", "赵六", "钱七"])):
        report(env, parties=names, at=T - dt.timedelta(days=days))
    found = recurring(env)
    by_address = [it for it in found.values() if it["kind"] == "address"
                  and it["address"] == "测试村幸福路188号"]
    assert len(by_address) == 1 and by_address[0]["count"] == 3
    # the names as the latest incident spelt them (their order: the collation's)
    pairs = [it for it in found.values() if it["kind"] == "parties"
             and sorted(it["parties"]) == ["王五", "赵六"]]
    assert len(pairs) == 1 and pairs[0]["count"] == 3
    # no name nor address in the keys (they end up in URLs)
    assert all("王" not in k and "幸福" not in k for k in found)
    # a leader reads them masked; the read is audited, one row
    with psycopg.connect(env.demo.url) as c:
        before = c.execute("SELECT count(*) FROM audit WHERE username = 'leader'"
                           " AND table_name = 'incident_parties'").fetchone()[0]
    seen = recurring(env, who="leader")
    assert [sorted(it["parties"]) for it in seen.values()
            if it["key"] == pairs[0]["key"]] == [["王*", "赵*"]]
    assert not any("王五" in str(it) for it in seen.values())
    with psycopg.connect(env.demo.url) as c:
        rows = c.execute("SELECT records FROM audit WHERE username = 'leader'"
                         " AND table_name = 'incident_parties' ORDER BY id"
                         ).fetchall()
    assert len(rows) == before + 1 and rows[-1][0] == len(seen)


def test_the_list_is_scoped(env):
    for days in (3, 2, 1):
        r = report(env, point=env.other_point, parties=["孙八", "周九"],
                   at=T - dt.timedelta(days=days))
        assert r.status_code == 201, r.get_json()
    town = recurring(env)
    key = [k for k, it in town.items() if sorted(it["parties"]) == ["周九", "孙八"]]
    assert len(key) == 1
    assert key[0] not in recurring(env, who="village1")  # village A only
    assert key[0] not in recurring(env, grid=env.micro)  # a subtree
    assert key[0] in recurring(env, grid=env.other)


def test_the_rule_is_the_deployments(env):
    home = env.homes[6]
    for days in (50, 40, 30):
        report(env, household_id=home, at=T - dt.timedelta(days=days))
    assert f"h{home}" in recurring(env)
    with psycopg.connect(env.demo.url) as c:
        c.execute("UPDATE meta SET value = '{\"count\": 4, \"days\": 90}'"
                  " WHERE key = 'recurring_disputes'")
    try:
        r = env.demo.client("dispatcher").get(RECURRING, query_string={
            "as_of": T.isoformat()}).get_json()
        assert r["rule"] == {"count": 4, "days": 90}
        assert f"h{home}" not in {it["key"] for it in r["items"]}
    finally:
        with psycopg.connect(env.demo.url) as c:
            c.execute("UPDATE meta SET value = '{\"count\": 3, \"days\": 90}'"
                      " WHERE key = 'recurring_disputes'")


def test_a_visit_clears_the_phone_task_until_the_next_dispute(env):
    home = env.homes[7]
    now = dt.datetime.now(CN)
    for days in (3, 2, 1):
        r = report(env, household_id=home, parties=["吴十", "郑十一"],
                   at=now - dt.timedelta(days=days))
        assert r.status_code == 201, r.get_json()
    worker = env.demo.client("worker")

    def due():
        r = worker.get("/api/v1/me/visits-due")
        assert r.status_code == 200, r.get_json()
        return {it["household"]["id"]: it for it in r.get_json()["items"]
                if it["household"]}

    item = due()[home]
    name, phone, address = head(env, home)
    assert item["household"]["phone"] == phone  # the worker sees it whole: tap it
    assert item["address"] == address and item["count"] == 3
    assert item["last_incident"]["code"].startswith("SJ")
    # the liaison sees it masked
    r = env.demo.client("liaison").get("/api/v1/me/visits-due").get_json()
    masked = [it for it in r["items"] if (it["household"] or {}).get("id") == home]
    assert masked and masked[0]["household"]["phone"] != phone
    r = worker.post("/api/v1/visits", json={"household_id": home, "note": "调解回访",
                                            "visited_at": now.isoformat()})
    assert r.status_code in (200, 201), r.get_json()
    assert home not in due()
    # the next dispute brings it back
    assert report(env, household_id=home).status_code == 201
    assert home in due()


def test_the_monthly_report_lists_the_months_recurring_disputes_masked(env):
    # June 2026 in village A: a pair with disputes on 21 May, 10 and 28 June;
    # the dispatcher reads names whole, the report masks them anyway
    for day in (dt.datetime(2026, 5, 21, 9, tzinfo=CN),
                dt.datetime(2026, 6, 10, 9, tzinfo=CN),
                dt.datetime(2026, 6, 28, 9, tzinfo=CN)):
        assert report(env, parties=["冯十二", "陈十三"], at=day).status_code == 201
    village = env.micro[:12]
    r = env.demo.client("dispatcher").get(
        f"/api/v1/reports/monthly?grid={village}&month=2026-06&format=docx")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    document = docx.Document(io.BytesIO(r.data))
    text = "\n".join([p.text for p in document.paragraphs]
                     + [c.text for t in document.tables for row in t.rows
                        for c in row.cells])
    assert "七、重点关注矛盾纠纷" in text and "八、下步工作建议" in text
    assert "冯十二" not in text and "陈十三" not in text
    assert "冯**" in text and "陈**" in text


def test_an_incident_import_gains_the_same_fields(env):
    home = env.homes[8]
    lon, lat = env.point
    text = ("事件编号,类别,小类,来源,上报时间,住户编号,涉及地址,当事人,lng,lat\n"
            f"IMP-D1,矛盾纠纷,邻里纠纷,热线,2026-06-01 08:00,{home},,"
            f"林一、林二,{lon},{lat}\n"
            f"IMP-D2,矛盾纠纷,邻里纠纷,热线,2026-06-02 08:00,,测试村导入路7号,,"
            f"{lon},{lat}\n"
            f"IMP-D3,矛盾纠纷,邻里纠纷,热线,2026-06-03 08:00,{env.elsewhere},,,"
            f"{lon},{lat}\n"
            f"IMP-D4,矛盾纠纷,邻里纠纷,热线,2026-06-04 08:00,,,{'张' * 51},"
            f"{lon},{lat}\n")
    r = env.demo.client("worker").post(  # imports:run, in village A
        "/api/v1/imports", query_string={"layer": "incidents"},
        data={"file": (io.BytesIO(text.encode()), "incidents.csv")},
        content_type="multipart/form-data")
    assert r.status_code in (200, 201), r.get_json()
    report = r.get_json()
    refused = {e["row"]: e["field"] for e in report["rejected"]}
    # (the header is row 1) row 4 names a household of village B, row 5 a name
    # too long
    assert refused == {4: "household_id", 5: "parties"}, report["rejected"]
    with psycopg.connect(env.demo.url) as c:
        rows = {code: (household, address) for code, household, address in c.execute(
            "SELECT i.code, s.household_id, s.address FROM incidents i"
            " JOIN incident_subjects s ON s.incident_id = i.id"
            " WHERE i.code LIKE 'IMP-D%'")}
        names = [n for (n,) in c.execute(
            "SELECT p.name FROM incident_parties p JOIN incidents i"
            " ON i.id = p.incident_id WHERE i.code = 'IMP-D1' ORDER BY p.position")]
        codes = {r[0] for r in c.execute(
            "SELECT code FROM incidents WHERE code LIKE 'IMP-D%'")}
    assert codes == {"IMP-D1", "IMP-D2"}
    assert rows["IMP-D1"] == (home, head(env, home)[2])  # the address snapshot
    assert rows["IMP-D2"] == (None, "测试村导入路7号")
    assert names == ["林一", "林二"]
