"""geo.edit.redraw_together: a vertex shared by neighbouring grids moved in all of
them leaves no gap and no overlap; a gap handed to a neighbour (issue 16,
Planner, "Editing at a junction always leaves a gap")."""

import pytest
import shapely

from geo.edit import EditError, gap_neighbours, redraw, redraw_together

X0, Y0 = 120.0, 31.0
D = 0.01
# Three grids tiling a 0.02° × 0.01° rectangle: A (west), B (north-east), C
# (south-east). A|B and A|C meet at the junction J on A's east side; B|C runs
# from J east. A has J as a vertex, and so do B and C.
J = (X0 + D, Y0 + D / 2)
A = shapely.Polygon([(X0, Y0), (X0 + D, Y0), J, (X0 + D, Y0 + D), (X0, Y0 + D)])
B = shapely.Polygon([J, (X0 + 2 * D, Y0 + D / 2), (X0 + 2 * D, Y0 + D),
                     (X0 + D, Y0 + D)])
C = shapely.Polygon([(X0 + D, Y0), (X0 + 2 * D, Y0), (X0 + 2 * D, Y0 + D / 2), J])
PARENT = shapely.box(X0, Y0, X0 + 2 * D, Y0 + D)
GRIDS = {"a": A, "b": B, "c": C}
# J moved west into A by 0.005°, in all three grids
J2 = (X0 + D / 2, Y0 + D / 2)


def _moved(geom):
    return shapely.Polygon([J2 if c == J else c for c in geom.exterior.coords])


def test_the_junction_moved_in_all_three_leaves_no_gap_nor_overlap():
    edit = redraw_together(GRIDS, {c: _moved(g) for c, g in GRIDS.items()}, PARENT)
    assert edit.gaps == []
    assert sorted(edit.changed) == ["a", "b", "c"]
    # known answer, by hand: A loses the triangle (X0+D, Y0), J2, (X0+D, Y0+D) of
    # base D (north-south) and height D/2: D²/4 = 2.5e-5 deg²; B and C gain one
    # half each (D/2 × D/2 / 2 = 1.25e-5 deg²)
    assert edit.changed["a"].area == pytest.approx(D * D - D * D / 4)
    assert edit.changed["b"].area == pytest.approx(D * D / 2 + D * D / 8)
    assert edit.changed["c"].area == pytest.approx(D * D / 2 + D * D / 8)
    union = shapely.union_all(list(edit.changed.values()))
    assert shapely.symmetric_difference(union, PARENT).area < 1e-15  # no gap
    total = sum(g.area for g in edit.changed.values())
    assert total == pytest.approx(PARENT.area, rel=1e-12)  # no overlap


def test_the_same_move_in_one_grid_only_leaves_a_gap():
    # what the page did before: only A redrawn; the gap is the triangle A lost
    edit = redraw(GRIDS, "a", _moved(A), PARENT)
    assert len(edit.gaps) == 1
    assert edit.gaps[0].area == pytest.approx(D * D / 4)
    # A's two new edges border it (2 × D/2·√2), then B and C (D/2 each, in code
    # order)
    assert edit.gap_borders == [["a", "b", "c"]]


def test_a_gap_handed_to_a_neighbour_is_gone():
    gap_at = shapely.Point(X0 + D * 0.9, Y0 + D / 2)  # inside the lost triangle
    edit = redraw_together(GRIDS, {"a": _moved(A)}, PARENT, give=[(gap_at, "c")])
    assert edit.gaps == []
    assert sorted(edit.changed) == ["a", "c"]
    assert edit.changed["c"].area == pytest.approx(D * D / 2 + D * D / 4)
    assert len(shapely.get_parts(edit.changed["c"])) == 1


@pytest.mark.parametrize(("give", "words"), [
    ([(shapely.Point(X0 + D / 10, Y0 + D / 10), "b")], "no gap"),  # inside A
    ([(shapely.Point(X0 + D * 0.9, Y0 + D / 2), "x")], "not a sibling"),
    ([(shapely.Point(X0 + D * 0.9, Y0 + D / 2), "b"),
      (shapely.Point(X0 + D * 0.9, Y0 + D / 2), "c")], "no gap"),  # given twice
])
def test_a_gap_cannot_be_handed_wrongly(give, words):
    with pytest.raises(EditError, match=words) as err:
        redraw_together(GRIDS, {"a": _moved(A)}, PARENT, give=give)
    assert err.value.field == "give"


def test_a_gap_goes_only_to_a_grid_that_borders_it():
    # D is a fourth grid east of the parent's rectangle, far from the gap
    far = shapely.box(X0 + 3 * D, Y0, X0 + 4 * D, Y0 + D)
    grids = GRIDS | {"d": far}
    parent = shapely.union(PARENT, far)
    with pytest.raises(EditError, match="does not border grid d"):
        redraw_together(grids, {"a": _moved(A)}, parent,
                        give=[(shapely.Point(X0 + D * 0.9, Y0 + D / 2), "d")])


def test_an_unknown_neighbour_is_refused():
    with pytest.raises(EditError, match="not a sibling") as err:
        redraw_together(GRIDS, {"a": A, "x": B}, PARENT)
    assert err.value.field == "neighbours"


def test_gap_neighbours_ignore_a_corner_touch():
    gap = shapely.box(0, 0, 1, 1)
    assert gap_neighbours(gap, {"corner": shapely.box(1, 1, 2, 2),
                                "side": shapely.box(1, 0, 2, 1)}) == ["side"]
