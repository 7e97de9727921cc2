"""The early warnings on the leaders' overview (issue 19), in Chromium: on a copy of
the demo town with a burst planted (nine environment reports in four days at one
spot of one micro-grid, as tests/integration/test_early_warnings.py) and the
day's run done, the panel lists the live warnings in the API's order, the warned
grids are outlined on the map apart from the choropleth, a click zooms to the
grid and lists the incidents behind it, and a leader acknowledges and dismisses
(a reason required) through the API -- on a desk and at a phone's 375 px."""

import datetime as dt

import psycopg
import pytest

from tests.browser.conftest import db_rows, open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]

TODAY = dt.date(2026, 10, 31)
READY = "#gg-ew-box[data-state=ready]"


@pytest.fixture(scope="module")
def warned(databases, demo_town):
    from layers import early_warning

    g = demo_town.grids
    village = sorted(g[g.level == 2].code)[0]
    micro = sorted(g[(g.level == 4) & g.code.str.startswith(village)].code)[3]
    point = g.set_index("code").geometry[micro].representative_point()
    with served_copy(databases, demo_town) as server:
        with psycopg.connect(server.url) as c:
            for k in range(9):
                c.execute(
                    "INSERT INTO incidents (code, category, source, description,"
                    " geom, grid_code, county, created_at) VALUES (%s, 'environment',"
                    " 'hotline', '河道垃圾堆积', ST_SetSRID(ST_MakePoint(%s, %s),"
                    " 4326), %s, left(%s, 6), %s)",
                    (f"EW-{k}", point.x, point.y, micro, micro,
                     dt.datetime(2026, 10, 28 + k % 4, 1 + k, tzinfo=dt.UTC)))
            c.commit()
            early_warning.run(c, today=TODAY)
        server.micro, server.point = micro, point
        yield server


def _warnings(page, base):
    answer = page.request.get(base + "/api/v1/warnings?grid=320282105&limit=100")
    assert answer.ok
    return answer.json()["items"]


def _planted(items, micro):
    return next(w for w in items if w["kind"] == "grid" and w["grid_code"] == micro
                and w["category"] == "environment")


def test_the_panel_lists_the_warnings_and_the_map_outlines_their_grids(
        page, warned, artifacts):
    seen = open_page(page, warned.base, "/?month=2026-10", "leader",
                     warned.passwords["leader"], READY)
    items = _warnings(page, warned.base)
    assert items, "the planted burst raised no warning"
    rows = page.locator("#gg-ew-list li.gg-ew-item")
    # the API's order: the newest rise first, then the most significant
    assert rows.evaluate_all("els => els.map(e => Number(e.dataset.id))") == \
        [w["id"] for w in items]
    w = _planted(items, warned.micro)
    row = page.locator(f"#gg-ew-list li[data-id='{w['id']}']")
    text = row.inner_text()
    assert w["grid_name"] in text and "环境" in text
    assert f"实际 {w['observed']} / 预期 {w['expected']:.1f}" in text
    assert f"自 {w['since']} 起" in text and "待处置" in text
    # every warned grid outlined in red dashes, unfilled, in its own pane above
    # the choropleth
    page.wait_for_function(
        "n => document.querySelectorAll('.leaflet-gg-ew-pane path.gg-ew').length"
        " >= n", arg=len(items))
    outline = page.locator(".leaflet-gg-ew-pane path.gg-ew-grid").first
    assert outline.get_attribute("stroke") == "#d7191c"
    assert outline.get_attribute("fill") == "none"
    assert outline.get_attribute("stroke-dasharray") == "6 4"
    ramp = {"#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"}
    assert outline.get_attribute("stroke") not in ramp

    # a click zooms to the grid and lists the incidents behind the warning
    row.locator("button.gg-ew-open").click()
    page.wait_for_selector("#gg-ew-incidents[data-state=ready]")
    page.wait_for_function(
        "([lat, lon]) => { const m = window.ggLeaflet.map; return m.getZoom() >= 15"
        " && m.getBounds().contains([lat, lon]); }",
        arg=[warned.point.y, warned.point.x])
    listed = page.locator("#gg-ew-incidents li").evaluate_all(
        "els => els.map(e => e.dataset.code)")
    assert listed == w["incidents"]
    assert {f"EW-{k}" for k in range(9)} <= set(listed)
    href = page.locator("#gg-ew-incidents li a").first.get_attribute("href")
    assert href.startswith("/dispatch?incident=")
    page.screenshot(path=str(artifacts / "overview-warnings.png"))

    # acknowledge: recorded, the row says so
    page.click("#gg-ew-detail button[data-action=acknowledge]")
    page.wait_for_selector(f"#gg-ew-list li[data-id='{w['id']}'][data-status="
                           "acknowledged]")
    assert "已知悉" in page.inner_text("#gg-ew-message")
    # dismissing needs a reason: the API's message, bilingual, naming it
    page.click("#gg-ew-detail button[data-action=dismiss]")
    page.wait_for_selector("#gg-ew-message.gg-error")
    message = page.inner_text("#gg-ew-message")
    assert "原因" in message and "reason" in message
    assert page.locator(f"#gg-ew-list li[data-id='{w['id']}']").count() == 1
    page.fill("#gg-ew-reason", "清运公司已处理，系集中投诉")
    page.click("#gg-ew-detail button[data-action=dismiss]")
    page.wait_for_selector(f"#gg-ew-list li[data-id='{w['id']}']", state="detached")
    assert "已排除" in page.inner_text("#gg-ew-message")
    assert db_rows(warned, "SELECT status, reason, handled_by FROM early_warnings"
                   " WHERE id = %s", w["id"]) == [
        ("dismissed", "清运公司已处理，系集中投诉", "leader")]
    audited = db_rows(warned, "SELECT after->>'status' FROM audit WHERE"
                      " table_name = 'early_warnings' AND row_key = %s"
                      " AND username = 'leader' ORDER BY id", str(w["id"]))
    assert audited == [("acknowledged",), ("dismissed",)]
    assert seen["errors"] == [] or all("400" in e for e in seen["errors"]), \
        seen["errors"]


def test_the_warnings_in_the_phones_bottom_sheet(browser, warned, artifacts):
    from tests.browser.test_phone_layouts import PHONE

    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        seen = open_page(page, warned.base, "/?month=2026-10", "leader",
                         warned.passwords["leader"], READY)
        page.locator("#gg-panel .gg-sheet-handle").tap()
        first = page.locator("#gg-ew-list li.gg-ew-item").first
        first.scroll_into_view_if_needed()
        first.locator("button.gg-ew-open").tap()
        page.wait_for_selector("#gg-ew-incidents[data-state=ready]")
        for selector in ("#gg-ew-list", "#gg-ew-detail",
                         "#gg-ew-detail button[data-action=dismiss]", "#gg-ew-reason"):
            box = page.locator(selector).first.bounding_box()
            assert box and box["x"] >= 0 and box["x"] + box["width"] <= 375, selector
        width = page.evaluate("() => [document.documentElement.scrollWidth,"
                              " window.innerWidth]")
        assert width[0] <= width[1] == 375, width
        page.screenshot(path=str(artifacts / "phone-overview-warnings.png"))
        assert seen["errors"] == []
    finally:
        context.close()
