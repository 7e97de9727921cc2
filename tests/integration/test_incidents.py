"""The incident loop through the API, on a writable copy of the demo town.

Known answers come from the official calendar of ``geo/workdays.py``: a public-order
report received Wednesday 2025-09-30 10:00 (3 working days) is due Saturday
2025-10-11 10:00 — Oct 1–8 are the National Day / Mid-Autumn holiday, Oct 9 and 10
count 1 and 2, and Saturday Oct 11 is a 调休 working day (3).
"""

import math
from types import SimpleNamespace

import psycopg
import pytest

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

URL = "/api/v1/incidents"


@pytest.fixture(scope="module")
def env(databases, demo_town):
    demo = writable_demo(databases, demo_town)
    g = demo_town.grids
    villages = sorted(g[g.level == 2].code)
    micros = g[g.level == 4].sort_values("code")
    micro = micros.iloc[0]  # in village A, village1's jurisdiction
    other = micros[micros.code.str.startswith(villages[1])].iloc[0]
    p, q = micro.geometry.representative_point(), other.geometry.representative_point()
    return SimpleNamespace(demo=demo, micro=micro.code, point=(p.x, p.y),
                           other=other.code, other_point=(q.x, q.y))


def report(env, who="dispatcher", point=None, **fields):
    lon, lat = point or env.point
    body = {"category": "dispute", "subtype": "neighbour", "source": "walk_in",
            "reporter": "王大妈", "description": "邻里因排水问题发生争执",
            "lon": lon, "lat": lat} | fields
    return env.demo.client(who).post(URL, json=body)


def act(env, code, action, who="dispatcher", **body):
    return env.demo.client(who).post(f"{URL}/{code}/{action}", json=body)


def east(point, metres):
    lon, lat = point
    return lon + metres / (111_320 * math.cos(math.radians(lat))), lat


def test_register_assigns_the_grid_and_a_working_day_deadline(env):
    r = report(env, category="public_order", subtype="theft",
               received_at="2025-09-30T10:00:00+08:00")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["grid_code"] == env.micro
    assert body["deadline"] == "2025-10-11T10:00:00+08:00"
    assert body["created_at"] == "2025-09-30T10:00:00+08:00"
    assert body["code"].startswith("SJ20250930") and isinstance(body["id"], int)
    assert (body["status"], body["escalation_level"]) == ("registered", 4)
    assert [e["action"] for e in body["events"]] == ["register"]
    assert body["events"][0]["actor"] == "dispatcher"
    # ten working days for a dispute, from the same moment: Oct 9, 10, 11 (调休),
    # 13–17, 20, 21 → Tuesday 2025-10-21
    r = report(env, received_at="2025-09-30T10:00:00+08:00")
    assert r.get_json()["deadline"] == "2025-10-21T10:00:00+08:00"
    with psycopg.connect(env.demo.url) as c:
        n = c.execute("SELECT count(*) FROM audit WHERE table_name = 'incidents'"
                      " AND action = 'create' AND row_key = %s",
                      (body["code"],)).fetchone()[0]
    assert n == 1


