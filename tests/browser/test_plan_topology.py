"""Topological editing on the planners' page /plan in a real Chromium (issue 16,
Planner: "Editing at a junction always leaves a gap"): a vertex shared by two
grids moves in both, a dropped vertex snaps to a neighbour's vertex, undo, and a
gap handed to a neighbour in one click. Each checked in the database and by the
hierarchy check.

These tests change grids: they run on a database and a server of their own.
"""

import math
from types import SimpleNamespace

import numpy as np
import pytest
import shapely
from pyproj import Geod
from shapely.geometry import Point, Polygon, shape

from tests.browser.conftest import (
    db_rows,
    drag,
    open_plan,
    plan_state,
    plan_xy,
)

pytestmark = [pytest.mark.browser, pytest.mark.db]

GEOD = Geod(ellps="WGS84")
ZOOM = 17  # about 1 m a pixel at 31° N
SNAP_ZOOM = 15  # about 4 m a pixel: the next grid's vertices are ~250 m away
PULL_M = 30  # how far a shared vertex is pulled back into its grid


def _area(geom):
    """Area on the ellipsoid, m² (as PostGIS's ST_Area(geography))."""
    return abs(GEOD.geometry_area_perimeter(geom)[0])


def _metres(lat):
    return 111_320 * math.cos(math.radians(lat)), 110_574


def _local(geom, lat):
    """``geom`` in approximate local metres (enough to pick test cases)."""
    kx, ky = _metres(lat)
    return shapely.transform(geom, lambda xy: xy * [kx, ky])


def _shared_vertices(town):
    """Vertices shared by exactly two sibling micro-grids A and B, off the
    parent's outline, with both of A's edges at the vertex on the A|B border and
    A's neighbouring vertices at least 40 m away (their handles stand alone):
    SimpleNamespace(parent, a, b, index, vertex, siblings, outline)."""
    grids = town.grids.set_index("code")
    micro = grids[grids.level == 4]
    for parent in sorted(micro.parent_code.unique()):
        siblings = micro[micro.parent_code == parent].geometry
        outline = grids.geometry[parent].boundary
        rings = {c: [tuple(p) for part in g.geoms for p in part.exterior.coords[:-1]]
                 for c, g in siblings.items()}
        for a, geom_a in siblings.items():
            if len(geom_a.geoms) != 1:
                continue
            ring = rings[a]
            for i, v in enumerate(ring):
                having = [c for c in siblings.index if c != a and v in rings[c]]
                if len(having) != 1 or outline.distance(Point(v)) < 1e-9:
                    continue
                (b,) = having
                prev, nxt = ring[i - 1], ring[(i + 1) % len(ring)]
                if not (prev in rings[b] and nxt in rings[b]):
                    continue
                kx, ky = _metres(v[1])
                if min(math.hypot((p[0] - v[0]) * kx, (p[1] - v[1]) * ky)
                       for p in (prev, nxt)) < 40:
                    continue
                yield SimpleNamespace(parent=parent, a=a, b=b, index=i, vertex=v,
                                      siblings=siblings, outline=outline)


def _moved(geom, old, new):
    part = geom.geoms[0] if geom.geom_type == "MultiPolygon" else geom
    return Polygon([new if c == old else c for c in part.exterior.coords])


def _pull_backs(town):
    """Shared vertices and where to pull them: PULL_M metres into A, square to the
    chord of its two neighbours, landing at least 20 m from every boundary (no
    snapping), A and B staying valid."""
    for s in _shared_vertices(town):
        ring = list(s.siblings[s.a].geoms[0].exterior.coords)[:-1]
        prev, nxt = np.array(ring[s.index - 1]), np.array(ring[(s.index + 1)
                                                              % len(ring)])
        kx, ky = _metres(s.vertex[1])
        chord = (nxt - prev) * [kx, ky]
        normal = np.array([-chord[1], chord[0]]) / np.hypot(*chord)
        for sign in (1, -1):
            moved = tuple(np.add(s.vertex, sign * PULL_M * normal / [kx, ky]))
            new_a = _moved(s.siblings[s.a], s.vertex, moved)
            new_b = _moved(s.siblings[s.b], s.vertex, moved)
            if not (new_a.is_valid and new_b.is_valid and
                    s.siblings[s.a].contains(Point(moved))):
                continue
            lines = shapely.union_all([g.boundary for g in s.siblings])
            if _local(lines, s.vertex[1]).distance(
                    _local(Point(moved), s.vertex[1])) < 20:
                continue
            yield SimpleNamespace(**vars(s), moved=moved, new_a=new_a, new_b=new_b)
            break


