"""研判 items on the demo town and a second town beside it: made from a warning
sent to 研判 and from incidents, tasks tracked to closure, overdue first, the
escalation chain 街镇 → 区综治中心 → 区委平安建设领导小组 and its refusal past the
top, who may touch which item, the audit rows, and 400s naming the field.

The demo has one town (320282105); the fixture adds a second (320282106, a small
square east of it, with one incident), the two levels above the towns and the
people who sit at them."""

import datetime as dt
import re

import psycopg
import pytest

from layers import judgements, users
from layers.access import SYSTEM
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

PASSWORD = "correct horse battery staple"
TOWN_A, TOWN_B = "320282105", "320282106"
B_CHAIN = (TOWN_B, TOWN_B + "001", TOWN_B + "001001", TOWN_B + "001001001")
SQUARE_B = "ST_Multi(ST_MakeEnvelope(119.85, 31.25, 119.86, 31.26, 4326))"
CHINA = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def jd(databases, demo_town):
    g = demo_town.grids
    villages = sorted(g[g.level == 2].code)

    def setup(c):
        for level, code in enumerate(B_CHAIN, start=1):
            c.execute(
                "INSERT INTO grids (code, name, level, parent_code, geom) VALUES"
                f" (%s, %s, %s, %s, {SQUARE_B})",
                (code, f"乙镇{level}", level, None if level == 1 else code[:-3]))
        c.execute(
            "INSERT INTO incidents (code, category, source, description, geom,"
            " grid_code, county, created_at) VALUES ('JD-B-1', 'dispute', 'hotline',"
            " '邻里纠纷', ST_SetSRID(ST_MakePoint(119.855, 31.255), 4326), %s,"
            " left(%s, 6), now())", (B_CHAIN[-1], B_CHAIN[-1]))
        users.add_user(c, SYSTEM, "jd-b-disp", "dispatcher", TOWN_B, PASSWORD)
        users.add_user(c, SYSTEM, "jd-vadmin", "admin", villages[0], PASSWORD)
        for name in ("jd-district", "jd-group", "jd-outsider"):
            users.add_user(c, SYSTEM, name, "leader", None, PASSWORD)
        judgements.save_level(c, SYSTEM, {
            "name": "区综治中心", "rank": 2, "covers": [TOWN_A, TOWN_B],
            "members": ["jd-district"]})
        judgements.save_level(c, SYSTEM, {
            "name": "区委平安建设领导小组", "rank": 3, "covers": None,
            "members": ["jd-group", "jd-district"]})

    wd = writable_demo(databases, demo_town, setup)
    with psycopg.connect(wd.url) as c:
        def incidents(village, n):
            return [r[0] for r in c.execute(
                "SELECT code FROM incidents WHERE grid_code LIKE %s ORDER BY id"
                " LIMIT %s", (village + "%", n))]

        wd.a_incidents, wd.b_incidents = incidents(villages[0], 3), incidents(
            villages[1], 1)
        wd.micro_a = c.execute("SELECT grid_code FROM incidents WHERE code = %s",
                               (wd.a_incidents[0],)).fetchone()[0]
        # two incidents of the field worker's comprehensive grid
        wd.worker_grid = users.get_user(c, "worker")["grid_code"]
        wd.w_incidents = incidents(wd.worker_grid, 2)
    wd.villages = villages
    return wd


def _warning(jd, grid, category="public_order"):
    with psycopg.connect(jd.url) as c:
        return c.execute(
            "INSERT INTO early_warnings (kind, grid_code, category, first_day,"
            " last_day, since, window_days, observed, expected, p, q, incidents)"
            " VALUES ('grid', %s, %s, current_date, current_date, current_date, 7,"
            " 6, 0.8, 0.0001, 0.002, %s) RETURNING id",
            (grid, category, jd.a_incidents[:2])).fetchone()[0]


def _item(jd, who="dispatcher", **fields):
    body = {"incidents": jd.a_incidents[:2]} | fields
    r = jd.client(who).post("/api/v1/judgements", json=body)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def _audit(jd, table, key):
    with psycopg.connect(jd.url) as c:
        return c.execute(
            "SELECT username, action, after FROM audit WHERE table_name = %s"
            " AND row_key = %s ORDER BY id", (table, str(key))).fetchall()


