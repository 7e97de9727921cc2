"""Read replicas: a real streaming replica of the test session's private cluster
(``layers.replicas.add``: pg_basebackup -R, a slot, hot standby), started once for
the module, and an application reading from it (``api.db.read_connection``).

Shown here: a write reaches the replica; maps, tiles, statistics, search and
locate are answered by it (the test-only ``X-Gridgov-Read-From`` header, and a
paused replay that leaves another user reading the old value while the writer
reads their own write at once); a read on the replica writes its audit row on
the primary; a revoked session or token is refused while the replica still holds
it; the service answers with the replica stopped and reads from it again once it
is back; a replica lagging past the limit is left out and comes back.
"""

import os
import time

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from api.db import replicas
from tests.conftest import ACCOUNT_PASSWORD, ROOT, log_in_form, writable_demo

pytestmark = pytest.mark.db

MAP = "/ogc/collections/grids-4/items?limit=5"  # a viewer's map


@pytest.fixture(scope="module")
def replica(server_url):
    """A replica of the test session's private cluster, removed at the end."""
    if os.environ.get("GRIDGOV_TEST_DATABASE_URL"):
        pytest.skip("replicas are made of the private cluster only")
    from layers import replicas
    from layers.cluster import Cluster

    cluster = Cluster(os.environ.get("GRIDGOV_TEST_HOME", ROOT / "var" / "test"))
    made = replicas.add(cluster)
    yield made
    replicas.remove(cluster, made.number)


def replica_url(replica, primary_url):
    """The URL on ``replica`` of the database of ``primary_url``."""
    return replica.url_for(conninfo_to_dict(primary_url)["dbname"],
                           replica.status()["port"])


def caught_up(primary_url, standby_url, timeout=60):
    """Wait until the standby has replayed all the primary has written."""
    with psycopg.connect(primary_url, autocommit=True) as p:
        lsn = p.execute("SELECT pg_current_wal_lsn()").fetchone()[0]
    deadline = time.monotonic() + timeout
    while True:
        try:
            with psycopg.connect(standby_url, autocommit=True) as s:
                if s.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn",
                             (lsn,)).fetchone()[0]:
                    return
        except psycopg.OperationalError:
            pass  # the database is not there yet
        assert time.monotonic() < deadline, "the replica did not catch up"
        time.sleep(0.05)


def replay(url, paused):
    with psycopg.connect(url, autocommit=True) as s:
        s.execute("SELECT pg_wal_replay_pause()" if paused
                  else "SELECT pg_wal_replay_resume()")
        if paused:  # the pause takes effect at the next record
            while s.execute("SELECT pg_get_wal_replay_pause_state()"
                            ).fetchone()[0] == "pause requested":
                time.sleep(0.02)


@pytest.fixture(scope="module")
def rr(replica, databases, demo_town):
    """A writable demo town on the primary, an application reading from the
    replica (health checked in the request, at most every 0.2 s), clients."""
    from layers import users
    from layers.access import SYSTEM
    from web import create_app

    def setup(c):
        users.add_user(c, SYSTEM, "outgoing", "leader", None, ACCOUNT_PASSWORD)

    ns = writable_demo(databases, demo_town, setup)
    ns.standby = replica_url(replica, ns.url)
    caught_up(ns.url, ns.standby)
    ns.app = create_app({
        "DATABASE_URL": ns.url, "READ_DATABASE_URL": ns.standby, "TESTING": True,
        "SECRET_KEY": "x" * 32, "LOCATE_INDEX_BACKGROUND": False,
        "READ_REPLICA_BACKGROUND": False, "READ_REPLICA_CHECK_S": 0.2,
        "READ_REPLICA_MAX_LAG": 60.0})

    def client(name):
        c = ns.app.test_client()
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {ns.tokens[name]}"
        return c

    ns.client = client
    with psycopg.connect(ns.url) as c:
        ns.grid = c.execute("SELECT code FROM grids WHERE level = 3 ORDER BY code"
                            " LIMIT 1").fetchone()[0]
        ns.point = c.execute("SELECT ST_X(geom), ST_Y(geom) FROM households"
                             " ORDER BY id LIMIT 1").fetchone()
    yield ns
    replay(ns.standby, paused=False)


def settle(rr):
    """Replica caught up and measured: the next reads may go to it."""
    replay(rr.standby, paused=False)
    caught_up(rr.url, rr.standby)
    with rr.app.app_context():
        replicas().check()


def read_from(response):
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return response.headers["X-Gridgov-Read-From"]


