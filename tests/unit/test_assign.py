"""geo.assign: which polygon holds each point, vectorised."""

import doctest

import geopandas
import numpy as np
import pytest
import shapely

import geo.assign
from geo.assign import assign, assign_codes

# A 2×2 grid of unit squares, numbered row by row from the bottom left:
#   2 | 3
#   --+--
#   0 | 1
SQUARES = [
    shapely.box(0, 0, 1, 1),
    shapely.box(1, 0, 2, 1),
    shapely.box(0, 1, 1, 2),
    shapely.box(1, 1, 2, 2),
]
CODES = ["A", "B", "C", "D"]

CASES = [
    # (point, expected index) — on a shared edge the lowest index wins
    ((0.5, 0.5), 0),
    ((1.5, 0.5), 1),
    ((0.5, 1.5), 2),
    ((1.5, 1.5), 3),
    ((1.0, 0.5), 0),  # edge 0|1
    ((1.5, 1.0), 1),  # edge 1|3
    ((0.5, 1.0), 0),  # edge 0|2
    ((1.0, 1.5), 2),  # edge 2|3
    ((1.0, 1.0), 0),  # corner of all four
    ((0.0, 0.5), 0),  # outer edge
    ((2.0, 2.0), 3),  # outer corner
    ((2.5, 0.5), -1),  # outside
    ((-1e-9, 0.5), -1),  # just outside
]
POINTS = shapely.points([c[0] for c in CASES])
EXPECTED = np.array([c[1] for c in CASES])


def test_points_inside_on_edges_and_outside():
    # 13 points over 4 polygons: the tree is built on the points
    np.testing.assert_array_equal(assign(POINTS, SQUARES), EXPECTED)


def test_same_answer_with_the_tree_on_the_polygons():
    # fewer points than polygons: the tree is built on the polygons instead
    for point, expected in CASES:
        assert assign(shapely.points([point]), SQUARES).tolist() == [expected]


def test_lowest_index_wins_whatever_the_order():
    reversed_squares = SQUARES[::-1]
    got = assign(shapely.points([(1.0, 1.0), (1.0, 0.5)]), reversed_squares)
    # corner: all four hold it, index 0 is now square 3; edge 0|1 is now 3|2
    assert got.tolist() == [0, 2]


def test_missing_and_empty_points_get_minus_one():
    points = np.array([None, shapely.Point(), shapely.Point(0.5, 0.5)], dtype=object)
    assert assign(points, SQUARES).tolist() == [-1, -1, 0]


def test_missing_polygons_hold_nothing():
    polygons = [None, SQUARES[1]]
    assert assign(shapely.points([(0.5, 0.5), (1.5, 0.5)]), polygons).tolist() == [
        -1,
        1,
    ]


def test_empty_inputs():
    assert assign([], SQUARES).tolist() == []
    assert assign(POINTS, []).tolist() == [-1] * len(POINTS)
    assert assign(POINTS, SQUARES).dtype == np.int64


def test_geoseries_and_multipolygons():
    points = geopandas.GeoSeries(POINTS)
    polygons = geopandas.GeoSeries(shapely.multipolygons(SQUARES, indices=[0, 1, 2, 3]))
    np.testing.assert_array_equal(assign(points, polygons), EXPECTED)
    np.testing.assert_array_equal(
        assign(geopandas.GeoDataFrame(geometry=points), polygons), EXPECTED
    )


def test_wrong_geometry_types_are_refused():
    with pytest.raises(TypeError, match="Point"):
        assign([shapely.LineString([(0, 0), (1, 1)])], SQUARES)
    with pytest.raises(TypeError, match="Polygon"):
        assign(POINTS, [shapely.Point(0, 0)])
    with pytest.raises(TypeError, match="not a geometry"):
        assign(["POINT (0 0)"], SQUARES)


def test_codes():
    got = assign_codes(POINTS, SQUARES, CODES)
    expected = [CODES[i] if i >= 0 else None for i in EXPECTED]
    assert got.dtype == object
    assert got.tolist() == expected
    with pytest.raises(ValueError, match="3 codes given for 4 polygons"):
        assign_codes(POINTS, SQUARES, CODES[:3])


def test_agrees_with_a_brute_force_answer():
    rng = np.random.default_rng(0)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(
            shapely.multipoints(rng.uniform(0, 100, (60, 2))),
            extend_to=shapely.box(0, 0, 100, 100),
        )
    )
    cells = shapely.intersection(cells, shapely.box(0, 0, 100, 100))
    points = shapely.points(rng.uniform(-5, 105, (3000, 2)))
    hits = shapely.intersects(cells[:, None], points[None, :])  # (60, 3000)
    brute = np.where(hits.any(axis=0), hits.argmax(axis=0), -1)
    np.testing.assert_array_equal(assign(points, cells), brute)


def test_doctests():
    assert doctest.testmod(geo.assign).failed == 0
