"""The leaders' overview on / in a real headless Chromium: the choropleth with its
legend, the heatmap layer switched on, the click-through to a village."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]


def _open(page, live_server, login, username="leader"):
    seen = {"requests": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    login(username)
    page.goto(live_server + "/?month=2026-10", wait_until="networkidle")
    page.wait_for_selector("#gg-panel[data-state=ready]")
    return seen


def _fills(page):
    return page.eval_on_selector_all(
        ".leaflet-overlay-pane path",
        "els => els.map(e => e.getAttribute('fill')).filter(f => f && f !== 'none')")


def test_the_overview_shows_the_choropleth_legend_and_the_heatmap(
        page, live_server, login, demo_town, artifacts):
    seen = _open(page, live_server, login)
    villages = demo_town.grids[demo_town.grids.level == 2]
    # one row per village in the side panel, the legend with its class breaks
    rows = page.locator("#gg-children tr")
    assert rows.count() == len(villages)
    legend = page.inner_text("#gg-legend")
    assert "化解率" in legend and "%" in legend
    assert page.locator("#gg-legend li").count() >= 3  # classes + "no data"
    # the choropleth paints the villages in the ramp's colours
    ramp = {"#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"}
    assert len(set(_fills(page)) & ramp) >= 2
    page.screenshot(path=str(artifacts / "overview-choropleth.png"))

    before = page.locator(".leaflet-overlay-pane path.gg-heat-cell").count()
    page.get_by_text("事件热力 Incident heatmap").click()
    page.wait_for_selector(".leaflet-overlay-pane path.gg-heat-cell")
    assert before == 0
    assert page.locator(".leaflet-overlay-pane path.gg-heat-cell").count() > 10
    assert "事件核密度" in page.inner_text("#gg-legend")
    page.screenshot(path=str(artifacts / "overview-heatmap.png"))

    own = urlsplit(live_server).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [] and seen["errors"] == []


def test_drilling_down_from_the_town_to_a_village_lists_its_grids(
        page, live_server, login, demo_town):
    _open(page, live_server, login)
    grids = demo_town.grids
    village = grids[grids.level == 2].iloc[0]
    page.click(f"#gg-children button.drill[data-code='{village.code}']")
    page.wait_for_function(
        "code => window.gridgovOverview.state.root.code === code", arg=village.code)
    page.wait_for_selector("#gg-panel[data-state=ready] #gg-children")
    children = grids[(grids.level == 3) & grids.code.str.startswith(village.code)]
    page.wait_for_function(
        "n => document.querySelectorAll('#gg-children tr').length === n",
        arg=len(children))
    assert village["name"] in page.inner_text("#gg-crumbs")


@pytest.fixture(scope="module")
def tiled_server(demo_url):
    """The demo town served as if it were a city: every layer over 50 features
    (the micro-grids, households and cameras) goes to the map as vector tiles."""
    from tests.browser.conftest import serve
    from web import create_app

    app = create_app({"DATABASE_URL": demo_url, "TESTING": True,
                      "SECRET_KEY": "test-secret-key-not-for-production",
                      "MAP_EMBED_MAX": 50})
    with serve(app) as base:
        yield base


def _map_png(page):
    from io import BytesIO

    import numpy as np
    from PIL import Image

    shot = page.locator(".folium-map").screenshot()
    return np.asarray(Image.open(BytesIO(shot)).convert("RGB"))


def test_a_layer_too_large_to_embed_comes_as_vector_tiles(
        page, tiled_server, passwords, demo_town, artifacts):
    from tests.browser.conftest import open_page

    seen = open_page(page, tiled_server, "/?month=2026-10", "leader",
                     passwords["leader"], "#gg-panel[data-state=ready]")
    html = page.content()
    micro = demo_town.grids[demo_town.grids.level == 4]
    # the micro-grids are not in the page: their codes appear in no embedded layer
    assert not any(code in html for code in micro.code.head(20))
    control = page.inner_text(".leaflet-control-layers")
    assert "四级网格" in control and "住户" in control and "视频监控" in control
    page.select_option("#gg-level", "4")
    page.wait_for_selector("#gg-panel[data-tiled=true]")
    spot = micro.geometry.iloc[0].representative_point()
    page.evaluate(f"() => window.ggLeaflet.map.setView([{spot.y}, {spot.x}], 14)")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    assert page.locator("#gg-zoom-hint").count() == 0  # z14 shows micro-grids

    def asked():
        return {urlsplit(u).path.split("/")[2] for u in seen["requests"]
                if urlsplit(u).path.startswith("/tiles/")}

    # under the choropleth the points start switched off; switched on, they come
    assert "grids" in asked() and "households" not in asked()
    page.get_by_text("住户 Households").click()
    page.get_by_text("视频监控 Cameras").click()
    page.wait_for_load_state("networkidle")
    assert {"households", "cameras"} <= asked()
    page.get_by_text("住户 Households").click()
    page.get_by_text("视频监控 Cameras").click()
    before = _map_png(page)
    page.screenshot(path=str(artifacts / "overview-tiled.png"))
    # another measure repaints the tiles: the map changes
    page.select_option("#gg-measure", "received")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(300)
    after = _map_png(page)
    changed = (before != after).any(axis=2).mean()
    assert changed > 0.05, f"only {changed:.1%} of the map changed"
    # zoomed out below the micro-grids' tiles, the legend says to zoom in
    page.evaluate("() => window.ggLeaflet.map.setZoom(11)")
    page.wait_for_selector("#gg-zoom-hint")
    own = urlsplit(tiled_server).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [] and seen["errors"] == []


# --- the month the overview opens on (layers.stats.default_month) -----------------
# The demo's incidents end on 31 October 2026; the server's statistics are pinned
# to 20 November (GRIDGOV_STATS_NOW): October is the last complete month,
# November the month still running, and empty.

def _figures(page):
    """The panel's key figures, {label: value}."""
    rows = page.locator("#gg-figures tr")
    return {rows.nth(k).locator("th").inner_text().split()[0]:
            rows.nth(k).locator("td").inner_text() for k in range(rows.count())}


