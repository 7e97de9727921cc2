"""Basemaps in a real Chromium (web/basemap.py, gg.newMap in static/gg.js).

Online providers cannot be reached from here: their tile requests are answered
by the test with a blank tile (and recorded), so what is checked is the page's
own maths and grid — a landmark placed in WGS-84 through the page's CRS lands on
the pixel of the tile the provider's system puts it on, and a click on that pixel
comes back as the WGS-84 point:

- GCJ-02 (高德): Tian'anmen, WGS-84 (116.404, 39.915) -> GCJ-02
  (116.41024449916938, 39.91640428150164) (wandergis/coordtransform and hutool's
  tests, tests/unit/test_crs.py), on the standard XYZ grid (slippy-map formulas);
- BD-09 (百度): the BD-09 point (116.404, 39.915) is (12958175.0, 4825923.77) in
  Baidu's mercator (the published BD09MC pair, e.g. TeslaMate's BaiduMercator
  test); Baidu's tile at z18 is 256 m square, counted from (0, 0) upwards, so that
  point is tile (50617, 18851) at (223.0, 256 - 67.77) from its top-left corner.

The offline basemap is tested fully: the demo's PMTiles file served by gridgov,
drawn by protomaps-leaflet (a screenshot is kept), no request leaving gridgov, and
the map at a phone's width.
"""

import base64
import math
from urllib.parse import urlsplit

import psycopg
import pytest

from geo.crs import bd09_to_wgs84
from tests.browser.conftest import open_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.db]

WGS = (116.404, 39.915)
GCJ = (116.41024449916938, 39.91640428150164)
BD09 = (116.404, 39.915)
BD09MC = (12958175.0, 4825923.77)
# a 1×1 transparent PNG for every outside tile request
_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAA"
    "AABJRU5ErkJggg==")


def _app(demo_url, **config):
    from web import create_app

    return create_app({"DATABASE_URL": demo_url, "TESTING": True,
                       "SECRET_KEY": "test-secret-key-not-for-production",
                       "LOCATE_INDEX_BACKGROUND": False} | config)


