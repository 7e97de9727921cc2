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


def _layer(page, name):
    """Switch a layer of the layer list on or off: the list is folded into its
    button until the pointer is over it."""
    page.hover(".leaflet-control-layers")
    page.get_by_text(name).click()


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
    _layer(page, "事件热力 Incident heatmap")
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

    shot = page.locator("#overview-map").screenshot()
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
    page.hover(".leaflet-control-layers")
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
    _layer(page, "住户 Households")
    _layer(page, "视频监控 Cameras")
    page.wait_for_load_state("networkidle")
    assert {"households", "cameras"} <= asked()
    _layer(page, "住户 Households")
    _layer(page, "视频监控 Cameras")
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


def _box(page, selector):
    return page.locator(selector).first.bounding_box()


def _overlap(a, b):
    return not (a["x"] + a["width"] <= b["x"] or b["x"] + b["width"] <= a["x"]
                or a["y"] + a["height"] <= b["y"] or b["y"] + b["height"] <= a["y"])


def test_the_overview_reads_names_legends_and_a_folded_layer_list(
        page, live_server, login, demo_town, artifacts):
    seen = _open(page, live_server, login)
    grids = demo_town.grids
    villages = grids[grids.level == 2]
    # the layer list is folded into its button, clear of the side panel, whose
    # last row shows once scrolled to
    assert page.locator(".leaflet-control-layers-expanded").count() == 0
    assert not _overlap(_box(page, ".leaflet-control-layers"), _box(page, "#gg-panel"))
    page.eval_on_selector("#gg-panel", "p => { p.scrollTop = p.scrollHeight; }")
    last = page.locator("#gg-panel .gg-period")
    hit = page.evaluate("""() => { const r = document.querySelector(
        '#gg-panel .gg-period').getBoundingClientRect();
        const e = document.elementFromPoint(r.x + 5, r.y + r.height / 2);
        return !!(e && e.closest('#gg-panel')); }""")
    assert last.is_visible() and hit
    # the plain attribution: no flag, no link out
    attribution = page.locator(".leaflet-control-attribution")
    assert "Leaflet" in attribution.inner_text()
    assert attribution.locator("svg, img, a[href*='leafletjs']").count() == 0

    # 走访率 among the area's figures and the measures
    figures = page.inner_text("#gg-figures")
    assert "走访率" in figures and "Households visited" in figures
    page.select_option("#gg-measure", "visit_rate")
    assert "走访率" in page.inner_text("#gg-legend")
    assert "走访率" in page.inner_text("#gg-panel .gg-panel-body > h3")
    page.select_option("#gg-measure", "resolution_rate")

    # the villages' names on the map at the town's zoom
    labels = page.locator(".gg-grid-label")
    assert sorted(labels.all_inner_texts()) == sorted(villages["name"])
    page.screenshot(path=str(artifacts / "overview-labels.png"))

    # the micro-grids: their choropleth's legend has its real classes (ties of
    # 0 % and 100 % merged the quantiles into two), no name at the town's zoom
    page.select_option("#gg-level", "4")
    page.wait_for_function(
        "n => window.gridgovOverview.state.level === 4 && "
        "document.querySelectorAll('#gg-children tr').length === n && "
        "document.querySelectorAll('path.gg-choropleth').length === n",
        arg=int((grids.level == 4).sum()))
    page.wait_for_load_state("networkidle")
    classes = page.locator("#gg-legend li.gg-class")
    assert classes.count() >= 4, page.inner_text("#gg-legend")
    swatches = page.eval_on_selector_all(
        "#gg-legend li.gg-class i.sw", "els => els.map(e => e.style.background)")
    assert len(set(swatches)) == classes.count()
    micro = grids[grids.level == 4]
    assert labels.count() < 10
    # zoomed in to one micro-grid: its name and its neighbours'
    spot = micro.geometry.iloc[0].representative_point()
    page.evaluate("() => { window.ggLeaflet.map.setView("
                  f"[{spot.y}, {spot.x}], 17); }}")
    page.wait_for_function("() => { const l = [...document.querySelectorAll("
                           "'.gg-grid-label')]; return l.length && "
                           "l.every(e => e.innerText.includes('微网格')); }")
    names = set(labels.all_inner_texts())
    assert micro["name"].iloc[0] in names and names <= set(micro["name"])
    page.evaluate("() => { window.ggLeaflet.map.setView("
                  f"[{spot.y}, {spot.x}], 14); }}")
    page.wait_for_load_state("networkidle")

    # hot and cold spots get a legend; a request over 300 ms shows the spinner
    held = []
    page.route("**/api/v1/hotspots?*", lambda route: held.append(route))
    assert page.is_hidden("#gg-busy")
    _layer(page, "冷热点（Gi*） Hot and cold spots")
    page.wait_for_selector("#gg-busy", state="visible")
    assert "加载中" in page.inner_text("#gg-busy")
    assert len(held) == 1
    held[0].continue_()
    page.wait_for_selector("#gg-busy", state="hidden")
    page.unroute("**/api/v1/hotspots?*")
    hot = page.locator("#gg-hot-legend li")
    assert hot.count() == 7
    assert "热点（99% 置信）" in hot.first.inner_text()
    assert "冷点（99% 置信）" in hot.nth(5).inner_text()

    # blind spots: black hatching, unlike any class of the choropleth, outlined,
    # above it, in the legend
    _layer(page, "监控盲区 Blind spots")
    page.wait_for_selector(".leaflet-overlay-pane path.gg-blind")
    blind = page.locator(".leaflet-overlay-pane path.gg-blind").first
    assert blind.get_attribute("fill") == "url(#gg-blind-hatch)"
    assert page.locator("pattern#gg-blind-hatch line").count() == 1
    assert float(blind.get_attribute("fill-opacity")) == 1
    assert blind.get_attribute("stroke") == "#000000"
    assert "监控盲区" in page.inner_text("#gg-blind-legend")
    page.mouse.move(300, 500)
    page.screenshot(path=str(artifacts / "overview-legends.png"))
    assert seen["errors"] == []


