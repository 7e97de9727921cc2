"""Locate from the in-memory index: the same answer as the SQL, never stale, and
following every kind of edit by changes (migration 0029) rather than rebuilds."""

import marshal
import threading
import time

import numpy as np
import psycopg
import pytest
import shapely
from click.testing import CliRunner
from shapely.geometry import mapping

from layers import locate
from layers.access import Principal
from layers.locate_follow import IndexHolder, prune_changes
from layers.locate_index import LocateIndex
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

# The stated bound: a server process's index holds an edit this long after its
# commit at most (one NOTIFY and one catch-up: milliseconds here, but the machine
# running the tests is shared). Answers are never stale meanwhile: SQL answers.
FOLLOW_BOUND_S = 3.0


def _points(demo_town, n, seed):
    """Random points over the town's box and a little beyond (some in no grid), and
    the cameras' own positions (a point at the camera: distance 0, no azimuth)."""
    x0, y0, x1, y1 = demo_town.grids.total_bounds
    rng = np.random.default_rng(seed)
    xy = rng.uniform((x0 - 0.005, y0 - 0.005), (x1 + 0.005, y1 + 0.005), (n, 2))
    cams = demo_town.cameras.geometry
    return [*map(tuple, xy.tolist()), *zip(cams.x[:50], cams.y[:50], strict=True)]


def _principals(demo_town):
    village = demo_town.grids[demo_town.grids.level == 2].code.iloc[1]
    return [Principal("admin", "admin"),
            Principal("dispatcher", "dispatcher", village),
            Principal("viewer", "viewer")]  # phones masked


@pytest.fixture(scope="module")
def town_conn(demo_url):
    with psycopg.connect(demo_url, autocommit=True) as c:
        yield c


def test_the_index_answers_as_the_sql_does(town_conn, demo_town):
    index = LocateIndex.load(town_conn)
    principals = _principals(demo_town)
    points = _points(demo_town, 1500, 3)
    seen = {"grids": 0, "staff": 0, "cameras": 0}
    for principal in principals:
        for lon, lat in points:
            by_sql = locate.locate(town_conn, principal, lon, lat)
            assert index.locate(principal, lon, lat) == by_sql, (principal, lon, lat)
            for key in seen:
                seen[key] += bool(by_sql[key])
    # the comparison covered every part of the answer, masked phones included
    assert seen["grids"] > 1000 and seen["staff"] > 1000 and seen["cameras"] > 150
    masked = index.locate(principals[2], *points[-1])["staff"]
    assert masked and all("****" in s["phone"] for s in masked if s["phone"])


# -- following edits ---------------------------------------------------------


def _cameras(index):
    """code -> (name, kind, owner, status, grid, fov, range, lon, lat, bearing, id)
    of the live cameras of an index."""
    out = {}
    for i in np.flatnonzero(index._c_live[:index._c_n]).tolist():
        code, name = index._c_text[i].decode().split("\0")
        bearing = index._c_bearing[i].item()
        out[code] = (name, index._c_kind[i], index._c_owner[i], index._c_status[i],
                     index._c_grid[i], *(a[i].item() for a in (
                         index._c_fov, index._c_range, index._c_lon, index._c_lat)),
                     None if np.isnan(bearing) else bearing, index._c_id[i].item())
    return out


def _status(index, code):
    return _cameras(index)[code][3]


def _state(index):
    """Everything an index holds, comparable between two indexes."""
    grids = {c: (int(index._g_level[i]), index._g_name[i],
                 shapely.to_wkb(index._g_geom[i])) for c, i in index._g_slot.items()}
    staff = {g: marshal.loads(v) for g, v in index._staff.items()}
    return {"generation": index.generation, "grids": grids,
            "cameras": _cameras(index), "staff": staff, "reach": index._reach}


