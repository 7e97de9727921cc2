"""The planners' steps of issue 16 in a real headless Chromium: the hierarchy
check as a page whose links open /plan on the problem; a split leaving too few
households warns on save and keeps the warning on the grid (its panel, the check
page) until a recount finds it fixed, and the grid's lineage is found from its
panel and by typing a code; micro-grids proposed and adopted; a micro-grid
created and deleted; the households that move shown with address and (masked)
head; both pages at 375 px.

The tests change grids: a database and a server of their own (test_plan's
``plan_server``), each test under another comprehensive grid.
"""

import psycopg
import pytest
import shapely
from shapely.geometry import LineString, Point
from shapely.ops import split

from tests.browser.conftest import (
    db_rows,
    open_page,
    plan_state,
    plan_xy,
    served_copy,
)
from tests.browser.test_plan import _click_grid, _micro_by_parent

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture(scope="module")
def plan_server(databases, demo_town):
    """A writable copy of the demo town served by a server of its own."""
    with served_copy(databases, demo_town) as server:
        yield server


def _open(page, server, path, ready="#plan[data-state=ready]"):
    return open_page(page, server.base, path, "planner",
                     server.passwords["planner"], ready)


def _zoom(page, lon, lat, z):
    page.evaluate("([lat, lon, z]) => { window.gridgovPlan.map.setView([lat, lon], z);"
                  " }", [lat, lon, z])
    page.wait_for_timeout(400)


def test_the_check_page_lists_problems_and_opens_them_on_the_map(
        page, plan_server, demo_town, artifacts):
    parent, micro = _micro_by_parent(demo_town)[1]
    shrunk = micro.index[0]
    # a gap: one micro-grid pulled back 30 m from its neighbours
    with psycopg.connect(plan_server.url) as conn:
        conn.execute("UPDATE grids SET geom = ST_Multi(ST_Buffer(geom, -0.0003))"
                     " WHERE code = %s", (shrunk,))
    seen = _open(page, plan_server, f"/plan?parent={parent}")
    page.click("#plan-check-link")  # from the planners' page
    page.wait_for_selector("#plan-check-page[data-state=ready]")
    assert f"root={parent}" in page.url
    gaps = int(page.get_attribute("#plan-check-counts li[data-kind=gap]", "data-n"))
    assert gaps >= 1
    assert "已检查" in page.inner_text("#plan-check-total")
    item = page.locator(f"#plan-check-list-gap li[data-codes^='{parent}']").first
    assert shrunk in item.get_attribute("data-codes")  # it borders the gap
    page.screenshot(path=str(artifacts / "plan-check.png"), full_page=True)
    item.locator("a.show").click()
    page.wait_for_selector("#plan[data-focus=shown]")
    assert "不属于任何下级网格" in page.inner_text("#plan-focus")
    # zoomed to the gap, which is highlighted
    ring = micro[shrunk].difference(micro[shrunk].buffer(-0.0003))
    where = ring.representative_point()
    assert page.evaluate(
        "([lat, lon]) => window.gridgovPlan.map.getBounds().contains([lat, lon])",
        [where.y, where.x])
    assert page.evaluate("window.gridgovPlan.map.getZoom()") >= 15
    assert page.locator("path[stroke='#C00000'][stroke-width='5']").count() >= 1
    page.screenshot(path=str(artifacts / "plan-check-focus.png"))
    assert seen["errors"] == []


def _split_under_50(town, skip):
    """A line across a micro-grid (not under the parents ``skip``) leaving two
    parts of fewer than 50 households each: (parent, code, geometry, line)."""
    hh = town.households
    for parent, micro in _micro_by_parent(town):
        if parent in skip:
            continue
        for code, geom in micro.items():
            if len(geom.geoms) != 1:
                continue
            inside = geom.representative_point()
            x0, _, x1, _ = geom.bounds
            line = [(x0 - 0.002, inside.y), (inside.x, inside.y + 0.0002),
                    (x1 + 0.002, inside.y)]
            parts = split(geom.geoms[0], LineString(line)).geoms
            if len(parts) != 2:
                continue
            mine = hh[hh.grid_code == code]
            counts = [int(mine.within(p).sum()) for p in parts]
            if 0 < min(counts) and max(counts) < 50:
                return parent, code, geom, line
    raise AssertionError("no micro-grid splits into two parts under 50 households")