def test_a_write_on_the_primary_is_visible_on_the_replica(rr):
    with psycopg.connect(rr.url, autocommit=True) as p:
        p.execute("UPDATE grids SET name = name || '·新' WHERE code = %s",
                  (rr.grid,))
        name = p.execute("SELECT name FROM grids WHERE code = %s",
                         (rr.grid,)).fetchone()[0]
    caught_up(rr.url, rr.standby)
    with psycopg.connect(rr.standby) as s:
        assert s.execute("SELECT pg_is_in_recovery()").fetchone()[0]
        assert s.execute("SELECT name FROM grids WHERE code = %s",
                         (rr.grid,)).fetchone()[0] == name
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            s.execute("UPDATE grids SET name = 'x' WHERE code = %s", (rr.grid,))


def test_maps_tiles_statistics_search_and_locate_read_the_replica(rr):
    settle(rr)
    leader = rr.client("leader")
    lon, lat = rr.point
    for url in ("/api/v1/stats", "/api/v1/stats/workers",
                "/api/v1/heatmap?from=2026-01-01&to=2026-11-01",
                f"/api/v1/search?layer=cameras&lon={lon}&lat={lat}&k=3",
                f"/api/v1/locate?lon={lon}&lat={lat}",
                f"/api/v1/locate/nearby?lon={lon}&lat={lat}",
                f"/ogc/collections/grids-3/items/{rr.grid}",
                "/ogc/collections/grids-4/items?limit=5",
                "/tiles/grids.json", "/tiles/grids/14/13701/6645.mvt"):
        r = leader.get(url)
        assert r.status_code in (200, 204), (url, r.get_data(as_text=True)[:300])
        assert r.headers["X-Gridgov-Read-From"] == "replica 1", url


def test_the_writer_reads_its_own_write_at_once_others_read_the_replica(rr):
    settle(rr)
    planner, leader = rr.client("planner"), rr.client("leader")
    item = f"/ogc/collections/grids-3/items/{rr.grid}"
    before = leader.get(item)
    assert read_from(before) == "replica 1"
    version = int(before.headers["ETag"].strip('"'))
    assert read_from(planner.get(item)) == "replica 1"  # nothing written yet
    replay(rr.standby, paused=True)
    r = planner.patch(f"/api/v1/grids/{rr.grid}",
                      json={"service_hours": "周一至周五 8:30-17:30",
                            "version": version})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["version"] == version + 1
    # the writer: at once, from the primary; everybody else: the replica's
    # (paused) copy, one version behind
    mine = planner.get(item)
    assert read_from(mine) == "primary"
    assert mine.headers["ETag"] == f'"{version + 1}"'
    theirs = leader.get(item)
    assert read_from(theirs) == "replica 1"
    assert theirs.headers["ETag"] == f'"{version}"'
    # replayed past the write: the writer reads the replica again
    settle(rr)
    mine = planner.get(item)
    assert read_from(mine) == "replica 1"
    assert mine.headers["ETag"] == f'"{version + 1}"'
    assert leader.get(item).headers["ETag"] == f'"{version + 1}"'


def test_a_browser_s_write_is_remembered_in_its_session(rr):
    """The session cookie carries the write's WAL position: every server
    process (not only the one that took the write) reads it from the primary."""
    settle(rr)
    browser, r = log_in_form(rr.app, "planner", rr.passwords["planner"])
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    item = f"/ogc/collections/grids-3/items/{rr.grid}"
    version = int(browser.get(item).headers["ETag"].strip('"'))
    replay(rr.standby, paused=True)
    token = _csrf(browser)
    r = browser.patch(f"/api/v1/grids/{rr.grid}", json={
        "service_hours": "全天", "version": version},
        headers={"X-CSRFToken": token})
    assert r.status_code == 200, r.get_data(as_text=True)
    # another process knows nothing of it but what the cookie says
    rr.app.extensions["gridgov.writes"].clear()
    mine = browser.get(item)
    assert read_from(mine) == "primary"
    assert mine.headers["ETag"] == f'"{version + 1}"'
    settle(rr)
    assert read_from(browser.get(item)) == "replica 1"


def _csrf(browser):
    import re

    page = browser.get("/").get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_the_heatmap_counts_a_write_once_across_replica_and_primary(rr):
    """The process's copy of incident_cells, built from the primary (the writer's
    read) and read with the replica's older generation (another user's), counts
    the new incident once: the copy is never filed under an older generation
    than it holds (it was, and the next catch-up counted the change twice)."""
    settle(rr)
    dispatcher, leader = rr.client("dispatcher"), rr.client("leader")
    r = leader.get("/api/v1/heatmap")
    assert read_from(r) == "replica 1"
    total = r.get_json()["total"]
    replay(rr.standby, paused=True)
    lon, lat = rr.point
    r = dispatcher.post("/api/v1/incidents", json={
        "category": "environment", "source": "hotline", "description": "垃圾堆放",
        "lon": lon, "lat": lat})
    assert r.status_code == 201, r.get_data(as_text=True)
    r = dispatcher.get("/api/v1/heatmap")
    assert read_from(r) == "primary" and r.get_json()["total"] == total + 1
    r = leader.get("/api/v1/heatmap")  # the replica: an older generation
    assert read_from(r) == "replica 1"
    settle(rr)
    for who in (leader, dispatcher):
        r = who.get("/api/v1/heatmap")
        assert read_from(r) == "replica 1" and r.get_json()["total"] == total + 1


