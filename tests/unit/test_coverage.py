"""geo/coverage.py: view polygons, covered shares, blind spots, greedy siting.

Known answers by hand: a sector of angle θ and radius r has area θ/360 · π r²; the
views are inscribed in the true arcs (a chord every 4°), so they come within
1 - sin 4° / 4° = 0.08 % of it, inside the 0.5 % asked.
"""

import math

import numpy as np
import pytest
import shapely
from pyproj import Geod

from geo import coverage

GEOD = Geod(ellps="GRS80")


def _one(kind, bearing, fov, reach, x=0.0, y=0.0):
    return coverage.view_polygons([x], [y], [kind], [bearing], [fov], [reach])[0]


def _at(bearing_deg, distance):
    """The point ``distance`` metres from the origin on ``bearing_deg``."""
    a = math.radians(bearing_deg)
    return shapely.Point(distance * math.sin(a), distance * math.cos(a))


def test_a_sector_inside_a_square_grid_covers_its_known_share():
    # 200 m × 200 m grid; 60° sector of 80 m from the centre looking north:
    # it reaches y = 180 and x = ±40, inside. Area 60/360 · π · 80² = 3,351.03 m²,
    # share 3,351.03 / 40,000 = 0.083776.
    grid = shapely.box(0, 0, 200, 200)
    view = coverage.view_polygons([100.0], [100.0], ["fixed"], [0.0], [60.0], [80.0])
    out = coverage.coverage_by_grid([grid], view)
    assert out["area_m2"][0] == pytest.approx(40_000)
    assert out["covered_m2"][0] / out["area_m2"][0] == pytest.approx(0.083776,
                                                                     rel=0.005)
    # the blind spot is the rest of the square
    assert out["blind"][0].area == pytest.approx(40_000 - 3_351.03, rel=0.001)


@pytest.mark.parametrize(("bearing", "distance", "inside"), [
    (0, 50, True),       # straight ahead
    (29, 50, True),      # just inside the 30° half-angle
    (-29, 50, True),
    (31, 50, False),     # just outside
    (-31, 50, False),
    (0, 99, True),       # at the range limit
    (0, 101, False),
    (180, 10, False),    # behind the camera
])
def test_a_point_against_a_60_degree_sector(bearing, distance, inside):
    view = _one("fixed", 0.0, 60.0, 100.0)
    assert view.intersects(_at(bearing, distance)) is inside


@pytest.mark.parametrize(("bearing", "inside"), [
    (15, True), (24, True), (26, False),     # bearing 355 ± 30: 325 … 25
    (326, True), (324, False), (355, True), (0, True), (180, False),
])
def test_a_sector_across_north_wraps_round(bearing, inside):
    view = _one("fixed", 355.0, 60.0, 100.0)
    assert view.intersects(_at(bearing, 60)) is inside


def test_a_ptz_is_a_disc_whatever_its_bearing():
    disc = _one("ptz", float("nan"), 60.0, 50.0)  # PTZ: angle and bearing ignored
    assert disc.area == pytest.approx(math.pi * 50**2, rel=0.005)
    for bearing in range(0, 360, 45):
        assert disc.intersects(_at(bearing, 49))
        assert not disc.intersects(_at(bearing, 51))


def test_a_checkpoint_is_a_sector_and_360_degrees_is_a_disc():
    assert _one("checkpoint", 90.0, 30.0, 40.0).area == pytest.approx(
        30 / 360 * math.pi * 40**2, rel=0.005)
    assert _one("fixed", 90.0, 360.0, 40.0).area == pytest.approx(
        math.pi * 40**2, rel=0.005)


@pytest.mark.parametrize(("kind", "bearing", "fov", "reach", "word"), [
    ("dome", 0, 60, 10, "unknown kind"),
    ("fixed", 0, 60, 0, "range_m"),
    ("fixed", float("nan"), 60, 10, "bearing"),
    ("fixed", 0, 0, 10, "field of view"),
])
def test_bad_views_are_refused_naming_the_camera(kind, bearing, fov, reach, word):
    with pytest.raises(ValueError, match=word):
        coverage.view_polygons([0.0, 1.0], [0.0, 1.0], ["ptz", kind],
                               [0.0, bearing], [360, fov], [5, reach])


def test_households_in_and_out_of_view_per_grid():
    # two 100 m squares side by side; a PTZ of 30 m at (50, 50) in the left one.
    grids = [shapely.box(0, 0, 100, 100), shapely.box(100, 0, 200, 100)]
    disc = coverage.view_polygons([50.0], [50.0], ["ptz"], [np.nan], [360], [30.0])
    households = np.array([
        [50, 60],    # left, 10 m from the camera: seen
        [50, 79],    # left, 29 m: seen
        [90, 90],    # left, 57 m: not seen
        [150, 50],   # right: not seen
    ], dtype=float)
    out = coverage.coverage_by_grid(grids, disc, households, [0, 0, 0, 1])
    assert out["points"].tolist() == [3, 1]
    assert out["covered_points"].tolist() == [2, 0]
    assert out["covered_m2"][0] == pytest.approx(math.pi * 900, rel=0.005)
    assert out["covered_m2"][1] == 0
    assert out["blind"][1].equals(shapely.multipolygons([grids[1]]))
    assert coverage.covered_points(households, disc).tolist() == [
        True, True, False, False]