class Follow:
    """A writable demo town, an index following it, and the checks after an edit."""

    def __init__(self, rw, demo_town):
        self.rw, self.demo_town = rw, demo_town
        self.holder = IndexHolder(
            lambda: psycopg.connect(rw.url, autocommit=True), background=False)
        assert self.holder.refresh() == -1
        self.loads = 1  # full loads expected so far
        self.conn = psycopg.connect(rw.url, autocommit=True)
        self.principals = _principals(demo_town)
        self.random = _points(demo_town, 150, 11)

    def sql(self, query, *params):
        cur = self.conn.execute(query, params)
        return cur.fetchall() if cur.description else None

    def near(self, table, keys, n=60, seed=0):
        """``n`` random points in the box of rows ``keys`` of ``table``, a little
        grown (cameras see up to their range around them)."""
        x0, y0, x1, y1 = self.sql(
            f"SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            f" (SELECT ST_Extent(geom) AS e FROM {table} WHERE code = ANY(%s)) t",
            list(keys))[0]
        rng = np.random.default_rng(seed)
        pad = 0.002
        return [tuple(p) for p in rng.uniform((x0 - pad, y0 - pad),
                                              (x1 + pad, y1 + pad), (n, 2))]

    def check(self, points=()):
        """After an edit: caught up by changes (no rebuild), holding what a fresh
        load holds, and answering as the SQL does."""
        applied = self.holder.refresh()
        assert applied > 0, "the edit was not seen"
        assert self.holder.loads == self.loads, "rebuilt instead of following"
        index = self.holder.index
        assert _state(index) == _state(LocateIndex.load(self.conn))
        gen = self.conn.execute(locate.GENERATION).fetchone()[0]
        assert index.generation == gen
        for principal in self.principals[:2]:
            for lon, lat in [*points, *self.random]:
                assert index.read(gen, principal, lon, lat) == locate.locate(
                    self.conn, principal, lon, lat), (principal, lon, lat)
        return applied


@pytest.fixture(scope="module")
def follow(databases, demo_town):
    f = Follow(writable_demo(databases, demo_town), demo_town)
    yield f
    f.conn.close()


def _neighbours(grids, level):
    """Two adjacent siblings at ``level`` (sharing a border longer than 100 m)."""
    rows = grids[grids.level == level].set_index("code")
    tree = shapely.STRtree(rows.geometry.values)
    for i, a in enumerate(rows.index):
        for j in tree.query(rows.geometry.iloc[i], predicate="touches"):
            b = rows.index[j]
            shared = shapely.intersection(rows.geometry[a].boundary,
                                          rows.geometry[b].boundary)
            if (a < b and rows.parent_code[a] == rows.parent_code[b]
                    and shapely.length(shared) > 0.001):
                yield a, b, rows.geometry[a], rows.geometry[b], shared


def test_a_grid_redraw_is_followed(follow, demo_town):
    a, b, ga, gb, shared = list(_neighbours(demo_town.grids, 4))[2]
    grown = shapely.union(ga, shapely.intersection(gb, shapely.buffer(shared,
                                                                       0.0004)))
    r = follow.rw.client("planner").put(
        f"/api/v1/grids/{a}", json={"geometry": mapping(grown), "version": 1})
    assert r.status_code == 200, r.get_json()
    follow.check(follow.near("grids", [a, b]))


def test_a_level_3_redraw_carried_down_is_followed(follow, demo_town):
    a, b, ga, gb, shared = list(_neighbours(demo_town.grids, 3))[-1]
    grown = shapely.union(ga, shapely.intersection(gb, shapely.buffer(shared,
                                                                       0.0004)))
    r = follow.rw.client("planner").put(
        f"/api/v1/grids/{a}", json={"geometry": mapping(grown), "version": 1})
    assert r.status_code == 200, r.get_json()
    changed = [f["properties"]["code"] for f in r.get_json()["grids"]["features"]]
    assert len(changed) > 2  # micro-grids followed
    assert follow.check(follow.near("grids", changed)) >= len(changed)