def _refused(r, field, status=400):
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert error["field"] == field, error
    # Chinese first: the English comes last, in brackets
    message = error["message"]
    assert re.search(r"[\u4e00-\u9fff]", message).start() < message.rfind("（")
    return error["message"]


# from a warning ---------------------------------------------------------------------

def test_assessing_a_warning_makes_its_town_item_once(jd):
    warning = _warning(jd, jd.micro_a)
    r = jd.client("dispatcher").post(f"/api/v1/warnings/{warning}",
                                     json={"action": "assess"})
    assert r.status_code == 200, r.get_json()
    answer = r.get_json()
    assert answer["status"] == "assessing" and answer["id"] == warning  # as before
    item_id = answer["judgement_id"]
    item = jd.client("leader").get(f"/api/v1/judgements/{item_id}").get_json()
    assert item["warning_id"] == warning
    assert item["level_id"] is None and item["rank"] == 1
    assert item["level_label"] == "街镇" and item["town_code"] == TOWN_A
    assert item["grid_code"] == jd.micro_a
    assert item["incidents"] == jd.a_incidents[:2]
    assert "治安" in item["title"] and item["status"] == "open"
    assert item["meeting_on"] is None and item["tasks"] == []
    # assessed again (by a leader): the same item, not a second one
    again = jd.client("leader").post(f"/api/v1/warnings/{warning}",
                                     json={"action": "assess"})
    assert again.get_json()["judgement_id"] == item_id
    # the other actions answer as they did
    ack = jd.client("dispatcher").post(f"/api/v1/warnings/{warning}",
                                       json={"action": "acknowledge"})
    assert ack.status_code == 200 and "judgement_id" not in ack.get_json()
    assert [a for _, a, _ in _audit(jd, "judgement_items", item_id)] == [
        "create", "read"]


def test_an_item_made_directly_from_a_warning(jd):
    warning = _warning(jd, jd.villages[0], "dispute")
    r = jd.client("leader").post("/api/v1/judgements", json={
        "warning_id": warning, "meeting_on": "2026-12-04",
        "participants": "镇综治中心主任、派出所所长、司法所所长",
        "assessment": "邻里纠纷集中于新建小区", "decisions": "组织联合调解"})
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    assert item["grid_code"] == jd.villages[0] and item["meeting_on"] == "2026-12-04"
    assert item["decisions"] == "组织联合调解"


# from incidents, tasks to closure --------------------------------------------------