def test_a_report_20_m_away_is_a_duplicate_and_can_be_linked(env):
    near = east(env.point, 20)
    first = report(env, category="environment", subtype="dumping",
                   point=near, received_at="2026-03-02T09:00:00+08:00").get_json()
    here = east(env.point, 40)  # 20 m from the first
    body = {"category": "environment", "subtype": "dumping", "source": "hotline",
            "description": "河道旁有人倾倒建筑垃圾", "lon": here[0], "lat": here[1],
            "received_at": "2026-03-04T15:00:00+08:00"}
    client = env.demo.client("dispatcher")
    preview = client.post(URL + "?preview=1", json=body).get_json()
    found = {d["code"]: d for d in preview["duplicates"]}
    assert first["code"] in found
    assert found[first["code"]]["distance_m"] == pytest.approx(20, abs=0.5)
    assert preview["grid_code"] == env.micro
    # the twin route answers the same; another category is no duplicate
    twin = client.post(URL + "/preview", json=body).get_json()
    assert first["code"] in {d["code"] for d in twin["duplicates"]}
    other = client.post(URL + "/preview", json=body | {"category": "dispute",
                                                       "subtype": "neighbour"})
    assert first["code"] not in {d["code"] for d in other.get_json()["duplicates"]}
    # eight days later it is no longer a likely duplicate
    late = client.post(URL + "/preview",
                       json=body | {"received_at": "2026-03-11T09:00:01+08:00"})
    assert first["code"] not in {d["code"] for d in late.get_json()["duplicates"]}

    with psycopg.connect(env.demo.url) as c:
        before = c.execute("SELECT count(*) FROM incidents").fetchone()[0]
    linked = client.post(URL, json=body | {"link_to": first["code"]})
    assert linked.status_code == 200
    incident = linked.get_json()["incident"]
    assert incident["code"] == first["code"]
    assert [e["action"] for e in incident["events"]] == ["register", "link"]
    assert incident["events"][1]["details"]["source"] == "hotline"
    with psycopg.connect(env.demo.url) as c:
        assert c.execute("SELECT count(*) FROM incidents").fetchone()[0] == before


def test_the_whole_loop(env):
    code = report(env).get_json()["code"]
    r = act(env, code, "dispatch", note="请网格联络员上门了解")
    assert r.status_code == 200, r.get_json()
    triaged = r.get_json()
    assert triaged["status"] == "dispatched"
    routed = triaged["events"][-1]["details"]
    # a level-4 incident goes to its micro-grid's liaison
    assert (routed["assignee_role"], routed["assignee_grid"]) == ("liaison", env.micro)
    assert triaged["assignee_id"] == routed["assignee_id"]
    assert act(env, code, "handle").get_json()["status"] == "handling"
    assert act(env, code, "feedback", note="已上门调解，双方同意疏通排水沟"
               ).status_code == 200
    closed = act(env, code, "close", note="调解成功", outcome="mediated").get_json()
    assert (closed["status"], closed["outcome"]) == ("closed", "mediated")
    assert closed["closed_at"] is not None
    r = env.demo.client("dispatcher").post(f"{URL}/{code}/transitions", json={
        "action": "evaluate", "satisfaction": 5, "note": "回访满意"})
    assert r.status_code == 200
    done = env.demo.client("leader").get(f"{URL}/{code}").get_json()
    assert (done["status"], done["satisfaction"]) == ("evaluated", 5)
    assert [(e["action"], e["status"]) for e in done["events"]] == [
        ("register", "registered"), ("triage", "dispatched"),
        ("accept", "handling"), ("feedback", "handling"), ("close", "closed"),
        ("evaluate", "evaluated")]
    assert done["actions"] == ["reopen"]
    with psycopg.connect(env.demo.url) as c:
        audited = c.execute("SELECT count(*) FROM audit WHERE table_name = 'incidents'"
                            " AND row_key = %s AND action <> 'read'",
                            (code,)).fetchone()[0]
    assert audited == 6  # create + five transitions (the leader's read apart)


def test_transitions_not_allowed_are_409_naming_the_state(env):
    code = report(env).get_json()["code"]
    r = act(env, code, "evaluate", satisfaction=4)
    assert r.status_code == 409
    error = r.get_json()["error"]
    assert error["state"] == "registered" and "registered" in error["message"]
    assert act(env, code, "close", outcome="mediated").status_code == 409
    # a closed incident takes no feedback
    for action, extra in (("triage", {}), ("accept", {}),
                          ("close", {"outcome": "transferred"})):
        assert act(env, code, action, **extra).status_code == 200
    r = act(env, code, "feedback", note="再次反馈")
    assert (r.status_code, r.get_json()["error"]["state"]) == (409, "closed")
    # and nothing was recorded for the refused ones
    events = env.demo.client("dispatcher").get(f"{URL}/{code}").get_json()["events"]
    assert [e["action"] for e in events] == ["register", "triage", "accept", "close"]