def test_a_split_leaving_too_few_households_keeps_its_warning(
        page, plan_server, demo_town, artifacts):
    skip = {p for p, _ in _micro_by_parent(demo_town)[:3]}
    parent, code, geom, line = _split_under_50(demo_town, skip)
    seen = _open(page, plan_server, f"/plan?parent={parent}")
    _click_grid(page, geom)
    page.click("button[data-mode=split]")
    inside = geom.representative_point()
    _zoom(page, inside.x, inside.y, 15)
    for lon, lat in line:
        page.mouse.click(*plan_xy(page, lon, lat))
        page.wait_for_timeout(150)
    page.mouse.click(*plan_xy(page, *line[-1]))
    page.wait_for_function("window.gridgovPlan.state.line !== null")
    page.click("#plan-preview")
    plan_state(page, "previewed")
    page.click("#plan-save")
    plan_state(page, "saved")
    # the save says so, naming both parts …
    (new,) = [r[0] for r in db_rows(plan_server, "SELECT new_code FROM grid_lineage"
                                             " WHERE old_code = %s", code)]
    warned = page.eval_on_selector_all("#plan-saved-warnings li",
                                       "rows => rows.map(r => r.dataset.code)")
    assert set(warned) == {code, new}
    assert "警告已记入网格档案" in page.inner_text("#plan-msg")
    page.screenshot(path=str(artifacts / "plan-split-warning.png"))
    # … the warning stays on the grid's panel …
    page.goto(f"{plan_server.base}/plan?parent={parent}&select={new}")
    plan_state(page, "ready")
    text = page.inner_text("#plan-grid-warning")
    assert "户数警告" in text and "北京时间" in text and "planner" in text
    # … its lineage from the panel: where it came from; and typing the old code
    page.click("#plan-lineage-button")
    page.wait_for_selector(f"#plan-lineage-from li[data-code='{code}']")
    assert page.get_attribute(f"#plan-lineage-from li[data-code='{code}']",
                              "data-kind") == "split"
    page.fill("#plan-lineage-code", code)
    page.click("#plan-lineage-go")
    page.wait_for_selector(f"#plan-lineage-became li[data-code='{new}']")
    assert "现行网格" in page.inner_text("#plan-lineage-status")
    page.fill("#plan-lineage-code", "320282999999999")
    page.click("#plan-lineage-go")
    page.wait_for_selector("#plan-lineage .plan-bad")
    assert "没有编码为 320282999999999" in page.inner_text("#plan-lineage")
    # … and the check page lists it, beside the household problems
    page.goto(f"{plan_server.base}/plan/check?root={parent}")
    page.wait_for_selector("#plan-check-page[data-state=ready]")
    listed = page.eval_on_selector_all("#plan-check-warnings li",
                                       "rows => rows.map(r => r.dataset.code)")
    assert set(listed) == {code, new}
    households = page.eval_on_selector_all(
        "#plan-check-list-households li", "rows => rows.map(r => r.dataset.codes)")
    assert {code, new} <= set(households)
    page.screenshot(path=str(artifacts / "plan-check-warnings.png"), full_page=True)
    # households come to one part by another way (an import, say): the recount
    # clears its warning, the other stays
    n = db_rows(plan_server, "SELECT count(*) FROM households WHERE grid_code = %s",
            code)[0][0]
    with psycopg.connect(plan_server.url) as conn:
        conn.execute("UPDATE households SET grid_code = %s WHERE id IN (SELECT id"
                     " FROM households WHERE grid_code = %s ORDER BY id LIMIT %s)",
                     (code, new, 50 - n))
    page.click("#plan-recount")
    page.wait_for_selector("#plan-check-page[data-state=recounted]")
    assert "清除警告 1 条" in page.inner_text("#plan-check-msg")
    assert page.eval_on_selector_all("#plan-check-warnings li",
                                     "rows => rows.map(r => r.dataset.code)") == [new]
    assert db_rows(plan_server, "SELECT code FROM grid_warnings") == [(new,)]
    assert [e for e in seen["errors"] if "404" not in e] == []