def test_incidents_with_tasks_to_closure(jd):
    item = _item(jd, "leader", incidents=jd.w_incidents, meeting_on="2026-12-05",
                 tasks=[
        {"description": "入户走访双方当事人", "owner": "worker",
         "deadline": "2099-12-10"},
        {"description": "联系司法所调解", "owner": "dispatcher",
         "deadline": "2099-12-11T18:00"}])
    assert item["grid_code"].startswith(jd.worker_grid)  # both incidents' grid
    assert item["town_code"] == TOWN_A and item["days_open"] == 0
    assert item["open_tasks"] == 2 and item["overdue_tasks"] == 0
    deadlines = {t["description"]: t["deadline"] for t in item["tasks"]}
    # a date alone is its end, China time; the API answers with the offset
    assert deadlines["入户走访双方当事人"] == "2099-12-10T23:59:59+08:00"
    assert deadlines["联系司法所调解"] == "2099-12-11T18:00:00+08:00"
    url = f"/api/v1/judgements/{item['id']}"
    # open tasks: not yet resolved
    _refused(jd.client("leader").post(url + "/resolve", json={"resolution": "已调解"}),
             "judgement_id", 409)
    tasks = {t["owner"]: t["id"] for t in item["tasks"]}
    # the worker (no judgements:edit) marks its own task done, not another's
    r = jd.client("worker").post(f"{url}/tasks/{tasks['dispatcher']}",
                                 json={"status": "done"})
    _refused(r, "judgement_id", 403)
    r = jd.client("worker").post(f"{url}/tasks/{tasks['worker']}",
                                 json={"status": "done", "note": "双方已见面"})
    assert r.status_code == 200, r.get_json()
    done = next(t for t in r.get_json()["tasks"] if t["id"] == tasks["worker"])
    assert done["status"] == "done" and done["done_by"] == "worker"
    assert done["done_at"].endswith("+08:00") and done["note"] == "双方已见面"
    r = jd.client("worker").post(f"{url}/tasks/{tasks['worker']}",
                                 json={"status": "done"})
    _refused(r, "status", 409)
    r = jd.client("dispatcher").post(f"{url}/tasks/{tasks['dispatcher']}",
                                     json={"status": "done"})
    assert r.get_json()["open_tasks"] == 0
    r = jd.client("leader").post(url + "/resolve", json={"resolution": "已调解息诉"})
    assert r.status_code == 200
    closed = r.get_json()
    assert closed["status"] == "resolved" and closed["closed_at"].endswith("+08:00")
    # closed: no more changes, and off the open list
    _refused(jd.client("leader").patch(url, json={"decisions": "x"}),
             "judgement_id", 409)
    open_ids = [i["id"] for i in jd.client("leader").get(
        "/api/v1/judgements?status=open&limit=1000").get_json()["items"]]
    assert item["id"] not in open_ids
    resolved = jd.client("leader").get("/api/v1/judgements?status=resolved")
    assert item["id"] in [i["id"] for i in resolved.get_json()["items"]]
    actions = [(u, a) for u, a, _ in _audit(jd, "judgement_tasks", tasks["worker"])]
    assert actions == [("leader", "create"), ("worker", "update")]


def test_overdue_tasks_come_first_and_are_marked(jd):
    old = _item(jd, "dispatcher", title="较早的事项")
    late = _item(jd, "dispatcher", title="有超期任务的事项", tasks=[
        {"description": "排查隐患", "owner": "village1", "deadline": "2099-01-01"}])
    with psycopg.connect(jd.url) as c:
        c.execute("UPDATE judgement_items SET created_at = now() - interval '9 days'"
                  " WHERE id = %s", (old["id"],))
        c.execute("UPDATE judgement_tasks SET deadline = now() - interval '2 days'"
                  " WHERE item_id = %s", (late["id"],))
    items = jd.client("leader").get("/api/v1/judgements?limit=1000").get_json()[
        "items"]
    ids = [i["id"] for i in items]
    assert ids.index(late["id"]) < ids.index(old["id"])
    assert items[0]["overdue_tasks"] >= 1
    first_late = next(i for i in items if i["id"] == late["id"])
    assert first_late["overdue_tasks"] == 1 and first_late["tasks"][0]["overdue"]
    assert next(i for i in items if i["id"] == old["id"])["days_open"] == 9
    # without overdue tasks, the oldest first
    rest = [i for i in items if not i["overdue_tasks"]]
    assert [i["created_at"] for i in rest] == sorted(i["created_at"] for i in rest)
    page = jd.client("leader").get("/judgements")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "有超期任务的事项" in html and "已超期" in html and "北京时间" in html
    assert html.index("有超期任务的事项") < html.index("较早的事项")


# escalation ----------------------------------------------------------------------

