"""geo.crs: the CGCS2000 Gauss-Krüger zone of a longitude, and moving data to it."""

import doctest
import math

import geopandas
import pyproj
import pytest
import shapely

import geo.crs
from geo.crs import WGS84, gk_zone_epsg, metric_crs_for, to_metric


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
