"""geo.crs: the CGCS2000 Gauss-Krüger zones, GCJ-02 and BD-09, and one dispatcher."""

import doctest
import math
import time

import geopandas
import numpy as np
import pyproj
import pytest
import shapely

import geo.crs
from geo.crs import (
    WGS84,
    bd09_to_gcj02,
    bd09_to_wgs84,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    gk_zone_epsg,
    metric_crs_for,
    normalize_crs,
    to_metric,
    to_wgs84,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)


@pytest.mark.parametrize(
    ("lon", "epsg"),
    [
        (73.5, 4534),  # westmost China: zone CM 75 reaches 1.5° west of it
        (75.0, 4534),
        (76.49, 4534),
        (76.5, 4535),  # halfway between CM 75 and CM 78 goes east
        (116.4, 4548),  # Beijing: CM 117 = 4534 + (117 - 75) / 3
        (119.75, 4549),  # the demo town: CM 120
        (121.49, 4549),
        (121.5, 4550),
        (135.0, 4554),
        (136.0, 4554),  # eastmost: CM 135 zone
    ],
)
def test_zone_of_a_longitude(lon, epsg):
    assert gk_zone_epsg(lon) == epsg


@pytest.mark.parametrize("zone", range(21))
def test_every_zone_is_the_cgcs2000_zone_of_its_central_meridian(zone):
    # pyproj names EPSG:4534 + k "CGCS2000 / 3-degree Gauss-Kruger CM (75 + 3k)E"
    cm = 75 + 3 * zone
    name = pyproj.CRS.from_epsg(gk_zone_epsg(cm)).name
    assert name == f"CGCS2000 / 3-degree Gauss-Kruger CM {cm}E"


@pytest.mark.parametrize("lon", [73.4, 136.1, 31.25, -119.75, math.nan, math.inf])
def test_longitudes_outside_china_are_refused(lon):
    with pytest.raises(ValueError, match="outside China"):
        gk_zone_epsg(lon)


def test_metric_crs_from_the_data():
    points = geopandas.GeoSeries.from_xy([119.6, 119.9], [31.2, 31.3], crs=WGS84)
    assert metric_crs_for(points) == "EPSG:4549"
    assert metric_crs_for(geopandas.GeoDataFrame(geometry=points)) == "EPSG:4549"
    # data already projected: the zone is chosen from its longitudes all the same
    assert metric_crs_for(points.to_crs("EPSG:3857")) == "EPSG:4549"


def test_metric_crs_needs_a_crs_and_a_geometry():
    with pytest.raises(ValueError, match="no CRS"):
        metric_crs_for(geopandas.GeoSeries([shapely.Point(119.7, 31.2)]))
    with pytest.raises(ValueError, match="no non-empty geometry"):
        metric_crs_for(geopandas.GeoSeries([None, shapely.Point()], crs=WGS84))
    with pytest.raises(ValueError, match="outside China"):
        metric_crs_for(geopandas.GeoSeries.from_xy([2.35], [48.85], crs=WGS84))


def test_to_metric_known_answers():
    points = geopandas.GeoSeries.from_xy([120.0, 120.0], [31.25, 31.26], crs=WGS84)
    metric = to_metric(points)
    assert metric.crs.to_epsg() == 4549
    # on the central meridian the easting is the false easting, 500 000 m
    assert metric.x.tolist() == pytest.approx([500000.0, 500000.0], abs=1e-6)
    # 0.01° of latitude at 31.25°N on the CGCS2000 ellipsoid (a = 6378137,
    # e² = 0.0066943800229): M = a(1 - e²) / (1 - e² sin²φ)^1.5 = 6 352 599 m,
    # times 0.01 · π / 180 = 1108.74 m; the scale factor on the meridian is 1
    assert metric.iloc[0].distance(metric.iloc[1]) == pytest.approx(1108.74, abs=0.01)


def test_doctests():
    assert doctest.testmod(geo.crs).failed == 0


# -- GCJ-02 and BD-09 -------------------------------------------------------------

_GEOD = pyproj.Geod(ellps="WGS84")


def _metres(lon1, lat1, lon2, lat2):
    """Geodesic distances in metres (pyproj), elementwise."""
    return _GEOD.inv(*np.broadcast_arrays(lon1, lat1, lon2, lat2))[2]


# Published WGS-84 → GCJ-02 pairs, (wgs lon, wgs lat, gcj lon, gcj lat):
WGS_GCJ = [
    # googollee/eviltransform, python/test.py and go/transform_test.go (TESTS,
    # there as lat, lng): Shanghai, Shenzhen, Beijing
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),
    # wandergis/coordtransform, test/app.js (wgs84togcj02), repeated in
    # dromara/hutool's CoordinateUtilTest (wgs84ToGcj02Test): Tian'anmen
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),
]


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ)
def test_wgs84_to_gcj02_gives_the_published_pairs(wlon, wlat, glon, glat):
    lon, lat = wgs84_to_gcj02(wlon, wlat)
    assert (float(lon), float(lat)) == pytest.approx((glon, glat), abs=1e-9)


