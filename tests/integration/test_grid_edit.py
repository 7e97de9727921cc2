"""Planners edit grids: preview, save, and the households that follow."""


import psycopg
import pytest
import shapely
from shapely.geometry import mapping

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

STRIP_DEG = 0.0004  # a ~40 m strip pushed into the neighbour


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    """A writable copy of the demo town (tokens of the demo accounts)."""
    return writable_demo(databases, demo_town)


def _pairs(grids, level):
    """Adjacent siblings (sharing a border longer than 100 m) at ``level``."""
    level_grids = grids[grids.level == level].set_index("code")
    tree = shapely.STRtree(level_grids.geometry.values)
    for i, a in enumerate(level_grids.index):
        for j in tree.query(level_grids.geometry.iloc[i], predicate="touches"):
            b = level_grids.index[j]
            if a < b and level_grids.parent_code[a] == level_grids.parent_code[b]:
                shared = shapely.intersection(level_grids.geometry[a].boundary,
                                              level_grids.geometry[b].boundary)
                if shapely.length(shared) > 0.001:
                    yield a, b, level_grids.geometry[a], level_grids.geometry[b]


def _grown(a_geom, b_geom):
    """A grown into B by a strip along their shared border; and the strip."""
    shared = shapely.intersection(a_geom.boundary, b_geom.boundary)
    strip = shapely.intersection(b_geom, shapely.buffer(shared, STRIP_DEG))
    return shapely.union(a_geom, strip), strip


def _db(rw, query, *params):
    with psycopg.connect(rw.url) as conn:
        return conn.execute(query, params).fetchall()


def _version(rw, code):
    return _db(rw, "SELECT version FROM grids WHERE code = %s", code)[0][0]


def _households_in(rw, code):
    return {r[0] for r in _db(rw, "SELECT external_id FROM households"
                                   " WHERE grid_code = %s", code)}


def _misplaced(rw):
    """Households whose micro-grid does not hold them (must stay 0)."""
    return _db(rw, "SELECT count(*) FROM households h JOIN grids g"
                   " ON g.code = h.grid_code WHERE NOT ST_Intersects(g.geom, h.geom)"
               )[0][0]


def _tiling_error_m2(rw, parent):
    """|parent Δ union(children)| in m²: 0 when the children tile the parent."""
    return _db(rw, "SELECT ST_Area(ST_SymDifference(p.geom, ST_Union(c.geom))"
                   "::geography) FROM grids p JOIN grids c ON c.parent_code = p.code"
                   " WHERE p.code = %s GROUP BY p.geom", parent)[0][0]


def test_preview_shows_who_moves_and_changes_nothing(rw, demo_town):
    a, b, ga, gb = next(_pairs(demo_town.grids, 4))
    new_a, strip = _grown(ga, gb)
    hh = demo_town.households
    # known answer, computed here with shapely on the generated data
    expected = set(hh[(hh.grid_code == b) & hh.within(strip)].external_id)
    assert expected, "pick a strip that holds households"
    before = _households_in(rw, b)
    r = rw.client("planner").post(f"/api/v1/grids/{a}/preview",
                                  json={"geometry": mapping(new_a), "version": 1})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["can_save"] is True and body["gaps"] == []
    moved_ids = [m["id"] for m in body["moves"]["households"]]
    assert all(m["from"] == b and m["to"] == a for m in body["moves"]["households"])
    moved = {r[0] for r in _db(rw, "SELECT external_id FROM households"
                                   " WHERE id = ANY(%s)", moved_ids)}
    assert moved == expected
    assert {f["properties"]["code"] for f in body["grids"]["features"]} == {a, b}
    # nothing changed
    assert _version(rw, a) == 1 and _version(rw, b) == 1
    assert _households_in(rw, b) == before