@pytest.mark.parametrize(("action", "body", "field"), [
    ("accept", {"note": 5}, "note"),
    ("remind", {"outcome": "mediated"}, "outcome"),  # does not go with remind
    ("fly", {}, "action"),
])
def test_bad_transition_input_names_the_field(env, action, body, field):
    code = report(env).get_json()["code"]
    r = act(env, code, action, **body)
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, field)


def test_close_needs_an_outcome_and_evaluate_a_satisfaction(env):
    code = report(env).get_json()["code"]
    act(env, code, "triage", department="镇综合执法局")
    act(env, code, "accept")
    r = act(env, code, "close")
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "outcome")
    act(env, code, "close", outcome="litigation")
    for stars in (0, 6, "many", True):
        r = act(env, code, "evaluate", satisfaction=stars)
        assert (r.status_code, r.get_json()["error"]["field"]) == (
            400, "satisfaction"), stars
    assert act(env, code, "evaluate", satisfaction=1).status_code == 200
    reopened = act(env, code, "reopen", note="当事人不满意").get_json()
    assert (reopened["status"], reopened["closed_at"], reopened["satisfaction"]) == (
        "handling", None, None)


def test_the_outcome_must_fit_the_category(env):
    dispute = report(env).get_json()["code"]
    dumping = report(env, category="environment", subtype="dumping",
                     description="河边有人倾倒建筑垃圾").get_json()["code"]
    for code in (dispute, dumping):
        act(env, code, "triage", department="镇综合执法局")
        act(env, code, "accept")
    r = act(env, dumping, "close", outcome="mediated")
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "outcome")
    assert "环境" in r.get_json()["error"]["message"]
    assert "handled" in r.get_json()["error"]["message"]
    r = act(env, dispute, "close", outcome="handled")
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "outcome")
    # the refused close changed nothing
    assert env.demo.client("dispatcher").get(f"{URL}/{dispute}").get_json()[
        "status"] == "handling"
    assert act(env, dumping, "close", outcome="handled").get_json()["outcome"] == \
        "handled"
    assert act(env, dispute, "close", outcome="transferred").status_code == 200


@pytest.mark.parametrize(("field", "value"), [
    ("category", "weather"), ("subtype", "theft"), ("source", "rumour"),
    ("description", ""), ("lat", "north"), ("crs", "EPSG:1"),
    ("received_at", "yesterday"), ("received_at", "2999-01-01T00:00:00+08:00"),
])
def test_bad_registrations_name_the_field(env, field, value):
    r = report(env, **{field: value})
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, field)


def test_a_location_outside_the_deployment(env):
    r = report(env, point=(116.39, 39.91))  # Beijing
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "lon")


def test_escalation_climbs_one_level_into_that_queue(env):
    code = report(env, subtype="land").get_json()["code"]
    act(env, code, "triage")
    up = act(env, code, "escalate", note="涉及土地确权，提级村处理").get_json()
    assert (up["escalation_level"], up["status"]) == (3, "registered")
    assert up["events"][-1]["details"] == {"from_level": 4, "to_level": 3}
    queue = env.demo.client("dispatcher").get(
        URL + "?level=3&status=registered&limit=1000").get_json()
    assert code in {i["code"] for i in queue["items"]}
    # triaged at level 3, it goes to the comprehensive grid's full-time worker
    routed = act(env, code, "triage").get_json()["events"][-1]["details"]
    assert (routed["assignee_role"], routed["assignee_grid"]) == (
        "full_time", env.micro[:15])
    assert act(env, code, "escalate").get_json()["escalation_level"] == 2
    assert act(env, code, "escalate").get_json()["escalation_level"] == 1
    r = act(env, code, "escalate")
    assert r.status_code == 409 and "level 1" in r.get_json()["error"]["message"]