@pytest.mark.parametrize(("wlon", "wlat", "glon", "glat"), WGS_GCJ)
def test_gcj02_to_wgs84_inverts_the_published_pairs(wlon, wlat, glon, glat):
    lon, lat = gcj02_to_wgs84(glon, glat)
    # the bar is 0.5 m (eviltransform's gcj2wgs_exact); we iterate to ~0.2 mm
    assert _metres(lon, lat, wlon, wlat) < 0.002


# Published forward BD-09 pairs: (function, lon, lat, expected lon, expected lat)
BD_FORWARD = [
    # wandergis/coordtransform, test/app.js (gcj02tobd09); hutool gcj02ToBd09Test
    (gcj02_to_bd09, 116.404, 39.915, 116.41036949371029, 39.92133699351021),
    # dromara/hutool, hutool-core CoordinateUtilTest (wgs84toBd09Test, and
    # wgs84toBd09Test2 whose answer hutool took from tool.lu/coordinate)
    (wgs84_to_bd09, 116.404, 39.915, 116.41662724378733, 39.922699552216216),
    (wgs84_to_bd09, 122.99395597, 44.99804071, 123.00636516028885, 45.0063690918959),
]


@pytest.mark.parametrize(("fn", "lon", "lat", "xlon", "xlat"), BD_FORWARD)
def test_bd09_forward_gives_the_published_pairs(fn, lon, lat, xlon, xlat):
    got = fn(lon, lat)
    assert (float(got[0]), float(got[1])) == pytest.approx((xlon, xlat), abs=1e-9)


