"""网格公示牌 (issue 17): a grid's printed notice, a village's notices in one PDF,
the two fields they show (服务时间, 公示电话) and who may print and edit them.

Known answers from the generated demo town (seed 1): village 001's first
comprehensive grid 001001 and its micro-grid 001001002; the people of a
micro-grid are the village's 网格长, the comprehensive grid's 专职网格员 and the
micro-grid's liaison and three volunteers (geo/demo/people.py). Each test reads
its names and numbers from the database, then sets the fields through the API.
"""

import gzip
import io
import re
import time

import mapbox_vector_tile
import numpy as np
import psycopg
import pypdf
import pytest
import shapely
from PIL import Image
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from layers import notice_basemap, notice_print
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

TOWN = "320282105"
VILLAGE = f"{TOWN}001"
NEIGHBOUR = f"{TOWN}002"
LEVEL3 = f"{VILLAGE}001"
MICRO = f"{LEVEL3}002"
FOREIGN4 = f"{NEIGHBOUR}001001"
# A4 portrait at 150 dpi: 210 × 297 mm → 1240.2 × 1753.9 px, truncated
PNG_SIZE = (int(210 / 25.4 * 150), int(297 / 25.4 * 150))
assert PNG_SIZE == (1240, 1753)

ACCOUNTS = {"vplanner": ("planner", VILLAGE), "vleader": ("leader", VILLAGE)}
HOURS = "周一至周五 8:30-17:30；周末值班电话 0510-87654321"
OTHER_PHONE = "0510-88886666"


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    from layers import users
    from layers.access import SYSTEM

    def setup(conn):
        for name, (role, root) in ACCOUNTS.items():
            users.add_user(conn, SYSTEM, name, role, grid_code=root)

    return writable_demo(databases, demo_town, setup)


def _db(rw, query, *params):
    with psycopg.connect(rw.url) as c:
        return c.execute(query, params).fetchall()


def _people(rw, code):
    """role -> [(id, name, phone)] of the people on grid ``code``."""
    out = {}
    for sid, name, role, phone in _db(
            rw, "SELECT id, name, role, phone FROM grid_staff WHERE grid_code = %s"
                " AND active ORDER BY id", code):
        out.setdefault(role, []).append((sid, name, phone))
    return out


def _version(rw, code):
    return _db(rw, "SELECT version FROM grids WHERE code = %s", code)[0][0]


def _text(body):
    reader = pypdf.PdfReader(io.BytesIO(body))
    return reader, "\n".join(p.extract_text() for p in reader.pages)


def _get(client, url, status=200):
    r = client.get(url)
    assert r.status_code == status, r.get_data(as_text=True)[:500]
    return r


@pytest.fixture(scope="module")
def set_up(rw):
    """The micro-grid's service hours and 公示电话 set by the village's planner:
    the liaison shows another number, the first volunteer none."""
    planner = rw.client("vplanner")
    r = planner.patch(f"/api/v1/grids/{MICRO}", json={
        "service_hours": HOURS, "version": _version(rw, MICRO)})
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.get_json()["service_hours"] == HOURS
    people = _people(rw, MICRO)
    liaison, volunteer = people["liaison"][0], people["volunteer"][0]
    r = planner.patch(f"/api/v1/staff/{liaison[0]}", json={
        "notice_phone_choice": "other", "notice_phone": OTHER_PHONE})
    assert r.status_code == 200, r.get_data(as_text=True)
    r = planner.patch(f"/api/v1/staff/{volunteer[0]}",
                      json={"notice_phone_choice": "none"})
    assert r.status_code == 200, r.get_data(as_text=True)
    return {"liaison": liaison, "volunteer": volunteer,
            "worker": _people(rw, LEVEL3)["full_time"][0],
            "chief": _people(rw, VILLAGE)["grid_chief"][0]}


