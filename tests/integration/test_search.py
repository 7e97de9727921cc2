"""Spatial search: radius, k nearest, polygon; filters, CSV, jurisdiction."""

import csv
import io

import numpy as np
import pytest
from pyproj import Geod
from shapely.geometry import mapping

from api.search import _cell

pytestmark = pytest.mark.db

GEOD = Geod(ellps="WGS84")


def _metres(frame, lon, lat):
    """Geodesic distances from (lon, lat) to each point of ``frame`` (pyproj)."""
    n = len(frame)
    _, _, d = GEOD.inv(np.full(n, lon), np.full(n, lat), frame.geometry.x.values,
                       frame.geometry.y.values)
    return d


def test_households_within_a_radius(client, demo_town):
    hh = demo_town.households
    here = hh.geometry.iloc[500]
    d = _metres(hh, here.x, here.y)
    # known answer from pyproj, leaving out the ones within 0.5 m of the edge
    sure = set(hh.external_id[d < 99.5])
    maybe = set(hh.external_id[(d >= 99.5) & (d <= 100.5)])
    r = client.get(f"/api/v1/search?layer=households&lon={here.x}&lat={here.y}"
                   "&radius=100&limit=5000")
    assert r.status_code == 200
    features = r.get_json()["features"]
    found = {f["properties"]["external_id"] for f in features}
    assert sure <= found <= sure | maybe
    distances = [f["properties"]["distance_m"] for f in features]
    assert distances == sorted(distances) and distances[-1] <= 100.5


def test_the_k_nearest_cameras(client, demo_town):
    cams = demo_town.cameras
    lon, lat = 119.75, 31.25
    expected = list(cams.code.values[np.argsort(_metres(cams, lon, lat))[:5]])
    r = client.get(f"/api/v1/search?layer=cameras&lon={lon}&lat={lat}&k=5")
    body = r.get_json()
    assert [f["properties"]["code"] for f in body["features"]] == expected
    assert body["numberMatched"] == 5


def test_inside_a_polygon_with_a_filter(client, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[30]
    inc = demo_town.incidents
    expected = set(inc.code[(inc.grid_code == micro.code) &
                            (inc.category == "dispute")])
    r = client.post("/api/v1/search?layer=incidents&category=dispute&limit=5000",
                    json={"polygon": mapping(micro.geometry)})
    assert r.status_code == 200, r.get_json()
    codes = {f["properties"]["code"] for f in r.get_json()["features"]}
    assert codes == expected
    assert all(f["properties"]["category"] == "dispute"
               for f in r.get_json()["features"])


@pytest.mark.parametrize(("query", "field"), [
    ("layer=people&lon=119.7&lat=31.2&k=3", "layer"),
    ("layer=cameras&lon=119.7&lat=31.2", "radius"),
    ("layer=cameras&lon=119.7&lat=31.2&k=3&colour=red", "colour"),
    ("layer=cameras&lon=119.7&lat=31.2&radius=-5", "radius"),
])
def test_bad_searches_name_the_parameter(client, query, field):
    r = client.get("/api/v1/search?" + query)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == field


def test_csv_export_opens_in_a_spreadsheet(client, demo_town):
    here = demo_town.cameras.geometry.iloc[0]
    r = client.get(f"/api/v1/search?layer=cameras&lon={here.x}&lat={here.y}&k=3"
                   "&format=csv")
    assert r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert rows[0][:3] == ["id", "code", "name"] and len(rows) == 4


@pytest.mark.parametrize(("value", "cell"), [
    ("=HYPERLINK(\"http://x\")", "'=HYPERLINK(\"http://x\")"),
    ("+1", "'+1"), ("-2", "'-2"), ("@SUM(A1)", "'@SUM(A1)"),
    ("张三", "张三"), (None, ""), (["elderly_alone", "disabled"],
                                 "elderly_alone,disabled"),
])
def test_csv_cells_are_never_formulas(value, cell):
    assert _cell(value) == cell


def test_search_stays_in_the_jurisdiction(as_user, demo_town):
    village = demo_town.grids[demo_town.grids.level == 2].code.min()
    hh = demo_town.households
    elsewhere = hh[~hh.grid_code.str.startswith(village)].geometry.iloc[0]
    r = as_user("village1").get(f"/api/v1/search?layer=households&lon={elsewhere.x}"
                                f"&lat={elsewhere.y}&radius=300")
    assert r.get_json()["numberMatched"] == 0
    assert as_user("viewer").get(
        f"/api/v1/search?layer=households&lon={elsewhere.x}&lat={elsewhere.y}&k=3"
    ).status_code == 403
    masked = as_user("leader").get(
        f"/api/v1/search?layer=households&lon={elsewhere.x}&lat={elsewhere.y}&k=1"
    ).get_json()["features"][0]["properties"]
    assert "*" in masked["head_name"] and masked["tags"] is None


# Each layer needs the permission of the endpoint that reads it, written out by hand
# from ROLE_PERMISSIONS: households households:read (all but the viewer), staff
# locate (all but the viewer), incidents incidents:read (not the planner, not the
# viewer), cameras map:view (everyone).
LAYER_ACCESS = {
    #              households staff incidents cameras
    "admin":      (200, 200, 200, 200),
    "planner":    (200, 200, 403, 200),
    "dispatcher": (200, 200, 200, 200),
    "leader":     (200, 200, 200, 200),
    "worker":     (200, 200, 200, 200),
    "viewer":     (403, 403, 403, 200),
}


@pytest.mark.parametrize(("username", "layer", "status"), [
    (username, layer, status) for username, row in LAYER_ACCESS.items()
    for layer, status in zip(("households", "staff", "incidents", "cameras"), row,
                             strict=True)])
def test_search_needs_the_permission_of_the_layer(as_user, demo_town, username,
                                                  layer, status):
    here = demo_town.households.geometry.iloc[0]
    for method in ("get", "post"):
        kwargs = {"json": {"polygon": mapping(here.buffer(0.01))}} \
            if method == "post" else {}
        r = getattr(as_user(username), method)(
            f"/api/v1/search?layer={layer}&lon={here.x}&lat={here.y}&k=3"
            "&format=csv", **kwargs)
        assert r.status_code == status, (method, r.get_data(as_text=True)[:200])
        if status == 403:  # a refusal naming the layer, never an empty answer
            error = r.get_json()["error"]
            assert error["field"] == "layer" and layer in error["message"]
            assert "无权" in error["message"]


def test_a_refused_layer_is_refused_before_its_other_parameters(as_user):
    # no point, no radius: still a 403 naming the layer, not a 400 on 'lon'
    r = as_user("viewer").get("/api/v1/search?layer=staff")
    assert r.status_code == 403 and r.get_json()["error"]["field"] == "layer"


def test_an_unknown_format_is_refused(client):
    r = client.get("/api/v1/search?layer=cameras&lon=119.7&lat=31.2&k=3&format=xls")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "format"
