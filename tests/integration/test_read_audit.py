"""Reads of personal data are audited: one row per request (who, what query, how
many records), never one per record, zero hits included; exports and answers
carrying people's data are never cached (``Cache-Control: no-store``).

Personal data here: households (names, phones, ID numbers, tags, addresses) and
incidents (the reporter). Not personal: grid staff (public officials, contactable
by design), cameras, grids, the incident fields a search returns (no reporter),
and household tiles (a position and an id, nothing else).

Real PostGIS, no mocks. The shared demo database is only read (reads append audit
rows); what needs writing (an import, coverage caches) runs on ``rw``.
"""

import csv
import io
from contextlib import contextmanager

import psycopg
import pytest
import shapely
from psycopg.rows import dict_row
from shapely.geometry import mapping

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

TOWN = "320282105"  # the root of the dispatcher's, leader's, viewer's jurisdiction
VILLAGE = "320282105001"  # village1's


@contextmanager
def new_audit_rows(url):
    """The audit rows written while the block runs (a list, filled at its end)."""
    with psycopg.connect(url) as c:
        last = c.execute("SELECT coalesce(max(id), 0) FROM audit").fetchone()[0]
    rows = []
    yield rows
    with psycopg.connect(url, row_factory=dict_row) as c:
        rows.extend(c.execute(
            "SELECT username, action, table_name, row_key, after, grid_code, records"
            " FROM audit WHERE id > %s ORDER BY id", (last,)))


def one_read(rows, username, table, records, grid_code=TOWN):
    """The single audit row of a read; returns its query."""
    assert len(rows) == 1, rows
    [row] = rows
    assert (row["username"], row["action"], row["table_name"], row["records"],
            row["grid_code"]) == (username, "read", table, records, grid_code)
    return row["after"]["query"]


@pytest.fixture(scope="module")
def micro(demo_url):
    """A micro-grid of the first village, one of its households, a point in it."""
    with psycopg.connect(demo_url) as c:
        return c.execute(
            "SELECT grid_code, id, ST_X(geom), ST_Y(geom) FROM households"
            " WHERE grid_code LIKE %s ORDER BY id LIMIT 1",
            (VILLAGE + "%",)).fetchone()


# households ------------------------------------------------------------------------

def test_a_list_of_households_is_one_audit_row(as_user, demo_url):
    with new_audit_rows(demo_url) as rows:
        r = as_user("dispatcher").get("/api/v1/households?limit=1000")
    assert r.status_code == 200 and len(r.get_json()["items"]) == 1000
    assert r.headers["Cache-Control"] == "no-store"
    query = one_read(rows, "dispatcher", "households", 1000)
    assert query == {"via": "list", "grid": None, "limit": 1000, "offset": 0}


def test_a_list_with_no_household_is_audited_too(as_user, demo_url):
    with new_audit_rows(demo_url) as rows:
        r = as_user("village1").get("/api/v1/households?grid=320282105008")
    assert r.get_json() == {"total": 0, "items": []}  # another village: not theirs
    query = one_read(rows, "village1", "households", 0, grid_code=VILLAGE)
    assert query["grid"] == "320282105008"


def test_one_household_is_audited_under_its_micro_grid(as_user, demo_url, micro):
    grid, household_id, _, _ = micro
    with new_audit_rows(demo_url) as rows:
        r = as_user("leader").get(f"/api/v1/households/{household_id}")
    assert r.status_code == 200 and r.headers["Cache-Control"] == "no-store"
    query = one_read(rows, "leader", "households", 1, grid_code=grid)
    assert query == {"via": "get", "id": household_id}
    assert rows[0]["row_key"] == str(household_id)


def test_refused_and_missing_reads_write_nothing(as_user, demo_url, micro):
    with new_audit_rows(demo_url) as rows:
        assert as_user("viewer").get("/api/v1/households").status_code == 403
        assert as_user("dispatcher").get("/api/v1/households/999999999"
                                         ).status_code == 404
    assert rows == []


