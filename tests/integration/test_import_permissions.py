"""Imports need the permission that editing their layer needs, keep to the
user's jurisdiction, and change incidents only through the incident loop's state
machine (the security issue, item 3; and item 8: incidents without a time)."""

import datetime as dt
import io

import psycopg
import pytest
from click.testing import CliRunner

from layers import users
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

HEADER = "事件编号,类别,小类,来源,描述,上报时间,状态,lon,lat"


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    with psycopg.connect(rw.url) as c:
        rw.worker_grid = users.get_user(c, "worker")["grid_code"]
    return rw


def post(client, data, layer, name="file.csv", **args):
    return client.post("/api/v1/imports",
                       query_string={"layer": layer, "crs": "wgs84", **args},
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def refused(r):
    """An import that stores nothing is refused (422, not recorded), its counts
    and rejected rows beside the reason."""
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert error["field"] == "file"
    return error


def incident_line(code, lon, lat, category="矛盾纠纷", subtype="邻里纠纷",
                  source="热线", description="", time="", status=""):
    return (f"{code},{category},{subtype},{source},{description},{time},{status},"
            f"{lon!r},{lat!r}")


def csv(*lines, header=HEADER):
    return ("\n".join([header, *lines]) + "\n").encode("utf-8")


def snapshot(url, code):
    """An incident's row and its events, as stored."""
    with psycopg.connect(url) as c:
        row = c.execute("SELECT i.*, ST_AsText(i.geom) FROM incidents i"
                        " WHERE code = %s", (code,)).fetchone()
        events = c.execute(
            "SELECT e.id, action, e.status, actor, note FROM incident_events e"
            " JOIN incidents i ON i.id = e.incident_id WHERE i.code = %s"
            " ORDER BY e.at, e.id", (code,)).fetchall()
    return row, events


def events_of(url, code):
    return [(e[1], e[2], e[3]) for e in snapshot(url, code)[1]]


def demo_incident(demo_town, prefix, status):
    i = demo_town.incidents
    return i[i.grid_code.str.startswith(prefix) & (i.status == status)].iloc[0]


def same_record(inc, **changes):
    """A file row that repeats the stored incident ``inc`` (labels in Chinese)."""
    from geo import vocab

    fields = {
        "category": vocab.INCIDENT_CATEGORIES[inc.category][0],
        "subtype": vocab.INCIDENT_CATEGORIES[inc.category][2][inc.subtype][0]
        if inc.subtype else "",
        "source": vocab.INCIDENT_SOURCES[inc.source][0],
        "description": inc.description or "",
        "time": inc.created_at.isoformat()}
    return incident_line(inc.code, inc.geometry.x, inc.geometry.y,
                         **fields | changes)


def register(rw, user, lon, lat, description):
    r = rw.client(user).post("/api/v1/incidents", json={
        "category": "dispute", "subtype": "neighbour", "source": "hotline",
        "description": description, "lon": lon, "lat": lat})
    assert r.status_code == 201, r.get_json()
    return r.get_json()["code"]


def inside(demo_town, prefix, k=0):
    """A point inside the k-th micro-grid under ``prefix``."""
    g = demo_town.grids
    micro = g[(g.level == 4) & g.code.str.startswith(prefix)].sort_values("code")
    p = micro.geometry.iloc[k].representative_point()
    return p.x, p.y


# Permissions ----------------------------------------------------------------------

def test_a_field_worker_may_not_import_cameras(rw, demo_town):
    """The attack: a field worker renamed a camera and set it offline."""
    cams = demo_town.cameras
    cam = cams[cams.grid_code.str.startswith(rw.worker_grid)].iloc[0]
    data = csv(f"{cam.code},改掉的名字,球机,,360,80,公安,离线,"
               f"{cam.geometry.x!r},{cam.geometry.y!r}",
               header="设备编号,名称,类型,朝向,视场角,可视距离,归属,状态,lon,lat")
    with psycopg.connect(rw.url) as c:
        before = c.execute("SELECT name, status, kind FROM cameras WHERE code = %s",
                           (cam.code,)).fetchone()
        imports_before = c.execute("SELECT count(*) FROM imports").fetchone()[0]
    for dry_run in ("1", "0"):
        r = post(rw.client("worker"), data, "cameras", dry_run=dry_run)
        assert r.status_code == 403, r.get_json()
        message = r.get_json()["error"]["message"]
        assert "cameras:edit" in message and "视频点位" in message
    with psycopg.connect(rw.url) as c:
        assert c.execute("SELECT name, status, kind FROM cameras WHERE code = %s",
                         (cam.code,)).fetchone() == before
        assert c.execute("SELECT count(*) FROM imports").fetchone()[0] \
            == imports_before
    # the permission is refused before the file is read: an unreadable file
    # gets the 403, not the reader's 400
    r = post(rw.client("worker"), b"\x00\x01 not a table", "cameras")
    assert r.status_code == 403
    # a planner (cameras:edit) may
    r = post(rw.client("planner"), data, "cameras", dry_run="1")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["counts"]["updated"] == 1


@pytest.mark.parametrize(("user", "layer", "permission"), [
    ("planner", "incidents", "incidents:edit"),
    ("worker", "staff", "users:manage"),
    ("worker", "grids", "grids:edit"),
    ("planner", "households", "households:edit"),
])
def test_each_layer_needs_its_edit_permission(rw, user, layer, permission):
    r = post(rw.client(user), b"whatever", layer)
    assert r.status_code == 403
    assert permission in r.get_json()["error"]["message"]


def test_a_planner_may_not_change_incidents_by_import(rw, demo_town):
    """The attack: a planner moved an incident from handling back to registered
    and replaced its description, and no event was written."""
    inc = demo_incident(demo_town, rw.worker_grid, "handling")
    before = snapshot(rw.url, inc.code)
    data = csv(same_record(inc, description="已被改写", status="受理登记"))
    r = post(rw.client("planner"), data, "incidents")
    assert r.status_code == 403
    assert "incidents:edit" in r.get_json()["error"]["message"]
    assert snapshot(rw.url, inc.code) == before


def test_the_page_offers_only_the_layers_the_role_may_edit(rw):
    page = rw.client("worker").get("/import")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'value="households"' in html and 'value="incidents"' in html
    assert 'value="cameras"' not in html and 'value="staff"' not in html
    assert 'value="grids"' not in html


def test_cli_refuses_a_missing_permission_in_one_line(rw, tmp_path):
    from web.cli import main

    path = tmp_path / "cameras.csv"
    path.write_bytes(b"\x00\x01 not a table")  # never read: refused before
    env = {"GRIDGOV_DATABASE_URL": rw.url}
    runner = CliRunner()
    for layer, permission in (("cameras", "cameras:edit"), ("staff", "users:manage")):
        out = runner.invoke(main, ["import", str(path), "--layer", layer,
                                   "--user", "worker"], env=env)
        assert out.exit_code == 1, out.output
        lines = [line for line in out.output.splitlines() if line.strip()]
        assert len(lines) == 1, out.output
        assert permission in lines[0] and "无权导入" in lines[0]


# The incident loop ----------------------------------------------------------------

def test_an_import_may_not_move_an_incident_backwards(rw, demo_town):
    inc = demo_incident(demo_town, rw.worker_grid, "handling")
    before = snapshot(rw.url, inc.code)
    data = csv(same_record(inc, status="受理登记"))
    r = post(rw.client("worker"), data, "incidents", name="back.csv")
    report = refused(r)
    assert report["counts"] == {"read": 1, "added": 0, "updated": 0,
                                "unchanged": 0, "rejected": 1}
    (why,) = report["rejected"]
    assert why["field"] == "status"
    assert why["reason"].startswith(
        f"事件 {inc.code} 不能从 处置反馈 改为 受理登记")
    assert f"Incident {inc.code} cannot go from handling back to registered" \
        in why["reason"]
    assert snapshot(rw.url, inc.code) == before


def test_an_import_may_not_rewrite_a_registered_incident(rw, demo_town):
    inc = demo_incident(demo_town, rw.worker_grid, "handling")
    before = snapshot(rw.url, inc.code)
    x, y = inside(demo_town, rw.worker_grid, 1)
    rows = [same_record(inc, description="已被改写"),
            same_record(inc, category="治安", subtype="")]
    for i, line in enumerate(rows):
        r = post(rw.client("worker"), csv(line), "incidents", name=f"re{i}.csv")
        (why,) = refused(r)["rejected"]
        assert f"incident {inc.code} is registered already" in why["reason"]
        assert refused(r)["counts"]["rejected"] == 1
    moved = same_record(inc)
    moved = moved.rsplit(",", 2)[0] + f",{x!r},{y!r}"
    r = post(rw.client("worker"), csv(moved), "incidents", name="moved.csv")
    (why,) = refused(r)["rejected"]
    assert why["field"] == "geometry" and "位置" in why["reason"]
    assert snapshot(rw.url, inc.code) == before
    # the same record with no status: unchanged, nothing written
    r = post(rw.client("worker"), csv(same_record(inc)), "incidents", name="s.csv")
    assert r.get_json()["counts"]["unchanged"] == 1
    assert snapshot(rw.url, inc.code) == before


def test_a_closed_incident_cannot_be_reopened_by_import(rw, demo_town):
    inc = demo_incident(demo_town, rw.worker_grid, "closed")
    before = snapshot(rw.url, inc.code)
    r = post(rw.client("worker"), csv(same_record(inc, status="处置反馈")),
             "incidents", name="reopen.csv")
    (why,) = refused(r)["rejected"]
    assert "cannot go from closed back to handling" in why["reason"]
    assert snapshot(rw.url, inc.code) == before


def test_new_incidents_each_get_their_registration_event(rw, demo_town):
    points = [inside(demo_town, rw.worker_grid, k) for k in range(3)]
    data = csv(*(incident_line(f"IMP-N{k}", x, y, description=f"新事件{k}",
                               time="2026-10-09 09:30")
                 for k, (x, y) in enumerate(points)))
    r = post(rw.client("worker"), data, "incidents", name="new.csv")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["counts"]["added"] == 3
    with psycopg.connect(rw.url) as c:
        rows = c.execute(
            "SELECT i.code, i.status, i.created_at, i.deadline, e.action, e.status,"
            " e.actor, e.at, e.note, e.details FROM incidents i"
            " JOIN incident_events e ON e.incident_id = i.id"
            " WHERE i.code LIKE 'IMP-N%' ORDER BY i.code, e.id").fetchall()
    assert [r[0] for r in rows] == ["IMP-N0", "IMP-N1", "IMP-N2"]  # one event each
    received = dt.datetime(2026, 10, 9, 1, 30, tzinfo=dt.UTC)  # 09:30 in China
    for k, row in enumerate(rows):
        assert row[1] == "registered" and row[2] == received
        assert row[4:7] == ("register", "registered", "worker")
        assert row[7] == received and row[8] == f"新事件{k}"
        assert row[9]["source"] == "hotline"
        # ten working days for a dispute, as registration through the API:
        # from Friday 9 October 2026: Saturday 10 (调休, a working day), 12–16,
        # 19–22 October: due Thursday 22 October, 09:30
        assert row[3] == dt.datetime(2026, 10, 22, 1, 30, tzinfo=dt.UTC)


def test_transitions_by_import_go_through_the_state_machine(rw, demo_town):
    x, y = inside(demo_town, rw.worker_grid, 2)
    first = register(rw, "worker", x, y, "楼道堆物")
    second = register(rw, "worker", x + 1e-5, y, "噪声扰民")
    with psycopg.connect(rw.url) as c:
        stored = {code: c.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE code = %s",
            (code,)).fetchone() for code in (first, second)}
    lines = [incident_line(code, *stored[code], status=status)
             for code, status in ((first, "审核分流"), (second, "处置反馈"))]
    lines.append(incident_line("IMP-T1", x, y, description="新的", status="审核分流"))
    dry = post(rw.client("worker"), csv(*lines), "incidents", name="t.csv",
               dry_run="1")
    assert dry.get_json()["counts"] == {"read": 3, "added": 1, "updated": 2,
                                        "unchanged": 0, "rejected": 0}
    assert events_of(rw.url, first) == [("register", "registered", "worker")]
    r = post(rw.client("worker"), csv(*lines), "incidents", name="t.csv")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["counts"] == dry.get_json()["counts"]
    assert events_of(rw.url, first) == [("register", "registered", "worker"),
                                        ("triage", "dispatched", "worker")]
    assert events_of(rw.url, second) == [("register", "registered", "worker"),
                                         ("triage", "dispatched", "worker"),
                                         ("accept", "handling", "worker")]
    assert events_of(rw.url, "IMP-T1") == [("register", "registered", "worker"),
                                           ("triage", "dispatched", "worker")]
    with psycopg.connect(rw.url) as c:
        assigned = c.execute("SELECT status, assignee_id IS NOT NULL FROM incidents"
                             " WHERE code = %s", (first,)).fetchone()
        audited = c.execute("SELECT count(*) FROM audit WHERE table_name ="
                            " 'incidents' AND row_key = %s AND action = 'update'",
                            (second,)).fetchone()[0]
    assert assigned == ("dispatched", True)
    assert audited == 2
    note = snapshot(rw.url, first)[1][-1][4]
    assert "t.csv" in note