def _answer_outside(page, base):
    """Answer every request to another host with a blank tile; return the list of
    their URLs."""
    outside = []

    def handle(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.fulfill(status=200, content_type="image/png", body=_PNG)

    page.route("**/*", handle)
    return outside


# Where a WGS-84 point lands: the container pixel, the tile <img> under it (its
# src) and the point's offset from that tile's top-left corner; then a real mouse
# click there, read back by a listener as the map's e.latlng.
_PLACE = """
([lat, lon, zoom]) => {
  const map = window.gridgovDispatch.map;
  map.setView([lat, lon], zoom, {animate: false});
  const p = map.latLngToContainerPoint([lat, lon]);
  const box = map.getContainer().getBoundingClientRect();
  const x = box.left + p.x, y = box.top + p.y;
  const tiles = [...document.querySelectorAll('#dispatch-map img.leaflet-tile')];
  const hit = tiles.find(t => {
    const r = t.getBoundingClientRect();
    return r.left <= x && x < r.right && r.top <= y && y < r.bottom;
  });
  const r = hit.getBoundingClientRect();
  window.__clicked = null;
  map.once('click', e => { window.__clicked = [e.latlng.lng, e.latlng.lat]; });
  return {src: hit.src, dx: x - r.left, dy: y - r.top, x: x, y: y,
          crs: map.options.crs.code,
          select: document.getElementById('dispatch-crs').value};
}
"""


def _xyz_pixel(lon, lat, z):
    """The global web-mercator pixel of (lon, lat) at zoom z (256-px tiles)."""
    n = 256 * 2**z
    x = (lon + 180) / 360 * n
    s = math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    y = (1 - s / math.pi) / 2 * n
    return x, y


@pytest.fixture(scope="module")
def dispatcher_password(demo_db):
    return demo_db[1]["dispatcher"]


def _open_dispatch(page, base, password):
    page.set_default_timeout(120_000)  # a loaded 2-core machine
    return open_page(page, base, "/dispatch", "dispatcher", password,
                     "#dispatch[data-state=ready]")


def _click_back(page, placed):
    page.mouse.click(placed["x"], placed["y"])
    page.wait_for_function("() => window.__clicked !== null")
    return page.evaluate("() => window.__clicked")


def _metres(a, b):
    dx = (a[0] - b[0]) * 111320 * math.cos(math.radians(b[1]))
    return math.hypot(dx, (a[1] - b[1]) * 110540)


def test_a_gcj02_basemap_puts_tiananmen_on_its_published_pixel(
        page, demo_url, dispatcher_password):
    with serve(_app(demo_url, BASEMAP="amap")) as base:
        outside = _answer_outside(page, base)
        seen = _open_dispatch(page, base, dispatcher_password)
        placed = page.evaluate(_PLACE, [WGS[1], WGS[0], 17])
        clicked = _click_back(page, placed)
    assert placed["crs"] == "GRIDGOV:GCJ02"
    assert placed["select"] == "gcj02"  # typed positions default to the map's system
    px, py = _xyz_pixel(*GCJ, 17)
    tile = urlsplit(placed["src"]).query
    assert f"x={int(px // 256)}&y={int(py // 256)}&z=17" in tile, tile
    assert placed["dx"] == pytest.approx(px % 256, abs=1.0)
    assert placed["dy"] == pytest.approx(py % 256, abs=1.0)
    # not where the same point would be on a WGS-84 map (~600 m = 500 px away)
    wx, _ = _xyz_pixel(*WGS, 17)
    assert abs(wx - px) > 400
    # a click on that pixel is the WGS-84 point again (within a pixel, 0.9 m)
    assert _metres(clicked, WGS) < 1.5
    # the tiles asked are amap's, on its hosts; nothing else left gridgov
    assert outside and all(urlsplit(u).hostname.endswith(".is.autonavi.com")
                           for u in outside)
    assert not seen["errors"], seen["errors"]


def test_a_baidu_basemap_puts_the_point_on_baidus_grid(
        page, demo_url, dispatcher_password):
    lon, lat = (float(v) for v in bd09_to_wgs84(*BD09))
    with serve(_app(demo_url, BASEMAP="baidu")) as base:
        outside = _answer_outside(page, base)
        seen = _open_dispatch(page, base, dispatcher_password)
        placed = page.evaluate(_PLACE, [lat, lon, 18])
        clicked = _click_back(page, placed)
    assert placed["crs"] == "GRIDGOV:BD09" and placed["select"] == "bd09"
    # Baidu's z18: one metre of its mercator per pixel, rows from the equator up
    col, row = int(BD09MC[0] // 256), int(BD09MC[1] // 256)
    assert (col, row) == (50617, 18851)
    assert f"x={col}&y={row}&z=18" in urlsplit(placed["src"]).query, placed["src"]
    assert placed["dx"] == pytest.approx(BD09MC[0] - col * 256, abs=1.5)
    assert placed["dy"] == pytest.approx(256 - (BD09MC[1] - row * 256), abs=1.5)
    assert _metres(clicked, (lon, lat)) < 2.0
    assert outside and all(urlsplit(u).hostname.endswith(".bdimg.com")
                           for u in outside)
    assert not seen["errors"], seen["errors"]


# -- the offline basemap --------------------------------------------------------------

@pytest.fixture(scope="module")
def offline_server(demo_url, tmp_path_factory):
    from web.basemap import write_demo

    path = tmp_path_factory.mktemp("basemap") / "basemap.pmtiles"
    with psycopg.connect(demo_url) as conn:
        write_demo(conn, path)
    with serve(_app(demo_url, BASEMAP="offline", BASEMAP_FILE=str(path))) as base:
        yield base


_DRAWN = """
() => {
  const canvases = [...document.querySelectorAll('#dispatch-map canvas.leaflet-tile')];
  let coloured = 0, road = 0, water = 0;
  for (const c of canvases) {
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    for (let i = 0; i < d.length; i += 16) {
      const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
      const off = Math.abs(r - 0xf4) + Math.abs(g - 0xf1) + Math.abs(b - 0xea);
      if (off > 30) { coloured++; }
      if (r > 0xe0 && g > 0xb0 && g < 0xd8 && b < 0x90) { road++; }
      if (b > 0xd0 && r < 0xc0 && g > 0xb0) { water++; }
    }
  }
  return {tiles: canvases.length, coloured: coloured, road: road, water: water};
}
"""


def test_the_offline_basemap_is_drawn_from_gridgov_alone(
        page, offline_server, dispatcher_password, demo_town, artifacts):
    seen = _open_dispatch(page, offline_server, dispatcher_password)
    town = demo_town.grids[demo_town.grids.level == 1].geometry.iloc[0].centroid
    page.evaluate("([lat, lon]) => window.gridgovDispatch.map.setView([lat, lon], 14,"
                  " {animate: false})", [town.y, town.x])
    page.wait_for_function(
        "() => document.querySelectorAll('#dispatch-map canvas.leaflet-tile').length"
        " >= 4")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(800)  # protomaps-leaflet paints after its labels' layout
    drawn = page.evaluate(_DRAWN)
    page.screenshot(path=str(artifacts / "basemap_offline_dispatch.png"))
    assert drawn["tiles"] >= 4
    assert drawn["road"] > 50 and drawn["water"] > 50, drawn  # roads and the river
    tiles = [u for u in seen["requests"] if "/basemap/" in u]
    assert tiles
    assert all(u.startswith(offline_server) for u in seen["requests"]), [
        u for u in seen["requests"] if not u.startswith(offline_server)]
    assert not seen["errors"], seen["errors"]


def test_the_offline_basemap_at_a_phones_width(browser, offline_server,
                                               dispatcher_password, artifacts):
    context = browser.new_context(viewport={"width": 375, "height": 812},
                                  is_mobile=True, has_touch=True, locale="zh-CN")
    page = context.new_page()
    try:
        seen = _open_dispatch(page, offline_server, dispatcher_password)
        page.wait_for_function(
            "() => document.querySelectorAll('#dispatch-map canvas.leaflet-tile')"
            ".length >= 1")
        sizes = page.evaluate(
            "() => ({scroll: document.documentElement.scrollWidth,"
            " inner: window.innerWidth,"
            " map: document.getElementById('dispatch-map').getBoundingClientRect()"
            ".width})")
        page.screenshot(path=str(artifacts / "basemap_offline_phone.png"))
    finally:
        context.close()
    assert sizes["scroll"] <= sizes["inner"] == 375, sizes
    assert sizes["map"] >= 374, sizes  # the map stays full width
    assert all(u.startswith(offline_server) for u in seen["requests"])