def test_the_notice_pdf_says_who_and_when(rw, set_up, artifacts):
    r = _get(rw.client("vleader"), f"/api/v1/grids/{MICRO}/notice?format=pdf")
    assert r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == \
        f"attachment; filename=notice-{MICRO}.pdf"
    (artifacts / "notice.pdf").write_bytes(r.get_data())
    reader, text = _text(r.get_data())
    assert len(reader.pages) == 1
    width, height = (float(v) for v in reader.pages[0].mediabox[2:])
    assert (round(width), round(height)) == (595, 842)  # A4 portrait in points
    name = _db(rw, "SELECT name FROM grids WHERE code = %s", MICRO)[0][0]
    chain = [n for (n,) in _db(rw, "SELECT name FROM grids WHERE code = ANY(%s)"
                                   " ORDER BY level", [TOWN, VILLAGE, LEVEL3])]
    assert "网格公示牌" in text
    assert name in text and MICRO in text
    assert " › ".join(chain) in text
    households = _db(rw, "SELECT count(*) FROM households WHERE grid_code = %s",
                     MICRO)[0][0]
    assert 50 <= households <= 100
    assert f"户数 Households: {households}" in text
    # wrapped in its box: compared without the line breaks and spaces
    assert HOURS.replace(" ", "") in text.replace("\n", "").replace(" ", "")
    # the worker and the chief with their work phones; the liaison with the
    # other number and not the work phone; the volunteer with no number
    for who in ("worker", "chief"):
        _, person, phone = set_up[who]
        assert person in text and phone in text
    _, liaison, liaison_work = set_up["liaison"]
    assert liaison in text and OTHER_PHONE in text
    assert liaison_work not in text
    _, volunteer, volunteer_work = set_up["volunteer"]
    assert volunteer in text and volunteer_work not in text
    assert "北京时间" in text and "打印日期" in text
    assert f"{chain[0]}综治中心" in text


def test_the_notice_json_gives_the_choices(rw, set_up):
    found = _get(rw.client("vplanner"),
                 f"/api/v1/grids/{MICRO}/notice?format=json").get_json()
    assert found["service_hours"] == HOURS and found["level"] == 4
    by_id = {p["id"]: p for p in found["staff"]}
    liaison = by_id[set_up["liaison"][0]]
    assert (liaison["notice_phone_choice"], liaison["shown_phone"]) == \
        ("other", OTHER_PHONE)
    assert by_id[set_up["volunteer"][0]]["shown_phone"] is None
    assert found["staff"][0]["role"] == "grid_chief"  # chiefs first
    assert len(found["staff"]) == 6  # chief, full-time, liaison, 3 volunteers


def test_the_png_is_a4_at_150_dpi(rw, set_up, artifacts):
    r = _get(rw.client("vleader"), f"/api/v1/grids/{LEVEL3}/notice?format=png")
    assert r.mimetype == "image/png"
    (artifacts / "notice.png").write_bytes(r.get_data())
    image = Image.open(io.BytesIO(r.get_data()))
    assert image.size == PNG_SIZE


def test_a_villages_notices_are_one_pdf_a_page_each(rw, set_up, demo_town):
    grids = demo_town.grids
    expected = sorted(grids.code[(grids.level >= 3)
                                 & grids.code.str.startswith(VILLAGE)])
    started = time.process_time()  # this process's drawing (the machine is shared)
    r = _get(rw.client("vleader"), f"/api/v1/grids/{VILLAGE}/notices.pdf")
    took = time.process_time() - started
    reader, _ = _text(r.get_data())
    assert r.headers["Content-Disposition"] == \
        f"attachment; filename=notices-{VILLAGE}.pdf"
    assert len(reader.pages) == len(expected) > 3
    # in code order: each page names its grid's code after 编码
    codes = [re.search(r"编码 ([0-9]+)", page.extract_text()).group(1)
             for page in reader.pages]
    assert codes == expected
    print(f"village {VILLAGE}: {len(expected)} notices, {took:.1f} s of CPU")


@pytest.mark.parametrize("url", [
    f"/api/v1/grids/{FOREIGN4}/notice?format=pdf",
    f"/api/v1/grids/{NEIGHBOUR}/notices.pdf",
    f"/api/v1/grids/{TOWN}/notices.pdf",  # the town lies above the village
])
def test_another_villages_grid_is_unseen(rw, url):
    r = _get(rw.client("vleader"), url, 404)
    assert r.get_json()["error"]["field"] == "code"


@pytest.mark.parametrize(("user", "status"), [
    ("leader", 200), ("dispatcher", 200), ("planner", 200), ("admin", 200),
    ("worker", 403), ("liaison", 403), ("viewer", 403)])
def test_who_may_print(rw, user, status):
    _get(rw.client(user), f"/api/v1/grids/{MICRO}/notice?format=json", status)


def test_a_village_has_no_notice_of_its_own(rw):
    r = _get(rw.client("vleader"), f"/api/v1/grids/{VILLAGE}/notice", 422)
    assert r.get_json()["error"]["field"] == "code"