def test_overdue_items_are_flagged_and_listed(env):
    late = report(env, category="public_order", subtype="fight",
                  received_at="2025-09-30T10:00:00+08:00").get_json()["code"]
    fresh = report(env).get_json()
    assert fresh["overdue"] is False
    client = env.demo.client("leader")
    listed = client.get(URL + "?overdue=1&limit=1000").get_json()
    flagged = {i["code"]: i for i in listed["items"]}
    assert late in flagged and flagged[late]["overdue"] is True
    assert fresh["code"] not in flagged
    deadlines = [i["deadline"] for i in listed["items"]]
    assert deadlines == sorted(deadlines)  # soonest deadline first
    assert listed["total"] >= len(listed["items"])
    others = client.get(URL + "?overdue=0&limit=1000&category=dispute").get_json()
    assert fresh["code"] in {i["code"] for i in others["items"]}
    reminded = act(env, late, "remind", note="请加快处置").get_json()
    assert reminded["events"][-1]["details"] == {"overdue": True}
    assert reminded["status"] == "registered"


def test_a_village_dispatcher_sees_and_acts_only_in_its_village(env):
    code = report(env, point=env.other_point).get_json()["code"]
    village = env.demo.client("village1")
    assert village.get(f"{URL}/{code}").status_code == 404
    assert village.post(f"{URL}/{code}/triage", json={}).status_code == 404
    assert village.post(f"{URL}/{code}/transitions",
                        json={"action": "remind"}).status_code == 404
    listed = village.get(URL + "?limit=1000").get_json()["items"]
    assert code not in {i["code"] for i in listed}
    assert all(i["grid_code"].startswith(env.micro[:12]) for i in listed)
    # nor register there
    r = report(env, who="village1", point=env.other_point)
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "lon")
    assert report(env, who="village1").status_code == 201


def test_feedback_proposes_an_outcome_that_the_card_shows(env):
    """处置反馈 carries the outcome the grid worker proposes (issue 15): checked
    as at closing, kept on the event, not the incident's outcome; the card
    (GET) shows the last one until the incident is reopened."""
    code = report(env).get_json()["code"]
    act(env, code, "triage", department="镇综合执法局")
    act(env, code, "accept")
    for bad in ("handled", "fly", 5):  # handled does not close a dispute
        r = act(env, code, "feedback", note="已调解", outcome=bad)
        assert (r.status_code, r.get_json()["error"]["field"]) == (400, "outcome"), bad
    assert "矛盾纠纷" in act(env, code, "feedback", note="x", outcome="handled"
                         ).get_json()["error"]["message"]
    r = act(env, code, "feedback", note="双方已达成调解协议", outcome="mediated")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["events"][-1]["details"] == {"outcome": "mediated"}
    assert (body["status"], body["outcome"]) == ("handling", None)
    assert body["proposed_outcome"] == "mediated"
    # a later note without an outcome keeps the proposal; a new one replaces it
    act(env, code, "feedback", note="补充材料")
    card = env.demo.client("dispatcher").get(f"{URL}/{code}").get_json()
    assert card["proposed_outcome"] == "mediated"
    act(env, code, "feedback", note="一方反悔", outcome="not_mediated")
    card = env.demo.client("dispatcher").get(f"{URL}/{code}").get_json()
    assert card["proposed_outcome"] == "not_mediated"
    act(env, code, "close", outcome="not_mediated")
    reopened = act(env, code, "reopen", note="重新调解").get_json()
    assert reopened["proposed_outcome"] is None


