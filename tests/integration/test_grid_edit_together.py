"""A redraw that sends the neighbours redrawn with it (a shared vertex moved in
all of them) and hands gaps to a neighbour (``give``): no gap, no overlap, every
check in force (issue 16, Planner, "Editing at a junction always leaves a gap").

The cases are vertices the demo town's micro-grids share, pulled 30 m back into
one grid (found as the browser test finds them).
"""

import pytest
from shapely.geometry import mapping

from tests.browser.test_plan_topology import _area, _pull_backs
from tests.conftest import writable_demo
from tests.integration.test_grid_edit import _db, _misplaced, _tiling_error_m2, _version

pytestmark = pytest.mark.db

BOWTIE = {"type": "Polygon", "coordinates": [[
    [120.0, 31.0], [120.01, 31.01], [120.01, 31.0], [120.0, 31.01], [120.0, 31.0]]]}


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    from layers import users
    from layers.access import SYSTEM

    def setup(conn):  # a planner of one comprehensive grid (level 3)
        case = next(_pull_backs(demo_town))
        users.add_user(conn, SYSTEM, "l3planner", "planner", grid_code=case.parent)

    return writable_demo(databases, demo_town, setup)


@pytest.fixture(scope="module")
def cases(demo_town):
    """One pull-back per parent grid, so that each test edits its own."""
    out, seen = [], set()
    for case in _pull_backs(demo_town):
        if case.parent not in seen:
            seen.add(case.parent)
            out.append(case)
    return out


def _areas(rw, *codes):
    return dict(_db(rw, "SELECT code, ST_Area(geom::geography) FROM grids"
                        " WHERE code = ANY(%s)", list(codes)))


def test_a_shared_vertex_moved_in_both_grids_saves_without_a_gap(rw, cases):
    case = cases[1]
    before = _areas(rw, case.a, case.b)
    body = {"geometry": mapping(case.new_a), "version": 1,
            "neighbours": {case.b: {"geometry": mapping(case.new_b), "version": 1}}}
    client = rw.client("planner")
    preview = client.post(f"/api/v1/grids/{case.a}/preview", json=body).get_json()
    assert preview["can_save"] is True and preview["gaps"] == []
    assert {f["properties"]["code"] for f in preview["grids"]["features"]} == \
        {case.a, case.b}
    r = client.put(f"/api/v1/grids/{case.a}", json=body)
    assert r.status_code == 200, r.get_json()
    assert _version(rw, case.a) == 2 and _version(rw, case.b) == 2
    # known answer: A gives up exactly what lies between its old and new
    # boundary, and B gains it (pyproj on the ellipsoid, as ST_Area(geography))
    freed = _area(case.siblings[case.a].difference(case.new_a))
    after = _areas(rw, case.a, case.b)
    assert after[case.a] == pytest.approx(before[case.a] - freed, abs=0.5)
    assert after[case.b] == pytest.approx(before[case.b] + freed, abs=0.5)
    assert _tiling_error_m2(rw, case.parent) < 1.0
    assert _misplaced(rw) == 0
    audited = _db(rw, "SELECT row_key FROM audit WHERE table_name = 'grids'"
                      " AND row_key IN (%s, %s) ORDER BY row_key", case.a, case.b)
    assert audited == sorted([(case.a,), (case.b,)])


def test_a_gap_handed_to_the_neighbour_across_it(rw, cases):
    case = cases[2]
    client = rw.client("planner")
    alone = {"geometry": mapping(case.new_a), "version": 1}
    preview = client.post(f"/api/v1/grids/{case.a}/preview", json=alone).get_json()
    assert preview["can_save"] is False
    (gap,) = preview["gap_info"]
    assert case.b in gap["neighbours"] and case.a in gap["neighbours"]
    freed = _area(case.siblings[case.a].difference(case.new_a))
    assert gap["area_m2"] == pytest.approx(freed, abs=0.5)

    body = alone | {"give": [{"at": gap["at"], "to": case.b, "version": 1}]}
    before = _areas(rw, case.a, case.b)
    preview = client.post(f"/api/v1/grids/{case.a}/preview", json=body).get_json()
    assert preview["can_save"] is True and preview["gaps"] == []
    r = client.put(f"/api/v1/grids/{case.a}", json=body)
    assert r.status_code == 200, r.get_json()
    after = _areas(rw, case.a, case.b)
    assert after[case.b] == pytest.approx(before[case.b] + freed, abs=0.5)
    assert _tiling_error_m2(rw, case.parent) < 1.0