def test_a_read_on_the_replica_writes_its_audit_row_on_the_primary(rr):
    settle(rr)
    lon, lat = rr.point
    with psycopg.connect(rr.url) as p:
        last = p.execute("SELECT max(id) FROM audit").fetchone()[0]
    r = rr.client("admin").get(
        f"/api/v1/search?layer=households&lon={lon}&lat={lat}&k=3")
    assert read_from(r) == "replica 1"
    assert len(r.get_json()["features"]) == 3
    with psycopg.connect(rr.url) as p:
        rows = p.execute("SELECT username, action, table_name, records FROM audit"
                         " WHERE id > %s", (last,)).fetchall()
    assert rows == [("admin", "read", "households", 3)]


def test_a_revoked_session_or_token_is_refused_while_the_replica_is_paused(rr):
    from layers import users
    from layers.access import SYSTEM

    settle(rr)
    browser, r = log_in_form(rr.app, "outgoing")
    assert r.status_code == 302
    program = rr.client("outgoing")
    assert read_from(browser.get("/api/v1/stats")) == "replica 1"
    assert read_from(program.get("/api/v1/stats")) == "replica 1"
    caught_up(rr.url, rr.standby)  # the session is on the replica too
    replay(rr.standby, paused=True)
    with psycopg.connect(rr.url) as p:
        users.set_active(p, SYSTEM, "outgoing", False)
    with psycopg.connect(rr.standby) as s:  # the replica still has it all
        assert s.execute("SELECT active FROM users WHERE username = 'outgoing'"
                         ).fetchone()[0] is True
        assert s.execute("SELECT count(*) FROM sessions s JOIN users u"
                         " ON u.id = s.user_id WHERE u.username = 'outgoing'"
                         ).fetchone()[0] >= 1
    assert browser.get("/api/v1/stats").status_code == 401
    assert program.get("/api/v1/stats").status_code == 401
    assert program.get("/tiles/grids/14/13701/6645.mvt").status_code == 401


def test_the_service_stays_up_with_the_replica_stopped(rr, replica):
    settle(rr)
    leader = rr.client("leader")
    assert read_from(leader.get("/api/v1/stats")) == "replica 1"
    replica.stop()
    try:
        started = time.monotonic()
        for _ in range(3):  # the first finds its pooled connections dead
            assert read_from(leader.get("/api/v1/stats")) == "primary"
        assert time.monotonic() - started < 10
        health = rr.client("leader").get("/api/v1/health").get_json()
        assert health["status"] == "ok"
        assert health["replicas"][0]["state"] == "down"
    finally:
        from layers.replicas import start_all

        # what `gridgov up` does
        assert [r.url for r in start_all(replica.primary)] == [replica.url]
    caught_up(rr.url, rr.standby)
    time.sleep(0.25)  # the next check, due after 0.2 s, finds it back
    assert read_from(leader.get("/api/v1/stats")) == "replica 1"
    health = rr.client("leader").get("/api/v1/health").get_json()
    assert health["replicas"][0]["state"] == "ok"


def test_a_lagging_replica_is_left_out_and_comes_back(rr):
    settle(rr)
    with rr.app.app_context():
        found = replicas()
    viewer = rr.client("viewer")
    found.max_lag_s = 0.5
    try:
        replay(rr.standby, paused=True)
        with psycopg.connect(rr.url, autocommit=True) as p:  # the primary moves on
            p.execute("UPDATE grids SET name = name WHERE code = %s", (rr.grid,))
        time.sleep(1.0)
        with rr.app.app_context():
            found.check()
        state = found.replicas[0].state
        assert state["state"] == "lagging" and state["lag_s"] > 0.5, state
        assert state["lag_bytes"] > 0 and state["replay_paused"] is True
        assert read_from(viewer.get(MAP)) == "primary"
        settle(rr)
        assert found.replicas[0].state["state"] == "ok"
        assert read_from(viewer.get(MAP)) == "replica 1"
    finally:
        found.max_lag_s = 60.0


def test_the_cli_lists_the_replica(replica):
    from click.testing import CliRunner

    from web.cli import main

    home = os.environ.get("GRIDGOV_TEST_HOME", str(ROOT / "var" / "test"))
    out = CliRunner().invoke(main, ["db", "replica", "list"],
                             env={"GRIDGOV_HOME": home, "GRIDGOV_DATABASE_URL": ""})
    assert out.exit_code == 0, out.output
    port = replica.status()["port"]
    assert f"read replica {replica.number}: running, port {port}" in out.output
