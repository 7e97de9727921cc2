"""geo.deployment against pyproj's geodesics, and its margin by hand."""

import numpy as np
import pyproj
import pytest
import shapely

from geo.deployment import MARGIN_M, Area, compass, round_km

GEOD = pyproj.Geod(ellps="WGS84")
# a town-sized box in Jiangsu
TOWN = shapely.box(119.70, 31.20, 119.80, 31.30)


@pytest.mark.parametrize(("lon", "lat", "near"), [
    # due north of the north edge: the nearest point is straight below
    (119.75, 32.30, (119.75, 31.30)),
    # south-west of the south-west corner: the corner
    (100.5018, 13.7563, (119.70, 31.20)),
    # due east of the east edge, 1,000 km away
    (130.30, 31.25, (119.80, 31.25)),
])
def test_distance_is_the_geodesic_from_the_nearest_point(lon, lat, near):
    metres, azimuth = Area([TOWN]).away([lon], [lat])
    # the reference: pyproj's geodesic from the nearest point, taken by hand
    az, _, expected = GEOD.inv(near[0], near[1], lon, lat)
    assert metres[0] == pytest.approx(expected, rel=0.01)
    assert compass(azimuth[0]) == compass(az)


def test_the_margin_is_two_kilometres_either_side_of_it():
    area = Area([TOWN])
    # metres per degree of longitude at 31.25°N, from pyproj
    _, _, per_degree = GEOD.inv(119.80, 31.25, 120.80, 31.25)
    east = 119.80 + np.array([MARGIN_M - 100, MARGIN_M + 100]) / per_degree
    assert area.contains(east, [31.25, 31.25]).tolist() == [True, False]
    assert area.contains([119.75, np.nan], [31.25, 31.25]).tolist() == [True, False]


def test_compass_and_rounding():
    assert [compass(a)[0] for a in (0, 45, 90, 135, 180, -135, -90, -45, 359)] == [
        "北", "东北", "东", "东南", "南", "西南", "西", "西北", "北"]
    assert (round_km(1_046_000), round_km(99_400), round_km(1_949)) == (
        "1,050", "99", "1.9")


def test_an_area_needs_a_polygon():
    with pytest.raises(ValueError):
        Area([])
