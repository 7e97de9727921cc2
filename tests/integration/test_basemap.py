"""Basemaps (web/basemap.py): the presets' start-up checks and CSP, the page's
``cfg.basemap``, the demo's offline basemap (written, served, decoded) and the
vector tiles shifted onto a GCJ-02 / BD-09 basemap (/tiles?shift=).

Expected positions are computed here from geo.crs (checked against published
pairs in tests/unit/test_crs.py) and the slippy-map formulas of test_tiles.py,
never read back from PostGIS.
"""

import gzip
import time

import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
from pmtiles.reader import MmapSource, Reader
from pmtiles.tile import TileType

from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from tests.integration.test_tiles import _tile_of, _to_tile

pytestmark = pytest.mark.db

CENTRE = (119.75, 31.25)  # the demo town (geo/demo/hierarchy.py)
_BASE = {"DATABASE_URL": "postgresql:///unused", "SECRET_KEY": "x" * 32}


def _app(**config):
    from web import create_app

    return create_app(_BASE | config)


def _img_src(app):
    csp = app.test_client().get("/login").headers["Content-Security-Policy"]
    return next(p.strip() for p in csp.split(";") if p.strip().startswith("img-src"))


# -- presets -------------------------------------------------------------------------

@pytest.mark.parametrize(("config", "hosts"), [
    ({}, []),
    ({"BASEMAP": "none"}, []),
    ({"BASEMAP": "amap"}, [f"https://webrd0{s}.is.autonavi.com" for s in "1234"]),
    ({"BASEMAP": "tencent"}, [f"https://rt{s}.map.gtimg.com" for s in "0123"]),
    ({"BASEMAP": "baidu"}, [f"https://maponline{s}.bdimg.com" for s in "0123"]),
    ({"BASEMAP": "tianditu", "BASEMAP_KEY": "k"},
     [f"https://t{s}.tianditu.gov.cn" for s in range(8)]),
    # the setting before the presets: a URL alone is a custom WGS-84 basemap
    ({"BASEMAP_URL": "https://{s}.tiles.gov.example/{z}/{x}/{y}.png"},
     [f"https://{s}.tiles.gov.example" for s in "abc"]),
    ({"BASEMAP": "custom", "BASEMAP_URL": "/osm/{z}/{x}/{y}.png"}, []),
])
def test_the_csp_admits_the_basemap_hosts_and_no_other(config, hosts):
    assert _img_src(_app(**config)) == " ".join(["img-src 'self' data:", *hosts])


def test_the_csp_of_an_offline_basemap_is_gridgov_alone(demo_basemap):
    path, *_ = demo_basemap
    assert _img_src(_app(BASEMAP="offline", BASEMAP_FILE=str(path))) == \
        "img-src 'self' data:"


@pytest.mark.parametrize(("config", "says"), [
    ({"BASEMAP": "tianditu"}, "GRIDGOV_BASEMAP_KEY"),
    ({"BASEMAP": "google"}, "unknown basemap 'google'"),
    ({"BASEMAP": "custom"}, "GRIDGOV_BASEMAP_URL"),
    ({"BASEMAP": "custom", "BASEMAP_URL": "javascript:alert(1)//{z}"},
     "GRIDGOV_BASEMAP_URL"),
    ({"BASEMAP": "custom", "BASEMAP_URL": "https://x.example/{z}/{x}/{y}",
      "BASEMAP_CRS": "utm50"}, "GRIDGOV_BASEMAP_CRS"),
    ({"BASEMAP": "offline", "BASEMAP_FILE": "/nonexistent/basemap.pmtiles"},
     "GRIDGOV_BASEMAP_FILE"),
])
def test_a_wrong_setting_stops_the_start_saying_what_to_set(config, says):
    with pytest.raises(RuntimeError) as raised:
        _app(**config)
    assert says in str(raised.value)
    assert "底图" in str(raised.value)  # Chinese first


def test_a_file_that_is_no_archive_stops_the_start(tmp_path):
    bad = tmp_path / "basemap.pmtiles"
    bad.write_bytes(b"not a pmtiles archive" * 10)
    with pytest.raises(RuntimeError, match="GRIDGOV_BASEMAP_FILE"):
        _app(BASEMAP="offline", BASEMAP_FILE=str(bad))


def test_the_key_goes_into_the_tianditu_urls(demo_url, tokens):
    app = _app(BASEMAP="tianditu", BASEMAP_KEY="abc123", DATABASE_URL=demo_url)
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['admin']}"
    base = _page_config(c, "/dispatch", "dispatch-config")["basemap"]
    assert base["crs"] == "wgs84" and base["maxZoom"] == 18
    assert base["url"].endswith("T=vec_w&x={x}&y={y}&l={z}&tk=abc123")
    assert "T=cva_w" in base["labels"] and "{key}" not in base["labels"]


def _page_config(client, path, element):
    import json
    import re

    html = client.get(path).get_data(as_text=True)
    found = re.search(rf'id="{element}">(.*?)</script>', html, re.S)
    return json.loads(found.group(1))