# an empty format is the default (pdf), as for every declared parameter
@pytest.mark.parametrize("fmt", ["svg", "PDF"])
def test_a_bad_format_is_refused(rw, fmt):
    r = _get(rw.client("vleader"), f"/api/v1/grids/{MICRO}/notice?format={fmt}",
             400)
    assert r.get_json()["error"]["field"] == "format"


# -- the fields, edited within the jurisdiction --------------------------------

def test_service_hours_are_edited_below_the_root_only(rw):
    planner = rw.client("vplanner")
    # another village's grid: unseen; the village itself: its root, 403
    r = planner.patch(f"/api/v1/grids/{FOREIGN4}", json={
        "service_hours": "x", "version": _version(rw, FOREIGN4)})
    assert r.status_code == 404
    r = planner.patch(f"/api/v1/grids/{VILLAGE}", json={
        "service_hours": "x", "version": _version(rw, VILLAGE)})
    assert r.status_code == 403
    # a leader prints but does not edit
    r = rw.client("vleader").patch(f"/api/v1/grids/{LEVEL3}", json={
        "service_hours": "x", "version": _version(rw, LEVEL3)})
    assert r.status_code == 403
    assert _db(rw, "SELECT service_hours FROM grids WHERE code = ANY(%s)",
               [FOREIGN4, VILLAGE, LEVEL3]) == [(None,)] * 3


def test_a_stale_version_is_a_conflict_and_a_save_bumps_it(rw):
    planner = rw.client("vplanner")
    version = _version(rw, LEVEL3)
    r = planner.patch(f"/api/v1/grids/{LEVEL3}", json={
        "service_hours": "9:00-17:00", "version": version - 1 or 99})
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "version"
    r = planner.patch(f"/api/v1/grids/{LEVEL3}", json={
        "service_hours": "  9:00-17:00 ", "version": version})
    assert r.status_code == 200
    assert r.get_json() == {"code": LEVEL3, "service_hours": "9:00-17:00",
                            "version": version + 1}
    r = planner.patch(f"/api/v1/grids/{LEVEL3}", json={
        "service_hours": None, "version": version + 1})
    assert r.status_code == 200
    assert _db(rw, "SELECT service_hours FROM grids WHERE code = %s",
               LEVEL3) == [(None,)]
    # the edit is audited with before and after
    before, after = _db(rw, "SELECT before, after FROM audit WHERE table_name ="
                            " 'grids' AND row_key = %s ORDER BY id DESC LIMIT 1",
                        LEVEL3)[0]
    assert before == {"service_hours": "9:00-17:00"}
    assert after == {"service_hours": None}


def test_the_notice_phone_is_edited_within_the_jurisdiction(rw):
    foreign = _people(rw, FOREIGN4)["liaison"][0][0]
    r = rw.client("vplanner").patch(f"/api/v1/staff/{foreign}",
                                    json={"notice_phone_choice": "none"})
    assert r.status_code == 404 and r.get_json()["error"]["field"] == "staff"
    own = _people(rw, MICRO)["volunteer"][1][0]
    r = rw.client("vleader").patch(f"/api/v1/staff/{own}",
                                   json={"notice_phone_choice": "none"})
    assert r.status_code == 403
    assert _db(rw, "SELECT notice_phone_choice FROM grid_staff WHERE id = ANY(%s)",
               [foreign, own]) == [("work",), ("work",)]


@pytest.mark.parametrize(("body", "field"), [
    ({"service_hours": "时" * 201}, "service_hours"),
    ({"service_hours": 8}, "service_hours"),
    ({"service_hours": ["8:30"]}, "service_hours"),
    ({"service_hours": "8:30"}, "version"),
    ({"service_hours": "8:30", "version": "one"}, "version"),
])
def test_bad_service_hours_are_400s(rw, body, field):
    r = rw.client("vplanner").patch(f"/api/v1/grids/{LEVEL3}", json=body)
    assert r.status_code == 400, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["field"] == field
    assert "（" in error["message"]  # Chinese, then English


@pytest.mark.parametrize(("body", "field"), [
    ({}, "notice_phone_choice"),
    ({"notice_phone_choice": "maybe"}, "notice_phone_choice"),
    ({"notice_phone_choice": 1}, "notice_phone_choice"),
    ({"notice_phone_choice": "other"}, "notice_phone"),
    ({"notice_phone_choice": "other", "notice_phone": "call me"}, "notice_phone"),
    ({"notice_phone_choice": "other", "notice_phone": 13800138000}, "notice_phone"),
])
def test_bad_notice_phones_are_400s(rw, body, field):
    own = _people(rw, MICRO)["volunteer"][2][0]
    r = rw.client("vplanner").patch(f"/api/v1/staff/{own}", json=body)
    assert r.status_code == 400, r.get_data(as_text=True)
    assert r.get_json()["error"]["field"] == field


