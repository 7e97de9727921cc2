"""Split and merge above level 4: villages and comprehensive grids with children.

Known answers come from the generated demo town (seed 1): 8 villages 001–008 of
town 320282105; village 007 has 2 comprehensive grids, 008 has 3, 005 has 4
(005001 holds 223 households, 005002–005004 hold 294 + 267 + 299 = 860). Each
test uses villages no other test of this module touches.
"""

import psycopg
import pytest
import shapely
from shapely.geometry import mapping

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

TOWN = "320282105"


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def _db(rw, query, *params):
    with psycopg.connect(rw.url) as conn:
        return conn.execute(query, params).fetchall()


def _version(rw, code):
    return _db(rw, "SELECT version FROM grids WHERE code = %s", code)[0][0]


def _snapshot(rw):
    """Everything an edit could change, to compare before and after a refusal."""
    return {
        "grids": _db(rw, "SELECT code, version, parent_code, md5(ST_AsEWKB(geom))"
                         " FROM grids ORDER BY code"),
        "households": _db(rw, "SELECT id, grid_code FROM households ORDER BY id"),
        "staff": _db(rw, "SELECT id, grid_code FROM grid_staff ORDER BY id"),
        "incidents": _db(rw, "SELECT id, grid_code FROM incidents ORDER BY id"),
        "users": _db(rw, "SELECT username, grid_code FROM users ORDER BY username"),
        "history": _db(rw, "SELECT count(*) FROM grid_history"),
        "lineage": _db(rw, "SELECT count(*) FROM grid_lineage"),
        "audit": _db(rw, "SELECT count(*) FROM audit WHERE table_name = 'grids'"),
    }


def _children(demo_town, parent):
    grids = demo_town.grids
    return grids[grids.parent_code == parent].set_index("code").geometry


def _geometry(demo_town, code):
    return demo_town.grids.set_index("code").geometry[code]


def _along(boundary_of, others, outside):
    """The shared edge of ``boundary_of`` and ``others`` as one line, each end
    stretched 30 m along its last segment so that it crosses ``outside``'s
    boundary rather than ending exactly on it."""
    shared = shapely.line_merge(shapely.intersection(
        boundary_of.boundary, shapely.union_all(list(others)).boundary))
    assert shared.geom_type == "LineString"
    coords = list(shared.coords)

    def stretch(end, inner):
        dx, dy = end[0] - inner[0], end[1] - inner[1]
        k = 0.0003 / max((dx * dx + dy * dy) ** 0.5, 1e-12)
        return (end[0] + dx * k, end[1] + dy * k)

    line = [stretch(coords[0], coords[1]), *coords, stretch(coords[-1], coords[-2])]
    assert not shapely.contains(outside, shapely.Point(line[0]))
    return shapely.LineString(line)