def _redraw(page, case, zoom=ZOOM):
    """Select grid A, enter the redraw mode, zoom to the vertex."""
    rep = case.siblings[case.a].representative_point()
    page.mouse.click(*plan_xy(page, rep.x, rep.y))
    assert case.a in page.inner_text("#plan-selection")
    page.click("button[data-mode=redraw]")
    page.evaluate("([lat, lon, z]) => { window.gridgovPlan.map.setView([lat, lon], z,"
                  " {animate: false}); }", [case.vertex[1], case.vertex[0], zoom])
    page.wait_for_timeout(300)


def _drawn(page, code):
    return shape(page.evaluate(f"window.gridgovPlan.state.children['{code}'].layer"
                               ".toGeoJSON(false).geometry"))


def _vertices(geom):
    return {tuple(c) for p in shapely.get_parts(geom) for c in p.exterior.coords}


def _check_problems(page, server, parent, codes):
    """Gaps and overlaps the hierarchy check (GET /api/v1/grids/check) finds
    under ``parent`` that involve ``codes``."""
    r = page.request.get(f"{server.base}/api/v1/grids/check?root={parent}")
    assert r.status == 200
    return [p for p in r.json()["errors"] + r.json()["slivers"]
            if p["kind"] in ("gap", "overlap") and set(p["codes"] or []) & set(codes)]


def _areas(server, *codes):
    return dict(db_rows(server, "SELECT code, ST_Area(geom::geography) FROM grids"
                            " WHERE code = ANY(%s)", list(codes)))


def test_a_shared_vertex_pulled_back_moves_in_both_grids(page, plan_server, demo_town,
                                                        artifacts):
    case = next(_pull_backs(demo_town))
    before = _areas(plan_server, case.a, case.b)
    seen = open_plan(page, plan_server, case.parent)
    _redraw(page, case)
    drag(page, plan_xy(page, *case.vertex), plan_xy(page, *case.moved))
    page.wait_for_function("() => window.gridgovPlan.state.edited")
    drawn_a, drawn_b = _drawn(page, case.a), _drawn(page, case.b)
    # the vertex moved in both grids, to the same place, near the aim
    (new_v,) = _vertices(drawn_a) - _vertices(case.siblings[case.a])
    assert new_v in _vertices(drawn_b)
    assert case.vertex not in _vertices(drawn_a) | _vertices(drawn_b)
    kx, ky = _metres(new_v[1])
    assert math.hypot((new_v[0] - case.moved[0]) * kx,
                      (new_v[1] - case.moved[1]) * ky) < 3

    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert "可以保存" in page.inner_text("#plan-can-save")
    changed = page.eval_on_selector_all("#plan-grids tr[data-code]",
                                        "rows => rows.map(r => r.dataset.code)")
    assert set(changed) == {case.a, case.b}
    page.screenshot(path=str(artifacts / "plan-topology-preview.png"))
    page.click("#plan-save")
    plan_state(page, "saved")

    after = _areas(plan_server, case.a, case.b)
    # known answer: A loses what lies between its old and new boundary, B gains
    # exactly that; both as the page drew them (pyproj on the ellipsoid)
    freed = _area(shapely.difference(case.siblings[case.a], drawn_a))
    assert freed > 0.5 * PULL_M * 40  # a triangle of base ≥ 80 m, height ~30 m
    assert after[case.a] == pytest.approx(_area(drawn_a), abs=0.5)
    assert after[case.a] == pytest.approx(before[case.a] - freed, abs=0.5)
    assert after[case.b] == pytest.approx(before[case.b] + freed, abs=0.5)
    assert db_rows(plan_server, "SELECT code, version FROM grids WHERE code IN (%s, %s)"
                            " ORDER BY code", case.a, case.b) == \
        sorted([(case.a, 2), (case.b, 2)])
    assert _check_problems(page, plan_server, case.parent, [case.a, case.b]) == []
    assert seen["errors"] == []


def _edge_pulls(town):
    """The middle of an edge A shares with B (V to its next vertex) and where to
    pull it: PULL_M metres into A, square to the edge, at least 20 m from every
    boundary; the cases of :func:`_shared_vertices`."""
    for s in _shared_vertices(town):
        ring = list(s.siblings[s.a].geoms[0].exterior.coords)[:-1]
        v, nxt = np.array(s.vertex), np.array(ring[(s.index + 1) % len(ring)])
        middle = tuple((v + nxt) / 2)
        kx, ky = _metres(s.vertex[1])
        edge = (nxt - v) * [kx, ky]
        normal = np.array([-edge[1], edge[0]]) / np.hypot(*edge)
        lines = shapely.union_all([g.boundary for g in s.siblings])
        for sign in (1, -1):
            moved = tuple(np.add(middle, sign * PULL_M * normal / [kx, ky]))
            if s.siblings[s.a].contains(Point(moved)) and _local(
                    lines, s.vertex[1]).distance(_local(Point(moved), s.vertex[1])) \
                    >= 20:
                yield SimpleNamespace(**vars(s), nxt=tuple(nxt), moved=moved)
                break