def test_save_moves_households_keeps_history_and_the_tiling(rw, demo_town):
    a, b, ga, gb = list(_pairs(demo_town.grids, 4))[3]
    new_a, strip = _grown(ga, gb)
    hh = demo_town.households
    expected = set(hh[(hh.grid_code == b) & hh.within(strip)].external_id)
    r = rw.client("planner").put(f"/api/v1/grids/{a}",
                                 json={"geometry": mapping(new_a), "version": 1})
    assert r.status_code == 200, r.get_json()
    assert _version(rw, a) == 2 and _version(rw, b) == 2
    assert expected <= _households_in(rw, a)
    assert not expected & _households_in(rw, b)
    assert _misplaced(rw) == 0
    assert _tiling_error_m2(rw, a[:15]) < 1.0
    history = _db(rw, "SELECT code, version FROM grid_history WHERE code IN (%s, %s)"
                      " ORDER BY code", a, b)
    assert history == [(a, 1), (b, 1)]
    audited = _db(rw, "SELECT username, geom_before IS NOT NULL FROM audit"
                      " WHERE table_name = 'grids' AND row_key = %s", a)
    assert audited == [("planner", True)]
    # the same edit from the old version: 409 with the current version, no change
    r = rw.client("planner").put(f"/api/v1/grids/{a}",
                                 json={"geometry": mapping(ga), "version": 1})
    assert r.status_code == 409
    assert r.get_json()["error"]["current_version"] == 2
    assert _version(rw, a) == 2


def test_pulling_back_leaves_a_gap_that_the_save_refuses(rw, demo_town):
    a, _, ga, _ = list(_pairs(demo_town.grids, 4))[6]
    shrunk = shapely.buffer(ga, -0.0003)
    client = rw.client("planner")
    preview = client.post(f"/api/v1/grids/{a}/preview",
                          json={"geometry": mapping(shrunk), "version": 1}).get_json()
    assert preview["can_save"] is False
    # the gap is the ring given up: its area is ga minus shrunk, as PostGIS measures
    ring = _db(rw, "SELECT ST_Area(ST_Difference(ST_GeomFromText(%s, 4326),"
                   " ST_GeomFromText(%s, 4326))::geography)", ga.wkt, shrunk.wkt)[0][0]
    assert preview["gap_area_m2"] == pytest.approx(ring, rel=0.01)
    r = client.put(f"/api/v1/grids/{a}",
                   json={"geometry": mapping(shrunk), "version": 1})
    assert r.status_code == 422
    assert "gap" in r.get_json()["error"]["message"]
    assert _version(rw, a) == 1


def test_a_level_3_edit_carries_down_to_the_micro_grids(rw, demo_town):
    a, b, ga, gb = next(_pairs(demo_town.grids, 3))
    new_a, _ = _grown(ga, gb)
    r = rw.client("planner").put(f"/api/v1/grids/{a}",
                                 json={"geometry": mapping(new_a), "version": 1})
    assert r.status_code == 200, r.get_json()
    changed = {f["properties"]["code"] for f in r.get_json()["grids"]["features"]}
    assert {a, b} <= changed
    assert any(len(c) == 18 for c in changed)  # micro-grids followed
    for parent in (a, b, a[:12]):
        assert _tiling_error_m2(rw, parent) < 1.0
    assert _misplaced(rw) == 0


