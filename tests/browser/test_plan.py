"""The planners' page /plan in a real headless Chromium: one redraw driven through
the page (select, drag a vertex, preview, save), checked in the database; a stale
version; a split preview.

These tests change grids, so they run on a database and a server of their own (the
session's live server is shared and must stay as the demo made it). The README's
docs/plan-preview.png is a copy of the artifact plan-preview.png.
"""

import math
from types import SimpleNamespace
from urllib.parse import urlsplit

import numpy as np
import psycopg
import pytest
import shapely
from shapely.geometry import LineString, Point, Polygon, shape
from shapely.ops import split

from tests.browser.conftest import (
    db_rows,
    drag,
    open_plan,
    plan_state,
    plan_xy,
)

pytestmark = [pytest.mark.browser, pytest.mark.db]


def _click_grid(page, geometry):
    p = geometry.representative_point()
    page.mouse.click(*plan_xy(page, p.x, p.y))


def _metres_per_degree(lat):
    return 111_320 * math.cos(math.radians(lat)), 110_574


def _find_push(town):
    """A vertex move that pushes micro-grid A into its sibling B over a household.

    The vertex lies inside the A|B border (both its edges are shared with B, its
    neighbours at least 40 m away, so its drag handle stands alone); it moves past a
    household of B 20–50 m away, which ends at least 4 m inside A's new boundary;
    the new boundary is valid and only takes area from B (no gap). Computed with
    shapely on the generated town: (parent, a, b, vertex, moved vertex, household).
    """
    grids = town.grids
    micro = grids[grids.level == 4].set_index("code")
    households = town.households
    for parent in sorted(micro.parent_code.unique()):
        siblings = micro[micro.parent_code == parent]
        for a in siblings.index:
            geom_a = siblings.geometry[a]
            if len(geom_a.geoms) != 1:
                continue
            ring = list(geom_a.geoms[0].exterior.coords)[:-1]
            for b in siblings.index.drop(a):
                geom_b = siblings.geometry[b]
                on_b = [geom_b.boundary.distance(Point(c)) < 1e-9 for c in ring]
                of_b = households[households.grid_code == b]
                for i, v in enumerate(ring):
                    nxt = (i + 1) % len(ring)
                    if not (on_b[i - 1] and on_b[i] and on_b[nxt]):
                        continue
                    kx, ky = _metres_per_degree(v[1])

                    def dist(p, q, kx=kx, ky=ky):
                        return math.hypot((p[0] - q[0]) * kx, (p[1] - q[1]) * ky)

                    if min(dist(v, ring[i - 1]), dist(v, ring[nxt])) < 40:
                        continue
                    for hid, h in zip(of_b.external_id, of_b.geometry, strict=True):
                        if not 20 <= dist(v, (h.x, h.y)) <= 50:
                            continue
                        moved = tuple(np.add(v, 1.6 * np.subtract((h.x, h.y), v)))
                        new_a = Polygon(ring[:i] + [moved] + ring[i + 1:])
                        if not new_a.is_valid or new_a.exterior.distance(h) * kx < 4:
                            continue
                        grown = shapely.difference(new_a, geom_a)
                        if shapely.difference(grown, geom_b).area > 1e-14 or \
                                shapely.difference(geom_a, new_a).area > 1e-14:
                            continue
                        return SimpleNamespace(parent=parent, a=a, b=b, vertex=v,
                                               moved=moved, household=hid)
    raise AssertionError("no vertex of the demo town pushes over a household")