# search ----------------------------------------------------------------------------

def test_a_search_of_households_is_audited(as_user, demo_url, micro):
    _, _, lon, lat = micro
    with new_audit_rows(demo_url) as rows:
        r = as_user("dispatcher").get(
            f"/api/v1/search?layer=households&lon={lon}&lat={lat}&k=7")
    assert r.get_json()["numberReturned"] == 7
    assert r.headers["Cache-Control"] == "no-store"
    query = one_read(rows, "dispatcher", "households", 7)
    assert query == {"via": "search", "layer": "households", "format": "geojson",
                     "lon": lon, "lat": lat, "k": 7, "limit": 100, "offset": 0}


def test_a_csv_export_of_households_is_audited_and_never_cached(
        as_user, demo_url, micro):
    _, _, lon, lat = micro
    with new_audit_rows(demo_url) as rows:
        r = as_user("dispatcher").get(
            f"/api/v1/search?layer=households&lon={lon}&lat={lat}&radius=50000"
            "&limit=5000&format=csv")
    assert r.mimetype == "text/csv"
    assert r.headers["Cache-Control"] == "no-store"
    lines = list(csv.reader(io.StringIO(r.get_data(as_text=True)[1:])))
    assert len(lines) - 1 == 5000  # the whole town is 6,815 households
    query = one_read(rows, "dispatcher", "households", 5000)
    assert (query["format"], query["radius"], query["limit"]) == ("csv", 50000, 5000)


def test_a_polygon_search_is_audited_with_its_bounds(as_user, demo_url, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].sort_values("code").iloc[0]
    expected = int((demo_town.households.grid_code == micro.code).sum())
    with new_audit_rows(demo_url) as rows:
        r = as_user("worker").post("/api/v1/search?layer=households&limit=5000",
                                   json={"polygon": mapping(micro.geometry)})
    assert r.status_code == 200, r.get_json()
    found = r.get_json()["numberReturned"]
    assert found >= expected > 0  # households on the boundary count once more
    query = one_read(rows, "worker", "households", found,
                     grid_code=demo_town.grids[demo_town.grids.level == 3]
                     .code.min())
    assert query["bbox"] == [round(v, 6) for v in micro.geometry.bounds]
    assert query["vertices"] == shapely.get_num_coordinates(micro.geometry)


def test_a_search_that_finds_no_one_is_audited(as_user, demo_url):
    # a point in China, far from the demo town: nobody within 10 m
    with new_audit_rows(demo_url) as rows:
        r = as_user("leader").get(
            "/api/v1/search?layer=households&lon=100.0&lat=30.0&radius=10")
    assert r.get_json()["numberMatched"] == 0
    one_read(rows, "leader", "households", 0)


@pytest.mark.parametrize("layer", ["cameras", "staff", "incidents"])
def test_searches_of_other_layers_are_not_audited(as_user, demo_url, micro, layer):
    _, _, lon, lat = micro
    with new_audit_rows(demo_url) as rows:
        r = as_user("dispatcher").get(
            f"/api/v1/search?layer={layer}&lon={lon}&lat={lat}&k=3")
    assert r.status_code == 200 and r.get_json()["numberReturned"] > 0
    assert rows == []


# places ----------------------------------------------------------------------------

@pytest.mark.parametrize("username", ["dispatcher", "leader"])  # unmasked, masked
def test_places_that_list_households_are_audited(as_user, demo_url, demo_town,
                                                 username):
    address = demo_town.households.address.iloc[0]
    with new_audit_rows(demo_url) as rows:
        r = as_user(username).get("/api/v1/places", query_string={"q": address})
    hits = r.get_json()["households"]
    assert hits and r.headers["Cache-Control"] == "no-store"
    query = one_read(rows, username, "households", len(hits))
    assert query == {"via": "places", "q": address, "limit": 10}


