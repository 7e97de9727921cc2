"""The leaders' overview on a GCJ-02 basemap (issue 17, "Done means": the overview
with a GCJ-02 basemap puts every grid boundary on the streets it follows), in
Chromium.

The basemap is 高德's preset (GCJ-02 on the standard XYZ grid); its tiles cannot
be fetched from here, so each is answered with a blank PNG by the test
(tests/browser/test_basemap.py's helpers) -- what matters is where the provider's
grid puts things, read from the page's own tile <img> elements: a stored WGS-84
vertex of a village's boundary, moved into GCJ-02 by the published formulas
(geo/crs.py, checked against published vectors in tests/unit/test_crs.py), lies
at a known pixel of a known tile (slippy-map formulas); the choropleth's drawn
outline must have a vertex on that pixel, some 500 m (≈ 500 px at zoom 17) from
where the unshifted vertex would be. A click there sends the locate request in
WGS-84: the stored vertex again, not its GCJ-02 twin.
"""

import math
from urllib.parse import parse_qs, urlsplit

import pytest

from geo.crs import wgs84_to_gcj02
from tests.browser.conftest import open_page, serve
from tests.browser.test_basemap import _answer_outside, _app, _metres, _xyz_pixel

pytestmark = [pytest.mark.browser, pytest.mark.db]

Z = 17

# The village's outline as drawn (the choropleth's SVG path: its vertices on
# screen through the path's own transform), and the screen box of the tile the
# provider's grid names.
_DRAWN = """
([code, tx, ty, z]) => {
  const map = window.ggLeaflet.map;
  let path = null;
  window.ggLeaflet.layers.choropleth.eachLayer(group => group.eachLayer &&
    group.eachLayer(f => { if (f.feature.properties.code === code) {
      path = f.getElement(); } }));
  const svg = path.ownerSVGElement, m = path.getScreenCTM();
  const nums = path.getAttribute('d').match(/-?\\d+(\\.\\d+)?/g).map(Number);
  const points = [];
  for (let i = 0; i + 1 < nums.length; i += 2) {
    const p = svg.createSVGPoint();
    p.x = nums[i]; p.y = nums[i + 1];
    const s = p.matrixTransform(m);
    points.push([s.x, s.y]);
  }
  const tile = [...document.querySelectorAll('#overview-map img.leaflet-tile')]
    .find(t => t.src.includes(`x=${tx}&y=${ty}&z=${z}`));
  const r = tile.getBoundingClientRect();
  return {points: points, tile: [r.left, r.top], crs: map.options.crs.code};
}
"""


def _corner(geometry):
    """The westernmost vertex of a (multi)polygon's outer rings (a corner Leaflet's
    simplification keeps)."""
    polygons = getattr(geometry, "geoms", [geometry])
    return min((xy for p in polygons for xy in p.exterior.coords), key=lambda c: c[0])


def test_grid_boundaries_sit_on_the_gcj02_basemap_and_clicks_come_back_in_wgs84(
        page, demo_url, passwords, artifacts):
    import psycopg
    import shapely

    with psycopg.connect(demo_url) as c:  # the boundary as stored
        code, geojson = c.execute(
            "SELECT code, ST_AsGeoJSON(geom) FROM grids WHERE level = 2"
            " ORDER BY code LIMIT 1").fetchone()
    lon, lat = _corner(shapely.from_geojson(geojson))
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    px, py = _xyz_pixel(glon, glat, Z)       # where the provider draws the spot
    wx, wy = _xyz_pixel(lon, lat, Z)         # where it would be unshifted
    tx, ty = int(px // 256), int(py // 256)
    with serve(_app(demo_url, BASEMAP="amap")) as base:
        outside = _answer_outside(page, base)
        seen = open_page(page, base, "/?month=2026-10", "leader", passwords["leader"],
                         "#gg-panel[data-state=ready]")
        page.evaluate("([lat, lon, z]) => { window.ggLeaflet.map.setView([lat, lon],"
                      " z, {animate: false}); }", [lat, lon, Z])
        page.wait_for_function(
            "([tx, ty, z]) => [...document.querySelectorAll("
            "'#overview-map img.leaflet-tile')].some(t => t.complete &&"
            " t.src.includes(`x=${tx}&y=${ty}&z=${z}`))", arg=[tx, ty, Z])
        page.wait_for_timeout(300)
        drawn = page.evaluate(_DRAWN, [code, tx, ty, Z])
        x0, y0 = drawn["tile"]
        want = (x0 + px - tx * 256, y0 + py - ty * 256)
        unshifted = (x0 + wx - tx * 256, y0 + wy - ty * 256)
        near = min(drawn["points"], key=lambda p: math.dist(p, want))
        page.screenshot(path=str(artifacts / "overview-gcj02.png"))
        # a click on that pixel: the locate request the page sends
        with page.expect_request("**/api/v1/locate?*") as asked:
            page.mouse.click(*want)
        sent = parse_qs(urlsplit(asked.value.url).query)
    assert drawn["crs"] == "GRIDGOV:GCJ02"
    # the drawn vertex is on the GCJ-02 pixel of the stored vertex (within a
    # pixel, ~1 m) ...
    assert math.dist(near, want) <= 1.5, (near, want)
    # ... some 500 m from the unshifted one, where nothing of the outline is
    assert math.dist(want, unshifted) > 300
    assert min(math.dist(p, unshifted) for p in drawn["points"]) > 1.5
    # what goes back to the server is WGS-84: the stored vertex, not its twin
    back = (float(sent["lon"][0]), float(sent["lat"][0]))
    assert _metres(back, (lon, lat)) < 1.5, back
    assert _metres(back, (glon, glat)) > 300
    # the tiles asked are the provider's; nothing else left gridgov
    assert outside and all(urlsplit(u).hostname.endswith(".is.autonavi.com")
                           for u in outside)
    assert not seen["errors"], seen["errors"]