def test_a_stale_neighbour_is_a_conflict(rw, cases):
    case = cases[3]
    body = {"geometry": mapping(case.new_a), "version": 1,
            "neighbours": {case.b: {"geometry": mapping(case.new_b), "version": 7}}}
    r = rw.client("planner").put(f"/api/v1/grids/{case.a}", json=body)
    assert r.status_code == 409
    assert case.b in r.get_json()["error"]["message"]
    assert _version(rw, case.a) == 1 and _version(rw, case.b) == 1


@pytest.mark.parametrize(("extra", "status", "field"), [
    ({"neighbours": ["x"]}, 400, "neighbours"),
    ({"neighbours": {"B": "x"}}, 400, "neighbours"),
    ({"neighbours": {"B": {"geometry": BOWTIE, "version": 1}}}, 422,
     "neighbours.B.geometry"),
    ({"neighbours": {"A": {"geometry": "A", "version": 1}}}, 400, "neighbours"),
    ({"give": {"at": [120, 31], "to": "B"}}, 400, "give"),
    ({"give": [{"at": [120], "to": "B"}]}, 400, "give"),
    ({"give": [{"at": ["x", 31], "to": "B"}]}, 400, "give"),
    ({"give": [{"at": [120, 31], "to": 5}]}, 400, "give"),
    ({"give": [{"at": "A", "to": "B", "version": 1}]}, 400, "give"),
    ({"give": [{"at": "INSIDE_A", "to": "B", "version": 1}]}, 422, "give"),
])
def test_bad_neighbours_and_gifts_are_refused_naming_the_field(
        rw, cases, extra, status, field):
    case = cases[4]
    names = {"A": case.a, "B": case.b}

    def fill(value):
        if isinstance(value, dict):
            return {names.get(k, k): fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [fill(v) for v in value]
        if value == "A" and isinstance(value, str):
            return mapping(case.new_a)
        if value == "INSIDE_A":
            p = case.new_a.representative_point()
            return [p.x, p.y]
        return names.get(value, value) if isinstance(value, str) else value

    body = {"geometry": mapping(case.new_a), "version": 1} | fill(extra)
    if field.startswith("neighbours."):
        field = f"neighbours.{case.b}.geometry"
    r = rw.client("planner").post(f"/api/v1/grids/{case.a}/preview", json=body)
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert error["field"] == field
    assert "Traceback" not in error["message"]
    assert _version(rw, case.a) == 1


def test_a_neighbour_outside_the_jurisdiction_is_refused_by_name(rw, cases):
    case = cases[0]  # under the parent l3planner is bound to
    client = rw.client("l3planner")
    other = cases[5]  # a micro-grid under another comprehensive grid
    for code, status in ((case.parent, 403), (other.b, 404)):
        body = {"geometry": mapping(case.new_a), "version": 1,
                "neighbours": {code: {"geometry": mapping(case.new_b),
                                      "version": 1}}}
        r = client.post(f"/api/v1/grids/{case.a}/preview", json=body)
        assert r.status_code == status, r.get_json()
        assert code in r.get_json()["error"]["message"]
    # a gap handed outside it: the same
    body = {"geometry": mapping(case.new_a), "version": 1,
            "give": [{"at": [case.vertex[0], case.vertex[1]], "to": other.b,
                      "version": 1}]}
    r = client.post(f"/api/v1/grids/{case.a}/preview", json=body)
    assert r.status_code == 404 and other.b in r.get_json()["error"]["message"]
    # a grid of another parent is no neighbour to redraw with it
    r = rw.client("planner").post(f"/api/v1/grids/{case.a}/preview", json={
        "geometry": mapping(case.new_a), "version": 1,
        "neighbours": {other.b: {"geometry": mapping(case.new_b), "version": 1}}})
    assert r.status_code == 422 and "not siblings" in r.get_json()["error"]["message"]
    # and inside it, the same edit passes
    body = {"geometry": mapping(case.new_a), "version": 1,
            "neighbours": {case.b: {"geometry": mapping(case.new_b), "version": 1}}}
    r = client.post(f"/api/v1/grids/{case.a}/preview", json=body)
    assert r.status_code == 200 and r.get_json()["can_save"] is True