def test_the_card_names_the_grid_chain_and_its_staff(env):
    """GET /incidents/<code> gives the grid chain by name (town first) and the
    active staff of that chain, the micro-grid's first: whom triage may pick."""
    code = report(env).get_json()["code"]
    card = env.demo.client("dispatcher").get(f"{URL}/{code}").get_json()
    m = env.micro
    assert [(g["level"], g["code"]) for g in card["grid_chain"]] == [
        (1, m[:9]), (2, m[:12]), (3, m[:15]), (4, m)]
    with psycopg.connect(env.demo.url) as c:
        names = [r[0] for r in c.execute(
            "SELECT name FROM grids WHERE code = ANY(%s) ORDER BY level",
            ([m[:9], m[:12], m[:15], m],))]
        staff = {r[0]: r[1] for r in c.execute(
            "SELECT id, grid_code FROM grid_staff WHERE active"
            " AND grid_code = ANY(%s)", ([m[:9], m[:12], m[:15], m],))}
    assert [g["name"] for g in card["grid_chain"]] == names
    assert {s["id"] for s in card["staff"]} == set(staff)
    levels = [s["level"] for s in card["staff"]]
    assert levels == sorted(levels, reverse=True) and levels[0] == 4
    assert all(len(s["grid_code"]) == 6 + 3 * s["level"] for s in card["staff"])
    # the first of them is one triage accepts
    r = act(env, code, "triage", assignee_id=card["staff"][0]["id"])
    assert r.status_code == 200, r.get_json()


def test_a_leader_reads_but_does_not_register_or_act(env):
    code = report(env).get_json()["code"]
    leader = env.demo.client("leader")
    assert leader.get(f"{URL}/{code}").status_code == 200
    assert report(env, who="leader").status_code == 403
    assert leader.post(f"{URL}/{code}/triage", json={}).status_code == 403
    assert env.demo.client("viewer").get(URL).status_code == 403
    assert env.demo.client().get(URL).status_code == 401


EXTRA = {"close": {"outcome": "mediated"}, "evaluate": {"satisfaction": 3},
         "feedback": {"note": "进展"}, "triage": {"department": "镇综治办"}}


@pytest.mark.parametrize("state", ["registered", "dispatched", "handling", "closed",
                                   "evaluated"])
def test_the_state_machine_allows_exactly_its_table(env, state):
    """Every (state, action) pair through the layer: allowed ones work, the others
    are Conflict; each run is rolled back."""
    from layers import incidents
    from layers.access import SYSTEM
    from layers.errors import Conflict

    code = report(env).get_json()["code"]
    for action, (sources, target) in incidents.TRANSITIONS.items():
        with psycopg.connect(env.demo.url) as c, c.transaction(force_rollback=True):
            closed = state in ("closed", "evaluated")
            c.execute("UPDATE incidents SET status = %s, closed_at = %s,"
                      " escalation_level = 3 WHERE code = %s",
                      (state, "2026-01-05" if closed else None, code))
            if state in sources:
                after = incidents.transition(c, SYSTEM, code, action,
                                             **EXTRA.get(action, {}))
                assert after["status"] == (target or state), action
                assert after["events"][-1]["action"] == action
            else:
                with pytest.raises(Conflict, match=state):
                    incidents.transition(c, SYSTEM, code, action,
                                         **EXTRA.get(action, {}))


def test_start_up_warns_when_the_calendar_lacks_a_year(demo_url, caplog):
    """Deadlines of a year the calendar lacks count weekends only: say so at
    start-up, and be quiet once the deployment configures that year."""
    import datetime as dt

    from web import create_app

    base = {"DATABASE_URL": demo_url, "SECRET_KEY": "x", "TESTING": True}
    year = dt.date.today().year
    with caplog.at_level("WARNING"):
        create_app(base)
    from geo import workdays

    known = workdays.china().years  # 2004–2026 in chinesecalendar 1.11
    expected = [y for y in (year, year + 1) if y not in known]
    warned = [r.getMessage() for r in caplog.records if "节假日日历" in r.getMessage()]
    assert bool(warned) == bool(expected)  # warned here until the package has 2027
    if expected:
        assert str(expected[-1]) in warned[0]
    caplog.clear()
    with caplog.at_level("WARNING"):
        create_app(base | {"INCIDENT_HOLIDAYS": [f"{year}-01-01",
                                                 f"{year + 1}-01-01"]})
    assert not [r for r in caplog.records if "节假日日历" in r.getMessage()]
