"""Every page on a phone (phone issue, item A): at 375×812, as a new user opens
them in a real Chromium with a touch screen, /, /dispatch, /tracks and /rankings
do not scroll sideways, show a map wider than 300 px and taller than 250 px, keep
the header on one line with a menu button that reveals the links, dial phone
numbers with tel: links where they are shown, and break no rule of the CSP.
At 1280×800 the same pages keep their desktop layout (header links in the bar,
the side panel beside the map).

Screenshots go to tests/artifacts/phone-*.png and desktop-*.png.
"""

import re

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True,
         "has_touch": True, "device_scale_factor": 2, "locale": "zh-CN"}
DESKTOP = {"viewport": {"width": 1280, "height": 800}, "locale": "zh-CN"}

# Every page records what its CSP refused (the event a browser fires for each).
_WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample);
});
"""

# (path, account, what says the page is ready, header, map, menu's links)
_BAR = ("header", "#gg-nav")
PAGES = {
    "overview-leader": ("/?month=2026-10", "leader", "#gg-panel[data-state=ready]",
                        *_BAR, "#overview-map"),
    "overview-dispatcher": ("/", "dispatcher", ".leaflet-control-layers",
                            *_BAR, "#overview-map"),
    "dispatch": ("/dispatch", "dispatcher", "#dispatch[data-state=ready]", *_BAR,
                 "#dispatch-map"),
    "tracks": ("/tracks", "leader", "#tracks[data-state=loaded]", *_BAR,
               "#tracks-map"),
    "rankings": ("/rankings", "leader", "#rankings[data-state=ready]", *_BAR,
                 "#rank-map"),
}


@pytest.fixture()
def phone(browser):
    context = browser.new_context(**PHONE)
    yield context
    context.close()


def _open(context, base, passwords, name):
    path, user, ready, *_ = PAGES[name]
    page = context.new_page()
    page.add_init_script(_WATCH_CSP)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.goto(base + "/login")
    page.fill("#username", user)
    page.fill("#password", passwords[user])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(base + path, wait_until="networkidle")
    page.wait_for_selector(ready)
    page.wait_for_load_state("networkidle")
    return page, errors


def _box(page, selector):
    return page.eval_on_selector(selector, "e => { const r = e.getBoundingClientRect();"
                                 " return {x: r.x, y: r.y, w: r.width, h: r.height}; }")


def _fits_a_phone(page, name):
    """No sideways scroll, a map of a phone's width, a one-line header."""
    _, _, _, header, _, map_sel = PAGES[name]
    sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                          " inner: window.innerWidth})")
    assert sizes["scroll"] <= sizes["inner"], (name, sizes)
    box = _box(page, map_sel)
    assert box["w"] > 300 and box["h"] > 250, (name, box)
    assert box["x"] >= 0 and box["x"] + box["w"] <= sizes["inner"] + 0.5, (name, box)
    # one line: the height of one row of text and the menu button, no more
    assert _box(page, header)["h"] <= 56, (name, _box(page, header))


def _menu_reveals_the_links(page, name):
    _, _, _, header, nav, _ = PAGES[name]
    links = page.locator(f"{nav} a")
    assert links.count() >= 2
    assert not links.first.is_visible()  # folded behind the button
    button = page.locator(f"{header} [data-gg-menu]")
    assert button.is_visible()
    assert button.get_attribute("aria-expanded") == "false"
    button.tap()
    assert button.get_attribute("aria-expanded") == "true"
    for i in range(links.count()):
        assert links.nth(i).is_visible(), (name, links.nth(i).inner_text())
        box = links.nth(i).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    # the links lead somewhere: the first one's page answers
    assert links.first.get_attribute("href").startswith("/")
    page.locator(f"{header} .gg-brand").tap()
    assert not links.first.is_visible()  # a tap elsewhere folds it again


def _tel_links(page, scope):
    hrefs = page.eval_on_selector_all(f"{scope} a[href^='tel:']",
                                      "els => els.map(a => a.getAttribute('href'))")
    assert hrefs, scope
    for href in hrefs:
        assert re.fullmatch(r"tel:\d{5,}", href), href  # the digits only
    return hrefs


def _clean(page, errors):
    assert page.evaluate("window.__csp") == []
    assert errors == []


def _micro_spot(demo_town):
    """A point inside a micro-grid (with its staff, who have phones)."""
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[0]
    p = micro.geometry.representative_point()
    return p.x, p.y


@pytest.mark.parametrize("name", ["overview-leader", "tracks", "rankings"])
def test_a_page_fits_a_phone(phone, live_server, passwords, artifacts, name):
    page, errors = _open(phone, live_server, passwords, name)
    _fits_a_phone(page, name)
    if name == "tracks":  # the folded sheet says the days' distance
        assert re.fullmatch(r"合计里程（公里） \d+\.\d\d",
                            page.inner_text(".tracks-panel .gg-sheet-label"))
    page.screenshot(path=str(artifacts / f"phone-{name}.png"))
    _menu_reveals_the_links(page, name)
    _fits_a_phone(page, name)
    _clean(page, errors)