def test_split_and_merge_of_micro_grids_are_followed(follow, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[60]
    x0, y0, x1, y1 = micro.geometry.bounds
    mid = micro.geometry.centroid.y
    line = shapely.LineString([(x0 - 0.01, mid), (x1 + 0.01, mid)])
    client = follow.rw.client("planner")
    r = client.post(f"/api/v1/grids/{micro.code}/split",
                    json={"line": mapping(line), "version": 1, "name": "拆出微网格"})
    assert r.status_code == 200, r.get_json()
    codes = [f["properties"]["code"] for f in r.get_json()["grids"]["features"]]
    follow.check(follow.near("grids", codes))
    # and merged back: the split-off grid goes, its staff and cameras follow
    versions = dict(follow.sql("SELECT code, version FROM grids WHERE code = ANY(%s)",
                               codes))
    r = client.post("/api/v1/grids/merge", json={"codes": codes, "versions": versions})
    assert r.status_code == 200, r.get_json()
    follow.check(follow.near("grids", [micro.code]))


def test_a_merge_of_villages_recoding_their_grids_is_followed(follow, demo_town):
    town = demo_town.grids[demo_town.grids.level == 1].code.iloc[0]
    a, b = f"{town}007", f"{town}008"
    old = [c for (c,) in follow.sql("SELECT code FROM grids WHERE code LIKE %s",
                                    b + "%")]
    versions = dict(follow.sql("SELECT code, version FROM grids WHERE code = ANY(%s)",
                               [a, b]))
    r = follow.rw.client("planner").post(
        "/api/v1/grids/merge", json={"codes": [b, a], "versions": versions})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["recoded"]  # the grids of 008 got codes under 007
    assert follow.check(follow.near("grids", [a], n=150)) > len(old)
    assert not set(old) & set(follow.holder.index._g_slot)


def test_deleting_a_micro_grid_is_followed(follow, demo_town):
    level3 = demo_town.grids[demo_town.grids.level == 3].code.iloc[5]
    host = demo_town.grids[demo_town.grids.parent_code == level3].iloc[0]
    centre = host.geometry.representative_point()
    square = shapely.box(centre.x - 0.0008, centre.y - 0.0007,
                         centre.x + 0.0008, centre.y + 0.0007)
    client = follow.rw.client("planner")
    r = client.post("/api/v1/grids", json={"parent": level3, "name": "临时微网格",
                                           "geometry": mapping(square)})
    assert r.status_code == 200, r.get_json()
    (new,) = [f["properties"]["code"] for f in r.get_json()["grids"]["features"]
              if f["properties"]["name"] == "临时微网格"]
    follow.check(follow.near("grids", [new]))
    version = follow.sql("SELECT version FROM grids WHERE code = %s", new)[0][0]
    r = client.delete(f"/api/v1/grids/{new}?version={version}")
    assert r.status_code == 200, r.get_json()
    follow.check(follow.near("grids", [host.code]))
    assert new not in follow.holder.index._g_slot


def test_camera_add_move_status_and_delete_are_followed(follow, demo_town):
    cams = demo_town.cameras
    fixed = cams[cams.kind == "fixed"].iloc[3]
    x, y = fixed.geometry.x, fixed.geometry.y
    follow.sql("INSERT INTO cameras (code, name, kind, bearing, fov_deg, range_m,"
               " owner, geom, grid_code) SELECT 'IDX-NEW', '新摄像头', 'fixed', 10,"
               " 70, 1900, 'social', ST_SetSRID(ST_MakePoint(%s, %s), 4326),"
               " grid_code FROM cameras WHERE code = %s", x + 0.0003, y, fixed.code)
    follow.check(follow.near("cameras", ["IDX-NEW"]))
    assert follow.holder.index._reach == 1900.0  # the box grows with the range
    follow.sql("UPDATE cameras SET geom = ST_Translate(geom, 0.0008, -0.0005),"
               " bearing = 200 WHERE code = %s", fixed.code)
    follow.check(follow.near("cameras", [fixed.code]))
    follow.sql("UPDATE cameras SET status = 'fault' WHERE code = %s", fixed.code)
    follow.check(follow.near("cameras", [fixed.code]))
    follow.sql("UPDATE cameras SET code = 'IDX-RECODED' WHERE code = %s", fixed.code)
    follow.check(follow.near("cameras", ["IDX-RECODED"]))
    assert fixed.code not in _cameras(follow.holder.index)
    follow.sql("DELETE FROM cameras WHERE code IN ('IDX-NEW', 'IDX-RECODED')")
    follow.check(follow.near("cameras", [cams.iloc[0].code]))
    assert follow.holder.index._reach < 1900.0  # and shrinks again


def test_staff_assign_and_unassign_are_followed(follow):
    (micro,), (other,) = follow.sql(
        "SELECT code FROM grids WHERE level = 4 ORDER BY code LIMIT 2 OFFSET 10")
    (sid,) = follow.sql(
        "INSERT INTO grid_staff (name, role, phone, grid_code) VALUES"
        " ('新网格员', 'full_time', '13900001111', %s) RETURNING id", micro)[0]
    follow.check(follow.near("grids", [micro]))
    follow.sql("UPDATE grid_staff SET grid_code = %s, role = 'grid_chief'"
               " WHERE id = %s", other, sid)
    follow.check(follow.near("grids", [micro, other]))
    chief = marshal.loads(follow.holder.index._staff[other])[0]
    assert chief[:2] == (0, sid)  # the chief first
    follow.sql("UPDATE grid_staff SET active = false WHERE grid_code = %s", other)
    follow.check(follow.near("grids", [other]))
    assert other not in follow.holder.index._staff
    follow.sql("DELETE FROM grid_staff WHERE id = %s", sid)
    follow.check()


def test_an_import_of_cameras_is_followed(follow, demo_town, tmp_path):
    from web.cli import main

    cams = demo_town.cameras.iloc[20:23]
    lines = ["设备编号,名称,类型,朝向,视场角,可视距离,归属,lon,lat"]
    for i, c in enumerate(cams.itertuples()):
        lines.append(f"IDX-IMP{i},导入{i},枪机,{40 * i},60,120,公安,"
                     f"{c.geometry.x + 0.0002},{c.geometry.y}")
    path = tmp_path / "cameras.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = CliRunner().invoke(main, ["import", str(path), "--layer", "cameras"],
                              env={"GRIDGOV_DATABASE_URL": follow.rw.url})
    assert done.exit_code == 0, done.output
    assert follow.check(follow.near("cameras", list(cams.code))) >= 3
    assert {"IDX-IMP0", "IDX-IMP1", "IDX-IMP2"} <= set(_cameras(follow.holder.index))