def test_split_along_a_line(rw, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[40]
    x0, y0, x1, y1 = micro.geometry.bounds
    mid = micro.geometry.centroid.y
    line = shapely.LineString([(x0 - 0.01, mid), (x1 + 0.01, mid)])
    client = rw.client("planner")
    r = client.post(f"/api/v1/grids/{micro.code}/split",
                    json={"line": mapping(line), "version": 1, "name": "新微网格"})
    assert r.status_code == 200, r.get_json()
    codes = {f["properties"]["code"] for f in r.get_json()["grids"]["features"]}
    (new,) = codes - {micro.code}
    assert new[:15] == micro.code[:15] and len(new) == 18
    assert _db(rw, "SELECT name FROM grids WHERE code = %s", new) == [("新微网格",)]
    assert _households_in(rw, new)  # some households now belong to the new grid
    assert _misplaced(rw) == 0
    assert _tiling_error_m2(rw, micro.code[:15]) < 1.0
    far = shapely.LineString([(x1 + 0.1, y0), (x1 + 0.2, y1)])
    r = client.post(f"/api/v1/grids/{micro.code}/split",
                    json={"line": mapping(far), "version": 2})
    assert r.status_code == 422
    assert "does not cross" in r.get_json()["error"]["message"]


def test_merge_siblings(rw, demo_town):
    a, b, _, _ = list(_pairs(demo_town.grids, 4))[-1]
    households = _households_in(rw, a) | _households_in(rw, b)
    r = rw.client("planner").post(
        "/api/v1/grids/merge",
        json={"codes": [a, b], "versions": {a: 1, b: 1}})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["removed"] == [b]
    assert _db(rw, "SELECT count(*) FROM grids WHERE code = %s", b)[0][0] == 0
    assert _households_in(rw, a) == households
    assert _db(rw, "SELECT count(*) FROM grid_staff WHERE grid_code = %s", a)[0][0] \
        >= 2  # both liaisons now serve the merged grid
    assert _db(rw, "SELECT count(*) FROM grid_history WHERE code = %s", b)[0][0] == 1
    assert _tiling_error_m2(rw, a[:15]) < 1.0


def test_merging_grids_of_different_parents_is_refused(rw, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4]
    a = micro.iloc[0].code
    b = micro[micro.parent_code != micro.iloc[0].parent_code].iloc[0].code
    versions = {a: _version(rw, a), b: _version(rw, b)}
    r = rw.client("planner").post("/api/v1/grids/merge/preview",
                                  json={"codes": [a, b], "versions": versions})
    assert r.status_code == 422
    assert "not siblings" in r.get_json()["error"]["message"]


BOWTIE = {"type": "Polygon", "coordinates": [[[119.70, 31.20], [119.71, 31.21],
                                              [119.71, 31.20], [119.70, 31.21],
                                              [119.70, 31.20]]]}
SWAPPED = {"type": "Polygon", "coordinates": [[[31.20, 119.70], [31.21, 119.70],
                                               [31.21, 119.71], [31.20, 119.70]]]}


@pytest.mark.parametrize(("body", "status", "words"), [
    ({"geometry": BOWTIE, "version": 1}, 422, "Self-intersection"),
    ({"geometry": SWAPPED, "version": 1}, 422, "swapped"),
    ({"geometry": {"type": "Point", "coordinates": [119.7, 31.2]}, "version": 1},
     422, "Polygon or MultiPolygon"),
    ({"geometry": {"type": "Polygon"}, "version": 1}, 422, "not valid GeoJSON"),
    ("not json", 400, "JSON object"),
])
def test_bad_geometries_are_refused_and_change_nothing(rw, demo_town, body, status,
                                                       words):
    code = demo_town.grids[demo_town.grids.level == 4].iloc[80].code
    client = rw.client("planner")
    r = client.put(f"/api/v1/grids/{code}", json=body) if isinstance(body, dict) \
        else client.put(f"/api/v1/grids/{code}", data=body,
                        content_type="application/json")
    assert r.status_code == status
    assert words in r.get_json()["error"]["message"]
    assert _version(rw, code) == 1


def test_roles_and_jurisdiction_bound_edits(rw, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4]
    code = micro.iloc[85].code
    body = {"geometry": mapping(micro.iloc[85].geometry), "version": 1}
    assert rw.client("leader").put(f"/api/v1/grids/{code}", json=body).status_code \
        == 403
    assert rw.client("village1").put(f"/api/v1/grids/{code}", json=body).status_code \
        == 403  # a dispatcher may not edit grids at all


def test_propose_then_adopt_micro_grids(rw, demo_town):
    level3 = demo_town.grids[demo_town.grids.level == 3].code.iloc[-3]
    client = rw.client("planner")
    r = client.post(f"/api/v1/grids/{level3}/propose-micro", json={"target": 60})
    assert r.status_code == 200, r.get_json()
    proposal = r.get_json()
    summary = proposal["summary"]
    in_grid = _db(rw, "SELECT count(*) FROM households WHERE grid_code LIKE %s",
                  level3 + "%")[0][0]
    assert summary["households"] == in_grid
    assert summary["within_bounds"] and 50 <= summary["min"] <= summary["max"] <= 100
    assert sum(f["properties"]["households"] for f in proposal["features"]) == in_grid
    children = client.get(f"/api/v1/grids?parent={level3}").get_json()["features"]
    versions = {f["properties"]["code"]: f["properties"]["version"] for f in children}
    body = {"grids": proposal, "versions": versions}
    preview = client.post(f"/api/v1/grids/{level3}/children/preview", json=body)
    assert preview.status_code == 200, preview.get_json()
    assert preview.get_json()["can_save"]
    r = client.put(f"/api/v1/grids/{level3}/children", json=body)
    assert r.status_code == 200, r.get_json()
    counts = _db(rw, "SELECT g.code, count(h.id) FROM grids g"
                     " LEFT JOIN households h ON h.grid_code = g.code"
                     " WHERE g.parent_code = %s GROUP BY g.code", level3)
    assert len(counts) == summary["grids"]
    assert all(50 <= n <= 100 for _, n in counts)
    assert len(set(versions) & {c for c, _ in counts}) == min(len(versions),
                                                              len(counts))
    assert _misplaced(rw) == 0
    assert _tiling_error_m2(rw, level3) < 1.0


def test_a_proposal_for_a_micro_grid_is_refused(rw, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].code.iloc[2]
    r = rw.client("planner").post(f"/api/v1/grids/{micro}/propose-micro", json={})
    assert r.status_code == 422
    assert "level 3" in r.get_json()["error"]["message"]


def test_the_preview_carries_the_parents_check(rw, demo_town):
    a, b, ga, gb = list(_pairs(demo_town.grids, 4))[8]
    new_a, _ = _grown(ga, gb)
    body = rw.client("planner").post(
        f"/api/v1/grids/{a}/preview",
        json={"geometry": mapping(new_a), "version": _version(rw, a)}).get_json()
    report = body["check"]
    assert report["root"] == a[:15]
    assert [e for e in report["errors"] if e["kind"] in ("gap", "overlap")] == []
    shrunk = shapely.buffer(ga, -0.0003)
    body = rw.client("planner").post(
        f"/api/v1/grids/{a}/preview",
        json={"geometry": mapping(shrunk), "version": _version(rw, a)}).get_json()
    gaps = [e for e in body["check"]["errors"] if e["kind"] == "gap"]
    assert gaps and a[:15] in gaps[0]["codes"]


def test_a_boundary_rounded_by_a_client_changes_no_neighbour(rw, demo_town):
    """GeoJSON clients round coordinates: sending a grid back unchanged but rounded
    to 6 decimals (~10 cm) must not take area from, or give area to, anyone."""
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[60]
    rounded = shapely.transform(micro.geometry, lambda xy: xy.round(6))
    body = rw.client("planner").post(
        f"/api/v1/grids/{micro.code}/preview",
        json={"geometry": mapping(rounded),
              "version": _version(rw, micro.code)}).get_json()
    assert body["can_save"] and body["gaps"] == []
    assert {f["properties"]["code"] for f in body["grids"]["features"]} <= \
        {micro.code}
    assert body["moves"]["households"] == []


def test_what_a_grid_looked_like_on_a_date(rw, demo_town):
    a, b, ga, gb = list(_pairs(demo_town.grids, 4))[10]
    before = _db(rw, "SELECT now()")[0][0].isoformat()
    new_a, _ = _grown(ga, gb)
    client = rw.client("planner")
    r = client.put(f"/api/v1/grids/{a}",
                   json={"geometry": mapping(new_a), "version": _version(rw, a)})
    assert r.status_code == 200, r.get_json()
    then = client.get(f"/api/v1/grids/{a}", query_string={"at": before}).get_json()
    now = client.get(f"/api/v1/grids/{a}").get_json()
    assert then["properties"]["version"] == now["properties"]["version"] - 1
    assert then["properties"]["valid_to"] is not None
    # the old boundary is the generated one (to the output's 9 decimals: well under
    # 1 m², about 1e-10 square degrees here), not the new one (~40 m strip)
    old = shapely.geometry.shape(then["geometry"])
    assert shapely.symmetric_difference(old, ga).area < 1e-10
    assert shapely.symmetric_difference(old, new_a).area > 1e-8
    assert client.get(f"/api/v1/grids/{a}?at=2000-01-01").status_code == 404
    bad = client.get(f"/api/v1/grids/{a}?at=yesterday")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "at"


def test_create_and_delete_a_micro_grid(rw, demo_town):
    level3 = demo_town.grids[demo_town.grids.level == 3].code.iloc[5]
    micro = demo_town.grids[demo_town.grids.parent_code == level3]
    host = micro.iloc[0]
    # a 150 m square around a point inside the host micro-grid
    centre = host.geometry.representative_point()
    square = shapely.box(centre.x - 0.0008, centre.y - 0.0007,
                         centre.x + 0.0008, centre.y + 0.0007)
    hh = demo_town.households
    inside = set(hh.external_id[hh.within(square) & hh.grid_code.str.startswith(
        level3)])
    client = rw.client("planner")
    body = {"parent": level3, "name": "新建微网格", "geometry": mapping(square)}
    assert client.post("/api/v1/grids/preview", json=body).status_code == 200
    r = client.post("/api/v1/grids", json=body)
    assert r.status_code == 200, r.get_json()
    created = [f["properties"] for f in r.get_json()["grids"]["features"]
               if f["properties"]["name"] == "新建微网格"]
    (new,) = [p["code"] for p in created]
    assert new.startswith(level3) and len(new) == 18
    assert _households_in(rw, new) == inside
    assert _tiling_error_m2(rw, level3) < 1.0 and _misplaced(rw) == 0
    # delete it again: area and households go to the neighbour with the longest
    # border (here the grid it was cut out of)
    r = client.delete(f"/api/v1/grids/{new}?version={_version(rw, new)}")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["removed"] == [new]
    assert inside <= _households_in(rw, host.code)
    assert _tiling_error_m2(rw, level3) < 1.0 and _misplaced(rw) == 0
    r = client.post("/api/v1/grids", json=body | {"parent": host.code})
    assert r.status_code == 422 and "level 3" in r.get_json()["error"]["message"]


def test_a_proposal_for_a_grid_a_redraw_cut_in_two_returns(rw, demo_town):
    """Found by the attack: 001002 pushed 40 m into 001003 leaves 001003 in parts
    that some micro-grids cannot join; propose-micro then looped for ever and held
    a server worker. It must answer (the alarm turns a hang into a failure)."""
    import signal

    g = demo_town.grids.set_index("code")
    a, b = "320282105001002", "320282105001003"
    new_a, _ = _grown(g.geometry[a], g.geometry[b])
    r = rw.client("admin").put(f"/api/v1/grids/{a}", json={
        "geometry": mapping(new_a), "version": _version(rw, a)})
    assert r.status_code == 200, r.get_json()

    def stuck(*_):
        raise TimeoutError("propose-micro did not answer in 60 s")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(60)
    try:
        r = rw.client("planner").post(f"/api/v1/grids/{b}/propose-micro",
                                      json={"target": 60})
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["features"]