def test_a_planner_redraws_a_micro_grid_through_preview_and_save(
        page, plan_server, demo_town, artifacts):
    push = _find_push(demo_town)
    seen = open_plan(page, plan_server, push.parent)
    micro = demo_town.grids.set_index("code").geometry
    # select micro-grid A on the map, then edit its vertices
    _click_grid(page, micro[push.a])
    assert push.a in page.inner_text("#plan-selection")
    page.click("button[data-mode=redraw]")
    page.evaluate("([lat, lon]) => { window.gridgovPlan.map.setView([lat, lon], 17); }",
                  [push.vertex[1], push.vertex[0]])
    page.wait_for_timeout(400)  # the zoom animation
    assert page.locator(".marker-icon").count() > 10
    # drag the vertex's handle (Leaflet-Geoman) into B, past the household
    drag(page, plan_xy(page, *push.vertex), plan_xy(page, *push.moved))
    page.wait_for_function("window.gridgovPlan.state.edited")
    drawn = shape(page.evaluate(
        f"window.gridgovPlan.state.children['{push.a}'].layer.toGeoJSON(false)"
        ".geometry"))
    # what must move, from the boundary the page will send (the drop lands within
    # a pixel of the aim): the households of the parent now inside A, not yet A's
    rows = db_rows(plan_server,
                   "SELECT id, external_id, grid_code, ST_X(geom), ST_Y(geom)"
                   " FROM households WHERE grid_code LIKE %s", push.parent + "%")
    expected = {i for i, _, grid, x, y in rows
                if grid != push.a and drawn.intersects(Point(x, y))}
    household_id = next(i for i, ext, *_ in rows if ext == push.household)
    assert household_id in expected

    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert "可以保存" in page.inner_text("#plan-can-save")
    changed = page.eval_on_selector_all("#plan-grids tr[data-code]",
                                        "rows => rows.map(r => r.dataset.code)")
    assert set(changed) == {push.a, push.b}
    moved = page.eval_on_selector_all(
        "#plan-moves tr[data-kind=households]",
        "rows => rows.map(r => [Number(r.dataset.id), r.dataset.from, r.dataset.to])")
    assert {m[0] for m in moved} == expected
    assert all(m[1:] == [push.b, push.a] for m in moved)
    assert page.locator(".plan-moved").count() == len(expected)  # highlighted
    assert f"住户 Households {len(expected)}" in page.inner_text("#plan-counts")
    assert page.locator("#plan-check").count() == 1  # the parent's check, shown
    page.screenshot(path=str(artifacts / "plan-preview.png"))
    # nothing saved yet
    assert db_rows(plan_server, "SELECT version FROM grids WHERE code = %s",
               push.a) == [(1,)]

    page.click("#plan-save")
    plan_state(page, "saved")
    assert "已保存" in page.inner_text("#plan-msg")
    assert page.evaluate(f"window.gridgovPlan.state.children['{push.a}']"
                         ".feature.properties.version") == 2
    page.screenshot(path=str(artifacts / "plan-saved.png"))

    versions = dict(db_rows(plan_server, "SELECT code, version FROM grids"
                                     " WHERE code IN (%s, %s)", push.a, push.b))
    assert versions == {push.a: 2, push.b: 2}
    assert db_rows(plan_server, "SELECT grid_code FROM households WHERE id = %s",
               household_id) == [(push.a,)]
    now_in_a = {r[0] for r in db_rows(plan_server, "SELECT id FROM households"
                                               " WHERE grid_code = %s", push.a)}
    assert expected <= now_in_a
    audited = db_rows(plan_server, "SELECT row_key, username, action FROM audit"
                               " WHERE table_name = 'grids' AND row_key IN (%s, %s)"
                               " ORDER BY row_key", push.a, push.b)
    assert audited == sorted([(push.a, "planner", "update"),
                              (push.b, "planner", "update")])

    # Leaflet.draw's stylesheet and the images it refers to (relative URLs)
    for name in ("leaflet.draw.css", "images/spritesheet.svg",
                 "images/spritesheet.png"):
        url = f"{plan_server.base}/vendor/leaflet-draw/{name}"
        assert page.request.get(url).status == 200, url

    own = urlsplit(plan_server.base).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [], f"the page requested other hosts: {foreign}"
    assert seen["errors"] == []