def test_places_without_a_household_hit_are_audited(as_user, demo_url):
    with new_audit_rows(demo_url) as rows:
        r = as_user("dispatcher").get("/api/v1/places",
                                      query_string={"q": "没有这个地方"})
    assert r.get_json()["households"] == []
    one_read(rows, "dispatcher", "households", 0)


# incidents -------------------------------------------------------------------------

def test_a_list_of_incidents_is_audited(as_user, demo_url):
    with new_audit_rows(demo_url) as rows:
        r = as_user("leader").get("/api/v1/incidents?category=dispute&limit=50")
    items = r.get_json()["items"]
    assert len(items) == 50 and "reporter" in items[0]
    assert r.headers["Cache-Control"] == "no-store"
    query = one_read(rows, "leader", "incidents", 50)
    assert (query["via"], query["category"], query["limit"]) == ("list", "dispute",
                                                                 50)


def test_one_incident_is_audited_under_its_grid(as_user, demo_url):
    with psycopg.connect(demo_url) as c:
        code, grid = c.execute("SELECT code, grid_code FROM incidents"
                               " ORDER BY id LIMIT 1").fetchone()
    with new_audit_rows(demo_url) as rows:
        r = as_user("dispatcher").get(f"/api/v1/incidents/{code}")
    assert r.status_code == 200
    query = one_read(rows, "dispatcher", "incidents", 1, grid_code=grid)
    assert query == {"via": "get", "code": code} and rows[0]["row_key"] == code


# tiles -----------------------------------------------------------------------------

def test_household_tiles_carry_no_person_and_are_not_audited(as_user, demo_url,
                                                              micro):
    import mapbox_vector_tile

    from tests.integration.test_tiles import _tile_of

    _, _, lon, lat = micro
    z, x, y = _tile_of(lon, lat, 16)
    with new_audit_rows(demo_url) as rows:
        r = as_user("dispatcher").get(f"/tiles/households/{z}/{x}/{y}.mvt")
    features = mapbox_vector_tile.decode(r.data)["households"]["features"]
    assert features and all(set(f["properties"]) == {"id"} for f in features)
    assert rows == []


# on a writable copy: coverage caches, an import, rankings --------------------------

@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def test_uncovered_households_are_audited_when_listed(rw):
    with new_audit_rows(rw.url) as rows:
        listed = rw.client("dispatcher").get(
            f"/api/v1/coverage/households?grid={VILLAGE}&limit=20")
        counted = rw.client("viewer").get(
            f"/api/v1/coverage/households?grid={VILLAGE}")
    assert listed.status_code == 200, listed.get_json()
    items = listed.get_json()["items"]
    assert counted.get_json()["items"] is None  # the viewer: a count, no person
    assert listed.headers["Cache-Control"] == "no-store"
    query = one_read(rows, "dispatcher", "households", len(items))
    assert query == {"via": "coverage", "grid": VILLAGE, "limit": 20, "offset": 0}


def test_a_rejected_rows_download_is_never_cached(rw):
    with psycopg.connect(rw.url) as c:
        import_id = c.execute(
            "INSERT INTO imports (file_name, file_sha256, layer, username, errors)"
            " VALUES ('h.csv', repeat('a', 64), 'households', 'admin',"
            " '[{\"row\": 2, \"field\": \"phone\", \"value\": \"138\","
            " \"reason\": \"too short\"}]') RETURNING id").fetchone()[0]
    r = rw.client("admin").get(f"/api/v1/imports/{import_id}/rejected.csv")
    assert r.status_code == 200 and "too short" in r.get_data(as_text=True)
    assert r.headers["Cache-Control"] == "no-store"


@pytest.mark.parametrize("fmt", ["xlsx", "pdf", "png"])
def test_ranking_downloads_are_never_cached(rw, fmt):
    r = rw.client("leader").get(
        f"/api/v1/rankings?grid={VILLAGE}&level=3&month=2026-03&format={fmt}")
    assert r.status_code == 200, r.get_data(as_text=True)[:300]
    assert "attachment" in r.headers["Content-Disposition"]
    assert r.headers["Cache-Control"] == "no-store"
