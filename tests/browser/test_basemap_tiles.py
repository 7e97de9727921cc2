"""The overview's vector-tile layers on Baidu's own grid, in a real Chromium
(gg.vectorTiles in static/gg.js; the basemaps themselves: test_basemap.py).

On a ``baidu`` basemap the map's CRS is Baidu's mercator (BD09MC) and its tiles
are counted from the equator: the XYZ tiles of /tiles cannot be laid on it, and
the tiled grid levels used not to be drawn at all. Each Baidu tile is now drawn
from the XYZ tiles that cover it, every vertex taken through the map's own
projection. Checked on the demo town served as a city (every layer over 50
features tiled, as in test_overview.py): the micro-grids' outlines are drawn on
the canvas pixels where the map puts their vertices (so on Baidu's streets, as
the page's other overlays), and not in the middle of a micro-grid. Baidu's tile
requests are answered with a blank tile here (it cannot be reached).
"""

import base64
from urllib.parse import urlsplit

import pytest
import shapely
from shapely.ops import polylabel

from tests.browser.conftest import open_page, serve

pytestmark = [pytest.mark.browser, pytest.mark.db]

_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAA"
    "AABJRU5ErkJggg==")
ZOOM = 16  # Baidu's: 4 m a pixel, a micro-grid (~300 m) some 75 px across

# The strongest alpha of the vector tiles' canvases within ``r`` pixels of each
# WGS-84 point (-1 where no tile canvas is under it).
_ALPHA = """
([points, r]) => {
  const map = window.ggLeaflet.map;
  const canvases = [...document.querySelectorAll(
    '.leaflet-overlay-pane canvas.leaflet-tile')];
  const box = map.getContainer().getBoundingClientRect();
  return points.map(([lat, lon]) => {
    const p = map.latLngToContainerPoint([lat, lon]);
    const x = box.left + p.x, y = box.top + p.y;
    let best = -1;
    for (const c of canvases) {
      const b = c.getBoundingClientRect();
      if (x < b.left || x >= b.right || y < b.top || y >= b.bottom) { continue; }
      const k = c.width / b.width;
      const cx = Math.round((x - b.left) * k), cy = Math.round((y - b.top) * k);
      const d = c.getContext('2d').getImageData(cx - r, cy - r, 2 * r + 1, 2 * r + 1);
      best = Math.max(best, 0);
      for (let i = 3; i < d.data.length; i += 4) { best = Math.max(best, d.data[i]); }
    }
    return best;
  });
}
"""


@pytest.fixture(scope="module")
def baidu_server(demo_url):
    from web import create_app

    app = create_app({"DATABASE_URL": demo_url, "TESTING": True,
                      "SECRET_KEY": "test-secret-key-not-for-production",
                      "LOCATE_INDEX_BACKGROUND": False, "BASEMAP": "baidu",
                      "MAP_EMBED_MAX": 50})
    with serve(app) as base:
        yield base


def test_the_tiled_micro_grids_are_drawn_on_baidus_grid(page, baidu_server,
                                                        passwords, demo_town,
                                                        artifacts):
    outside = []

    def handle(route):
        if route.request.url.startswith(baidu_server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.fulfill(status=200, content_type="image/png", body=_PNG)

    page.route("**/*", handle)
    seen = open_page(page, baidu_server, "/?month=2026-10", "leader",
                     passwords["leader"], "#gg-panel[data-state=ready]")
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[0]
    inner = polylabel(micro.geometry if micro.geometry.geom_type == "Polygon"
                      else max(micro.geometry.geoms, key=lambda g: g.area), 1e-6)
    page.evaluate(f"() => window.ggLeaflet.map.setView([{inner.y}, {inner.x}], "
                  f"{ZOOM}, {{animate: false}})")
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(500)
    page.screenshot(path=str(artifacts / "overview-baidu-tiles.png"))
    crs = page.evaluate("() => window.ggLeaflet.map.options.crs.code")
    assert crs == "GRIDGOV:BD09"
    # the grid tiles were asked, unshifted (web mercator's XYZ, one zoom below)
    asked = [urlsplit(u) for u in seen["requests"]
             if urlsplit(u).path.startswith("/tiles/grids/")]
    assert asked and all("shift" not in u.query for u in asked)
    assert {int(u.path.split("/")[3]) for u in asked} >= {ZOOM - 1}
    # the micro-grid's outline: drawn (opaque, not the 8 % fill) where the map
    # puts its vertices, within 3 px (12 m; Baidu's shift is ~40 m here)
    ring = (micro.geometry if micro.geometry.geom_type == "Polygon"
            else max(micro.geometry.geoms, key=lambda g: g.area)).exterior
    vertices = [ring.interpolate(f, normalized=True) for f in
                [i / 24 for i in range(24)]]
    alpha = page.evaluate(_ALPHA, [[[v.y, v.x] for v in vertices], 3])
    on_canvas = [a for a in alpha if a >= 0]
    assert len(on_canvas) >= 20, alpha
    stroked = sum(a > 120 for a in on_canvas)
    assert stroked >= 0.9 * len(on_canvas), alpha
    # its middle, 30 m or more from every edge, holds the fill alone
    assert shapely.distance(inner, ring) * 111_000 > 30
    (middle,) = page.evaluate(_ALPHA, [[[inner.y, inner.x]], 1])
    assert 0 <= middle < 60, middle
    assert outside and all(urlsplit(u).hostname.endswith(".bdimg.com")
                           for u in outside)
    assert not seen["errors"], seen["errors"]
