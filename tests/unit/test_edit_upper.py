"""geo.edit above level 4: splitting a grid with children, re-coding, free codes."""

import pytest
import shapely

from geo.edit import (
    CROSS_SHARE,
    EditError,
    area_m2,
    free_codes,
    merge,
    recode,
    split_with_children,
)

# A 0.03° × 0.01° village near 120°E 31°N (about 2.86 km × 1.11 km) tiled by
# three comprehensive grids of 0.01° × 0.01° side by side, west to east.
X0, Y0 = 120.0, 31.0
VILLAGE = shapely.box(X0, Y0, X0 + 0.03, Y0 + 0.01)
KIDS = {f"v00{i + 1}": shapely.box(X0 + 0.01 * i, Y0, X0 + 0.01 * (i + 1), Y0 + 0.01)
        for i in range(3)}


def _vertical(x):
    return shapely.LineString([(x, Y0 - 0.005), (x, Y0 + 0.015)])


def test_the_part_with_more_households_keeps_the_code():
    # the line on the edge between v001 and v002: v001 alone is the western part;
    # it holds 60 households against 10 + 10, so it keeps the code
    edit = split_with_children(VILLAGE, _vertical(X0 + 0.01), "v", "w", KIDS,
                               {"v001": 60, "v002": 10, "v003": 10})
    assert edit.adopted == {"v002": "w", "v003": "w"}
    assert edit.changed["v"].equals(KIDS["v001"])
    assert edit.created["w"].equals(shapely.box(X0 + 0.01, Y0, X0 + 0.03, Y0 + 0.01))
    assert edit.carry_down is False and edit.split_from == "v"


def test_equal_households_leave_the_code_with_the_larger_area():
    edit = split_with_children(VILLAGE, _vertical(X0 + 0.01), "v", "w", KIDS, {})
    assert edit.adopted == {"v001": "w"}  # two grids' area beats one


def test_a_line_straying_a_little_still_follows_the_edge():
    # 1 % of v002's width off the edge: under CROSS_SHARE (5 %), so v002 goes
    # whole to the east and the new boundary is exactly the grids' edge
    assert CROSS_SHARE == 0.05
    edit = split_with_children(VILLAGE, _vertical(X0 + 0.0101), "v", "w", KIDS, {})
    assert edit.adopted == {"v001": "w"}
    assert edit.created["w"].equals(KIDS["v001"])


def test_a_line_crossing_a_child_names_it():
    # through the middle of v002: half of it on each side
    with pytest.raises(EditError, match="crosses grid.*v002") as err:
        split_with_children(VILLAGE, _vertical(X0 + 0.015), "v", "w", KIDS, {})
    assert err.value.field == "line"
    assert "v001" not in str(err.value) and "v003" not in str(err.value)


def test_a_line_leaving_every_child_on_one_side_is_refused():
    # 0.0002° into v001 (2 % of it): it cuts the village in two, every child
    # stays west or east as a whole, but the thin strip holds no child
    with pytest.raises(EditError, match="on one side"):
        split_with_children(VILLAGE, _vertical(X0 + 0.0002), "v", "w", KIDS, {})


def test_a_line_missing_the_grid_is_refused():
    with pytest.raises(EditError, match="does not cross"):
        split_with_children(VILLAGE, _vertical(X0 + 0.5), "v", "w", KIDS, {})


def test_merging_grids_that_only_touch_at_a_corner_is_refused():
    corner = shapely.box(X0 + 0.03, Y0 + 0.01, X0 + 0.04, Y0 + 0.02)
    with pytest.raises(EditError, match="not adjacent"):
        merge({"a": VILLAGE, "b": corner}, "a")
    edit = merge({"a": KIDS["v001"], "b": KIDS["v002"]}, "a")
    # the union of two squares sharing an edge: the sum of their areas
    assert area_m2([edit.changed["a"]])[0] == pytest.approx(
        area_m2([KIDS["v001"], KIDS["v002"]]).sum(), rel=1e-9)
    assert edit.changed["a"].equals(shapely.box(X0, Y0, X0 + 0.02, Y0 + 0.01))
    assert edit.removed == ["b"] and edit.carry_down is False


@pytest.mark.parametrize(("used", "count", "expected"), [
    (set(), 2, ["320282105001", "320282105002"]),
    ({"320282105001", "320282105002", "320282105004"}, 2,
     ["320282105003", "320282105005"]),
    # a code of another parent does not block the same last digits here
    ({"320282106001"}, 1, ["320282105001"]),
])
def test_free_codes(used, count, expected):
    assert free_codes("320282105", used, count) == expected


def test_no_free_code_left():
    used = {f"320282105{n:03d}" for n in range(1, 1000)}
    with pytest.raises(EditError, match="no free code"):
        free_codes("320282105", used, 1)


def test_recode_numbers_the_adopted_after_the_taken_and_keeps_the_tails():
    # kept village ...007 has children 001, 002 (and 003 in its history):
    # ...008's 001 and 003 come in as 004 and 005, their micro-grids follow
    adopted = {"320282105008001": "320282105007", "320282105008003": "320282105007"}
    taken = {"320282105007001", "320282105007002", "320282105007003"}
    below = ["320282105008003002", "320282105008001001"]
    assert recode(adopted, taken, below) == {
        "320282105008001": "320282105007004",
        "320282105008003": "320282105007005",
        "320282105008001001": "320282105007004001",
        "320282105008003002": "320282105007005002",
    }


def test_recode_refuses_a_stray_descendant():
    with pytest.raises(EditError, match="not below"):
        recode({"320282105008001": "320282105007"}, set(), ["320282105006001001"])