def test_a_view_across_two_grids_counts_in_both_and_leaves_no_blind_spot():
    grids = [shapely.box(0, 0, 10, 10), shapely.box(10, 0, 20, 10)]
    disc = coverage.view_polygons([10.0], [5.0], ["ptz"], [np.nan], [360], [100.0])
    out = coverage.coverage_by_grid(grids, disc)
    assert out["covered_m2"].tolist() == pytest.approx([100, 100])
    assert out["blind"].tolist() == [None, None]


def test_the_recommendation_picks_the_obvious_site_first_and_gains_fall():
    # households: 10 around x = 0, 3 around x = 500, 1 at x = 1000; one site at
    # each place and one in the empty middle; PTZ of 50 m.
    rng = np.random.default_rng(0)
    points = np.vstack([rng.uniform(-20, 20, (10, 2)),
                        rng.uniform(-20, 20, (3, 2)) + [500, 0], [[1000, 0]]])
    sites = np.array([[250, 0], [1000, 0], [500, 0], [0, 0]], dtype=float)
    picks = coverage.recommend(sites, points, np.ones(len(points)), 5, 50.0)
    assert [p["site"] for p in picks] == [3, 2, 1]   # empty site never chosen
    assert [p["gain"] for p in picks] == [10, 3, 1]
    # the cluster at 500 already seen by an existing camera (weight 0)
    weights = np.ones(len(points))
    weights[10:13] = 0
    picks = coverage.recommend(sites, points, weights, 5, 50.0)
    assert [p["site"] for p in picks] == [3, 1]


def test_a_fixed_camera_recommendation_chooses_the_bearing_that_sees_most():
    # 5 households 40 m east of the site, 2 at 40 m west: a 90° fixed camera
    # looking east (bearing 90) sees the five.
    points = np.array([[40, y] for y in (-8, -4, 0, 4, 8)] + [[-40, 0], [-40, 4]],
                      dtype=float)
    picks = coverage.recommend([[0.0, 0.0]], points, np.ones(7), 2, 60.0,
                               kind="fixed", fov_deg=90.0)
    assert (picks[0]["bearing"], picks[0]["gain"]) == (90.0, 5.0)
    assert (picks[1]["bearing"], picks[1]["gain"]) == (270.0, 2.0)


def test_greedy_max_cover_stops_when_nothing_is_left_to_gain():
    from scipy import sparse

    sets = sparse.csr_matrix([[1, 1, 0], [1, 1, 0], [0, 0, 1]])
    chosen, gains, newly = coverage.greedy_max_cover(sets, np.ones(3), 5)
    assert chosen == [0, 2] and gains == [2.0, 1.0]
    assert [n.tolist() for n in newly] == [[0, 1], [2]]


def test_the_lattice_is_anchored_on_multiples_of_the_spacing():
    pts = coverage.lattice(shapely.box(5, 5, 305, 105), 100)
    assert pts.tolist() == [[100, 100], [200, 100], [300, 100]]


# -- in EPSG:4326, on the ground -------------------------------------------------

def _fwd(lon, lat, bearing, distance):
    x, y, _ = GEOD.fwd(lon, lat, bearing, distance)
    return shapely.Point(x, y)


@pytest.mark.parametrize("lon", [119.75, 118.6])  # near the CM 120°E, and 1.4° off
def test_a_sector_in_wgs84_agrees_with_geodesic_bearings_and_distances(lon):
    lat = 31.25
    view = coverage.view_polygons_wgs84([lon], [lat], ["fixed"], [0.0], [60.0],
                                        [100.0])[0]
    # 1.4° from the central meridian grid north is 0.73° off true north: an
    # uncorrected sector would put 29.5° or -29.5° outside
    for bearing, distance, inside in [(29.5, 50, True), (-29.5, 50, True),
                                      (30.5, 50, False), (-30.5, 50, False),
                                      (0, 99, True), (0, 101, False)]:
        assert view.intersects(_fwd(lon, lat, bearing, distance)) is inside, (
            bearing, distance)
    area = abs(GEOD.geometry_area_perimeter(view)[0])
    assert area == pytest.approx(60 / 360 * math.pi * 100**2, rel=0.005)


def test_views_in_wgs84_across_the_north_wrap_and_a_disc():
    lon, lat = 119.9, 31.3
    views = coverage.view_polygons_wgs84(
        [lon, lon], [lat, lat], ["fixed", "ptz"], [350.0, np.nan], [40.0, 360.0],
        [80.0, 120.0])
    sector, disc = views
    assert sector.intersects(_fwd(lon, lat, 8, 40))       # 350 + 20 = 10
    assert not sector.intersects(_fwd(lon, lat, 12, 40))
    assert sector.intersects(_fwd(lon, lat, 332, 40))     # 350 - 20 = 330
    assert not sector.intersects(_fwd(lon, lat, 328, 40))
    assert disc.intersects(_fwd(lon, lat, 200, 119))
    assert not disc.intersects(_fwd(lon, lat, 200, 121))
