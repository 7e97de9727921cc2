"""Cells and counts of the heatmap (geo/density.py), with answers counted by hand."""

import numpy as np
import pytest
import shapely

from geo import density as dens

CATEGORIES = ("dispute", "environment", "public_order")
CODES = ("320282105001001001", "320282105001001002", "320282105002001001",
         "320282106001001001")


def _cube(rows):
    """rows: (category, day, code, ix, iy, n), sorted here as the loader does."""
    a = np.array(rows, dtype=np.int64)
    a = a[np.lexsort((a[:, 1], a[:, 0]))]
    return dens.Cube(categories=CATEGORIES, codes=CODES, category=a[:, 0],
                     day=a[:, 1], code=a[:, 2], ix=a[:, 3], iy=a[:, 4], n=a[:, 5],
                     cell_m=50.0)


# (category, day, code, ix, iy, n)
ROWS = [
    (0, 10, 0, 100, 200, 2),
    (0, 11, 1, 101, 200, 1),
    (0, 12, 2, 100, 201, 4),
    (1, 10, 0, 100, 200, 3),
    (1, 15, 3, 90, 190, 5),
    (2, 9, 2, 103, 203, 7),
    (2, 11, 0, 100, 200, 1),
]


def test_cell_index_floors_negative_coordinates():
    ix, iy = dens.cell_index([-0.1, 0, 99.9, 100, 3_456_789.0],
                             [-50, -50.1, 0, 1, 520_000.0], 50)
    assert ix.tolist() == [-1, 0, 1, 2, 69135]
    assert iy.tolist() == [-1, -2, 0, 0, 10400]
    with pytest.raises(ValueError):
        dens.cell_index([0], [0], 0)


def test_cell_polygons_and_centres():
    square = dens.cell_polygons([2], [-1], 50)[0]
    assert square.bounds == (100.0, -50.0, 150.0, 0.0)
    assert shapely.area(square) == 2500
    x, y = dens.cell_centres([2], [-1], 50)
    assert (x[0], y[0]) == (125.0, -25.0)


def test_select_window_categories_and_prefix():
    cube = _cube(ROWS)
    code, ix, iy, n = dens.select(cube)
    assert int(n.sum()) == 23
    # days 10-11, all categories: rows with n 2, 1, 3, 1
    assert int(dens.select(cube, 10, 11)[3].sum()) == 7
    # open start, day <= 10: 2 + 3 + 7
    assert int(dens.select(cube, None, 10)[3].sum()) == 12
    assert int(dens.select(cube, 10, 12, ["dispute"])[3].sum()) == 7
    assert int(dens.select(cube, categories=["environment", "public_order"])[3]
               .sum()) == 16
    # village 320282105001: codes 0 and 1 -> 2 + 1 + 3 + 1
    assert int(dens.select(cube, prefix="320282105001")[3].sum()) == 7
    # town 320282105: codes 0-2 -> all but the 5 of code 3
    assert int(dens.select(cube, prefix="320282105")[3].sum()) == 18
    assert int(dens.select(cube, prefix="320282107")[3].sum()) == 0
    assert len(dens.select(cube, 20, 30)[0]) == 0
    with pytest.raises(ValueError, match="unknown"):
        dens.select(cube, categories=["fire"])


def test_code_range_is_the_like_prefix():
    cube = _cube(ROWS)
    for prefix in ("", "3", "320282105", "320282105001", "320282105001001002",
                   "320282106", "320282104", "99"):
        lo, hi = cube.code_range(prefix)
        assert list(range(lo, hi)) == [
            i for i, c in enumerate(CODES) if c.startswith(prefix)], prefix


def test_cube_checks_its_order():
    a = np.array(ROWS, dtype=np.int64)
    with pytest.raises(ValueError, match="sorted"):
        dens.Cube(categories=CATEGORIES, codes=CODES, category=a[::-1, 0],
                  day=a[::-1, 1], code=a[:, 2], ix=a[:, 3], iy=a[:, 4], n=a[:, 5],
                  cell_m=50.0)


def _as_dict(cx, cy, count):
    return {(a, b): k for a, b, k in zip(cx.tolist(), cy.tolist(), count.tolist(),
                                         strict=True)}