def _snap_targets(town):
    """A shared vertex V of A|B and a vertex W of another sibling C (a vertex
    neither A nor B has) 25–90 px away at SNAP_ZOOM, where A with V moved to W is
    valid, no edge of another grid passes within 12 px of W without ending at it
    and no other vertex lies within 20 px (a drop near W has W as its only
    snap): (case, W)."""
    for s in _shared_vertices(town):
        lat = s.vertex[1]
        px = 156_543.03 * math.cos(math.radians(lat)) / 2 ** SNAP_ZOOM  # m a pixel
        near = _local(Point(s.vertex), lat)
        moving = _vertices(s.siblings[s.a]) | _vertices(s.siblings[s.b])
        segments = []
        for g in [*s.siblings.drop(s.a), s.outline]:
            for line in shapely.get_parts(shapely.boundary(g) if g.geom_type in (
                    "Polygon", "MultiPolygon") else g):
                cs = list(line.coords)
                segments += list(zip(cs, cs[1:], strict=False))
        for c, geom in s.siblings.items():
            if c in (s.a, s.b):
                continue
            for w in _vertices(geom) - moving:
                wl = _local(Point(w), lat)
                if not 25 * px <= wl.distance(near) <= 90 * px or \
                        not _moved(s.siblings[s.a], s.vertex, w).is_valid:
                    continue
                if all(w in (p, q) or (
                        _local(shapely.LineString([p, q]), lat).distance(wl) >= 12 * px
                        and min(_local(Point(x), lat).distance(wl)
                                for x in (p, q)) >= 20 * px)
                       for p, q in segments):
                    return s, w
    raise AssertionError("no vertex near another grid's vertex in the demo town")


def _latlngs(page, code):
    return page.evaluate(
        f"window.gridgovPlan.state.children['{code}'].layer.getLatLngs()"
        ".flat(3).map(p => [p.lng, p.lat])")


def test_a_dropped_vertex_snaps_to_a_neighbours_vertex_and_undo_restores(
        page, plan_server, demo_town, artifacts):
    case, w = _snap_targets(demo_town)
    seen = open_plan(page, plan_server, case.parent)
    _redraw(page, case, SNAP_ZOOM)
    original_a, original_b = _latlngs(page, case.a), _latlngs(page, case.b)
    target = plan_xy(page, *w)
    drag(page, plan_xy(page, *case.vertex), (target[0] + 3, target[1] - 2))
    page.wait_for_function("() => window.gridgovPlan.state.edited")
    # the drop lands exactly on W (3.6 px off without snapping), in A and in B
    a_now, b_now = _latlngs(page, case.a), _latlngs(page, case.b)
    assert list(w) in a_now and list(w) in b_now
    assert list(case.vertex) not in a_now
    page.screenshot(path=str(artifacts / "plan-topology-snap.png"))
    assert page.is_enabled("#plan-undo")

    page.keyboard.press("Control+z")
    page.wait_for_function("() => !window.gridgovPlan.state.edited")
    assert _latlngs(page, case.a) == original_a
    assert _latlngs(page, case.b) == original_b
    assert not page.is_enabled("#plan-undo")
    assert not page.is_enabled("#plan-preview")

    # the button does the same, one step at a time
    drag(page, plan_xy(page, *case.vertex), (target[0] + 3, target[1] - 2))
    page.wait_for_function("() => window.gridgovPlan.state.edited")
    page.click("#plan-undo")
    page.wait_for_function("() => !window.gridgovPlan.state.edited")
    assert _latlngs(page, case.a) == original_a
    assert _latlngs(page, case.b) == original_b
    assert seen["errors"] == []


def test_a_gap_is_handed_to_a_neighbour_in_one_click(page, plan_server, demo_town,
                                                    artifacts):
    # a pair under another parent than the first test's
    first = next(_pull_backs(demo_town))
    case = next(c for c in _pull_backs(demo_town) if c.parent != first.parent)
    before = _areas(plan_server, case.a, case.b)
    seen = open_plan(page, plan_server, case.parent)
    _redraw(page, case)
    page.uncheck("#plan-pin")  # the vertex moves in A only: a gap
    drag(page, plan_xy(page, *case.vertex), plan_xy(page, *case.moved))
    page.wait_for_function("() => window.gridgovPlan.state.edited")
    drawn_a = _drawn(page, case.a)
    assert _drawn(page, case.b).equals(case.siblings[case.b])
    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert "不能保存" in page.inner_text("#plan-can-save")
    assert page.is_disabled("#plan-save")
    buttons = page.locator(f"#plan-gaps button[data-to='{case.b}']")
    assert buttons.count() == 1
    page.screenshot(path=str(artifacts / "plan-topology-gap.png"))
    buttons.click()
    page.wait_for_selector("#plan[data-state=previewed] #plan-can-save.plan-ok")
    changed = page.eval_on_selector_all("#plan-grids tr[data-code]",
                                        "rows => rows.map(r => r.dataset.code)")
    assert set(changed) == {case.a, case.b}
    page.click("#plan-save")
    plan_state(page, "saved")

    after = _areas(plan_server, case.a, case.b)
    freed = _area(shapely.difference(case.siblings[case.a], drawn_a))
    assert after[case.a] == pytest.approx(before[case.a] - freed, abs=0.5)
    assert after[case.b] == pytest.approx(before[case.b] + freed, abs=0.5)
    assert _check_problems(page, plan_server, case.parent, [case.a, case.b]) == []
    assert seen["errors"] == []


