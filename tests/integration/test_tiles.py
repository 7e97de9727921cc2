"""Vector tiles: /tiles/<layer>/<z>/<x>/<y>.mvt, decoded with mapbox-vector-tile.

Tile numbers and web-mercator positions are computed here from the formulas of the
slippy-map convention (x = R·λ, y = R·ln tan(π/4 + φ/2), tiles counted from the
top-left), independently of PostGIS; expected counts come from the generated demo
town, not from the database.
"""

import math
from collections import Counter

import mapbox_vector_tile
import numpy as np
import psycopg
import pytest
import shapely
from shapely.geometry import shape

from layers import tiles
from layers.access import SYSTEM

pytestmark = pytest.mark.db

R = 6378137.0
HALF = math.pi * R  # half the width of the mercator square, in metres
VILLAGE = "320282105001"  # village1's jurisdiction
TOWN = "320282105"
PERSONAL = {"head_name", "phone", "id_number", "tags", "address", "name", "size"}


def _merc(lon, lat):
    lon, lat = np.asarray(lon, float), np.asarray(lat, float)
    return (np.radians(lon) * R,
            np.log(np.tan(math.pi / 4 + np.radians(lat) / 2)) * R)


def _tile_of(lon, lat, z):
    mx, my = _merc(lon, lat)
    size = 2 * HALF / 2**z
    return z, int((mx + HALF) // size), int((HALF - my) // size)


def _tile_range(bounds, z):
    """All tiles (z, x, y) covering ``bounds`` (min_lon, min_lat, max_lon, max_lat)."""
    _, x0, y0 = _tile_of(bounds[0], bounds[3], z)
    _, x1, y1 = _tile_of(bounds[2], bounds[1], z)
    return [(z, x, y) for x in range(x0, x1 + 1) for y in range(y0, y1 + 1)]


def _to_tile(lon, lat, z, x, y):
    """Positions in the tile's 4096 units, y down (MVT's own orientation)."""
    mx, my = _merc(lon, lat)
    size = 2 * HALF / 2**z
    return ((mx - (-HALF + x * size)) / size * 4096,
            ((HALF - y * size) - my) / size * 4096)


def _decode(body, layer):
    if not body:
        return []
    decoded = mapbox_vector_tile.decode(
        body, default_options={"y_coord_down": True})
    return decoded[layer]["features"] if layer in decoded else []


def _get(client, layer, z, x, y, query=""):
    r = client.get(f"/tiles/{layer}/{z}/{x}/{y}.mvt{query}")
    assert r.status_code in (200, 204), (r.status_code, r.get_data(as_text=True))
    return r


def _features(client, layer, z, x, y, query=""):
    return _decode(_get(client, layer, z, x, y, query).data, layer)


@pytest.fixture(scope="module")
def town_bounds(demo_town):
    grids = demo_town.grids
    return tuple(grids[grids.level == 1].total_bounds)


@pytest.fixture(scope="module")
def db_households(demo_url):
    """id → (lon, lat, grid_code) as stored."""
    with psycopg.connect(demo_url) as c:
        return {i: (x, y, g) for i, x, y, g in c.execute(
            "SELECT id, ST_X(geom), ST_Y(geom), grid_code FROM households")}


# grids ---------------------------------------------------------------------------

def test_a_micro_grid_is_in_the_tile_that_holds_it_with_its_ancestors(
        client, demo_town):
    grids = demo_town.grids
    micro = grids[grids.level == 4].iloc[17]
    p = micro.geometry.representative_point()
    z, x, y = _tile_of(p.x, p.y, 14)
    r = _get(client, "grids", z, x, y)
    assert r.status_code == 200
    assert r.mimetype == "application/vnd.mapbox-vector-tile"
    found = {f["properties"]["code"]: f for f in _decode(r.data, "grids")}
    # z14 draws all four levels: the micro-grid and its whole chain
    for code in (micro.code, micro.code[:15], micro.code[:12], micro.code[:9]):
        assert code in found
    props = found[micro.code]["properties"]
    assert props == {"code": micro.code, "name": micro["name"], "level": 4}
    # its drawn shape holds the point, in tile coordinates computed here
    px, py = _to_tile(p.x, p.y, z, x, y)
    assert shape(found[micro.code]["geometry"]).buffer(2).contains(
        shapely.Point(float(px), float(py)))


@pytest.mark.parametrize(("z", "levels"), [(11, {1, 2}), (12, {1, 2, 3}),
                                            (13, {1, 2, 3, 4})])
def test_grid_levels_appear_with_the_zoom(client, demo_town, z, levels):
    grids = demo_town.grids
    centre = grids[grids.level == 1].geometry.iloc[0].representative_point()
    seen = {f["properties"]["level"]
            for f in _features(client, "grids", *_tile_of(centre.x, centre.y, z))}
    assert seen == levels


# households ----------------------------------------------------------------------

def test_households_at_z12_are_counts_per_cell_and_nothing_personal(
        client, demo_town, town_bounds):
    lon = demo_town.households.geometry.x.to_numpy()
    lat = demo_town.households.geometry.y.to_numpy()
    total = 0
    for z, x, y in _tile_range(town_bounds, 12):
        feats = _features(client, "households", z, x, y)
        # the cells computed here: 32 × 32 per tile, 128 tile units each
        tx, ty = _to_tile(lon, lat, z, x, y)
        inside = (tx >= 0) & (tx < 4096) & (ty >= 0) & (ty < 4096)
        expected = Counter(zip((tx[inside] // 128).astype(int),
                               (ty[inside] // 128).astype(int), strict=True))
        got = {}
        for f in feats:
            assert set(f["properties"]) == {"count"}
            assert f["geometry"]["type"] == "Polygon"
            x0, y0, x1, y1 = shape(f["geometry"]).bounds
            assert (x1 - x0, y1 - y0) == (128, 128)
            got[int(x0) // 128, int(y0) // 128] = f["properties"]["count"]
        assert got == dict(expected)
        total += sum(got.values())
    assert total == len(demo_town.households) == 6815


def test_households_at_z15_are_positions_with_an_id_only(
        as_user, demo_town, db_households):
    ids = np.array(list(db_households))
    lon, lat = (np.array([db_households[i][k] for i in ids]) for k in (0, 1))
    # the z15 tile holding the most households
    keys = Counter(_tile_of(a, b, 15) for a, b in zip(lon, lat, strict=True))
    (z, x, y), n = keys.most_common(1)[0]
    r = _get(as_user("dispatcher"), "households", z, x, y)  # sees names unmasked
    feats = _decode(r.data, "households")
    assert all(set(f["properties"]) == {"id"} for f in feats)
    assert all(f["geometry"]["type"] == "Point" for f in feats)
    tx, ty = _to_tile(lon, lat, z, x, y)
    inside = set(ids[(tx >= 0) & (tx < 4096) & (ty >= 0) & (ty < 4096)].tolist())
    drawn = {f["properties"]["id"] for f in feats
             if 0 <= f["geometry"]["coordinates"][0] < 4096
             and 0 <= f["geometry"]["coordinates"][1] < 4096}
    assert len(inside) == n and drawn == inside
    # positions where the households are: each within a tile unit
    for f in feats[:50]:
        hx, hy = _to_tile(*db_households[f["properties"]["id"]][:2], z, x, y)
        cx, cy = f["geometry"]["coordinates"]
        assert abs(cx - hx) <= 1 and abs(cy - hy) <= 1
    # and not one name or phone of the demo's households in the bytes
    heads = demo_town.households.head_name.dropna().tolist()
    phones = demo_town.households.phone.dropna().tolist()
    for text in heads[:500] + phones[:500]:
        assert text.encode() not in r.data


def test_viewer_may_see_grids_but_not_households_or_incidents(as_user, demo_town):
    viewer = as_user("viewer")
    c = demo_town.grids.geometry.iloc[0].representative_point()
    z, x, y = _tile_of(c.x, c.y, 12)
    assert viewer.get(f"/tiles/grids/{z}/{x}/{y}.mvt").status_code == 200
    assert viewer.get(f"/tiles/cameras/{z}/{x}/{y}.mvt").status_code in (200, 204)
    assert viewer.get(f"/tiles/households/{z}/{x}/{y}.mvt").status_code == 403
    assert viewer.get(f"/tiles/incidents/{z}/{x}/{y}.mvt").status_code == 403
    # planners read households (masked), not incidents
    planner = as_user("planner")
    assert planner.get(f"/tiles/households/{z}/{x}/{y}.mvt").status_code == 200
    assert planner.get(f"/tiles/incidents/{z}/{x}/{y}.mvt").status_code == 403


# jurisdiction --------------------------------------------------------------------

def test_village1_gets_no_feature_of_another_village(
        client, as_user, demo_town, demo_url, town_bounds, db_households):
    with psycopg.connect(demo_url) as c:
        camera_grid = dict(c.execute("SELECT code, grid_code FROM cameras"))
        incident_grid = dict(c.execute("SELECT code, grid_code FROM incidents"))
    village = as_user("village1")
    seen, codes = Counter(), set()
    for z, x, y in _tile_range(town_bounds, 13):
        for layer in ("grids", "cameras", "households", "incidents"):
            # the administrator asks first, so that a shared cache would show
            _get(client, layer, z, x, y)
            for f in _features(village, layer, z, x, y):
                props = f["properties"]
                if layer == "grids":
                    assert (props["code"].startswith(VILLAGE)
                            or props["code"] == TOWN), props
                    codes.add(props["code"])
                elif layer == "cameras":
                    assert camera_grid[props["code"]].startswith(VILLAGE)
                elif layer == "incidents":
                    assert incident_grid[props["code"]].startswith(VILLAGE)
                seen[layer] += props.get("count", 1)
    hh = demo_town.households
    # z13 counts households per cell (z14+ draws them): all of the village's, once
    assert seen["households"] == int(hh.grid_code.str.startswith(VILLAGE).sum())
    # its own grids down to the micro-grids, and its town's outline
    villages = demo_town.grids[demo_town.grids.code.str.startswith(VILLAGE)]
    assert codes == set(villages.code) | {TOWN}
    assert seen["cameras"] > 0 and seen["incidents"] > 0


def test_tiles_outside_the_jurisdiction_are_empty(as_user, demo_town):
    grids = demo_town.grids
    other = grids[(grids.level == 4) & ~grids.code.str.startswith(VILLAGE)]
    # a micro-grid of another village, well inside it: no households of village1
    p = other.geometry.iloc[0].buffer(-1e-4).representative_point()
    z, x, y = _tile_of(p.x, p.y, 18)
    r = _get(as_user("village1"), "households", z, x, y)
    assert r.status_code == 204 and r.data == b""


# incidents -----------------------------------------------------------------------

def test_incident_tiles_show_the_open_incidents_or_a_window(
        as_user, demo_town, town_bounds):
    inc = demo_town.incidents
    dispatcher = as_user("dispatcher")
    open_codes, window_codes = set(), set()
    for z, x, y in _tile_range(town_bounds, 13):
        for f in _features(dispatcher, "incidents", z, x, y):
            if 0 <= min(f["geometry"]["coordinates"]) and max(
                    f["geometry"]["coordinates"]) < 4096:
                open_codes.add(f["properties"]["code"])
                assert f["properties"]["status"] in ("registered", "dispatched",
                                                     "handling")
        for f in _features(dispatcher, "incidents", z, x, y,
                           "?from=2026-03-01&to=2026-03-31"):
            window_codes.add(f["properties"]["code"])
    assert open_codes == set(inc.code[inc.closed_at.isna()])
    # created in March 2026, China time (UTC+8)
    created = inc.created_at.dt.tz_convert("Asia/Shanghai")
    march = inc.code[(created >= "2026-03-01") & (created < "2026-04-01")]
    assert window_codes == set(march) and len(march) > 10


def test_bad_incident_window_is_400(as_user):
    c = as_user("dispatcher")
    for query in ("?from=2026-03-01", "?from=2026-03-05&to=2026-03-01",
                  "?from=2026-13-01&to=2026-12-01",
                  "?from=2024-01-01&to=2026-01-01"):
        assert c.get(f"/tiles/incidents/12/3410/1673.mvt{query}").status_code == 400


# requests ------------------------------------------------------------------------

@pytest.mark.parametrize("path", [
    "/tiles/grids/23/0/0.mvt",        # beyond the deepest zoom
    "/tiles/grids/-1/0/0.mvt",
    "/tiles/grids/3/8/0.mvt",         # x runs 0…7 at z3
    "/tiles/grids/3/0/8.mvt",
    "/tiles/grids/14/13641/-1.mvt",
])
def test_bad_tile_numbers_are_400(client, path):
    assert client.get(path).status_code == 400


def test_unknown_layer_is_404_and_anonymous_gets_nothing(client, anonymous):
    assert client.get("/tiles/roads/12/3410/1673.mvt").status_code == 404
    # a tile client (QGIS, a map layer) is asked for HTTP Basic as on /ogc, in
    # JSON: not sent to the login page it cannot use
    for path in ("/tiles/grids/12/3410/1673.mvt", "/tiles/grids.json"):
        r = anonymous.get(path)
        assert r.status_code == 401, (path, r.status_code)
        assert r.headers["WWW-Authenticate"] == 'Basic realm="gridgov"'
        assert r.get_json()["error"]["code"] == "unauthorized"
    # a page still sends the browser to the login page
    r = anonymous.get("/plan")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert "WWW-Authenticate" not in r.headers


def test_empty_tile_is_204_and_headers_are_private(client, demo_town):
    r = client.get("/tiles/grids/14/0/0.mvt")  # the Pacific off Alaska
    assert r.status_code == 204 and r.data == b""
    c = demo_town.grids.geometry.iloc[0].representative_point()
    r = _get(client, "grids", *_tile_of(c.x, c.y, 12))
    assert "private" in r.headers["Cache-Control"]
    assert "Authorization" in r.headers["Vary"]
    assert r.headers["ETag"]


# cache ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def writable(databases, demo_town):
    from tests.conftest import writable_demo

    return writable_demo(databases, demo_town)


def test_an_edited_grid_shows_in_its_tile_at_once(writable, demo_town):
    grids = demo_town.grids
    micro = grids[grids.level == 4].iloc[5]
    p = micro.geometry.representative_point()
    z, x, y = _tile_of(p.x, p.y, 14)
    path = f"/tiles/grids/{z}/{x}/{y}.mvt"
    admin = writable.client("admin")
    cache = writable.app.extensions["gridgov.tiles"]
    first = admin.get(path)
    hits = cache.hits
    again = admin.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and cache.hits == hits + 1  # served from cache

    def names():
        return {f["properties"]["code"]: f["properties"]["name"]
                for f in _decode(admin.get(path).data, "grids")}

    assert names()[micro.code] == micro["name"]
    with psycopg.connect(writable.url) as c:
        c.execute("UPDATE grids SET name = %s WHERE code = %s",
                  ("新桥微网格", micro.code))
    assert names()[micro.code] == "新桥微网格"
    changed = admin.get(path, headers={"If-None-Match": first.headers["ETag"]})
    assert changed.status_code == 200
    # a new household shows in the z16 tile where it is put
    z, x, y = _tile_of(p.x, p.y, 16)
    before = {f["properties"]["id"] for f in _decode(
        admin.get(f"/tiles/households/{z}/{x}/{y}.mvt").data, "households")}
    with psycopg.connect(writable.url) as c:
        (new_id,) = c.execute(
            "INSERT INTO households (address, geom, grid_code, county) VALUES"
            " ('新桥村 1 号', ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s)"
            " RETURNING id", (p.x, p.y, micro.code, micro.code[:6])).fetchone()
    after = {f["properties"]["id"] for f in _decode(
        admin.get(f"/tiles/households/{z}/{x}/{y}.mvt").data, "households")}
    assert after == before | {new_id}


def test_a_writer_skips_a_slot_held_by_another_and_bumps_show_at_commit(writable):
    def gen(c):
        return tiles.generation(c, "households")

    with psycopg.connect(writable.url, autocommit=True) as reader, \
            psycopg.connect(writable.url) as other, \
            psycopg.connect(writable.url) as writer:
        (hid,) = reader.execute("SELECT min(id) FROM households").fetchone()
        start = gen(reader)
        # another transaction holds slot 0, as a long import would
        other.execute("SELECT 1 FROM tile_generations"
                      " WHERE layer = 'households' AND slot = 0 FOR UPDATE")
        writer.execute("SET lock_timeout = '2s'")  # waiting would fail the test
        writer.execute("UPDATE households SET size = 4 WHERE id = %s", (hid,))
        assert gen(reader) == start  # not committed yet
        writer.commit()
        committed = gen(reader)
        assert committed > start
        other.rollback()
        with writer.transaction(force_rollback=True):
            writer.execute("UPDATE households SET size = 5 WHERE id = %s", (hid,))
        assert gen(reader) == committed  # a rolled-back write bumps nothing


def test_cache_keeps_to_its_byte_budget_and_drops_old_generations():
    cache = tiles.TileCache(max_bytes=3 * (1000 + tiles.TileCache.ENTRY_OVERHEAD))
    tile = tiles.Tile(b"x" * 1000, "e")
    for i in range(5):
        cache.put(("grids", 14, i, 0, "%", None, None, 7), tile)
    assert len(cache) == 3 and cache.bytes <= cache.max_bytes
    assert cache.get(("grids", 14, 0, 0, "%", None, None, 7)) is None  # evicted
    assert cache.get(("grids", 14, 4, 0, "%", None, None, 7)) is tile
    cache.put(("cameras", 14, 0, 0, "%", None, None, 3), tile)
    cache.put(("grids", 14, 9, 9, "%", None, None, 8), tile)  # grids changed
    assert {k[0] for k in cache._entries} == {"cameras", "grids"}
    assert [k[-1] for k in cache._entries if k[0] == "grids"] == [8]
    cache.put(("grids", 14, 1, 1, "%", None, None, 7), tile)  # late, stale: refused
    assert cache.get(("grids", 14, 1, 1, "%", None, None, 7)) is None


# size ----------------------------------------------------------------------------

def test_no_tile_of_the_demo_is_over_500_kb(demo_url, town_bounds):
    largest = {}
    with psycopg.connect(demo_url, autocommit=True) as conn:
        for z in range(12, 17):
            for z_, x, y in _tile_range(town_bounds, z):
                for layer in tiles.LAYERS:
                    body, _ = tiles.render(conn, SYSTEM, layer, z_, x, y)
                    largest[layer, z] = max(largest.get((layer, z), 0), len(body))
    assert max(largest.values()) < 500_000, largest
    assert largest["households", 14] > 0 and largest["grids", 16] > 0
