"""Locate from the in-memory index: the same answer as the SQL, and never stale."""

import threading

import numpy as np
import psycopg
import pytest

from layers import locate
from layers.access import Principal
from layers.locate_index import IndexHolder, LocateIndex

pytestmark = pytest.mark.db


def _points(demo_town, n, seed):
    """Random points over the town's box and a little beyond (some in no grid), and
    the cameras' own positions (a point at the camera: distance 0, no azimuth)."""
    x0, y0, x1, y1 = demo_town.grids.total_bounds
    rng = np.random.default_rng(seed)
    xy = rng.uniform((x0 - 0.005, y0 - 0.005), (x1 + 0.005, y1 + 0.005), (n, 2))
    cams = demo_town.cameras.geometry
    return [*map(tuple, xy.tolist()), *zip(cams.x[:50], cams.y[:50], strict=True)]


@pytest.fixture(scope="module")
def town_conn(demo_url):
    with psycopg.connect(demo_url, autocommit=True) as c:
        yield c


def test_the_index_answers_as_the_sql_does(town_conn, demo_town):
    index = LocateIndex.load(town_conn)
    village = demo_town.grids[demo_town.grids.level == 2].code.iloc[1]
    principals = [Principal("admin", "admin"),
                  Principal("dispatcher", "dispatcher", village),
                  Principal("viewer", "viewer")]  # phones masked
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


def test_an_edit_is_seen_by_the_very_next_locate(databases, demo_town):
    from tests.conftest import writable_demo

    rw = writable_demo(databases, demo_town)
    client = rw.client("admin")
    cam = demo_town.cameras[demo_town.cameras.kind == "ptz"].iloc[0]
    path = f"/api/v1/locate?lon={cam.geometry.x:.8f}&lat={cam.geometry.y:.8f}"
    first = client.get(path).get_json()
    assert cam.code in [c["code"] for c in first["cameras"]]
    micro = first["grids"][-1]["code"]
    holder = rw.app.extensions["gridgov.locate_index"]
    built = holder._index.generation
    with psycopg.connect(rw.url, autocommit=True) as c:
        c.execute("UPDATE cameras SET status = 'fault' WHERE code = %s", (cam.code,))
        c.execute("UPDATE grids SET name = '改名测试微网格' WHERE code = %s", (micro,))
        c.execute("UPDATE grid_staff SET active = false WHERE grid_code = %s",
                  (micro,))
    after = client.get(path).get_json()
    assert [c["status"] for c in after["cameras"] if c["code"] == cam.code] == ["fault"]
    assert after["grids"][-1]["name"] == "改名测试微网格"
    assert micro not in {s["grid_code"] for s in after["staff"]}
    assert holder._index.generation > built  # rebuilt, not patched


def test_a_stale_index_is_not_used_while_another_is_built(demo_url):
    gate = threading.Event()

    def connect():
        gate.wait(10)  # hold the rebuild until the test has asked
        return psycopg.connect(demo_url, autocommit=True)

    holder = IndexHolder(connect, background=True, min_gap=0)
    with psycopg.connect(demo_url, autocommit=True) as c:
        gen = c.execute(locate.GENERATION).fetchone()[0]
    assert holder.current(gen) is None  # building: the caller asks SQL
    assert holder.current(gen) is None  # and only one build runs
    gate.set()
    for _ in range(200):
        if holder.current(gen) is not None:
            break
        threading.Event().wait(0.05)
    assert holder.current(gen).generation == gen
    assert holder.current(gen + 1) is None  # any other generation: not this index


def test_rebuilds_are_spaced_by_the_gap(demo_url):
    builds = []

    def connect():
        builds.append(1)
        return psycopg.connect(demo_url, autocommit=True)

    holder = IndexHolder(connect, background=False, min_gap=60)
    with psycopg.connect(demo_url, autocommit=True) as c:
        gen = c.execute(locate.GENERATION).fetchone()[0]
    assert holder.current(gen).generation == gen and len(builds) == 1
    # edits keep coming: within the gap SQL answers, and nothing is rebuilt
    assert holder.current(gen + 1) is None and holder.current(gen + 2) is None
    assert len(builds) == 1
    assert holder.current(gen) is not None  # the index of its own generation still


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
