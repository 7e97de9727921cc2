"""Stored strings are shown as text on every page, never parsed as markup
(security issue, item 6): grid names, camera names and incident codes and
descriptions holding HTML reach the map tooltips and popups, the side panels
and the tables as the characters they are — no element is made of them, no
handler of theirs runs — and no page breaks its Content-Security-Policy, which
allows no inline style (nor inline script) without the page's nonce.

The strings are stored in a writable copy of the demo town, as an import or an
edit would store them (any name a file or a user gives).
"""

import json
import re

import psycopg
import pytest
import shapely
from pyproj import Geod

from tests.browser.conftest import open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]

HOSTILE = "<img src=x onerror=window.__xss=1><b>bold</b>"
# an incident's code goes into the API's path too, where a "/" is not allowed
HOSTILE_CODE = "<img src=x onerror=window.__xss=1><b>bold"

# Every page records what its CSP refused (the event a browser fires for each).
_WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI + ' ' + e.sample);
});
"""

# Elements made of the stored strings: the <img src=x> and the <b>bold</b>.
_MADE = """() => ({
    img: [...document.querySelectorAll('img')].filter(
        i => /\\/x$/.test(i.getAttribute('src') || '') ||
             i.getAttribute('src') === 'x').length,
    b: [...document.querySelectorAll('b')].filter(
        b => b.textContent === 'bold').length,
    xss: window.__xss === undefined ? null : window.__xss,
})"""

_TOOLTIPS = "() => [...document.querySelectorAll('.leaflet-tooltip')]" \
    ".map(t => t.textContent)"

# the overview's Leaflet map (static/overview_map.js)
_FIND_MAP = """() => window.ggLeaflet && window.ggLeaflet.map instanceof L.Map ?
    'window.ggLeaflet.map' : null"""


@pytest.fixture(scope="module")
def hostile(databases, demo_town):
    """The demo town with markup in every grid's and camera's name and in an open
    incident's code and description; the incident moved to a spot that a fixed
    camera sees (``spot``: lon, lat, that camera's code)."""
    with served_copy(databases, demo_town) as server:
        cam, lon, lat = _spot_seen_by_a_fixed_camera(demo_town)
        with psycopg.connect(server.url) as c:
            c.execute("UPDATE grids SET name = name || %s", (HOSTILE,))
            c.execute("UPDATE cameras SET name = name || %s", (HOSTILE,))
            (server.incident,) = c.execute(
                "UPDATE incidents SET code = code || %s, description = %s,"
                " geom = ST_SetSRID(ST_MakePoint(%s, %s), 4326)"
                " WHERE id = (SELECT min(id) FROM incidents WHERE closed_at IS NULL"
                "             AND grid_code IS NOT NULL)"
                " RETURNING code", (HOSTILE_CODE, HOSTILE, lon, lat)).fetchone()
        server.spot = (lon, lat, cam.code)
        yield server


def _spot_seen_by_a_fixed_camera(demo_town):
    """A fixed camera and the point 20 m ahead of it on its bearing, inside a
    micro-grid (as in test_dispatch)."""
    cams = demo_town.cameras
    micro = demo_town.grids[demo_town.grids.level == 4]
    for cam in cams[(cams.kind == "fixed") & (cams.status == "online")].itertuples():
        lon, lat, _ = Geod(ellps="WGS84").fwd(cam.geometry.x, cam.geometry.y,
                                              cam.bearing, 20.0)
        if cam.range_m > 40 and micro.contains(shapely.Point(lon, lat)).sum() == 1:
            return cam, lon, lat
    raise AssertionError("the demo town has no fixed camera looking into a grid")


def _open(page, server, path, username, ready):
    page.add_init_script(_WATCH_CSP)
    return open_page(page, server.base, path, username, server.passwords[username],
                     ready)


def _inert(page, seen):
    """Nothing was made of the stored strings and the CSP refused nothing."""
    page.wait_for_load_state("networkidle")  # an <img src=x> would have failed
    assert page.evaluate(_MADE) == {"img": 0, "b": 0, "xss": None}
    assert page.evaluate("window.__csp") == []
    assert seen["errors"] == []


def _point_on(server, sql, *params):
    """(lon, lat, name) of a point on the surface of the grid ``sql`` selects."""
    with psycopg.connect(server.url) as c:
        return c.execute(
            "SELECT ST_X(p), ST_Y(p), name FROM (SELECT ST_PointOnSurface(geom) p,"
            f" name FROM grids WHERE {sql} ORDER BY code LIMIT 1) s",
            params).fetchone()


def _hover(page, map_expr, lon, lat, zoom):
    """Centre the map on (lon, lat) and move the mouse there."""
    page.mouse.move(2, 2)
    page.evaluate(f"() => {{ {map_expr}.setView([{lat}, {lon}], {zoom}, "
                  "{animate: false}); }")
    page.wait_for_timeout(300)
    xy = page.evaluate(f"() => {map_expr}.latLngToContainerPoint([{lat}, {lon}])")
    box = page.evaluate(f"() => {{ const r = {map_expr}.getContainer()"
                        ".getBoundingClientRect(); return {x: r.x, y: r.y}; }")
    page.mouse.move(box["x"] + xy["x"] - 3, box["y"] + xy["y"] - 3)
    page.mouse.move(box["x"] + xy["x"], box["y"] + xy["y"])
    page.wait_for_selector(".leaflet-tooltip")


def _open_all_tooltips(page, map_expr):
    page.evaluate(f"""() => {map_expr}.eachLayer(l => {{
        if (l.getTooltip && l.getTooltip() && !l.isTooltipOpen()) l.openTooltip();
    }})""")


def test_the_overview_map_shows_names_as_text(page, hostile, artifacts):
    # the viewer's map: the grids and cameras, no leaders' layers
    seen = _open(page, hostile, "/", "viewer", ".leaflet-control-layers")
    m = page.evaluate(_FIND_MAP)
    lon, lat, name = _point_on(hostile, "level = 4")
    _hover(page, m, lon, lat, 17)
    assert any(name in t for t in page.evaluate(_TOOLTIPS))
    page.screenshot(path=str(artifacts / "escaping-overview-grid.png"))
    with psycopg.connect(hostile.url) as c:
        cam_lon, cam_lat, cam_name = c.execute(
            "SELECT ST_X(geom), ST_Y(geom), name FROM cameras ORDER BY code"
            " LIMIT 1").fetchone()
    _hover(page, m, cam_lon, cam_lat, 19)
    page.wait_for_function(f"() => [...document.querySelectorAll('.leaflet-tooltip')]"
                           f".some(t => t.textContent.includes({cam_name!r}))")
    _inert(page, seen)


def test_the_locate_popup_shows_names_as_text(page, hostile, artifacts):
    # a planner's map: no leaders' layers, a click locates the spot in a popup
    seen = _open(page, hostile, "/", "planner", ".leaflet-control-layers")
    m = page.evaluate(_FIND_MAP)
    lon, lat, _cam = hostile.spot
    page.evaluate(f"() => {{ {m}.fire('click', {{latlng: L.latLng({lat}, {lon})}}); }}")
    popup = page.wait_for_selector(".gg-locate")
    # the grid chain's four names and the camera that sees the spot
    assert popup.evaluate("p => p.textContent").count(HOSTILE) >= 5
    page.screenshot(path=str(artifacts / "escaping-locate.png"))
    _inert(page, seen)


def test_the_leaders_choropleth_and_panel_show_names_as_text(page, hostile):
    seen = _open(page, hostile, "/", "leader", "#gg-panel[data-state=ready]")
    lon, lat, name = _point_on(hostile, "level = 2")
    _hover(page, "window.ggLeaflet.map", lon, lat, 14)
    assert any(t.startswith(name + "：") for t in page.evaluate(_TOOLTIPS))
    assert name in page.inner_text("#gg-children")
    _inert(page, seen)


def test_the_dispatch_page_shows_names_and_codes_as_text(page, hostile, artifacts):
    lon, lat, cam = hostile.spot
    seen = _open(page, hostile, "/dispatch", "dispatcher",
                 "#dispatch[data-state=ready]")
    page.select_option("#dispatch-crs", "wgs84")
    page.fill("#dispatch-lon", f"{lon:.7f}")
    page.fill("#dispatch-lat", f"{lat:.7f}")
    page.click("#dispatch-go")
    page.wait_for_selector("#dispatch-chain li[data-level='4']")
    assert page.inner_text("#dispatch-chain").count(HOSTILE) == 4
    assert HOSTILE in page.inner_text("#dispatch-seeing")
    assert hostile.incident in page.inner_text("#dispatch-near-incidents")
    _open_all_tooltips(page, "window.gridgovDispatch.map")
    tips = page.evaluate(_TOOLTIPS)
    assert hostile.incident in tips  # the incident's marker
    assert any(t.endswith(HOSTILE) for t in tips)  # the camera's marker
    # the incident itself: its code and description
    page.click(f"#dispatch-near-incidents button:has-text({hostile.incident!r})")
    page.wait_for_selector(f"#dispatch-incident[data-code={hostile.incident!r}]")
    assert page.inner_text("#dispatch-incident h3").startswith(hostile.incident)
    assert HOSTILE in page.inner_text("#dispatch-facts")
    page.screenshot(path=str(artifacts / "escaping-dispatch.png"))
    _inert(page, seen)


def test_the_plan_page_labels_grids_as_text(page, hostile, artifacts):
    seen = _open(page, hostile, "/plan", "planner", "#plan[data-state=ready]")
    labels = page.eval_on_selector_all(".leaflet-tooltip.plan-label",
                                       "ts => ts.map(t => t.textContent)")
    assert labels and all(t.endswith(HOSTILE) for t in labels)
    page.screenshot(path=str(artifacts / "escaping-plan.png"))
    _inert(page, seen)


def test_the_tracks_page_shows_grid_names_as_text(page, hostile, artifacts):
    seen = _open(page, hostile, "/tracks", "leader", "#tracks[data-state=loaded]")
    _open_all_tooltips(page, "window.gridgovTracks.map")
    tips = page.evaluate(_TOOLTIPS)
    assert any(HOSTILE + "（" in t for t in tips)  # a micro-grid: name（code）
    assert HOSTILE in page.inner_text("#tracks-worker")
    page.screenshot(path=str(artifacts / "escaping-tracks.png"))
    _inert(page, seen)


def test_the_import_page_shows_names_and_codes_as_text(page, hostile, demo_town,
                                                       tmp_path):
    g = demo_town.grids
    x = g[(g.level == 4) & g.code.str.startswith(hostile.worker_grid)].sort_values(
        "code").iloc[0]
    p = x.geometry.representative_point()
    path = tmp_path / "incidents.csv"
    path.write_text("事件编号,类别,来源,描述,上报时间,经度,纬度\n"
                    f"IMP1{HOSTILE},矛盾纠纷,热线,{HOSTILE},2026-11-20 09:30,"
                    f"{p.x:.7f},{p.y:.7f}\n",
                    encoding="utf-8")
    seen = _open(page, hostile, "/import", "worker", "#import[data-state=ready]")
    page.set_input_files("#import-file", str(path))
    page.select_option("#import-layer", "incidents")
    page.select_option("#import-crs", "wgs84")
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    assert page.inner_text("#import-rows").count(HOSTILE) == 2  # code, description
    labels = page.eval_on_selector_all(".leaflet-tooltip.import-label",
                                       "ts => ts.map(t => t.textContent)")
    assert labels and all(t.endswith(HOSTILE) for t in labels)
    page.locator("#import-map path.import-point").first.hover()
    tip = page.wait_for_selector(".leaflet-tooltip.import-tip")
    assert tip.evaluate("t => t.textContent").endswith(HOSTILE + "（" + x.code + "）")
    _inert(page, seen)


@pytest.mark.parametrize("path, username, ready", [
    ("/rankings", "leader", "#rankings[data-state=ready]"),
    ("/admin/audit", "admin", "main"),
    ("/admin/users", "admin", "main"),
])
def test_the_other_pages_show_names_as_text(page, hostile, path, username, ready):
    seen = _open(page, hostile, path, username, ready)
    if path == "/rankings":
        assert HOSTILE in page.inner_text("#rank-table")
        _open_all_tooltips(page, "window.gridgovRankings.map")
        assert all(HOSTILE in t for t in page.evaluate(_TOOLTIPS))
    _inert(page, seen)


def test_no_page_allows_inline_style_or_script(client):
    for path in ("/", "/dispatch", "/plan", "/tracks", "/import", "/rankings",
                 "/login", "/api/v1/grids?level=1"):
        csp = client.get(path).headers["Content-Security-Policy"]
        assert "'unsafe-inline'" not in csp, path
        for directive in ("script-src", "style-src"):
            sources = re.search(rf"{directive} ([^;]*)", csp).group(1).split()
            assert sources[0] == "'self'" and all(
                s.startswith("'nonce-") for s in sources[1:]), (path, csp)


def test_the_import_page_shows_imported_grid_names_as_text(page, hostile, demo_town,
                                                           tmp_path):
    g = demo_town.grids
    x = g[g.level == 4].sort_values("code").iloc[0]
    path = tmp_path / "grids.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [{
        "type": "Feature", "geometry": x.geometry.__geo_interface__,
        "properties": {"编码": x.code, "名称": "新名" + HOSTILE, "层级": 4}}]},
        ensure_ascii=False), encoding="utf-8")
    seen = _open(page, hostile, "/import", "planner", "#import[data-state=ready]")
    page.set_input_files("#import-file", str(path))
    page.select_option("#import-layer", "grids")
    page.select_option("#import-crs", "wgs84")
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    _open_all_tooltips(page, "window.gridgovImport.map")
    tips = page.evaluate(_TOOLTIPS)
    assert any(t.startswith(f"{x.code} 新名{HOSTILE} · ") for t in tips), tips
    _inert(page, seen)