def test_the_overview_panel_is_a_bottom_sheet_on_a_phone(
        phone, live_server, passwords, artifacts):
    page, errors = _open(phone, live_server, passwords, "overview-leader")
    sheet = page.locator("#gg-panel")
    handle = sheet.locator(".gg-sheet-handle")
    # folded: a handle across the foot of the map, naming the area and its figure
    box = sheet.bounding_box()
    assert box["height"] <= 60 and box["y"] + box["height"] >= 811
    assert box["width"] >= 370
    assert "云溪镇" in handle.inner_text() and "%" in handle.inner_text()
    assert _box(page, "#gg-children")["y"] >= 812  # clipped, below the screen
    # the layer list is folded into its button, out of the map's way
    layers = page.locator(".leaflet-control-layers")
    assert layers.bounding_box()["width"] < 60
    handle.tap()
    assert handle.get_attribute("aria-expanded") == "true"
    box = sheet.bounding_box()
    assert 250 < box["height"] <= 0.62 * 812
    drill = page.locator("#gg-children button.drill").first
    drill.scroll_into_view_if_needed()
    assert box["y"] <= drill.bounding_box()["y"] <= 812 - 20
    page.screenshot(path=str(artifacts / "phone-overview-sheet.png"))
    handle.tap()
    assert sheet.bounding_box()["height"] <= 60
    _fits_a_phone(page, "overview-leader")
    _clean(page, errors)


def test_the_overview_locate_popup_dials_the_staff(
        phone, live_server, passwords, artifacts, demo_town):
    page, errors = _open(phone, live_server, passwords, "overview-dispatcher")
    _fits_a_phone(page, "overview-dispatcher")
    _menu_reveals_the_links(page, "overview-dispatcher")
    lon, lat = _micro_spot(demo_town)
    expr = "ggLeaflet.map"  # static/overview_map.js
    page.evaluate(f"() => {{ window.{expr}.setView([{lat}, {lon}], 16, "
                  "{animate: false}); }")
    xy = page.evaluate(f"() => window.{expr}.latLngToContainerPoint([{lat}, {lon}])")
    page.locator("#overview-map").tap(position={"x": xy["x"], "y": xy["y"]})
    page.wait_for_selector(".leaflet-popup .gg-locate a[href^='tel:']")
    _tel_links(page, ".leaflet-popup")
    page.wait_for_timeout(500)  # the popup's fade and the map's pan
    popup = page.locator(".leaflet-popup").bounding_box()
    assert popup["x"] >= 0 and popup["x"] + popup["width"] <= 375
    # clear of the header and of the folded sheet
    assert popup["y"] >= 44 and popup["y"] + popup["height"] <= 812 - 48
    page.screenshot(path=str(artifacts / "phone-overview-dispatcher.png"))
    _fits_a_phone(page, "overview-dispatcher")
    _clean(page, errors)


def test_dispatch_on_a_phone_locates_and_dials(
        phone, live_server, passwords, artifacts, demo_town):
    page, errors = _open(phone, live_server, passwords, "dispatch")
    _fits_a_phone(page, "dispatch")
    page.screenshot(path=str(artifacts / "phone-dispatch-start.png"))
    _menu_reveals_the_links(page, "dispatch")
    sheet = page.locator(".dispatch-panel")
    assert sheet.bounding_box()["height"] <= 60  # folded: the map shows
    lon, lat = _micro_spot(demo_town)
    page.fill("#dispatch-lon", f"{lon:.7f}")
    page.fill("#dispatch-lat", f"{lat:.7f}")
    page.locator("#dispatch-go").tap()
    page.wait_for_selector("#dispatch-chain li[data-level='4']")
    # the sheet unfolded on what was found, over the lower part of the map
    assert "gg-sheet-open" in sheet.get_attribute("class")
    box = sheet.bounding_box()
    assert box["height"] > 250 and box["y"] > 300
    # named after the micro-grid found, and the spot in sight above it
    assert page.inner_text(".dispatch-panel .gg-sheet-label") == page.inner_text(
        "#dispatch-chain li[data-level='4'] strong")
    spot = page.evaluate("""() => { const d = window.gridgovDispatch;
        const p = d.map.latLngToContainerPoint([d.state.point.lat, d.state.point.lon]);
        return p.y + d.map.getContainer().getBoundingClientRect().top; }""")
    assert _box(page, "#dispatch-map")["y"] < spot < box["y"] - 20
    staff = page.locator("#dispatch-staff")
    staff.scroll_into_view_if_needed()
    hrefs = _tel_links(page, "#dispatch-staff")
    link = page.locator("#dispatch-staff a[href^='tel:']").first
    assert link.is_visible()
    assert re.sub(r"\D", "", link.inner_text()) == hrefs[0][4:]
    _fits_a_phone(page, "dispatch")  # the staff table scrolls in its own box
    page.screenshot(path=str(artifacts / "phone-dispatch.png"))
    _clean(page, errors)


@pytest.mark.parametrize("name", ["overview-leader", "dispatch", "tracks"])
def test_the_desktop_layout_is_kept(browser, live_server, passwords, artifacts, name):
    context = browser.new_context(**DESKTOP)
    try:
        page, errors = _open(context, live_server, passwords, name)
        _, _, _, header, nav, map_sel = PAGES[name]
        # the links in the bar, no menu button
        assert not page.locator(f"{header} [data-gg-menu]").is_visible()
        assert page.locator(f"{nav} a").first.is_visible()
        assert _box(page, header)["h"] <= 48
        panel = {"overview-leader": "#gg-panel", "dispatch": ".dispatch-panel",
                 "tracks": ".tracks-panel"}[name]
        pbox, mbox = _box(page, panel), _box(page, map_sel)
        assert pbox["w"] >= 330 and pbox["x"] >= 1280 - pbox["w"] - 12
        assert page.locator(f"{panel} .gg-sheet-handle").is_hidden()
        assert mbox["w"] >= 780 and mbox["h"] >= 600
        page.screenshot(path=str(artifacts / f"desktop-{name}.png"))
        _clean(page, errors)
    finally:
        context.close()