def test_an_incident_of_another_jurisdiction_is_not_touched(rw, demo_town):
    i = demo_town.incidents
    other = i[~i.grid_code.str.startswith(rw.worker_grid)
              & (i.status == "handling")].iloc[0]
    before = snapshot(rw.url, other.code)
    x, y = inside(demo_town, rw.worker_grid, 0)
    r = post(rw.client("worker"), csv(incident_line(other.code, x, y,
                                                    description="别处的")),
             "incidents", name="other.csv")
    (why,) = refused(r)["rejected"]
    assert "outside your jurisdiction" in why["reason"]
    assert snapshot(rw.url, other.code) == before


def test_incidents_without_a_time_column_take_the_import_time(rw, demo_town):
    x, y = inside(demo_town, rw.worker_grid, 3)
    data = ("事件编号,类别,来源,描述,lon,lat\n"
            f"IMP-NT1,环境,群众来访,垃圾堆放,{x!r},{y!r}\n").encode()
    started = dt.datetime.now(dt.UTC)
    r = post(rw.client("worker"), data, "incidents", name="notime.csv")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["counts"]["added"] == 1
    with psycopg.connect(rw.url) as c:
        created, deadline = c.execute(
            "SELECT created_at, deadline FROM incidents WHERE code = 'IMP-NT1'"
        ).fetchone()
    assert started - dt.timedelta(seconds=5) <= created <= dt.datetime.now(dt.UTC)
    assert deadline > created
    assert events_of(rw.url, "IMP-NT1") == [("register", "registered", "worker")]
    # a time column with a blank cell: the import time too
    data = csv(incident_line("IMP-NT2", x, y, description="无时间"),
               incident_line("IMP-NT3", x, y, description="有时间",
                             time="2026-10-01 08:00"))
    r = post(rw.client("worker"), data, "incidents", name="blank.csv")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["counts"]["added"] == 2