@pytest.mark.parametrize("page", [("/dispatch", "dispatch-config"),
                                  ("/tracks", "tracks-config"),
                                  ("/import", "import-config"),
                                  ("/plan", "plan-config")])
def test_every_map_page_gets_the_one_basemap_object(demo_url, tokens, page):
    app = _app(BASEMAP="baidu", DATABASE_URL=demo_url)
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['admin']}"
    base = _page_config(c, *page)["basemap"]
    assert base["name"] == "baidu" and base["crs"] == "bd09"
    assert base["url"].startswith("https://maponline{s}.bdimg.com/")
    html = c.get(page[0]).get_data(as_text=True)
    assert "/vendor/gcoord/gcoord.global.prod.js" in html  # the shifted CRSs


# -- the demo's offline basemap ----------------------------------------------------

@pytest.fixture(scope="module")
def demo_basemap(demo_url, tmp_path_factory):
    """The demo town's basemap as `gridgov demo` writes it; (path, tiles, bytes,
    seconds)."""
    from web.basemap import write_demo

    path = tmp_path_factory.mktemp("basemap") / "basemap.pmtiles"
    started = time.perf_counter()
    with psycopg.connect(demo_url) as conn:
        count, size = write_demo(conn, path)
    return path, count, size, time.perf_counter() - started


def test_the_demo_basemap_is_small_and_quick(demo_basemap):
    _, count, size, seconds = demo_basemap
    # measured on the 2-core machine beside 7 other jobs: ~1,400 tiles, ~0.5 MB,
    # ~15 s (10 s of them rebuilding the town's skeleton)
    print(f"demo basemap: {count} tiles, {size / 1e6:.2f} MB, {seconds:.1f} s")
    assert 300 < count < 5000
    assert size < 5_000_000
    assert seconds < 90


def test_the_demo_basemap_holds_the_towns_roads_water_and_names(demo_basemap,
                                                                 demo_town):
    path = demo_basemap[0]
    with open(path, "rb") as f:
        reader = Reader(MmapSource(f))
        header = reader.header()
        assert header["tile_type"] == TileType.MVT
        assert (header["min_zoom"], header["max_zoom"]) == (10, 17)
        z, x, y = _tile_of(*CENTRE, 12)
        tile = mapbox_vector_tile.decode(gzip.decompress(reader.get(z, x, y)))
        meta = reader.metadata()
    assert {layer["id"] for layer in meta["vector_layers"]} == {
        "roads", "water", "places"}
    assert set(tile) == {"roads", "water", "places"}
    kinds = {f["properties"]["kind"] for f in tile["roads"]["features"]}
    assert "major" in kinds
    assert all(f["properties"]["name"] for f in tile["roads"]["features"])
    geoms = {f["geometry"]["type"] for f in tile["water"]["features"]}
    assert geoms & {"Polygon", "MultiPolygon"} and geoms & {
        "LineString", "MultiLineString"}
    places = {f["properties"]["name"]: f["properties"]["kind"]
              for f in tile["places"]["features"]}
    # the same names as the grids of the town and its villages
    grids = demo_town.grids
    assert places["云溪镇"] == "town"
    villages = set(grids[grids.level == 2].name)
    assert {n for n, k in places.items() if k == "village"} <= villages
    assert len([k for k in places.values() if k == "village"]) >= 4


@pytest.fixture(scope="module")
def offline(demo_basemap, demo_url, tokens):
    app = _app(BASEMAP="offline", BASEMAP_FILE=str(demo_basemap[0]),
               DATABASE_URL=demo_url)
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens['viewer']}"
    return app, c


def test_gridgov_serves_the_offline_tiles(offline):
    _, c = offline
    z, x, y = _tile_of(*CENTRE, 15)
    r = c.get(f"/basemap/{z}/{x}/{y}")
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    assert r.headers["Content-Encoding"] == "gzip"
    assert set(mapbox_vector_tile.decode(gzip.decompress(r.data))) & {"roads", "water"}
    # outside the town, and below the archive's zooms: nothing
    assert c.get(f"/basemap/15/{x + 200}/{y}").status_code == 204
    assert c.get("/basemap/3/6/3").status_code == 204
    bad = c.get("/basemap/15/-1/3")
    assert bad.status_code == 400
    assert "x must be between 0 and" in bad.get_data(as_text=True)


def test_the_offline_tiles_need_a_login(offline):
    app, _ = offline
    z, x, y = _tile_of(*CENTRE, 15)
    r = app.test_client().get(f"/basemap/{z}/{x}/{y}")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_the_pages_get_the_offline_vector_basemap(offline):
    app, c = offline
    base = _page_config(c, "/m/", "m-config")["basemap"]
    assert base["url"] == "/basemap/{z}/{x}/{y}"
    assert base["kind"] == "vector" and base["crs"] == "wgs84"
    assert (base["minZoom"], base["maxZoom"]) == (10, 17)
    html = c.get("/m/").get_data(as_text=True)
    assert "/vendor/protomaps-leaflet/protomaps-leaflet.js" in html
    script = c.get("/vendor/protomaps-leaflet/protomaps-leaflet.js")
    script.close()
    assert script.status_code == 200