def _saved_parents(town):
    """The parents whose grids the tests above save (their boundaries differ
    from the generated town's)."""
    used = {next(_pull_backs(town)).parent}
    used.add(next(c for c in _pull_backs(town) if c.parent not in used).parent)
    return used


def test_a_vertex_added_on_a_shared_edge_pulls_the_edge_in_both_grids(
        page, plan_server, demo_town, artifacts):
    used = _saved_parents(demo_town)
    case = next(c for c in _edge_pulls(demo_town) if c.parent not in used)
    seen = open_plan(page, plan_server, case.parent)
    _redraw(page, case)
    v, n = plan_xy(page, *case.vertex), plan_xy(page, *case.nxt)
    # Geoman's middle handle of the edge V–next: a drag from it adds a vertex
    drag(page, ((v[0] + n[0]) / 2, (v[1] + n[1]) / 2), plan_xy(page, *case.moved))
    page.wait_for_function("() => window.gridgovPlan.state.edited")
    drawn_a, drawn_b = _drawn(page, case.a), _drawn(page, case.b)
    (added,) = _vertices(drawn_a) - _vertices(case.siblings[case.a])
    assert _vertices(drawn_b) - _vertices(case.siblings[case.b]) == {added}
    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert "可以保存" in page.inner_text("#plan-can-save")
    changed = page.eval_on_selector_all("#plan-grids tr[data-code]",
                                        "rows => rows.map(r => r.dataset.code)")
    assert set(changed) == {case.a, case.b}
    page.screenshot(path=str(artifacts / "plan-topology-edge.png"))
    # undo takes the whole step back: the vertex leaves both grids
    page.click("#plan-undo")
    page.wait_for_function("() => !window.gridgovPlan.state.edited")
    assert _vertices(_drawn(page, case.a)) == _vertices(case.siblings[case.a])
    assert _vertices(_drawn(page, case.b)) == _vertices(case.siblings[case.b])
    assert page.locator("#plan-grids").count() == 0  # the preview is dropped
    assert seen["errors"] == []


def test_a_vertex_removed_from_a_shared_border_leaves_both_grids(
        page, plan_server, demo_town):
    used = _saved_parents(demo_town)
    case = next(c for c in _shared_vertices(demo_town) if c.parent not in used
                and Polygon([x for x in c.siblings[c.a].geoms[0].exterior.coords
                             if x != c.vertex]).is_valid)
    seen = open_plan(page, plan_server, case.parent)
    _redraw(page, case)
    page.mouse.click(*plan_xy(page, *case.vertex), button="right")
    page.wait_for_function("() => window.gridgovPlan.state.edited")
    assert case.vertex not in _vertices(_drawn(page, case.a))
    assert case.vertex not in _vertices(_drawn(page, case.b))
    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert "可以保存" in page.inner_text("#plan-can-save")
    changed = page.eval_on_selector_all("#plan-grids tr[data-code]",
                                        "rows => rows.map(r => r.dataset.code)")
    assert set(changed) == {case.a, case.b}
    assert seen["errors"] == []


def test_the_redraw_tools_fit_a_phone(browser, plan_server, demo_town, artifacts):
    """At 375 px the undo button and the sharing switch add no sideways scroll."""
    case = next(_shared_vertices(demo_town))
    context = browser.new_context(viewport={"width": 375, "height": 812},
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    try:
        seen = open_plan(page, plan_server, case.parent)
        page.evaluate(f"window.gridgovPlan.state.selected = '{case.a}'")
        page.click("button[data-mode=redraw]")
        page.wait_for_selector("#plan-undo:not([hidden])")
        assert page.locator(".marker-icon").count() > 3
        assert page.is_visible("#plan-pin")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        page.screenshot(path=str(artifacts / "plan-topology-phone.png"))
        assert seen["errors"] == []
    finally:
        context.close()
