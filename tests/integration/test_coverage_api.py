"""Camera coverage: figures per grid, blind spots, uncovered households, siting,
the cache and its invalidation, permissions and jurisdiction."""

import math

import pytest
import shapely
from pyproj import Geod

from layers import coverage
from layers.access import SYSTEM, Principal
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

TOWN = "320282105"
VILLAGE = "320282105001"
GEOD = Geod(ellps="GRS80")


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    """The demo town in a database of its own: reading coverage fills its cache."""
    return writable_demo(databases, demo_town)


# -- a hand-made town, known answers ---------------------------------------------

# Town 320282999 of 0.01° × 0.01° near the demo, two villages: west and east
# halves. A PTZ of 100 m in the middle of the west village; households: two in the
# west (30 m north of the camera: seen; 300 m south: not), one in the east.
LON0, LAT0 = 119.70, 31.20
CAM = (119.7025, 31.205)


def _square(x0, x1):
    return (f"MULTIPOLYGON((({x0} {LAT0}, {x1} {LAT0}, {x1} {LAT0 + 0.01}, "
            f"{x0} {LAT0 + 0.01}, {x0} {LAT0})))")


def _fwd(lon, lat, bearing, metres):
    x, y, _ = GEOD.fwd(lon, lat, bearing, metres)
    return x, y


@pytest.fixture()
def town(conn):
    rows = [("320282999", "试验镇", 1, None, _square(LON0, LON0 + 0.01)),
            ("320282999001", "西村", 2, "320282999", _square(LON0, LON0 + 0.005)),
            ("320282999002", "东村", 2, "320282999",
             _square(LON0 + 0.005, LON0 + 0.01))]
    for row in rows:
        conn.execute("INSERT INTO grids (code, name, level, parent_code, geom)"
                     " VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, 4326))", row)
    conn.execute(
        "INSERT INTO cameras (code, name, kind, fov_deg, range_m, owner, status,"
        " geom, grid_code) VALUES ('C1', '西村球机', 'ptz', 360, 100, 'police',"
        " 'offline', ST_SetSRID(ST_MakePoint(%s, %s), 4326), '320282999001')", CAM)
    for i, (lon, lat, grid) in enumerate([
            (*_fwd(*CAM, 0, 30), "320282999001"),
            (*_fwd(*CAM, 180, 300), "320282999001"),
            (LON0 + 0.0075, LAT0 + 0.005, "320282999002")]):
        conn.execute(
            "INSERT INTO households (address, head_name, phone, geom, grid_code,"
            " county) VALUES (%s, '张三丰', '13812345678',"
            " ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s, %s)",
            (f"试验路{i}号", lon, lat, grid, grid[:6]))
    return conn


def _geodesic_area(wkt):
    return abs(GEOD.geometry_area_perimeter(shapely.from_wkt(wkt))[0])


def test_known_shares_of_a_hand_made_town(town):
    got = coverage.shares(town, SYSTEM, ["320282999", "320282999001",
                                         "320282999002"])
    west_area = _geodesic_area(_square(LON0, LON0 + 0.005))
    disc = math.pi * 100**2
    west = got["320282999001"]
    assert west["area_m2"] == pytest.approx(west_area, rel=0.002)
    assert west["area_share"] == pytest.approx(disc / west_area, rel=0.005)
    assert (west["households"], west["uncovered_households"]) == (2, 1)
    assert west["household_share"] == 0.5
    assert (west["cameras"], west["online_cameras"]) == (1, 0)  # offline counts
    east = got["320282999002"]
    assert (east["area_share"], east["household_share"], east["cameras"]) == (0, 0, 0)
    whole = got["320282999"]
    assert whole["area_share"] == pytest.approx(disc / (2 * west_area), rel=0.005)
    assert whole["household_share"] == pytest.approx(1 / 3, abs=1e-6)


def test_uncovered_households_are_listed_masked_or_only_counted(town):
    planner = Principal("p", "planner", "320282999")
    listed = coverage.uncovered_households(town, planner, "320282999")
    assert listed["total"] == 2
    assert sorted(h["address"] for h in listed["items"]) == ["试验路1号", "试验路2号"]
    assert {h["head_name"] for h in listed["items"]} == {"张**"}
    counted = coverage.uncovered_households(town, Principal("v", "viewer",
                                                            "320282999"), None)
    assert (counted["total"], counted["items"]) == (2, None)


