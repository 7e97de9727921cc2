"""geo.topology.check_hierarchy on hand-made fixtures with areas known by hand.

The fixtures are drawn in metres in EPSG:4549 (CGCS2000 / 3-degree Gauss-Krüger CM
120°E, the zone the check itself picks for them) near (120.0°E, 31.25°N), and
handed to the check in EPSG:4326, as the database holds them.
"""

import geopandas
import numpy as np
import pytest
import shapely
from pyproj import Transformer
from shapely import Point, Polygon, box

from geo.topology import KINDS, check_hierarchy

ZONE = "EPSG:4549"
X0, Y0 = 500_000.0, 3_460_000.0  # on the central meridian, latitude ≈ 31.26°
_TO_DEG = Transformer.from_crs(ZONE, "EPSG:4326", always_xy=True).transform
_TO_M = Transformer.from_crs("EPSG:4326", ZONE, always_xy=True).transform

TOWN, VILLAGE = "320282105", "320282105001"
GRID = "320282105001001"  # level 3, the parent of the micro-grids below
A, B = GRID + "001", GRID + "002"


def rect(x0, y0, x1, y1):
    """A rectangle, in metres east and north of (X0, Y0) like every fixture."""
    return box(x0, y0, x1, y1)


def poly(*xy):
    return Polygon(xy)


def to_degrees(g):
    return shapely.transform(shapely.transform(g, lambda xy: xy + [X0, Y0]),
                             _TO_DEG, interleaved=False)


def frame(*rows):
    """Rows of (code, level, parent_code, geometry in metres from (X0, Y0)) → a
    GeoDataFrame in EPSG:4326."""
    code, level, parent, geometry = zip(*rows, strict=True)
    degrees = [to_degrees(g) for g in geometry]
    return geopandas.GeoDataFrame(
        {"code": code, "name": code, "level": level, "parent_code": parent},
        geometry=degrees, crs="EPSG:4326")


def family(a, b, parent=None):
    """Grid GRID (200 m × 100 m, level 3) with micro-grids A and B.

    Untouched, A = left half and B = right half tile GRID exactly.
    """
    return frame((GRID, 3, VILLAGE, parent or rect(0, 0, 200, 100)),
                 (A, 4, GRID, a), (B, 4, GRID, b))


LEFT, RIGHT = rect(0, 0, 100, 100), rect(100, 0, 200, 100)


def metres(geojson):
    """A problem's GeoJSON geometry back in metres relative to (X0, Y0)."""
    g = shapely.transform(shapely.geometry.shape(geojson), _TO_M, interleaved=False)
    return shapely.transform(g, lambda xy: xy - [X0, Y0])


def only(report, kind, where="errors"):
    found = [p for p in report[where] if p["kind"] == kind]
    assert len(found) == 1, report
    return found[0]


def test_exact_tiling_has_no_problem():
    assert check_hierarchy(family(LEFT, RIGHT)) == {"errors": [], "slivers": []}


def test_overlap_between_siblings():
    # B reaches 10 m into A over 20 m of their shared edge: 10 × 20 = 200 m²
    b = shapely.union(RIGHT, rect(90, 40, 100, 60))
    report = check_hierarchy(family(LEFT, b))
    problem = only(report, "overlap")
    assert report["errors"] == [problem] and report["slivers"] == []
    assert problem["codes"] == [A, B]
    assert problem["area_m2"] == pytest.approx(200, abs=0.5)
    assert "200 m²" in problem["message"] and A in problem["message"]
    where = metres(problem["geometry"])
    assert where.area == pytest.approx(200, abs=0.5)
    assert shapely.symmetric_difference(where, rect(90, 40, 100, 60)).area < 0.01


def test_gap_inside_the_parent():
    # A loses its lower-left 30 m × 30 m corner, which no child covers: 900 m²
    a = shapely.difference(LEFT, rect(0, 0, 30, 30))
    report = check_hierarchy(family(a, RIGHT))
    problem = only(report, "gap")
    assert report["errors"] == [problem]
    assert problem["codes"] == [GRID, A]  # the parent, then the children beside it
    assert problem["area_m2"] == pytest.approx(900, abs=0.5)
    assert "900 m²" in problem["message"]
    assert metres(problem["geometry"]).centroid.distance(Point(15, 15)) < 0.01


def test_hole_in_a_child_is_a_gap():
    # a 30 m × 30 m courtyard cut out of A, inside the parent: 900 m²
    a = shapely.difference(LEFT, rect(40, 40, 70, 70))
    problem = only(check_hierarchy(family(a, RIGHT)), "gap")
    assert problem["area_m2"] == pytest.approx(900, abs=0.5)


