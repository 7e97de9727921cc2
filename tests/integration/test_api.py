"""The first slice of the REST API, on the demo town."""

import re

import pytest

pytestmark = pytest.mark.db


def test_health_reports_postgis_and_no_pending_migrations(client):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok"
    assert body["postgis"].startswith("3.")
    assert body["pending_migrations"] == []


@pytest.mark.parametrize(("level", "count"), [(1, 1), (2, 8), (3, 25), (4, 91)])
def test_grids_by_level_match_the_town(client, level, count):
    r = client.get(f"/api/v1/grids?level={level}")
    assert r.status_code == 200
    assert r.headers["Content-Type"].startswith("application/geo+json")
    body = r.get_json()
    assert body["type"] == "FeatureCollection"
    assert body["numberMatched"] == count == len(body["features"])
    props = body["features"][0]["properties"]
    assert {"code", "name", "level", "parent", "households"} <= props.keys()
    assert all(f["properties"]["level"] == level for f in body["features"])


def test_household_counts_add_up_the_hierarchy(client, demo_town):
    micro = client.get("/api/v1/grids?level=4").get_json()["features"]
    town = client.get("/api/v1/grids?level=1").get_json()["features"][0]
    counts = {f["properties"]["code"]: f["properties"]["households"] for f in micro}
    assert all(50 <= n <= 100 for n in counts.values())
    assert sum(counts.values()) == town["properties"]["households"] == len(
        demo_town.households)


def test_children_of_a_village(client, demo_town):
    village = demo_town.grids[demo_town.grids.level == 2].iloc[0]
    body = client.get(f"/api/v1/grids?parent={village.code}").get_json()
    expected = demo_town.grids[demo_town.grids.parent_code == village.code]
    assert sorted(f["properties"]["code"] for f in body["features"]) == sorted(
        expected.code)
    assert all(f["properties"]["parent"] == village.code for f in body["features"])


def test_bbox_selects_grids_that_touch_it(client, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[10]
    p = micro.geometry.representative_point()
    bbox = f"{p.x - 1e-5},{p.y - 1e-5},{p.x + 1e-5},{p.y + 1e-5}"
    body = client.get(f"/api/v1/grids?level=4&bbox={bbox}").get_json()
    assert micro.code in [f["properties"]["code"] for f in body["features"]]
    assert body["numberMatched"] < 10


def test_one_grid_and_an_unknown_code(client, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[0]
    feature = client.get(f"/api/v1/grids/{micro.code}").get_json()
    assert feature["type"] == "Feature"
    assert feature["properties"]["name"] == micro["name"]
    assert feature["properties"]["households"] == micro.households_target
    r = client.get("/api/v1/grids/320282105999")
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"
    assert "320282105999" in r.get_json()["error"]["message"]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("/api/v1/grids?level=5", "level"),
        ("/api/v1/grids?level=abc", "level"),
        ("/api/v1/grids?bbox=1,2,3", "bbox"),
        ("/api/v1/grids?bbox=120,31,119,32", "bbox"),
        ("/api/v1/grids?limit=0", "limit"),
        ("/api/v1/locate?lat=31.2", "lon"),
        ("/api/v1/locate?lon=119.7&lat=north", "lat"),
        ("/api/v1/locate?lon=nan&lat=31", "lon"),
        ("/api/v1/locate?lon=31.25&lat=119.75", "lat"),
    ],
)
def test_bad_parameters_get_400_naming_the_parameter(client, query, field):
    r = client.get(query)
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["field"] == field
    assert field in error["message"]


def test_swapped_coordinates_are_named_as_such(client):
    r = client.get("/api/v1/locate?lon=31.25&lat=119.75")
    assert "swapped" in r.get_json()["error"]["message"]


def test_unknown_api_path_is_json_404(client):
    r = client.get("/api/v1/nothing-here")
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"


def test_openapi_documents_every_api_route(app, client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            # /x/<int:id> -> /x/{id}
            path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
            assert path in paths, f"{rule.rule} is missing from the OpenAPI document"
