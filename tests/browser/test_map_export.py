"""The overview's "导出 HTML 地图" in a real headless Chromium: the file it saves
opens from disk (file://) with the network blocked, and draws the grids, the
choropleth in the ramp's colours and the page's own legend, asking for nothing.
"""

import re
from html import unescape as html_text
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


def _rgb(colour):
    """"#rrggbb" as the browser writes a style's colour: "rgb(r, g, b)"."""
    r, g, b = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgb({r}, {g}, {b})"


def test_the_page_and_the_export_agree_on_the_micro_grids_classes(
        page, live_server, passwords, demo_town):
    """One place for the class breaks (geo/choropleth.py): on the demo's
    micro-grids in October (rates of 0 % and 100 % in ties, the case that once
    split the two computations), the page's legend is the export's, swatch for
    swatch, and every micro-grid has the same fill in both."""
    from tests.browser.conftest import open_page

    micro = demo_town.grids[demo_town.grids.level == 4]
    open_page(page, live_server, "/?month=2026-10", "leader", passwords["leader"],
              "#gg-panel[data-state=ready]")
    page.select_option("#gg-level", "4")
    page.wait_for_function(
        "n => window.gridgovOverview.state.level === 4 && "
        "document.querySelectorAll('path.gg-choropleth').length === n",
        arg=len(micro))
    page.wait_for_load_state("networkidle")
    for measure in ("resolution_rate", "received"):
        page.select_option("#gg-measure", measure)
        legend = page.locator("#gg-legend li").all_inner_texts()
        swatches = page.eval_on_selector_all(
            "#gg-legend li i.sw", "els => els.map(e => e.style.background)")
        fills = page.evaluate(
            "() => { const out = {}; window.ggLeaflet.layers.choropleth.eachLayer("
            "g => g.eachLayer && g.eachLayer(f => { out[f.feature.properties.code]"
            " = f.options.fillColor; })); return out; }")
        query = page.evaluate("() => window.ggLeaflet.exportQuery()")
        html = page.request.get(f"{live_server}/api/v1/maps/overview.html?{query}"
                                ).text()
        block = html[html.index('id="gg-legend"'):]
        block = block[:block.index("</ul>")]
        exported = re.findall(r'<li class="gg-class"><i class="sw" '
                              r'style="background:(#[0-9a-f]{6})"></i>([^<]*)</li>',
                              block)
        assert len(exported) >= 3
        assert [html_text(label) for _, label in exported] == legend[:len(exported)]
        assert [_rgb(c) for c, _ in exported] == swatches[:len(exported)]
        drawn = {}
        for props in re.findall(r'\{[^{}]*"_fill"[^{}]*\}', html):
            code = re.search(r'"code":\s*"(\d+)"', props).group(1)
            drawn[code] = re.search(r'"_fill":\s*"(#[0-9a-f]{6})"', props).group(1)
        assert drawn == fills