def test_child_sticking_out_of_its_parent():
    # B bulges 5 m beyond the parent's right edge over 40 m: 5 × 40 = 200 m²
    b = shapely.union(RIGHT, rect(200, 30, 205, 70))
    report = check_hierarchy(family(LEFT, b))
    problem = only(report, "outside_parent")
    assert report["errors"] == [problem]
    assert problem["codes"] == [B, GRID]
    assert problem["area_m2"] == pytest.approx(200, abs=0.5)
    assert metres(problem["geometry"]).centroid.distance(Point(202.5, 50)) < 0.01


def test_overlap_gap_and_protrusion_together_each_part_apart():
    # A shifted 10 m right: overlaps B by 10 × 100 = 1,000 m², leaves a 10 m strip
    # at the parent's left edge uncovered (1,000 m²); B's own 30 m × 30 m notch at
    # the top right is a second gap (900 m²); and B bulges 5 m × 40 m out (200 m²).
    a = rect(10, 0, 110, 100)
    b = shapely.union(shapely.difference(RIGHT, rect(170, 70, 200, 100)),
                      rect(200, 30, 205, 70))
    report = check_hierarchy(family(a, b))
    got = sorted((p["kind"], round(p["area_m2"], 1)) for p in report["errors"])
    assert got == [("gap", 900.0), ("gap", 1000.0), ("outside_parent", 200.0),
                   ("overlap", 1000.0)]
    assert report["slivers"] == []


def test_small_overlap_is_a_sliver_not_an_error():
    # B reaches 0.5 m into A over 1 m: 0.5 m², under the default 1 m² tolerance
    b = shapely.union(RIGHT, rect(99.5, 10, 100, 11))
    report = check_hierarchy(family(LEFT, b))
    assert report["errors"] == []
    sliver = only(report, "overlap", "slivers")
    assert sliver["area_m2"] == pytest.approx(0.5, abs=0.01)
    # with a tolerance of 0.1 m² the same overlap is an error
    strict = check_hierarchy(family(LEFT, b), sliver_m2=0.1)
    assert only(strict, "overlap")["area_m2"] == pytest.approx(0.5, abs=0.01)
    assert strict["slivers"] == []


def test_shared_edge_with_extra_vertex_is_no_problem():
    # A has a vertex in the middle of the shared edge that B lacks: the edges do
    # not match vertex for vertex, but nothing overlaps and nothing is missing.
    a = poly((0, 0), (100, 0), (100, 50), (100, 100), (0, 100))
    assert check_hierarchy(family(a, RIGHT)) == {"errors": [], "slivers": []}


def test_bow_tie_is_invalid_at_its_crossing():
    # the diagonals of A's square cross at (50, 50)
    bow_tie = poly((0, 0), (100, 100), (100, 0), (0, 100), (0, 0))
    report = check_hierarchy(family(bow_tie, RIGHT))
    problem = only(report, "invalid_geometry")
    assert problem["codes"] == [A]
    assert "Self-intersection" in problem["message"]
    assert problem["area_m2"] is None
    assert problem["geometry"]["type"] == "Point"
    assert metres(problem["geometry"]).distance(Point(50, 50)) < 0.01
    # the repaired bow-tie (two triangles of 100 × 50 / 2 = 2,500 m²) leaves the
    # other two triangles of A's square uncovered
    gaps = [p["area_m2"] for p in report["errors"] if p["kind"] == "gap"]
    assert gaps == pytest.approx([2500, 2500], abs=0.5)


@pytest.mark.parametrize(("geometry", "reason"), [
    (None, "empty geometry"),
    (Polygon(), "empty geometry"),
    (shapely.LineString([(100, 0), (200, 100)]), "LineString, not a polygon")])
def test_missing_or_not_polygonal_geometry(geometry, reason):
    grids = family(LEFT, RIGHT)
    grids.loc[2, "geometry"] = None if geometry is None else to_degrees(geometry)
    report = check_hierarchy(grids)
    problem = only(report, "invalid_geometry")
    assert problem["codes"] == [B] and reason in problem["message"]
    # B's half of the parent is then covered by nothing: 100 × 100 = 10,000 m²
    assert only(report, "gap")["area_m2"] == pytest.approx(10_000, abs=0.5)


def test_code_not_starting_with_its_parents():
    stray = "320282106001001001"
    grids = frame((GRID, 3, VILLAGE, rect(0, 0, 200, 100)), (A, 4, GRID, LEFT),
                  (stray, 4, GRID, RIGHT))
    problem = only(check_hierarchy(grids), "code_prefix")
    assert problem["codes"] == [stray, GRID]
    assert stray in problem["message"] and GRID in problem["message"]
    assert metres(problem["geometry"]).within(RIGHT)