def test_the_cache_follows_changes_of_cameras_households_and_grids(town):
    def cached():
        return {r[0] for r in town.execute("SELECT code FROM coverage_leaf")}

    coverage.shares(town, SYSTEM, ["320282999"])
    assert cached() == {"320282999001", "320282999002"}
    town.execute("UPDATE cameras SET status = 'online' WHERE code = 'C1'")
    assert cached() == {"320282999001", "320282999002"}  # status: nothing to redo
    town.execute("UPDATE cameras SET range_m = 20 WHERE code = 'C1'")
    assert cached() == {"320282999002"}                   # only what it reached
    got = coverage.shares(town, SYSTEM, ["320282999001"])["320282999001"]
    # 20 m: the household 30 m away is no longer seen
    assert got["uncovered_households"] == 2
    assert got["area_share"] * got["area_m2"] == pytest.approx(math.pi * 400,
                                                               rel=0.005)
    town.execute("DELETE FROM households WHERE address = '试验路2号'")
    assert cached() == {"320282999001"}
    town.execute("UPDATE grids SET name = '东村二' WHERE code = '320282999002'")
    coverage.shares(town, SYSTEM, ["320282999"])
    town.execute("UPDATE grids SET notes = 'x' WHERE code = '320282999'")
    assert cached() == set()                              # the town: all below it


def test_a_stale_result_is_not_stored(town):
    generation = coverage._generation(town)
    town.execute("UPDATE cameras SET range_m = 50 WHERE code = 'C1'")
    with town.transaction():
        assert not coverage._unchanged_since(town, generation)


def test_writers_of_different_tables_do_not_wait_for_each_other(rw):
    """An import holding households open must not hold up a camera edit (0005's
    single generation row did: every writer queued behind it)."""
    import psycopg

    with psycopg.connect(rw.url) as importing, psycopg.connect(rw.url) as editing:
        importing.execute("UPDATE households SET address = address"
                          " WHERE id = (SELECT min(id) FROM households)")
        editing.execute("SET lock_timeout = '2s'")
        editing.execute("UPDATE cameras SET name = name || '·'"
                        " WHERE id = (SELECT min(id) FROM cameras)")
        editing.commit()  # did not wait for the open import
        importing.rollback()


def test_outside_the_jurisdiction_is_not_found(town):
    from layers.errors import NotFound

    with pytest.raises(NotFound):
        coverage.shares(town, Principal("v", "dispatcher", "320282999002"),
                        ["320282999001"])


# -- the demo town through the API -----------------------------------------------

def test_coverage_of_the_demo_town_and_its_villages(rw):
    r = rw.client("leader").get(f"/api/v1/coverage?grid={TOWN}")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    grid, children = body["grid"], body["children"]
    assert grid["code"] == TOWN and len(children) == 8
    for figures in [grid, *children]:
        assert 0 <= figures["area_share"] <= 1
        assert 0 <= figures["household_share"] <= 1
    assert sum(c["households"] for c in children) == grid["households"]
    assert sum(c["cameras"] for c in children) == grid["cameras"] == 472
    assert sum(c["area_m2"] for c in children) == pytest.approx(grid["area_m2"])


def test_household_share_agrees_with_a_geodesic_count_in_postgis(rw):
    import psycopg

    # Independent of geo/coverage: a household is seen when some camera is within
    # its range on the spheroid and, for a sector, the azimuth to it is within
    # half the angle of the bearing (as layers/locate.py tests one point); a
    # household where the camera stands (no azimuth) is seen.
    with psycopg.connect(rw.url) as c:
        total, seen = c.execute("""
            SELECT count(*), count(*) FILTER (WHERE EXISTS (
                SELECT 1 FROM cameras k
                WHERE ST_DWithin(k.geom::geography, h.geom::geography, k.range_m)
                  AND (k.kind = 'ptz' OR k.fov_deg >= 360
                       OR ST_DWithin(k.geom::geography, h.geom::geography, 0.5)
                       OR abs(mod((degrees(
                        ST_Azimuth(k.geom::geography, h.geom::geography))
                        - k.bearing + 540)::numeric, 360) - 180) <= k.fov_deg / 2)))
            FROM households h WHERE h.grid_code LIKE %s""", (TOWN + "%",)).fetchone()
    body = rw.client("admin").get(f"/api/v1/coverage?grid={TOWN}").get_json()
    assert body["grid"]["households"] == total
    # inscribed arcs lose at most ~0.06 % of the range at their edges
    assert total - body["grid"]["uncovered_households"] == pytest.approx(
        seen, abs=max(2, 0.002 * total))


