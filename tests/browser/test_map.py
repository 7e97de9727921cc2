"""The map page in a real headless Chromium."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]

LEVEL_LABELS = ["一级网格", "二级网格", "三级网格", "四级网格"]

_FIND_MAP = """() => {
    for (const k of Object.keys(window)) {
        if (k.startsWith('map_') && window[k] instanceof L.Map) return k;
    }
    return null;
}"""


def _open_map(page, live_server):
    seen = {"requests": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(live_server + "/", wait_until="networkidle")
    page.wait_for_selector(".leaflet-control-layers")
    return seen


def test_map_loads_offline_with_the_four_levels(page, live_server, artifacts):
    seen = _open_map(page, live_server)
    own = urlsplit(live_server).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [], f"the page requested other hosts: {foreign}"
    assert seen["errors"] == []
    control = page.inner_text(".leaflet-control-layers")
    for label in LEVEL_LABELS + ["住户", "视频监控"]:
        assert label in control
    # the grids are drawn: one SVG/canvas path per polygon at least
    drawn = ".leaflet-overlay-pane path, .leaflet-overlay-pane canvas"
    assert page.locator(drawn).count()
    page.screenshot(path=str(artifacts / "map-overview.png"))


def test_clicking_a_micro_grid_shows_its_grid_chain(page, live_server, demo_town,
                                                    artifacts):
    _open_map(page, live_server)
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[5]
    p = micro.geometry.representative_point()
    name = page.evaluate(_FIND_MAP)
    assert name, "no Leaflet map on the page"
    page.evaluate(f"() => {{ window['{name}'].setView([{p.y}, {p.x}], 16); }}")
    page.wait_for_timeout(300)
    xy = page.evaluate(
        f"() => {{ const q = window['{name}'].latLngToContainerPoint([{p.y}, {p.x}]);"
        " return {x: q.x, y: q.y}; }")
    box = page.locator(".folium-map").bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    popup = page.wait_for_selector(".gg-locate")
    text = popup.inner_text()
    assert micro["name"] in text
    assert micro.code in text
    assert "微网格联络员" in text
    page.screenshot(path=str(artifacts / "map-locate.png"))