def test_micro_grids_are_proposed_and_adopted(page, plan_server, demo_town,
                                              artifacts):
    parent, micro = _micro_by_parent(demo_town)[6]
    seen = _open(page, plan_server, f"/plan?parent={parent}")
    page.click("button[data-mode=propose]")
    plan_state(page, "proposed")
    rows = page.eval_on_selector_all("#plan-proposal-table tr[data-households]",
                                     "rows => rows.map(r => +r.dataset.households)")
    in_grid = db_rows(plan_server, "SELECT count(*) FROM households WHERE grid_code"
                               " LIKE %s", parent + "%")[0][0]
    assert sum(rows) == in_grid and all(50 <= n <= 100 for n in rows)
    assert page.locator(".plan-proposal-label").count() == len(rows)  # on the map
    page.screenshot(path=str(artifacts / "plan-proposal.png"))
    page.click("#plan-adopt")
    plan_state(page, "previewed")
    assert "可以保存" in page.inner_text("#plan-can-save")
    # the households that move: address and head of household, masked for a
    # planner (张** as the household list gives it)
    moved = page.eval_on_selector_all(
        "#plan-moves tr[data-kind=households]",
        "rows => rows.map(r => [+r.dataset.id, r.cells[0].innerText])")
    assert moved
    truth = dict((i, (a, h)) for i, a, h in db_rows(
        plan_server, "SELECT id, address, head_name FROM households"
                     " WHERE id = ANY(%s)", [m[0] for m in moved]))
    for hid, text in moved:
        address, head = truth[hid]
        assert address in text and head[0] + "*" in text and head not in text
    assert db_rows(plan_server, "SELECT count(*) FROM grids WHERE parent_code = %s",
               parent) == [(len(micro),)]  # nothing saved yet
    page.click("#plan-save")
    plan_state(page, "saved")
    counts = [n for _, n in db_rows(
        plan_server, "SELECT g.code, count(h.id) FROM grids g LEFT JOIN households h"
                     " ON h.grid_code = g.code WHERE g.parent_code = %s"
                     " GROUP BY g.code", parent)]
    assert sorted(counts) == sorted(rows)
    assert seen["errors"] == []


def test_a_micro_grid_is_created_then_deleted(page, plan_server, demo_town,
                                              artifacts):
    parent, micro = _micro_by_parent(demo_town)[9]
    host, c = micro.index[0], micro.iloc[0].representative_point()
    square = [(c.x - 0.0008, c.y - 0.0007), (c.x + 0.0008, c.y - 0.0007),
              (c.x + 0.0008, c.y + 0.0007), (c.x - 0.0008, c.y + 0.0007)]
    seen = _open(page, plan_server, f"/plan?parent={parent}")
    page.click("button[data-mode=create]")
    _zoom(page, c.x, c.y, 17)
    for lon, lat in square:
        page.mouse.click(*plan_xy(page, lon, lat))
        page.wait_for_timeout(150)
    page.mouse.click(*plan_xy(page, *square[0]))  # closes the polygon
    page.wait_for_timeout(200)
    page.fill("#plan-name", "试建微网格")
    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert "试建微网格" in page.inner_text("#plan-grids")
    page.click("#plan-save")
    plan_state(page, "saved")
    (new,) = [r[0] for r in db_rows(plan_server, "SELECT code FROM grids WHERE"
                                             " name = '试建微网格'")]
    assert new.startswith(parent)
    assert Point(c.x, c.y).within(shapely.from_wkt(db_rows(
        plan_server, "SELECT ST_AsText(geom) FROM grids WHERE code = %s", new)[0][0]))
    # delete it: previewed, then saved
    page.goto(f"{plan_server.base}/plan?parent={parent}&select={new}")
    plan_state(page, "ready")
    page.click("button[data-mode=delete]")
    page.wait_for_selector("#plan-delete-into")
    page.select_option("#plan-delete-into", host)
    page.click("#plan-preview")
    plan_state(page, "previewed")
    assert page.locator(f"#plan-grids tr[data-code='{new}']").count() == 1
    assert "撤销" in page.inner_text(f"#plan-grids tr[data-code='{new}']")
    page.screenshot(path=str(artifacts / "plan-delete.png"))
    page.click("#plan-save")
    plan_state(page, "saved")
    assert db_rows(plan_server, "SELECT count(*) FROM grids WHERE code = %s",
               new) == [(0,)]
    assert db_rows(plan_server, "SELECT kind FROM grid_lineage WHERE old_code = %s"
                            " AND new_code = %s", new, host) == [("merge",)]
    assert seen["errors"] == []


@pytest.mark.parametrize("path", ["/plan/check", "/plan"])
def test_the_planners_pages_fit_a_phone(browser, plan_server, demo_town, artifacts,
                                        path):
    parent = _micro_by_parent(demo_town)[12][0]
    context = browser.new_context(viewport={"width": 375, "height": 812},
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    try:
        page = context.new_page()
        ready = "#plan-check-page[data-state=ready]" if path == "/plan/check" else \
            "#plan[data-state=ready]"
        key = "root" if path == "/plan/check" else "parent"
        seen = _open(page, plan_server, f"{path}?{key}={parent}", ready)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"{path} scrolls sideways: {width} px"
        name = path.strip("/").replace("/", "-")
        page.screenshot(path=str(artifacts / f"phone-{name}.png"), full_page=True)
        assert seen["errors"] == []
    finally:
        context.close()