def test_the_overview_proposes_camera_sites_with_their_gains_and_curve(
        page, live_server, login, artifacts):
    _open(page, live_server, login)
    root = page.evaluate("() => window.gridgovOverview.state.root.code")
    page.fill("#gg-rec-k", "5")
    page.click("#gg-rec-run")
    page.wait_for_selector("#gg-rec[data-state=ready]", timeout=60000)
    answer = page.request.get(
        f"{live_server}/api/v1/coverage/recommend?grid={root}&k=5").json()
    picks = answer["picks"]
    assert len(picks) == 5
    # the sites on the map, numbered in the order chosen
    assert page.locator(".leaflet-overlay-pane path.gg-rec-site").count() == 5
    assert page.locator(".gg-rec-label").all_inner_texts() == \
        [str(p["rank"]) for p in picks]
    # what each adds, and the cumulative share, as the API says
    rows = page.locator("#gg-rec-table tr[data-rank]")
    assert rows.count() == 5
    for i, p in enumerate(picks):
        cells = rows.nth(i).locator("td").all_inner_texts()
        assert cells == [str(p["rank"]), f"+{p['households']}",
                         f"+{p['incidents']}",
                         f"{100 * p['household_share_after']:.1f}%"]
    # the curve: today's share, then one point per camera, never falling
    points = page.get_attribute("#gg-rec-curve polyline", "points").split()
    ys = [float(xy.split(",")[1]) for xy in points]
    assert len(ys) == 6 and ys == sorted(ys, reverse=True) and ys[0] > ys[-1]
    assert page.locator("#gg-rec-curve circle.gg-rec-point").count() == 6
    page.mouse.move(300, 500)
    page.screenshot(path=str(artifacts / "overview-camera-sites.png"))


def test_the_camera_sites_fit_a_phone(browser, live_server, passwords, artifacts):
    from tests.browser.conftest import open_page

    context = browser.new_context(viewport={"width": 375, "height": 812},
                                  is_mobile=True, has_touch=True,
                                  device_scale_factor=2, locale="zh-CN")
    page = context.new_page()
    try:
        seen = open_page(page, live_server, "/?month=2026-10", "leader",
                         passwords["leader"], "#gg-panel[data-state=ready]")
        page.locator("#gg-panel .gg-sheet-handle").tap()
        page.locator("#gg-rec-run").scroll_into_view_if_needed()
        page.locator("#gg-rec-run").tap()
        page.wait_for_selector("#gg-rec[data-state=ready]", timeout=60000)
        curve = page.locator("#gg-rec-curve")
        curve.scroll_into_view_if_needed()
        box = curve.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        assert page.locator("path.gg-rec-site").count() == 5
        width = page.evaluate("() => [document.documentElement.scrollWidth,"
                              " window.innerWidth]")
        assert width[0] <= width[1], width
        page.screenshot(path=str(artifacts / "phone-overview-camera-sites.png"))
        assert seen["errors"] == []
    finally:
        context.close()