def _micro_by_parent(town):
    """(level-3 code, its micro-grids' geometries by code), in code order."""
    micro = town.grids[town.grids.level == 4]
    return [(p, micro[micro.parent_code == p].set_index("code").geometry)
            for p in sorted(micro.parent_code.unique())]


def test_a_stale_version_asks_for_a_reload(page, plan_server, demo_town, artifacts):
    # two adjacent micro-grids of another parent than the redraw's
    parent, micro = next(
        (p, m) for p, m in _micro_by_parent(demo_town)[2:]
        if shapely.intersection(m.iloc[0].boundary, m.iloc[1].boundary).length > 0.001)
    first, second = micro.index[:2]
    seen = open_plan(page, plan_server, parent)
    page.click("button[data-mode=merge]")
    _click_grid(page, micro[first])
    _click_grid(page, micro[second])
    assert page.locator("#plan-selection li").count() == 2
    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert second in page.inner_text("#plan-grids")  # removed by the merge
    # meanwhile another planner saves a change of the first grid
    with psycopg.connect(plan_server.url) as conn:
        conn.execute("UPDATE grids SET notes = 'changed elsewhere' WHERE code = %s",
                     (first,))
    page.click("#plan-save")
    plan_state(page, "refused")
    assert "已被他人修改（当前版本 2），请刷新" in page.inner_text("#plan-msg")
    page.screenshot(path=str(artifacts / "plan-conflict.png"))
    assert db_rows(plan_server, "SELECT count(*) FROM grids WHERE code = %s",
               second) == [(1,)]  # nothing merged
    page.click("#plan-reload")
    plan_state(page, "ready")
    assert page.evaluate(f"window.gridgovPlan.state.children['{first}']"
                         ".feature.properties.version") == 2
    # Chromium logs the refused save itself; nothing else may fail
    assert [e for e in seen["errors"] if "409 (CONFLICT)" not in e] == []


def _split_lines(town):
    for parent, micro in _micro_by_parent(town)[4:]:
        for code, geom in micro.items():
            inside = geom.representative_point()
            x0, _, x1, _ = geom.bounds
            line = [(x0 - 0.002, inside.y), (inside.x, inside.y + 0.0005),
                    (x1 + 0.002, inside.y)]
            if len(split(geom.geoms[0], LineString(line)).geoms) == 2:
                yield parent, code, geom, line


def test_splitting_along_a_drawn_line_is_previewed(page, plan_server, demo_town,
                                                   artifacts):
    # a line across a micro-grid, from outside to outside, that cuts it in two
    parent, code, geom, line = next(_split_lines(demo_town))
    seen = open_plan(page, plan_server, parent)
    _click_grid(page, geom)
    page.click("button[data-mode=split]")
    inside = geom.representative_point()
    page.evaluate("([lat, lon]) => { window.gridgovPlan.map.setView([lat, lon], 14); }",
                  [inside.y, inside.x])
    page.wait_for_timeout(400)
    for lon, lat in line:
        page.mouse.click(*plan_xy(page, lon, lat))
        page.wait_for_timeout(150)
    page.mouse.click(*plan_xy(page, *line[-1]))  # the last point again: finished
    page.wait_for_function("window.gridgovPlan.state.line !== null")
    page.fill("#plan-name", "试拆网格")
    page.click("#plan-preview")
    plan_state(page, "previewed")
    text = page.inner_text("#plan-grids")
    assert code in text and "试拆网格" in text and "新建" in text
    assert "可以保存" in page.inner_text("#plan-can-save")
    page.screenshot(path=str(artifacts / "plan-split.png"))
    assert db_rows(plan_server, "SELECT count(*), max(version) FROM grids"
                            " WHERE parent_code = %s", parent) == [
        (int((demo_town.grids.parent_code == parent).sum()), 1)]  # nothing saved
    assert seen["errors"] == []