def test_merging_two_adjacent_villages(rw, demo_town):
    a, b = f"{TOWN}007", f"{TOWN}008"
    client = rw.client("planner")
    before = _db(rw, "SELECT now()")[0][0]
    total = _db(rw, "SELECT count(*) FROM households")[0][0]
    in_b = {r[0] for r in _db(rw, "SELECT id FROM households WHERE grid_code LIKE %s",
                              b + "%")}
    in_a = {r[0] for r in _db(rw, "SELECT id FROM households WHERE grid_code LIKE %s",
                              a + "%")}
    staff_b = _db(rw, "SELECT count(*) FROM grid_staff WHERE grid_code LIKE %s",
                  b + "%")[0][0]
    body = {"codes": [b, a], "versions": {a: 1, b: 1}}  # keep: the lowest code
    preview = client.post("/api/v1/grids/merge/preview", json=body)
    assert preview.status_code == 200, preview.get_json()
    shown = preview.get_json()
    # 007 has children 001–002: 008's 001–003 become 007's 003–005, in order
    level3 = [(p["from"], p["to"]) for p in shown["recoded"] if p["level"] == 3]
    assert level3 == [(f"{b}001", f"{a}003"), (f"{b}002", f"{a}004"),
                      (f"{b}003", f"{a}005")]
    # the micro-grids below keep their own last three digits
    micro = [(p["from"], p["to"]) for p in shown["recoded"] if p["level"] == 4]
    renamed = dict(level3)
    assert micro and all(t == renamed[f[:15]] + f[15:] for f, t in micro)
    assert shown["counts"]["households"] == len(in_b)
    assert shown["counts"]["staff"] == staff_b
    assert shown["removed"] == [b]
    assert shown["check"]["root"] == TOWN and shown["check"]["errors"] == []
    assert _version(rw, a) == 1 and _db(rw, "SELECT count(*) FROM grids"
                                            " WHERE code LIKE %s", b + "%")[0][0] > 0

    r = client.post("/api/v1/grids/merge", json=body)
    assert r.status_code == 200, r.get_json()
    assert _db(rw, "SELECT count(*) FROM grids WHERE level = 2")[0][0] == 7
    assert _db(rw, "SELECT count(*) FROM grids WHERE code LIKE %s", b + "%") \
        == [(0,)]
    assert _db(rw, "SELECT count(*) FROM households")[0][0] == total
    now_in_a = {r[0] for r in _db(
        rw, "SELECT id FROM households WHERE grid_code LIKE %s", a + "%")}
    assert now_in_a == in_a | in_b
    assert _db(rw, "SELECT code FROM grids WHERE parent_code = %s ORDER BY code",
               a) == [(f"{a}{n:03d}",) for n in range(1, 6)]
    # every micro-grid of 008 lives on under the new code, with its households
    assert _db(rw, "SELECT count(*) FROM grids WHERE code = ANY(%s)",
               [t for _, t in micro])[0][0] == len(micro)
    assert _db(rw, "SELECT count(*) FROM grids g LEFT JOIN grids p"
                   " ON p.code = g.parent_code WHERE g.level > 1"
                   " AND (p.code IS NULL OR left(g.code, length(p.code)) <> p.code)"
               ) == [(0,)]
    # the kept village is exactly the two: area of the union by PostGIS
    union = shapely.union(_geometry(demo_town, a), _geometry(demo_town, b))
    assert _db(rw, "SELECT ST_Area(ST_SymDifference(geom, ST_GeomFromText(%s, 4326))"
                   "::geography) FROM grids WHERE code = %s", union.wkt, a)[0][0] < 1
    check = client.get(f"/api/v1/grids/check?root={TOWN}").get_json()
    assert check["errors"] == []
    # history: the merged-away village as it was, and what it became
    then = client.get(f"/api/v1/grids/{b}",
                      query_string={"at": before.isoformat()}).get_json()
    old = shapely.geometry.shape(then["geometry"])
    assert shapely.symmetric_difference(old, _geometry(demo_town, b)).area < 1e-10
    assert then["properties"]["valid_to"] is not None
    assert client.get(f"/api/v1/grids/{b}").status_code == 404
    lineage = client.get(f"/api/v1/grids/{b}/lineage").get_json()
    assert lineage["now"] == [a] and lineage["became"][0]["kind"] == "merge"
    assert client.get(f"/api/v1/grids/{b}001/lineage").get_json()["now"] == \
        [f"{a}003"]
    audited = _db(rw, "SELECT action FROM audit WHERE table_name = 'grids'"
                      " AND row_key = %s", b)
    assert audited == [("delete",)]