def test_the_overview_opens_on_the_last_complete_month_with_figures(
        page, served_at, passwords):
    from tests.browser.conftest import open_page

    base = served_at("2026-11-20T10:00:00+08:00")
    seen = open_page(page, base, "/", "leader", passwords["leader"],
                     "#gg-panel[data-state=ready]")
    assert seen["errors"] == []
    assert page.input_value("#gg-month") == "2026-10"
    assert page.get_attribute("#gg-month", "max") == "2026-11"
    figures = _figures(page)
    assert int(figures["受理"]) > 50 and figures["化解率"].endswith("%")
    assert figures["受理环比"].endswith("%")  # against September
    assert page.locator("#gg-month-label, #gg-no-data").count() == 0


def test_choosing_the_month_still_running_labels_it_and_says_it_is_empty(
        page, served_at, passwords, artifacts):
    from tests.browser.conftest import open_page

    base = served_at("2026-11-20T10:00:00+08:00")
    open_page(page, base, "/", "leader", passwords["leader"],
              "#gg-panel[data-state=ready]")
    page.fill("#gg-month", "2026-11")
    page.wait_for_selector("#gg-month-label")
    label = page.inner_text("#gg-month-label")
    assert "本月截至 20 日" in label and "this month to the 20th" in label
    assert "本月无数据" in page.inner_text("#gg-no-data")
    figures = _figures(page)
    assert figures["受理"] == "0" and figures["化解率"] == "—"
    # not −100 % against October: "—" and why
    assert figures["受理环比"] == "— 本月无数据"
    page.screenshot(path=str(artifacts / "overview-month-running.png"))