def test_a_commit_that_comes_late_is_not_skipped(follow, demo_town):
    """Change rows get their ids before commit: a row with a smaller id can commit
    after one with a larger id. The cut by snapshot finds it all the same."""
    a, b = demo_town.cameras.code.iloc[30], demo_town.cameras.code.iloc[31]
    with psycopg.connect(follow.rw.url) as slow:
        slow.execute("UPDATE cameras SET status = 'offline' WHERE code = %s", (a,))
        follow.sql("UPDATE cameras SET status = 'fault' WHERE code = %s", b)
        assert follow.holder.refresh() == 1  # b only: a is not committed yet
        index = follow.holder.index
        assert _status(index, a) == "online" and _status(index, b) == "fault"
        slow.commit()
    follow.check(follow.near("cameras", [a, b]))
    assert _status(index, a) == "offline"


def test_an_answer_read_while_the_index_changes_is_not_used(follow, demo_town):
    holder = follow.holder
    holder.refresh()
    index = holder.index
    gen = index.generation
    cam = demo_town.cameras.iloc[40]
    p = (cam.geometry.x, cam.geometry.y)
    assert index.read(gen, follow.principals[0], *p) is not None
    during = []
    changing = index._set_cameras

    def spy(*args):
        during.append(index.read(gen, follow.principals[0], *p))
        changing(*args)
        during.append(index.read(gen, follow.principals[0], *p))

    index._set_cameras = spy
    try:
        follow.sql("UPDATE cameras SET status = 'fault' WHERE code = %s", cam.code)
        holder.refresh()
    finally:
        del index._set_cameras
    assert during == [None, None]  # mid-change: the caller asks SQL
    assert index.read(gen, follow.principals[0], *p) is None  # an older generation
    assert index.read(index.generation, follow.principals[0], *p) is not None


