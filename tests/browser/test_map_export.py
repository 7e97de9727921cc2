"""The overview's "导出 HTML 地图" in a real headless Chromium: the file it saves
opens from disk (file://) with the network blocked, and draws the grids, the
choropleth in the ramp's colours and the page's own legend, asking for nothing.
"""

import re
from urllib.parse import unquote

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]

RAMP = {"#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026"}


def test_the_exported_view_opens_offline_with_its_choropleth_and_legend(
        browser, page, live_server, passwords, demo_town, tmp_path, artifacts):
    from tests.browser.conftest import open_page

    seen = open_page(page, live_server, "/?month=2026-10", "leader",
                     passwords["leader"], "#gg-panel[data-state=ready]")
    legend = page.locator("#gg-legend li").all_inner_texts()
    assert len(legend) >= 3
    with page.expect_download() as info:
        page.click("#gg-export")
    download = info.value
    name = download.suggested_filename
    assert name.endswith(".html") and "云溪镇" in unquote(name), name
    path = tmp_path / "overview.html"
    download.save_as(path)
    asked = re.search(r"[?&]layers=([^&]*)", download.url).group(1)
    assert set(unquote(asked).split(",")) >= {"level1", "level2", "choropleth"}
    assert seen["errors"] == []

    context = browser.new_context(viewport={"width": 1280, "height": 860},
                                  locale="zh-CN")
    try:
        attempted, errors = [], []
        doc = path.as_uri()

        def block(route):
            if route.request.url == doc:
                route.continue_()
            else:
                attempted.append(route.request.url)
                route.abort()

        context.route("**/*", block)
        offline = context.new_page()
        offline.on("request", lambda r: r.url != doc and not r.url.startswith(
            "data:") and attempted.append(r.url))
        offline.on("console", lambda m: m.type == "error" and errors.append(m.text))
        offline.on("pageerror", lambda e: errors.append(str(e)))
        offline.goto(doc, wait_until="load")
        offline.wait_for_selector(".leaflet-overlay-pane path.gg-choropleth")
        offline.wait_for_timeout(500)
        # the villages filled in the ramp's colours, the town's outline above
        villages = demo_town.grids[demo_town.grids.level == 2]
        choropleth = offline.locator(".leaflet-overlay-pane path.gg-choropleth")
        assert choropleth.count() == len(villages)
        fills = set(offline.eval_on_selector_all(
            "path.gg-choropleth", "els => els.map(e => e.getAttribute('fill'))"))
        assert len(fills & RAMP) >= 2, fills
        assert offline.locator(".leaflet-overlay-pane path").count() > len(villages)
        # the page's legend, class for class; the title and the date
        assert offline.locator("#gg-legend li").all_inner_texts() == legend
        title = offline.inner_text(".gg-export-title")
        assert "云溪镇" in title and "2026-10" in title and "北京时间" in title
        # the layer list names the layers shown
        control = offline.inner_text(".leaflet-control-layers")
        assert "一级网格" in control and "专题图" in control
        attribution = offline.locator(".leaflet-control-attribution")
        assert attribution.inner_text().startswith("Leaflet")
        assert attribution.locator("svg, img, a").count() == 0
        offline.screenshot(path=str(artifacts / "overview-export-offline.png"))
        assert attempted == [], attempted
        assert errors == [], errors
    finally:
        context.close()