def test_escalation_goes_up_the_chain_and_stops_at_the_top(jd):
    town = _item(jd, "dispatcher", title="土地承包纠纷")
    url = "/api/v1/judgements/{}"
    r = jd.client("dispatcher").post(url.format(town["id"]) + "/escalate",
                                     json={"reason": "涉及多个部门，镇级无法化解"})
    assert r.status_code == 201, r.get_json()
    district = r.get_json()
    assert district["level_name"] == "区综治中心" and district["rank"] == 2
    assert district["escalated_from"] == town["id"]
    assert district["grid_code"] == town["grid_code"] and district["status"] == "open"
    below = jd.client("dispatcher").get(url.format(town["id"])).get_json()
    assert below["status"] == "escalated" and below["escalated_to"] == district["id"]
    assert below["escalation_reason"] == "涉及多个部门，镇级无法化解"
    # the town's people read it (their grid) but the district's item is the
    # district's to handle: a seat there, not the grid
    assert jd.client("dispatcher").get(url.format(district["id"])).status_code == 200
    _refused(jd.client("dispatcher").patch(url.format(district["id"]),
                                           json={"participants": "x"}),
             "judgement_id", 403)
    _refused(jd.client("jd-outsider").patch(url.format(district["id"]),
                                            json={"participants": "x"}),
             "judgement_id", 403)
    r = jd.client("jd-district").patch(url.format(district["id"]), json={
        "meeting_on": "2026-12-06", "participants": "区综治中心、区信访局、镇政府",
        "assessment": "需区级协调"})
    assert r.status_code == 200 and r.get_json()["meeting_on"] == "2026-12-06"
    # the escalated town item changes no more
    _refused(jd.client("dispatcher").post(url.format(town["id"]) + "/escalate",
                                          json={"reason": "again"}),
             "judgement_id", 409)
    r = jd.client("jd-district").post(url.format(district["id"]) + "/escalate",
                                      json={"reason": "报区委平安建设领导小组"})
    assert r.status_code == 201
    top = r.get_json()
    assert top["level_name"] == "区委平安建设领导小组" and top["rank"] == 3
    assert top["escalated_from"] == district["id"]
    message = _refused(jd.client("jd-group").post(url.format(top["id"]) + "/escalate",
                                                  json={"reason": "再提级"}),
                       "judgement_id", 409)
    assert "最高研判层级" in message
    assert jd.client("jd-group").get(url.format(top["id"])).get_json()[
        "status"] == "open"
    # history both ways, in the audit log too
    rows = [r for r in _audit(jd, "judgement_items", district["id"])
            if r[1] != "read"]
    assert [(u, a) for u, a, _ in rows] == [
        ("dispatcher", "create"), ("jd-district", "update"),
        ("jd-district", "update")]
    assert rows[0][2]["escalated_from"] == town["id"]
    assert rows[2][2]["escalated_to"] == top["id"]
    # a level's list: its items only
    listed = jd.client("jd-district").get(
        "/api/v1/judgements?status=escalated&level={}".format(
            district["level_id"])).get_json()["items"]
    assert district["id"] in [i["id"] for i in listed]
    assert {i["level_id"] for i in listed} == {district["level_id"]}
    towns = jd.client("jd-district").get(
        "/api/v1/judgements?status=escalated&level=0").get_json()["items"]
    assert town["id"] in [i["id"] for i in towns]
    assert {i["level_id"] for i in towns} == {None}


def test_an_item_of_two_towns_belongs_to_the_district(jd):
    codes = [jd.a_incidents[0], "JD-B-1"]
    _refused(jd.client("admin").post("/api/v1/judgements",
                                     json={"incidents": codes}), "incidents")
    levels = jd.client("leader").get("/api/v1/judgement-levels").get_json()["items"]
    district = next(lv for lv in levels if lv["rank"] == 2)
    _refused(jd.client("jd-outsider").post("/api/v1/judgements", json={
        "incidents": codes, "level_id": district["id"]}), "level_id", 403)
    r = jd.client("jd-district").post("/api/v1/judgements", json={
        "incidents": codes, "level_id": district["id"]})
    assert r.status_code == 201, r.get_json()
    item = r.get_json()
    assert item["grid_code"] == "320282" and item["level_name"] == "区综治中心"
    # neither town's people see it; the district's do
    for who in ("dispatcher", "jd-b-disp"):
        assert jd.client(who).get(f"/api/v1/judgements/{item['id']}"
                                  ).status_code == 404


# jurisdiction ----------------------------------------------------------------------

