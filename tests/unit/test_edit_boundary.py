"""geo.edit on boundaries that come back from clients: heights, rounding, and a
boundary sent back unchanged (security issue, items 8 and 11)."""

import pytest
import shapely
from shapely.geometry import mapping

from geo.edit import (
    SNAP_DEGREES,
    EditError,
    area_m2,
    boundary_from_geojson,
    redraw,
)

X0, Y0 = 120.0, 31.0
# a 0.01° square (about 955 m × 1,113 m, 1.06 km²) with a slit from its top edge
# halfway down, 8e-10° (0.08 mm) wide: valid, but at 9 decimals (the API's
# output) both sides of the slit round to 120.005 and the ring touches itself
SLIT = shapely.Polygon([
    (X0, Y0), (X0 + 0.01, Y0), (X0 + 0.01, Y0 + 0.01),
    (X0 + 0.0050000004, Y0 + 0.01), (X0 + 0.0050000004, Y0 + 0.005),
    (X0 + 0.0049999996, Y0 + 0.005), (X0 + 0.0049999996, Y0 + 0.01),
    (X0, Y0 + 0.01)])
BOWTIE = {"type": "Polygon", "coordinates": [[
    [X0, Y0], [X0 + 0.01, Y0 + 0.01], [X0 + 0.01, Y0], [X0, Y0 + 0.01], [X0, Y0]]]}


def _rounded(geom, decimals):
    return shapely.transform(geom, lambda xy: xy.round(decimals))


@pytest.mark.parametrize(("value", "kinds"), [
    ({"type": "Polygon", "coordinates": [[[X0, Y0, 5.0], [X0 + 0.01, Y0, 5.0],
                                          [X0 + 0.01, Y0 + 0.01, 5.0],
                                          [X0, Y0, 5.0]]]},
     ("Polygon", "MultiPolygon")),
    ({"type": "MultiPolygon", "coordinates": [[[[X0, Y0, 1], [X0 + 0.01, Y0, 2],
                                                [X0 + 0.01, Y0 + 0.01],
                                                [X0, Y0, 1]]]]},
     ("Polygon", "MultiPolygon")),
    ({"type": "LineString", "coordinates": [[X0, Y0, 3.5], [X0 + 0.01, Y0, 3.5]]},
     ("LineString",)),
])
def test_a_height_is_dropped(value, kinds):
    geom = boundary_from_geojson(value, kinds=kinds)
    assert not geom.has_z
    flat = shapely.force_2d(shapely.from_geojson(str(value).replace("'", '"')))
    assert shapely.equals_exact(geom, flat, tolerance=0)


def test_a_boundary_crossing_itself_by_rounding_is_repaired():
    assert SLIT.is_valid
    rounded = _rounded(SLIT, 9)
    assert not rounded.is_valid
    geom = boundary_from_geojson(mapping(rounded))
    assert geom.is_valid and geom.geom_type == "Polygon"
    # the slit is 8e-10° × 0.005° ≈ 0.04 m²: the repair closes it, nothing more
    assert abs(area_m2([geom])[0] - area_m2([SLIT])[0]) < 0.1
    assert shapely.hausdorff_distance(geom, SLIT) < 0.0051  # the slit's depth


def test_a_bowtie_is_still_refused():
    with pytest.raises(EditError, match="Self-intersection") as caught:
        boundary_from_geojson(BOWTIE)
    assert caught.value.field == "geometry"


def _crossed_corner(d):
    """The 0.01° square (1.06 km²) with its south-west corner replaced by two
    points ``d`` south and ``d`` west of it, visited in the wrong order: the ring
    crosses itself at the corner, around a lobe of ``d``² / 2."""
    return shapely.Polygon([(X0 + 0.01, Y0), (X0 + 0.01, Y0 + 0.01),
                            (X0, Y0 + 0.01), (X0, Y0 - d), (X0 - d, Y0)])


SQUARE = shapely.box(X0, Y0, X0 + 0.01, Y0 + 0.01)


def test_a_corner_crossed_over_by_a_hair_keeps_the_main_lobe():
    """d = 2e-5° (about 2 m): a lobe of about 2 m², under the tolerance (1e-5
    of 1.06 km² is 10.6 m²): dropped."""
    crossed = _crossed_corner(0.00002)
    assert not crossed.is_valid
    geom = boundary_from_geojson(mapping(crossed))
    assert geom.geom_type == "Polygon"
    assert area_m2([shapely.symmetric_difference(geom, SQUARE)])[0] < 0.01


def test_a_corner_crossed_over_by_metres_is_refused():
    """d = 2e-4° (about 20 m): a lobe of about 200 m²."""
    with pytest.raises(EditError, match="Self-intersection"):
        boundary_from_geojson(mapping(_crossed_corner(0.0002)))


SIBLINGS = {"a": shapely.box(X0, Y0, X0 + 0.01, Y0 + 0.01),
            "b": shapely.box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01)}
PARENT = shapely.box(X0, Y0, X0 + 0.02, Y0 + 0.01)


@pytest.mark.parametrize("decimals", [15, 9, 6])
def test_the_boundary_a_grid_has_sent_back_changes_nothing(decimals):
    edit = redraw(SIBLINGS, "a", _rounded(SIBLINGS["a"], decimals), PARENT)
    assert edit.changed == {} and edit.created == {} and edit.gaps == []


def test_a_boundary_moved_by_more_than_the_snap_is_an_edit():
    moved = shapely.box(X0, Y0, X0 + 0.01 + 20 * SNAP_DEGREES, Y0 + 0.01)  # 2 m
    edit = redraw(SIBLINGS, "a", moved, PARENT)
    assert set(edit.changed) == {"a", "b"}