def test_a_step_that_fails_refuses_the_row_and_adds_nothing(rw, demo_town):
    """Triage without staff in the micro-grid fails: the row is refused with the
    state machine's reason, a new incident is not left behind, an existing one
    keeps its status and events."""
    x, y = inside(demo_town, rw.worker_grid, 1)
    existing = register(rw, "worker", x, y, "无人分流")
    with psycopg.connect(rw.url) as c:
        micro, lon, lat = c.execute(
            "SELECT grid_code, ST_X(geom), ST_Y(geom) FROM incidents"
            " WHERE code = %s", (existing,)).fetchone()
    before = snapshot(rw.url, existing)
    data = csv(incident_line(existing, lon, lat, status="审核分流"),
               incident_line("IMP-F1", x, y, description="新的", status="处置反馈"))
    with psycopg.connect(rw.url) as c:
        staff = [r[0] for r in c.execute(
            "UPDATE grid_staff SET active = false WHERE grid_code = %s AND active"
            " RETURNING id", (micro,))]
    try:
        r = post(rw.client("worker"), data, "incidents", name="nostaff.csv")
    finally:
        with psycopg.connect(rw.url) as c:
            c.execute("UPDATE grid_staff SET active = true WHERE id = ANY(%s)",
                      (staff,))
    assert staff
    report = refused(r)
    assert report["counts"] == {"read": 2, "added": 0, "updated": 0,
                                "unchanged": 0, "rejected": 2}
    for why, code in zip(report["rejected"], (existing, "IMP-F1"), strict=True):
        assert why["field"] == "status"
        assert why["reason"].startswith(f"事件 {code} 无法审核分流（incident {code}:"
                                        " triage failed）：")
        assert "has no staff" in why["reason"]
    assert snapshot(rw.url, existing) == before
    assert snapshot(rw.url, "IMP-F1") == (None, [])