def test_a_town_cannot_touch_another_towns_items(jd):
    a_item = _item(jd, "dispatcher", incidents=jd.w_incidents)
    r = jd.client("jd-b-disp").post("/api/v1/judgements",
                                    json={"incidents": ["JD-B-1"]})
    assert r.status_code == 201
    b_item = r.get_json()
    assert b_item["town_code"] == TOWN_B
    for who, item in (("jd-b-disp", a_item), ("dispatcher", b_item)):
        url = f"/api/v1/judgements/{item['id']}"
        assert jd.client(who).get(url).status_code == 404
        _refused(jd.client(who).patch(url, json={"decisions": "x"}),
                 "judgement_id", 404)
        _refused(jd.client(who).post(url + "/escalate", json={"reason": "x"}),
                 "judgement_id", 404)
        listed = jd.client(who).get("/api/v1/judgements?limit=1000").get_json()
        assert item["id"] not in [i["id"] for i in listed["items"]]
    # a village's dispatcher: its village's items only
    b_village = _item(jd, "dispatcher", incidents=jd.b_incidents)
    assert jd.client("village1").get(
        f"/api/v1/judgements/{b_village['id']}").status_code == 404
    _refused(jd.client("village1").post("/api/v1/judgements",
                                        json={"incidents": jd.b_incidents}),
             "incidents", 404)
    # reading is not changing: a field worker reads its grid's item
    assert jd.client("worker").get(f"/api/v1/judgements/{a_item['id']}"
                                   ).status_code == 200
    assert jd.client("worker").patch(f"/api/v1/judgements/{a_item['id']}",
                                     json={"decisions": "x"}).status_code == 403
    assert jd.client("viewer").get("/api/v1/judgements").status_code == 403


def test_reads_and_changes_are_audited(jd):
    item = _item(jd, "leader")
    jd.client("leader").get(f"/api/v1/judgements/{item['id']}")
    jd.client("leader").patch(f"/api/v1/judgements/{item['id']}",
                              json={"decisions": "三日内回访"})
    rows = _audit(jd, "judgement_items", item["id"])
    assert [(u, a) for u, a, _ in rows] == [("leader", "create"), ("leader", "read"),
                                            ("leader", "update")]
    assert rows[2][2] == {"decisions": "三日内回访"}
    with psycopg.connect(jd.url) as c:
        before = c.execute("SELECT count(*) FROM audit WHERE table_name ="
                           " 'judgement_items' AND action = 'read'").fetchone()[0]
    jd.client("leader").get("/api/v1/judgements")
    with psycopg.connect(jd.url) as c:
        after = c.execute("SELECT count(*) FROM audit WHERE table_name ="
                          " 'judgement_items' AND action = 'read'").fetchone()[0]
    assert after == before + 1  # one row per list, however long


# bad input ---------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({}, "warning_id"),
    ({"warning_id": 1, "incidents": ["SJ1"]}, "warning_id"),
    ({"incidents": "SJ1"}, "incidents"),
    ({"incidents": [1, 2]}, "incidents"),
    ({"warning_id": "one"}, "warning_id"),
    ({"warning_id": -4}, "warning_id"),
    ({"level_id": "district"}, "level_id"),
    ({"meeting_on": "12/04/2026"}, "meeting_on"),
    ({"participants": 5}, "participants"),
    ({"assessment": "长" * 4001}, "assessment"),
    ({"tasks": "visit"}, "tasks"),
    ({"tasks": [{"owner": "worker", "deadline": "2099-01-01"}]}, "description"),
    ({"tasks": [{"description": "走访", "deadline": "2099-01-01"}]}, "owner"),
    ({"tasks": [{"description": "走访", "owner": "worker"}]}, "deadline"),
    ({"tasks": [{"description": "走访", "owner": "worker", "deadline": "下周"}]},
     "deadline"),
    ({"tasks": [{"description": "走访", "owner": "worker",
                 "deadline": "2020-01-01"}]}, "deadline"),
    ({"tasks": [{"description": "走访", "owner": "nobody", "deadline": "2099-01-01"}]},
     "owner"),
    ({"tasks": [{"description": "走访", "owner": "jd-b-disp",
                 "deadline": "2099-01-01"}]}, "owner"),
])
def test_bad_bodies_are_400s_naming_the_field(jd, body, field):
    if "warning_id" not in body and field not in ("warning_id",):
        body = {"incidents": jd.a_incidents[:1]} | body
    _refused(jd.client("dispatcher").post("/api/v1/judgements", json=body), field)