# Published inverse pairs, computed by their authors with a closed form (BD-09) or
# a coarser iteration, so they differ from the exact inverse by centimetres.
INVERSES = [
    # wandergis/coordtransform, test/app.js (bd09togcj02; hutool bd09toGcj02Test):
    # the closed form, 4.4 cm from the exact inverse here
    (bd09_to_gcj02, 116.404, 39.915, 116.39762729119315, 39.90865673957631, 0.1),
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts and BD09.spec.ts (checked
    # there to 5 decimals, ±0.5 m): 1.6 cm, 9 cm and 10 cm from ours
    (gcj02_to_wgs84, 123.0, 45.0, 122.99395597, 44.99804071, 0.05),
    (bd09_to_gcj02, 123.0, 45.0, 122.99363304, 44.99365430, 0.2),
    (bd09_to_wgs84, 123.0, 45.0, 122.98762210, 44.99171540, 0.2),
]


@pytest.mark.parametrize(("fn", "lon", "lat", "xlon", "xlat", "metres"), INVERSES)
def test_inverses_agree_with_published_pairs(fn, lon, lat, xlon, xlat, metres):
    assert _metres(*fn(lon, lat), xlon, xlat) < metres


def test_gcoord_gcj02_to_bd09_pair():
    # hujiulong/gcoord, test/unit/crs/GCJ02.spec.ts: GCJ-02 (123, 45) → BD-09,
    # checked there to 5 decimals
    lon, lat = gcj02_to_bd09(123.0, 45.0)
    assert (float(lon), float(lat)) == pytest.approx((123.00636499, 45.00636899),
                                                     abs=5e-8)


# A grid over China (73.6–134.8°E, 18.2–53.4°N), 150 × 120 points.
_LON, _LAT = np.meshgrid(np.linspace(73.6, 134.8, 150), np.linspace(18.2, 53.4, 120))


@pytest.mark.parametrize(
    ("forward", "inverse"),
    [(wgs84_to_gcj02, gcj02_to_wgs84), (gcj02_to_bd09, bd09_to_gcj02),
     (wgs84_to_bd09, bd09_to_wgs84)],
)
def test_round_trips_over_china_are_within_half_a_metre(forward, inverse):
    lon, lat = inverse(*forward(_LON, _LAT))
    assert lon.shape == _LON.shape
    error = _metres(lon, lat, _LON, _LAT)
    assert error.max() < 0.002  # bar 0.5 m; measured ~0.2 mm


def test_the_offsets_have_their_known_size():
    # GCJ-02 moves Tian'anmen (116.3975, 39.9087) ~600 m (north-)east: published
    # figures for Beijing say "several hundred metres"
    shift = _metres(*wgs84_to_gcj02(116.3975, 39.9087), 116.3975, 39.9087)
    assert 500 < shift < 700
    lon, lat = wgs84_to_gcj02(116.3975, 39.9087)
    assert lon > 116.3975 and lat > 39.9087
    # over all China the GCJ-02 shift stays below 800 m (18–715 m on this grid),
    # and BD-09 adds a further ~0.006° (760–990 m)
    glon, glat = wgs84_to_gcj02(_LON, _LAT)
    assert 0 < _metres(glon, glat, _LON, _LAT).min()
    assert _metres(glon, glat, _LON, _LAT).max() < 800
    bd = _metres(*gcj02_to_bd09(glon, glat), glon, glat)
    assert 700 < bd.min() and bd.max() < 1000


ALL_SIX = [wgs84_to_gcj02, gcj02_to_wgs84, gcj02_to_bd09, bd09_to_gcj02,
           wgs84_to_bd09, bd09_to_wgs84]


@pytest.mark.parametrize("fn", ALL_SIX)
def test_outside_china_nothing_moves(fn):
    # Paris, New York, (0, 0), just west of the box, and NaN (stays NaN)
    lon = np.array([2.35, -74.0, 0.0, 72.0, np.nan])
    lat = np.array([48.85, 40.7, 0.0, 30.0, 31.0])
    got_lon, got_lat = fn(lon, lat)
    np.testing.assert_array_equal(got_lon, lon)
    np.testing.assert_array_equal(got_lat, lat)


@pytest.mark.parametrize("fn", ALL_SIX)
def test_arrays_in_arrays_out(fn):
    lon, lat = fn(np.full((2, 3), 116.4), 39.9)  # broadcast
    assert lon.shape == lat.shape == (2, 3)
    assert fn(116.4, 39.9)[0].shape == ()
    assert fn([], [])[0].shape == (0,)
    # a point outside among points inside changes nothing for the others, and one
    # point alone (computed with numpy scalars) gives what it gives in an array
    mixed = fn([116.4, 2.35], [39.9, 48.85])
    alone = fn(116.4, 39.9)
    assert (mixed[0][0], mixed[1][0]) == pytest.approx(
        (float(alone[0]), float(alone[1])), abs=1e-12)
    assert (mixed[0][1], mixed[1][1]) == (2.35, 48.85)


def test_a_million_points_are_vectorised():
    # A loop per point in Python would take 10-20 s; vectorised, the inverse takes
    # ~0.5 s on 2 idle cores (bench figures are not for tests: the limit is loose,
    # for loaded CI machines)
    rng = np.random.default_rng(1)
    lon, lat = rng.uniform(73.6, 134.8, 1_000_000), rng.uniform(18.2, 53.4, 1_000_000)
    glon, glat = wgs84_to_gcj02(lon, lat)
    best = math.inf
    for _ in range(2):
        started = time.perf_counter()
        back = gcj02_to_wgs84(glon, glat)
        best = min(best, time.perf_counter() - started)
    assert best < 5.0
    assert np.abs(back[0] - lon).max() < 1e-7


# -- the dispatcher -----------------------------------------------------------------


@pytest.mark.parametrize(("name", "expected"), [
    ("wgs84", "wgs84"), ("WGS-84", "wgs84"), ("EPSG:4326", "wgs84"),
    ("cgcs2000", "cgcs2000"), ("epsg:4490", "cgcs2000"), ("GCJ-02", "gcj02"),
    ("bd09", "bd09"), ("epsg:4549", "EPSG:4549"), ("EPSG:4513", "EPSG:4513"),
])
def test_crs_names(name, expected):
    assert normalize_crs(name) == expected


@pytest.mark.parametrize("name", ["utm", "EPSG:3857", "EPSG:4512", "EPSG:4555", "",
                                  "gcj", None, "EPSG:45x9"])
def test_unknown_crs_names_the_accepted_values(name):
    with pytest.raises(ValueError, match="wgs84, cgcs2000, gcj02, bd09"):
        to_wgs84(116.4, 39.9, name)


def test_to_wgs84_dispatches():
    lon, lat = np.array([116.404, 121.5]), np.array([39.915, 31.2])
    for name in ("wgs84", "cgcs2000"):  # the same within centimetres: unchanged
        np.testing.assert_array_equal(to_wgs84(lon, lat, name), (lon, lat))
    np.testing.assert_array_equal(to_wgs84(lon, lat, "gcj02"),
                                  gcj02_to_wgs84(lon, lat))
    np.testing.assert_array_equal(to_wgs84(lon, lat, "BD09"), bd09_to_wgs84(lon, lat))


@pytest.mark.parametrize("k", range(21))
def test_gauss_kruger_central_meridians(k):
    # on its central meridian a zone's easting is the false easting: 500 000 m, or
    # with the zone number prefixed (zone = CM / 3), zone · 10⁶ + 500 000 m
    cm = 75 + 3 * k
    lon, _ = to_wgs84(500000.0, 3_500_000.0, f"EPSG:{4534 + k}")
    assert float(lon) == pytest.approx(cm, abs=1e-9)
    lon, _ = to_wgs84((cm // 3) * 1e6 + 500000.0, 3_500_000.0, f"EPSG:{4513 + k}")
    assert float(lon) == pytest.approx(cm, abs=1e-9)


def test_gauss_kruger_round_trip_through_pyproj():
    lon, lat = np.array([119.6, 119.75, 121.4]), np.array([31.2, 31.25, 31.3])
    x, y = to_metric(geopandas.GeoSeries.from_xy(lon, lat, crs=WGS84)).get_coordinates(
    ).to_numpy().T
    back = to_wgs84(x, y, "EPSG:4549")
    assert _metres(*back, lon, lat).max() < 1e-6
    # 0.01° of latitude is 1108.74 m on the central meridian (see above)
    _, lat2 = to_wgs84([500000.0, 500000.0], [3_460_000.0, 3_461_108.74], "EPSG:4549")
    assert float(lat2[1] - lat2[0]) == pytest.approx(0.01, abs=1e-6)