# -- the offline basemap under the boundary ------------------------------------

def _pmtiles(path, bounds, road_lat, z=14):
    """A PMTiles archive of the tiles at zoom ``z`` over ``bounds`` holding one
    major road along latitude ``road_lat`` across them."""
    _, tiles = notice_basemap.tiles_for(bounds, z, z, limit=10_000)
    extent = 4096
    n = 2 ** z
    x0, x1 = bounds[0], bounds[2]
    entries = []
    for tx, ty in tiles:
        def px(lon, lat, tx=tx, ty=ty):
            fx, fy = notice_basemap._tile_xy(lon, lat, z)
            return (fx - tx) * extent, (fy - ty) * extent
        a, b = px(x0, road_lat), px(x1, road_lat)
        tile = mapbox_vector_tile.encode([{"name": "roads", "features": [{
            "geometry": f"LINESTRING({a[0]} {a[1]}, {b[0]} {b[1]})",
            "properties": {"kind": "major", "name": "测试大道"}}]}],
            default_options={"y_coord_down": True})
        entries.append((zxy_to_tileid(z, tx, ty), gzip.compress(tile)))
    assert n > 0 and entries
    with open(path, "wb") as f:
        w = Writer(f)
        for tile_id, data in sorted(entries):
            w.write_tile(tile_id, data)
        w.finalize({"tile_type": TileType.MVT, "tile_compression": Compression.GZIP},
                   {"vector_layers": [{"id": "roads"}]})


def _road_share(png, row):
    """The share of the map's middle half, across, whose pixels within 3 rows
    of ``row`` hold the road colour."""
    rgb = np.asarray(Image.open(io.BytesIO(png)).convert("RGB")).astype(int)
    road = np.array([int(notice_print.ROAD_COLOURS["major"][i:i + 2], 16)
                     for i in (1, 3, 5)])
    left, _, width, _ = notice_print.MAP_BOX
    w = rgb.shape[1]
    cols = range(int(w * (left + width / 4)), int(w * (left + 3 * width / 4)))
    band = rgb[row - 3:row + 4, cols.start:cols.stop]
    hit = (np.abs(band - road).max(axis=2) <= 6).any(axis=0)
    return hit.mean()


def test_the_basemaps_road_is_drawn_under_the_boundary(rw, tmp_path, monkeypatch,
                                                       artifacts):
    (wkb,) = _db(rw, "SELECT ST_AsBinary(geom) FROM grids WHERE code = %s",
                 MICRO)[0]
    x0, y0, x1, y1 = shapely.from_wkb(bytes(wkb)).bounds
    pad = 0.02
    path = tmp_path / "basemap.pmtiles"
    # the map is centred on the grid's bounds: a road along their middle
    # latitude crosses the map's middle row
    _pmtiles(path, (x0 - pad, y0 - pad, x1 + pad, y1 + pad), (y0 + y1) / 2)
    row = int(PNG_SIZE[1] * (1 - (notice_print.MAP_BOX[1]
                                  + notice_print.MAP_BOX[3] / 2)))
    url = f"/api/v1/grids/{MICRO}/notice?format=png"
    without = _get(rw.client("vleader"), url).get_data()
    monkeypatch.setitem(rw.app.config, "BASEMAP_FILE", str(path))
    with_road = _get(rw.client("vleader"), url).get_data()
    (artifacts / "notice-basemap.png").write_bytes(with_road)
    assert _road_share(without, row) < 0.05
    assert _road_share(with_road, row) > 0.6
    # and in the PDF, the road's name is not printed over the map (roads carry
    # no labels) while the page is still the same notice
    pdf = _get(rw.client("vleader"), f"/api/v1/grids/{MICRO}/notice").get_data()
    assert MICRO in _text(pdf)[1]


def test_a_missing_or_broken_basemap_leaves_the_neighbours(rw, tmp_path,
                                                           monkeypatch):
    broken = tmp_path / "broken.pmtiles"
    broken.write_bytes(b"not a pmtiles archive")
    for path in (tmp_path / "absent.pmtiles", broken):
        monkeypatch.setitem(rw.app.config, "BASEMAP_FILE", str(path))
        _get(rw.client("vleader"), f"/api/v1/grids/{MICRO}/notice?format=png")
    assert notice_basemap.context(str(broken), (0, 0, 1, 1)) == {}
