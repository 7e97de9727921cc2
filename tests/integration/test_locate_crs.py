"""Locating a point given in a Chinese CRS: GCJ-02, BD-09, a Gauss-Krüger zone."""

import pytest
from pyproj import Geod, Transformer

from geo.crs import wgs84_to_bd09, wgs84_to_gcj02

pytestmark = pytest.mark.db

_GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def micro(demo_town):
    """A micro-grid's code and its representative point in WGS-84."""
    grids = demo_town.grids
    grid = grids[grids.level == 4].iloc[17]
    p = grid.geometry.representative_point()
    return grid.code, p.x, p.y


def _locate(client, query):
    r = client.get(f"/api/v1/locate?{query}")
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _micro_code(found):
    return [g["code"] for g in found["grids"] if g["level"] == 4]


def test_wgs84_is_the_default_and_the_point_is_echoed(client, micro):
    code, lon, lat = micro
    found = _locate(client, f"lon={lon:.9f}&lat={lat:.9f}")
    assert _micro_code(found) == [code]
    assert found["point"] == pytest.approx({"lon": lon, "lat": lat}, abs=1e-9)
    same = _locate(client, f"lon={lon:.9f}&lat={lat:.9f}&crs=cgcs2000")
    assert same["grids"] == found["grids"]


@pytest.mark.parametrize(("crs", "forward"), [("gcj02", wgs84_to_gcj02),
                                              ("bd09", wgs84_to_bd09)])
def test_an_offset_point_lands_in_the_same_micro_grid(client, micro, crs, forward):
    code, lon, lat = micro
    olon, olat = (float(v) for v in forward(lon, lat))
    # the offset itself is hundreds of metres: taken as WGS-84, the point would
    # be far from where it is meant
    assert _GEOD.inv(lon, lat, olon, olat)[2] > 300
    found = _locate(client, f"lon={olon:.9f}&lat={olat:.9f}&crs={crs}")
    assert _micro_code(found) == [code]
    back = found["point"]
    assert _GEOD.inv(lon, lat, back["lon"], back["lat"])[2] < 0.01


def test_a_gauss_kruger_point_is_given_as_x_and_y(client, micro):
    code, lon, lat = micro
    x, y = Transformer.from_crs(4326, 4549, always_xy=True).transform(lon, lat)
    found = _locate(client, f"crs=EPSG:4549&x={x:.3f}&y={y:.3f}")
    assert _micro_code(found) == [code]
    assert _GEOD.inv(lon, lat, found["point"]["lon"], found["point"]["lat"])[2] < 0.01
    # the same zone with its number (40) prefixed to the easting
    found = _locate(client, f"crs=EPSG:4528&x={x + 40e6:.3f}&y={y:.3f}")
    assert _micro_code(found) == [code]


@pytest.mark.parametrize(
    ("query", "field", "words"),
    [
        ("lon=119.7&lat=31.2&crs=mars", "crs", "wgs84, cgcs2000, gcj02, bd09"),
        ("lon=119.7&lat=31.2&crs=EPSG:3857", "crs", "unknown crs"),
        ("x=500000&y=3460000&crs=gcj02", "x", "lon and lat"),
        ("lon=119.7&lat=31.2&crs=EPSG:4549", "lon", "x and y"),
        ("x=500000&crs=EPSG:4549", "y", "required"),
        ("lon=31.2&lat=119.7&crs=gcj02", "lat", "swapped"),
    ],
)
def test_bad_crs_or_coordinates_get_400_naming_the_field(client, query, field,
                                                         words):
    r = client.get(f"/api/v1/locate?{query}")
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["field"] == field
    assert words in error["message"]