def test_bad_changes_are_400s_naming_the_field(jd):
    item = _item(jd, "dispatcher")
    url = f"/api/v1/judgements/{item['id']}"
    client = jd.client("dispatcher")
    _refused(client.patch(url, json={"status": "resolved"}), "status")
    _refused(client.patch(url, json={"title": ""}), "title")
    _refused(client.patch(url, json={"meeting_on": "2026-13-01"}), "meeting_on")
    _refused(client.post(url + "/escalate", json={}), "reason")
    _refused(client.post(url + "/resolve", json={"resolution": "  "}), "resolution")
    _refused(client.post(url + "/tasks", json={"description": "走访",
                                               "deadline": "2099-01-01"}), "owner")
    _refused(client.post(url + "/tasks/1", json={"status": "fly"}), "status")
    _refused(client.get("/api/v1/judgements?status=closed"), "status")
    _refused(client.get("/api/v1/judgements?level=zero"), "level")
    _refused(client.post(url + "/tasks/999999", json={"status": "done"}),
             "task_id", 404)
    _refused(client.get("/api/v1/judgements/999999"), "judgement_id", 404)


# the levels ------------------------------------------------------------------------

def test_levels_are_set_by_an_administrator_of_the_whole_deployment(jd):
    admin = jd.client("admin")
    r = admin.post("/api/v1/judgement-levels", json={
        "name": "市综治中心", "rank": 4, "covers": None, "members": ["jd-group"]})
    assert r.status_code == 201, r.get_json()
    level = r.get_json()
    assert level["members"] == ["jd-group"] and level["covers"] is None
    url = f"/api/v1/judgement-levels/{level['id']}"
    _refused(admin.post("/api/v1/judgement-levels", json={"name": "市综治中心",
                                                          "rank": 5}), "name", 409)
    _refused(admin.post("/api/v1/judgement-levels", json={"name": "x", "rank": 1}),
             "rank")
    _refused(admin.put(url, json={"covers": ["3202821059"]}), "covers")
    _refused(admin.put(url, json={"covers": "320282105"}), "covers")
    _refused(admin.put(url, json={"members": ["nobody"]}), "members")
    _refused(admin.put(url, json={"name": ""}), "name")
    _refused(jd.client("jd-vadmin").put(url, json={"rank": 5}), "level_id", 403)
    _refused(jd.client("jd-vadmin").post("/api/v1/judgement-levels",
                                         json={"name": "村级", "rank": 2}),
             "level_id", 403)
    r = admin.put(url, json={"covers": [TOWN_A], "members": []})
    assert r.status_code == 200
    assert r.get_json()["covers"] == [TOWN_A] and r.get_json()["members"] == []
    listed = jd.client("leader").get("/api/v1/judgement-levels").get_json()["items"]
    assert [lv["rank"] for lv in listed] == sorted(lv["rank"] for lv in listed)
    assert admin.delete(url).status_code == 204
    assert admin.delete(url).status_code == 404
    assert [a for _, a, _ in _audit(jd, "judgement_levels", level["id"])] == [
        "create", "update", "delete"]
    # a level holding items stays
    district = next(lv for lv in listed if lv["rank"] == 2)
    _item(jd, "jd-district", level_id=district["id"])
    _refused(admin.delete(f"/api/v1/judgement-levels/{district['id']}"),
             "level_id", 409)


def test_the_admin_page_lists_the_levels(jd):
    page = jd.client("admin").get("/admin/users").get_data(as_text=True)
    assert 'id="jd-levels"' in page and "区委平安建设领导小组" in page
    scoped = jd.client("jd-vadmin").get("/admin/users").get_data(as_text=True)
    assert 'id="jd-levels"' not in scoped


def test_deadlines_are_read_in_china_time():
    from api.judgements import _deadline

    assert _deadline("2026-12-10") == dt.datetime(2026, 12, 10, 23, 59, 59,
                                                  tzinfo=CHINA)
    assert _deadline("2026-12-10T09:30").utcoffset() == dt.timedelta(hours=8)
    assert _deadline("2026-12-10T01:30Z") == dt.datetime(2026, 12, 10, 9, 30,
                                                         tzinfo=CHINA)