def test_blind_spots_and_covered_area_make_up_the_grid(rw):
    r = rw.client("viewer").get(f"/api/v1/coverage/blind-spots?grid={VILLAGE}")
    assert r.status_code == 200
    fc = r.get_json()
    assert fc["type"] == "FeatureCollection" and fc["features"]
    figures = rw.client("viewer").get(
        f"/api/v1/coverage?grid={VILLAGE}").get_json()["grid"]
    blind = sum(f["properties"]["blind_m2"] for f in fc["features"])
    assert blind + figures["covered_m2"] == pytest.approx(figures["area_m2"],
                                                          rel=1e-4)
    drawn = sum(abs(GEOD.geometry_area_perimeter(shapely.geometry.shape(
        f["geometry"]))[0]) for f in fc["features"])
    assert drawn == pytest.approx(blind, rel=0.01)
    for f in fc["features"]:
        assert f["properties"]["code"].startswith(VILLAGE)


def test_uncovered_households_need_households_read_for_the_list(rw):
    leader = rw.client("leader").get(
        f"/api/v1/coverage/households?grid={VILLAGE}&limit=5").get_json()
    viewer = rw.client("viewer").get(
        f"/api/v1/coverage/households?grid={VILLAGE}").get_json()
    figures = rw.client("viewer").get(
        f"/api/v1/coverage?grid={VILLAGE}").get_json()["grid"]
    assert viewer["items"] is None
    assert leader["total"] == viewer["total"]
    assert leader["total"] == pytest.approx(figures["uncovered_households"], abs=2)
    assert len(leader["items"]) == 5
    assert all("*" in h["head_name"] for h in leader["items"])   # masked
    assert all(h["tags"] is None for h in leader["items"])


def test_camera_views_are_served_as_geojson(rw):
    fc = rw.client("viewer").get(f"/api/v1/coverage/views?grid={VILLAGE}").get_json()
    assert fc["numberMatched"] == fc["numberReturned"] > 0
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert kinds <= {"fixed", "ptz", "checkpoint"}


def test_the_recommendation_has_falling_gains(rw):
    r = rw.client("leader").get(
        f"/api/v1/coverage/recommend?grid={VILLAGE}&k=5&range_m=80")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    gains = [p["gain"] for p in body["picks"]]
    assert len(gains) == 5 and gains == sorted(gains, reverse=True) and gains[0] > 0
    shares = [p["household_share_after"] for p in body["picks"]]
    assert shares == sorted(shares)
    hh = body["households"]
    assert shares[-1] == pytest.approx(
        (hh["covered"] + sum(p["households"] for p in body["picks"])) / hh["total"],
        abs=1e-6)
    fixed = rw.client("leader").get(
        f"/api/v1/coverage/recommend?grid={VILLAGE}&k=2&kind=fixed&fov_deg=60")
    assert all(p["bearing"] is not None for p in fixed.get_json()["picks"])


def test_jurisdiction_and_permissions(rw):
    village1 = rw.client("village1")
    assert village1.get(f"/api/v1/coverage?grid={TOWN}").status_code == 404
    assert village1.get("/api/v1/coverage/blind-spots?grid=320282105002"
                        ).status_code == 404
    mine = village1.get("/api/v1/coverage").get_json()   # default: its own root
    assert mine["grid"]["code"] == VILLAGE
    assert rw.client().get("/api/v1/coverage").status_code == 401


@pytest.mark.parametrize("query", [
    "grid=abc", "grid=320282105&k=0", "grid=320282105&k=51",
    "grid=320282105&kind=dome", "grid=320282105&range_m=5",
])
def test_bad_parameters_are_refused(rw, query):
    path = "/api/v1/coverage/recommend?" + query
    r = rw.client("admin").get(path)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] in {"grid", "k", "kind", "range_m"}
