"""The map page in a real headless Chromium."""

from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]

LEVEL_LABELS = ["一级网格", "二级网格", "三级网格", "四级网格"]

# the overview's Leaflet map (static/overview_map.js), as a global's path
_FIND_MAP = """() => window.ggLeaflet && window.ggLeaflet.map instanceof L.Map ?
    'ggLeaflet' : null"""


def _open_map(page, live_server, login, username="dispatcher"):
    seen = {"requests": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    login(username)
    page.goto(live_server + "/", wait_until="networkidle")
    page.wait_for_selector(".leaflet-control-layers")
    return seen


def test_map_loads_offline_with_the_four_levels(page, live_server, login, artifacts):
    seen = _open_map(page, live_server, login)
    own = urlsplit(live_server).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [], f"the page requested other hosts: {foreign}"
    assert seen["errors"] == []
    page.hover(".leaflet-control-layers")  # folded into its button until then
    control = page.inner_text(".leaflet-control-layers")
    for label in LEVEL_LABELS + ["住户", "视频监控"]:
        assert label in control
    # the grids are drawn: one SVG/canvas path per polygon at least
    drawn = ".leaflet-overlay-pane path, .leaflet-overlay-pane canvas"
    assert page.locator(drawn).count()
    page.screenshot(path=str(artifacts / "map-overview.png"))


def test_clicking_a_micro_grid_shows_its_grid_chain(page, live_server, login,
                                                    demo_town, artifacts):
    _open_map(page, live_server, login)
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[5]
    p = micro.geometry.representative_point()
    name = page.evaluate(_FIND_MAP)
    assert name, "no Leaflet map on the page"
    page.evaluate(f"() => {{ window['{name}'].map.setView([{p.y}, {p.x}], 16); }}")
    page.wait_for_timeout(300)
    xy = page.evaluate(
        f"() => {{ const q = window['{name}'].map"
        f".latLngToContainerPoint([{p.y}, {p.x}]); return {{x: q.x, y: q.y}}; }}")
    box = page.locator("#overview-map").bounding_box()
    page.mouse.click(box["x"] + xy["x"], box["y"] + xy["y"])
    popup = page.wait_for_selector(".gg-locate")
    text = popup.inner_text()
    assert micro["name"] in text
    assert micro.code in text
    assert "微网格联络员" in text
    page.screenshot(path=str(artifacts / "map-locate.png"))


def test_the_map_asks_for_a_login_first(page, live_server):
    page.goto(live_server + "/", wait_until="networkidle")
    assert "/login" in page.url
    assert page.locator("#password").count() == 1


def test_a_wrong_password_is_refused_with_a_message(page, live_server, login):
    login("leader", "not-the-password")
    assert "/login" in page.url
    assert "用户名或密码错误" in page.inner_text("[role=alert]")


def test_a_leader_cannot_reach_the_planners_editor(page, live_server, login,
                                                   artifacts):
    login("leader")
    page.goto(live_server + "/", wait_until="networkidle")
    page.wait_for_selector(".leaflet-control-layers")
    assert "网格规划" not in page.inner_text("header")  # no link offered
    response = page.goto(live_server + "/plan")
    assert response.status == 403
    assert "无权访问" in page.inner_text("h2")
    page.screenshot(path=str(artifacts / "leader-forbidden.png"))


def test_a_village_dispatcher_sees_only_the_village(page, live_server, login,
                                                    demo_town):
    seen = _open_map(page, live_server, login, "village1")
    assert seen["errors"] == []
    village = demo_town.grids[demo_town.grids.level == 2].code.min()
    name = page.evaluate(_FIND_MAP)
    codes = page.evaluate(f"""() => {{
        const out = [];
        window['{name}'].map.eachLayer(l => {{
            const p = l.feature && l.feature.properties;
            if (p && p.level) out.push(p.code);  // the grids (not the cameras)
        }});
        return out;
    }}""")
    assert codes, "no grid drawn"
    town = village[:9]
    assert all(c.startswith(village) or c == town for c in codes)


@pytest.mark.parametrize(("path", "user", "ready", "box"), [
    ("/", "dispatcher", ".leaflet-control-layers", "#overview-map"),
    ("/dispatch", "dispatcher", "#dispatch[data-state=ready]", "#dispatch-map"),
    ("/tracks", "leader", "#tracks[data-state=loaded]", "#tracks-map"),
    ("/plan", "planner", "#plan[data-state=ready]", "#plan-map"),
    ("/import", "worker", "#import[data-state=ready]", "#import-map"),
])
def test_every_map_says_leaflet_as_plain_text(
        page, live_server, passwords, path, user, ready, box):
    """Leaflet 1.9's attribution prefix is a link out with a national flag icon:
    gridgov's maps (folium's and its own pages', whatever their order of
    scripts) say plain "Leaflet"."""
    from tests.browser.conftest import open_page

    seen = open_page(page, live_server, path, user, passwords[user], ready)
    attribution = page.locator(f"{box} .leaflet-control-attribution")
    assert attribution.count() == 1
    assert attribution.inner_text().startswith("Leaflet")
    assert attribution.locator("svg, img, a").count() == 0
    assert seen["errors"] == []