# -- vector tiles shifted onto the basemap ------------------------------------------

# A unit of a z16 tile is 13 cm here; the plane fitted per tile is off by 1 cm
# (GCJ-02) and 23 cm (BD-09, whose shortest wave is 11 km) at z16 (layers/tiles.py)
@pytest.mark.parametrize(("shift", "forward", "units"), [
    ("gcj02", wgs84_to_gcj02, 1.0), ("bd09", wgs84_to_bd09, 2.5)])
def test_shifted_camera_tiles_match_the_python_maths(client, demo_town, shift,
                                                     forward, units):
    cams = demo_town.cameras
    lon, lat = cams.geometry.x.to_numpy(), cams.geometry.y.to_numpy()
    slon, slat = (np.asarray(v) for v in forward(lon, lat))
    # the tile holding the shifted position of the town's first camera, z16
    z, x, y = _tile_of(slon[0], slat[0], 16)
    r = client.get(f"/tiles/cameras/{z}/{x}/{y}.mvt?shift={shift}")
    assert r.status_code == 200
    feats = mapbox_vector_tile.decode(r.data, default_options={"y_coord_down": True})
    got = {f["properties"]["code"]: f["geometry"]["coordinates"]
           for f in feats["cameras"]["features"]}
    assert cams.code.iloc[0] in got
    ex, ey = _to_tile(slon, slat, z, x, y)
    index = {code: i for i, code in enumerate(cams.code)}
    errors = [np.hypot(gx - ex[index[c]], gy - ey[index[c]])
              for c, (gx, gy) in got.items()]
    assert max(errors) <= units, max(errors)
    # and not where the unshifted camera would be (~500–900 m away)
    ux, uy = _to_tile(lon[0], lat[0], z, x, y)
    gx, gy = got[cams.code.iloc[0]]
    assert np.hypot(gx - ux, gy - uy) > 1000


def test_shifted_grid_tiles_follow_the_shift(client, demo_town):
    grids = demo_town.grids
    micro = grids[grids.level == 4].iloc[0]
    c = micro.geometry.representative_point()
    slon, slat = (float(v) for v in wgs84_to_gcj02(c.x, c.y))
    z, x, y = _tile_of(slon, slat, 15)
    r = client.get(f"/tiles/grids/{z}/{x}/{y}.mvt?shift=gcj02")
    feats = mapbox_vector_tile.decode(r.data, default_options={"y_coord_down": True})
    ring = next(f["geometry"]["coordinates"] for f in feats["grids"]["features"]
                if f["properties"]["code"] == micro.code)
    ring = np.asarray(ring[0] if np.ndim(ring[0]) == 2 else ring[0][0], float)
    # every vertex of the tile's ring lies on the shifted outline (half-pixel
    # simplification keeps original vertices; those clipped at the tile's
    # buffer are new, and left out)
    coords = np.asarray(micro.geometry.geoms[0].exterior.coords)
    sx, sy = _to_tile(*wgs84_to_gcj02(coords[:, 0], coords[:, 1]), z, x, y)
    inside = (ring > -60).all(axis=1) & (ring < 4156).all(axis=1)
    d = np.hypot(ring[inside, None, 0] - sx, ring[inside, None, 1] - sy).min(axis=1)
    assert len(d) >= 3 and d.max() <= 1.5, d.max()


@pytest.mark.parametrize("value", ["utm", "GCJ02 ", "wgs84"])
def test_an_unknown_shift_is_a_400_naming_it(client, value):
    r = client.get(f"/tiles/grids/14/13638/6642.mvt?shift={value}")
    assert r.status_code == 400
    assert "shift must be gcj02 or bd09" in r.get_data(as_text=True)


# -- the demo's configuration ------------------------------------------------------

def test_gridgov_demo_writes_its_basemap_and_serving_uses_it(databases, tmp_path,
                                                            monkeypatch):
    from click.testing import CliRunner

    from web import cli

    url = databases.new()
    env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)}
    result = CliRunner().invoke(cli.main, ["demo", "--as-of", "2026-11-01"], env=env,
                                catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "basemap:" in result.output
    path = tmp_path / "basemap.pmtiles"
    with open(path, "rb") as f:
        assert Reader(MmapSource(f)).header()["tile_type"] == TileType.MVT
    # `gridgov up` / `serve` on the demo: the pages draw it, unless told otherwise
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("GRIDGOV_BASEMAP", raising=False)
    monkeypatch.delenv("GRIDGOV_BASEMAP_URL", raising=False)
    cli._demo_uses_its_basemap(url)
    import os

    assert os.environ["GRIDGOV_BASEMAP"] == "offline"
    assert os.environ["GRIDGOV_BASEMAP_FILE"] == str(path)
    monkeypatch.setenv("GRIDGOV_BASEMAP", "none")
    cli._demo_uses_its_basemap(url)
    assert os.environ["GRIDGOV_BASEMAP"] == "none"