def test_level_must_be_the_parents_plus_one():
    grids = frame((GRID, 3, VILLAGE, rect(0, 0, 200, 100)), (A, 4, GRID, LEFT),
                  (GRID + "002", 3, GRID, RIGHT))
    problem = only(check_hierarchy(grids), "level")
    assert problem["codes"] == [GRID + "002", GRID]


@pytest.mark.parametrize(("count", "bad"), [
    (40, True), (49, True), (50, False), (100, False), (101, True), (0, True)])
def test_household_count_of_micro_grids(count, bad):
    report = check_hierarchy(family(LEFT, RIGHT), {A: count, B: 75})
    found = [p for p in report["errors"] if p["kind"] == "households"]
    assert len(found) == int(bad)
    if bad:
        assert found[0]["codes"] == [A]
        assert f"{count} " in found[0]["message"]
        assert metres(found[0]["geometry"]).within(LEFT)


def test_missing_household_count_is_zero():
    report = check_hierarchy(family(LEFT, RIGHT), {A: 60})
    assert only(report, "households")["codes"] == [B]


def test_top_grids_are_checked_as_siblings():
    # two towns, no parent in the frame, overlapping by 10 × 100 = 1,000 m²
    grids = frame((TOWN, 1, None, rect(0, 0, 100, 100)),
                  ("320282106", 1, None, rect(90, 0, 190, 100)))
    problem = only(check_hierarchy(grids), "overlap")
    assert problem["area_m2"] == pytest.approx(1000, abs=0.5)


def test_report_is_ordered_and_plain():
    a = shapely.difference(LEFT, rect(0, 0, 30, 30))
    b = shapely.union(RIGHT, rect(90, 40, 100, 60))
    report = check_hierarchy(family(a, b), {A: 10, B: 75})
    kinds = [p["kind"] for p in report["errors"]]
    assert kinds == sorted(kinds, key=KINDS.index) == ["overlap", "gap", "households"]
    for p in report["errors"]:
        assert set(p) == {"kind", "codes", "message", "area_m2", "geometry"}


def test_empty_frame():
    grids = frame((GRID, 3, VILLAGE, LEFT)).iloc[:0]
    assert check_hierarchy(grids) == {"errors": [], "slivers": []}


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"sliver_m2": -1}, "sliver_m2"), ({"sliver_m2": float("nan")}, "sliver_m2"),
    ({"household_range": (100, 50)}, "household_range")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        check_hierarchy(family(LEFT, RIGHT), **kwargs)


def test_bad_frames():
    grids = family(LEFT, RIGHT)
    with pytest.raises(ValueError, match="parent_code"):
        check_hierarchy(grids.drop(columns="parent_code"))
    with pytest.raises(ValueError, match="repeat"):
        check_hierarchy(grids.assign(code=[GRID, A, A]))
    with pytest.raises(ValueError, match="CRS"):
        check_hierarchy(grids.set_crs(None, allow_override=True))


def test_demo_town_is_clean(demo_town):
    counts = demo_town.households["grid_code"].value_counts().to_dict()
    report = check_hierarchy(demo_town.grids, counts)
    assert report == {"errors": [], "slivers": []}
    assert np.array_equal(np.sort(demo_town.grids["level"].unique()), [1, 2, 3, 4])


def test_demo_town_with_a_micro_grid_moved(demo_town):
    # moving one micro-grid 5 m east keeps its area: what it takes from its
    # neighbours (overlaps, and protrusions where it leaves its parent) and what it
    # leaves behind (gaps) add up to the same area on both sides of the move
    grids = demo_town.grids.copy()
    i = int(np.flatnonzero(grids["level"] == 4)[10])
    moved = grids.geometry.iloc[[i]].to_crs(ZONE).translate(5, 0).to_crs("EPSG:4326")
    grids.loc[grids.index[i], "geometry"] = moved.iloc[0]
    report = check_hierarchy(grids)
    code = grids["code"].iloc[i]
    every = report["errors"] + report["slivers"]
    took = sum(p["area_m2"] for p in every
               if p["kind"] in ("overlap", "outside_parent") and code in p["codes"])
    left = sum(p["area_m2"] for p in every if p["kind"] == "gap")
    assert took > 100
    assert took == pytest.approx(left, rel=1e-6)
    assert {p["kind"] for p in report["errors"]} <= {"overlap", "gap",
                                                     "outside_parent"}