def test_splitting_a_village_along_its_grids_edge(rw, demo_town):
    village = f"{TOWN}005"
    kids = _children(demo_town, village)
    line = _along(kids[f"{village}001"], kids.drop(f"{village}001"),
                  _geometry(demo_town, village))
    hh = {r[0] for r in _db(rw, "SELECT id FROM households WHERE grid_code LIKE %s",
                            village + "001%")}
    assert len(hh) == 223
    client = rw.client("planner")
    r = client.post(f"/api/v1/grids/{village}/split",
                    json={"line": mapping(line), "version": 1, "name": "新村"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    # 860 households stay with 005's code; 005001 (223) goes to the next free
    # village code, 009, as its first grid
    new = f"{TOWN}009"
    assert {f["properties"]["code"] for f in body["grids"]["features"]} == \
        {village, new}
    assert [(p["from"], p["to"]) for p in body["recoded"] if p["level"] == 3] == \
        [(f"{village}001", f"{new}001")]
    assert body["counts"]["households"] == 223
    rows = dict(_db(rw, "SELECT code, parent_code FROM grids WHERE level = 3"
                        " AND (code LIKE %s OR code LIKE %s)", village + "%",
                    new + "%"))
    assert rows == {f"{new}001": new, f"{village}002": village,
                    f"{village}003": village, f"{village}004": village}
    assert _db(rw, "SELECT name FROM grids WHERE code = %s", new) == [("新村",)]
    assert {r[0] for r in _db(rw, "SELECT id FROM households WHERE grid_code"
                                  " LIKE %s", new + "%")} == hh
    # the two villages are exactly their grids: the tiling holds
    for code in (village, new):
        assert _db(rw, "SELECT ST_Area(ST_SymDifference(p.geom, ST_Union(c.geom))"
                       "::geography) FROM grids p JOIN grids c"
                       " ON c.parent_code = p.code WHERE p.code = %s"
                       " GROUP BY p.geom", code)[0][0] < 1
    assert body["check"]["errors"] == []
    became = client.get(f"/api/v1/grids/{village}/lineage").get_json()["became"]
    assert [(s["code"], s["kind"]) for s in became] == [(new, "split")]


def test_a_split_line_crossing_a_grid_below_is_refused(rw, demo_town):
    village = f"{TOWN}006"
    crossed = _children(demo_town, village)[f"{village}002"]
    x0, _, x1, _ = _geometry(demo_town, village).bounds
    y = crossed.representative_point().y
    line = shapely.LineString([(x0 - 0.01, y), (x1 + 0.01, y)])
    before = _snapshot(rw)
    r = rw.client("planner").post(f"/api/v1/grids/{village}/split",
                                  json={"line": mapping(line), "version": 1})
    assert r.status_code == 422
    error = r.get_json()["error"]
    assert f"{village}002" in error["message"] and error["field"] == "line"
    assert _snapshot(rw) == before


@pytest.mark.parametrize(("codes", "words"), [
    ([f"{TOWN}001", f"{TOWN}005"], "not adjacent"),
    ([f"{TOWN}002", f"{TOWN}003001"], "not siblings"),
])
def test_merging_non_adjacent_or_non_sibling_grids_is_refused(rw, codes, words):
    before = _snapshot(rw)
    versions = {c: _version(rw, c) for c in codes}
    for url in ("/api/v1/grids/merge/preview", "/api/v1/grids/merge"):
        r = rw.client("planner").post(url, json={"codes": codes,
                                                 "versions": versions})
        assert r.status_code == 422
        assert words in r.get_json()["error"]["message"]
    assert _snapshot(rw) == before


def test_a_stale_version_of_any_grid_gets_409(rw):
    a, b = f"{TOWN}003", f"{TOWN}004"
    with psycopg.connect(rw.url) as conn:  # someone else changes 004
        conn.execute("UPDATE grids SET notes = 'elsewhere' WHERE code = %s", (b,))
    before = _snapshot(rw)
    r = rw.client("planner").post("/api/v1/grids/merge",
                                  json={"codes": [a, b], "versions": {a: 1, b: 1}})
    assert r.status_code == 409
    assert r.get_json()["error"]["current_version"] == 2
    assert _snapshot(rw) == before


def test_merging_comprehensive_grids_recodes_their_micro_grids(rw, demo_town):
    a, b = f"{TOWN}002001", f"{TOWN}002002"
    micro_b = sorted(_children(demo_town, b).index)
    hh_b = {r[0] for r in _db(rw, "SELECT id FROM households WHERE grid_code"
                                   " LIKE %s", b + "%")}
    n_a = len(_children(demo_town, a))
    r = rw.client("planner").post(
        "/api/v1/grids/merge",
        json={"codes": [a, b], "versions": {a: 1, b: 1}, "keep": a})
    assert r.status_code == 200, r.get_json()
    expected = {m: f"{a}{n_a + i:03d}" for i, m in enumerate(micro_b, start=1)}
    assert {p["from"]: p["to"] for p in r.get_json()["recoded"]} == expected
    moved = {r[0] for r in _db(rw, "SELECT id FROM households WHERE grid_code"
                                   " = ANY(%s)", list(expected.values()))}
    assert moved == hh_b
    assert r.get_json()["check"]["errors"] == []


def test_a_planner_cannot_split_the_root_of_the_jurisdiction(rw):
    """The part split off would be a sibling outside the planner's village."""
    from layers import users
    from layers.access import SYSTEM

    with psycopg.connect(rw.url) as conn:
        conn.execute("INSERT INTO users (username, role, grid_code)"
                     " VALUES ('vplanner', 'planner', %s)", (f"{TOWN}001",))
        token = users.create_token(conn, SYSTEM, "vplanner", "tests")
    client = rw.app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    line = {"type": "LineString", "coordinates": [[120, 31], [120.1, 31]]}
    r = client.post(f"/api/v1/grids/{TOWN}001/split/preview",
                    json={"line": line, "version": 1})
    assert r.status_code == 403
    assert "root of your jurisdiction" in r.get_json()["error"]["message"]


def test_lineage_of_an_unknown_code_is_404(rw):
    assert rw.client("planner").get("/api/v1/grids/999999999/lineage").status_code \
        == 404