def test_bin_cells_by_integer_division():
    cube = _cube(ROWS)
    _, ix, iy, n = dens.select(cube)
    # finest: (100,200) 2+3+1, (101,200) 1, (100,201) 4, (90,190) 5, (103,203) 7
    cx, cy, count = dens.bin_cells(ix, iy, n)
    got = _as_dict(cx, cy, count)
    assert got == {(100, 200): 6, (101, 200): 1, (100, 201): 4, (90, 190): 5,
                   (103, 203): 7}
    # 200 m cells (factor 4): 100..103 // 4 = 25, 200..203 // 4 = 50; 90 // 4 = 22,
    # 190 // 4 = 47
    cx, cy, count = dens.bin_cells(ix, iy, n, 4)
    got = _as_dict(cx, cy, count)
    assert got == {(25, 50): 18, (22, 47): 5}
    # coarsening twice by 2 is coarsening once by 4
    cx2, cy2, count2 = dens.bin_cells(*dens.bin_cells(ix, iy, n, 2), 2)
    assert _as_dict(cx2, cy2, count2) == got
    # a window in coarse indices keeps only (25, 50)
    cx, cy, count = dens.bin_cells(ix, iy, n, 4, window=(23, 48, 30, 60))
    assert (cx.tolist(), cy.tolist(), count.tolist()) == ([25], [50], [18])
    assert [len(a) for a in dens.bin_cells([], [], [], 2)] == [0, 0, 0]


def test_factor_for_zoom():
    # zoom 14 at 31.2 N: 156543.03 * cos(31.2) / 2**14 = 8.17 m per pixel;
    # 20 pixels = 163 m -> 163 / 50 = 3.3 -> 4 (200 m cells)
    assert dens.factor_for_zoom(14, 31.2, 50) == 4
    assert dens.factor_for_zoom(18, 31.2, 50) == 1
    # zoom 8: 523 m per pixel * 20 / 50 = 209 -> 256 (12.8 km cells)
    assert dens.factor_for_zoom(8, 31.2, 50) == 256


def test_class_breaks_and_classes():
    counts = [1] * 50 + [2] * 20 + [3] * 10 + [5] * 10 + [9] * 5 + [30] * 5
    # 100 cells: the 20th, 40th, 60th, 80th and 100th counts are 1, 1, 2, 3, 30
    breaks = dens.class_breaks(counts)
    assert breaks == [1, 2, 3, 30]
    classes = dens.classify([1, 2, 3, 4, 30], breaks)
    assert classes.tolist() == [0, 0, 1, 2, 2]
    assert dens.class_breaks([0, 0]) == []
    assert dens.class_breaks([4, 4, 4]) == [4]
    assert dens.classify([4], [4]).tolist() == [0]


def test_changes_kept_beside_the_sorted_rows():
    cube = _cube(ROWS)
    # an incident of category 2 moved from cell (103, 203) on day 9 to (50, 60)
    # on day 20, and a new one of category 0 on day 10 for code 3
    changed = cube.with_changes([2, 2, 0], [9, 20, 10], [2, 2, 3],
                                [103, 50, 80], [203, 60, 80], [-1, 1, 1])
    assert len(cube.changes) == 0  # the cube itself is unchanged
    _, ix, iy, n = dens.select(changed)
    assert int(n.sum()) == 24
    got = _as_dict(*dens.bin_cells(ix, iy, n))
    assert got[(103, 203)] == 6 and got[(50, 60)] == 1 and got[(80, 80)] == 1
    # the window, the categories and the prefix apply to the changes too
    assert int(dens.select(changed, 9, 9)[3].sum()) == 7 - 1
    assert int(dens.select(changed, categories=["dispute"])[3].sum()) == 7 + 1
    assert int(dens.select(changed, prefix="320282106")[3].sum()) == 5 + 1
    assert int(dens.select(changed, prefix="320282105001")[3].sum()) == 7
    twice = changed.with_changes([0], [10], [3], [80], [80], [-1])
    assert len(twice.changes[0]) == 4
    assert int(dens.select(twice)[3].sum()) == 23


def test_quartic_kernel_density_of_one_incident_by_hand():
    # 50 m cells, bandwidth 100 m: weights (1 − d²/h²)² at the cell centres are
    # 1 (centre), 0.5625 (4 edge neighbours at 50 m), 0.25 (4 corners at 70.7 m),
    # 0 from 100 m on: 4.25 in all, so the centre keeps 1/4.25 of the incident
    # on 0.0025 km²
    cx, cy, d = dens.kernel_density([10], [20], [1], 50, 100)
    got = {(int(x), int(y)): v for x, y, v in zip(cx, cy, d, strict=True)}
    assert len(got) == 9
    assert got[10, 20] == pytest.approx(1 / 4.25 / 0.0025)        # 94.12 per km²
    assert got[11, 20] == pytest.approx(0.5625 / 4.25 / 0.0025)   # 52.94
    assert got[9, 21] == pytest.approx(0.25 / 4.25 / 0.0025)      # 23.53
    # the raster holds the incident: densities × cell area sum to it
    assert sum(got.values()) * 0.0025 == pytest.approx(1.0)


def test_kernel_density_in_a_window_counts_incidents_just_outside():
    # an incident one cell left of the window still tints the window's edge
    cx, cy, d = dens.kernel_density([-1], [0], [4], 50, 100, window=(0, 0, 5, 5))
    assert cx.min() >= 0 and (0, 0) in set(zip(cx.tolist(), cy.tolist(), strict=True))
    assert d.max() == pytest.approx(4 * 0.5625 / 4.25 / 0.0025)