def test_pruned_changes_past_the_position_rebuild(follow, demo_town):
    holder = follow.holder
    follow.sql("UPDATE cameras SET status = 'fault' WHERE code = %s",
               demo_town.cameras.code.iloc[50])
    holder.refresh()
    # rows pruned up to just below the process's position (the xmin of its last
    # snapshot: every transaction below it had ended) were all seen by it: it
    # goes on by changes
    xmin = int(holder.index.snapshot.split(":")[0])
    follow.sql("UPDATE locate_changes_pruned SET upto = %s::text::xid8,"
               " prunes = prunes + 1", xmin - 1)
    follow.sql("UPDATE cameras SET status = 'offline' WHERE code = %s",
               demo_town.cameras.code.iloc[50])
    follow.check()
    # rows it has not seen gone: it must rebuild (and answers stay right)
    follow.sql("UPDATE cameras SET status = 'fault' WHERE code = %s",
               demo_town.cameras.code.iloc[51])
    assert prune_changes(follow.conn, keep=0) >= 1
    assert follow.sql("SELECT count(*) FROM locate_changes") == [(0,)]
    assert holder.refresh() == -1 and holder.loads == follow.loads + 1
    follow.loads += 1
    assert _state(holder.index) == _state(LocateIndex.load(follow.conn))
    follow.sql("UPDATE cameras SET status = 'online' WHERE code = %s",
               demo_town.cameras.code.iloc[51])
    follow.check()  # and follows by changes again


def test_a_truncate_rebuilds(databases, demo_town):
    url = databases.new()
    with psycopg.connect(url, autocommit=True) as c:
        from layers import demo

        demo.load(c, demo_town, {"scale": "town", "seed": 1, "as_of": "2026-11-01"})
        holder = IndexHolder(lambda: psycopg.connect(url, autocommit=True),
                             background=False)
        holder.refresh()
        c.execute("TRUNCATE cameras CASCADE")
        assert holder.refresh() == -1 and holder.loads == 2
        assert not _cameras(holder.index)
        p = demo_town.cameras.geometry.iloc[0]
        gen = c.execute(locate.GENERATION).fetchone()[0]
        assert holder.locate(gen, Principal("admin", "admin"), p.x, p.y)[
            "cameras"] == []


# -- in a server: the follower thread ----------------------------------------


def _generation(url):
    with psycopg.connect(url, autocommit=True) as c:
        return c.execute(locate.GENERATION).fetchone()[0]


def _until(predicate, seconds):
    """Seconds until ``predicate()`` held (polled every millisecond), or fail."""
    started = time.monotonic()
    while not predicate():
        assert time.monotonic() - started < seconds, "not within the bound"
        time.sleep(0.001)
    return time.monotonic() - started


def test_the_follower_applies_an_edit_within_the_bound(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    holder = IndexHolder(lambda: psycopg.connect(
        rw.url, autocommit=True, application_name="gridgov locate follower"))
    try:
        gen = _generation(rw.url)
        assert holder.locate(gen, Principal("admin", "admin"), 0, 0) is None
        _until(lambda: holder.index is not None and holder.index.generation == gen,
               60)  # the first load (a SQL answer meanwhile)
        cam = demo_town.cameras.iloc[5]
        with psycopg.connect(rw.url, autocommit=True) as c:
            c.execute("UPDATE cameras SET status = 'fault' WHERE code = %s",
                      (cam.code,))
            gen = c.execute(locate.GENERATION).fetchone()[0]
        _until(lambda: holder.index.generation == gen, FOLLOW_BOUND_S)
        index = holder.index
        assert _status(index, cam.code) == "fault"
        # its connection lost (a restart, a network cut): the NOTIFY of an edit
        # made meanwhile is lost with it, and the change rows bring it back
        with psycopg.connect(rw.url, autocommit=True) as c:
            assert c.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = 'gridgov locate follower'"
                " AND datname = current_database()").fetchall() == [(True,)]
            c.execute("UPDATE cameras SET status = 'offline' WHERE code = %s",
                      (cam.code,))
            gen = c.execute(locate.GENERATION).fetchone()[0]
        _until(lambda: holder.index.generation == gen, 10 + FOLLOW_BOUND_S)
        assert _status(index, cam.code) == "offline"
        assert holder.loads == 1 and holder.index is index  # followed, not rebuilt
    finally:
        holder.stop()


def test_an_edit_is_seen_by_the_very_next_locate(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    client = rw.client("admin")
    cam = demo_town.cameras[demo_town.cameras.kind == "ptz"].iloc[0]
    path = f"/api/v1/locate?lon={cam.geometry.x:.8f}&lat={cam.geometry.y:.8f}"
    first = client.get(path).get_json()
    assert cam.code in [c["code"] for c in first["cameras"]]
    micro = first["grids"][-1]["code"]
    holder = rw.app.extensions["gridgov.locate_index"]
    index = holder.index
    with psycopg.connect(rw.url, autocommit=True) as c:
        c.execute("UPDATE cameras SET status = 'fault' WHERE code = %s", (cam.code,))
        c.execute("UPDATE grids SET name = '改名测试微网格' WHERE code = %s", (micro,))
        c.execute("UPDATE grid_staff SET active = false WHERE grid_code = %s",
                  (micro,))
    after = client.get(path).get_json()
    assert [c["status"] for c in after["cameras"] if c["code"] == cam.code] == ["fault"]
    assert after["grids"][-1]["name"] == "改名测试微网格"
    assert micro not in {s["grid_code"] for s in after["staff"]}
    # patched, not rebuilt: the same index, now at the database's generation
    assert holder.index is index and holder.loads == 1 and holder.catch_ups == 1
    assert index.generation == _generation(rw.url)


def test_one_catch_up_at_a_time(demo_url):
    gate = threading.Event()

    def connect():
        gate.wait(10)  # hold the load until the test has asked
        return psycopg.connect(demo_url, autocommit=True)

    holder = IndexHolder(connect, background=False)
    gen = _generation(demo_url)
    first = threading.Thread(target=holder.current, args=(gen,))
    first.start()
    time.sleep(0.2)
    assert holder.current(gen) is None  # one is loading: the caller asks SQL
    gate.set()
    first.join()
    assert holder.current(gen).generation == gen and holder.loads == 1
    assert holder.current(gen + 1) is None  # any other generation: not this index


def test_locate_without_the_index_still_answers(demo_url, tokens, demo_town):
    from web import create_app

    app = create_app({"DATABASE_URL": demo_url, "TESTING": True,
                      "SECRET_KEY": "x" * 32, "LOCATE_INDEX": False})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['admin']}"
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[5]
    p = micro.geometry.representative_point()
    found = client.get(f"/api/v1/locate?lon={p.x:.8f}&lat={p.y:.8f}").get_json()
    assert found["grids"][-1]["code"] == micro.code
    assert "gridgov.locate_index" not in app.extensions


def test_a_load_in_small_chunks_holds_the_same(town_conn, monkeypatch):
    whole = _state(LocateIndex.load(town_conn))
    monkeypatch.setattr("layers.locate_index.CHUNK", 7)  # grids' staff cut across
    assert _state(LocateIndex.load(town_conn)) == whole
    assert len(whole["staff"]) > 20 and len(whole["cameras"]) > 400


def test_camera_ids_given_by_hand(follow, demo_town):
    """Camera slots are in id order: an id seen before takes its slot again; a new
    id below the highest (written by hand, not by the sequence) rebuilds."""
    cam = demo_town.cameras.iloc[60]
    follow.sql("CREATE TEMP TABLE kept AS SELECT * FROM cameras WHERE code = %s",
               cam.code)
    follow.sql("DELETE FROM cameras WHERE code = %s", cam.code)
    follow.check()
    assert cam.code not in _cameras(follow.holder.index)
    follow.sql("INSERT INTO cameras SELECT * FROM kept")  # the same id again
    follow.check(follow.near("cameras", [cam.code]))
    assert cam.code in _cameras(follow.holder.index)
    follow.sql("UPDATE kept SET id = -5, code = 'IDX-BYHAND'")
    follow.sql("INSERT INTO cameras SELECT * FROM kept")
    assert follow.holder.refresh() == -1  # rebuilt
    assert "IDX-BYHAND" in _cameras(follow.holder.index)
    follow.loads += 1
    follow.sql("UPDATE cameras SET status = 'fault' WHERE id = -5")
    follow.check(follow.near("cameras", ["IDX-BYHAND"]))  # by changes again
