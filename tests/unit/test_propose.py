"""Micro-grid proposals: counts within bounds, exact tiling, compact shapes."""

import numpy as np
import pytest
import shapely

from geo.propose import (
    ProposalError,
    bisect_groups,
    compactness,
    group_count,
    propose_micro_grids,
)

# An L-shaped parent, 2 km × 2 km minus the upper-right 1 km square: 3 km² (metres).
L_SHAPE = shapely.Polygon([(0, 0), (2000, 0), (2000, 1000), (1000, 1000),
                           (1000, 2000), (0, 2000)])


def _households(n, seed=3):
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, 2000, size=(4 * n, 2))
    inside = shapely.contains_xy(L_SHAPE, xy[:, 0], xy[:, 1])
    return xy[inside][:n]


@pytest.mark.parametrize(("n", "k"), [(50, 1), (120, 2), (700, 9), (1000, 13),
                                      (199, 3), (101, 2)])
def test_group_count_keeps_every_grid_within_50_to_100(n, k):
    assert group_count(n) == k
    assert 50 <= n / k <= 100


@pytest.mark.parametrize("n", [0, 49])
def test_too_few_households_cannot_make_a_micro_grid(n):
    with pytest.raises(ProposalError, match="cannot make micro-grids"):
        group_count(n)


def test_bisection_balances_to_one_household():
    xy = _households(643)
    labels = bisect_groups(xy, 9)
    counts = np.bincount(labels)
    # 643 / 9 = 71.4: every group holds 71 or 72
    assert set(counts) <= {71, 72} and counts.sum() == 643


def test_proposal_tiles_the_parent_and_respects_the_bounds():
    xy = _households(700)
    polygons, labels = propose_micro_grids(L_SHAPE, xy)
    counts = np.bincount(labels)
    assert len(polygons) == 9
    assert counts.min() >= 50 and counts.max() <= 100 and counts.sum() == 700
    # exact tiling: 3,000,000 m² in all, no overlap, every polygon one piece
    assert sum(p.area for p in polygons) == pytest.approx(3_000_000, abs=1)
    assert shapely.union_all(polygons).area == pytest.approx(3_000_000, abs=1)
    assert all(p.geom_type == "Polygon" for p in polygons)
    # each household lies in the polygon of its group
    pts = shapely.points(xy)
    assert all(shapely.intersects(polygons[g], p)
               for g, p in zip(labels, pts, strict=True))
    assert compactness(polygons).mean() > 0.3


def test_compactness_known_answers():
    square = shapely.box(0, 0, 10, 10)  # 4π·100 / 40² = π/4
    sliver = shapely.box(0, 0, 100, 1)  # 4π·100 / 202²
    assert compactness([square])[0] == pytest.approx(np.pi / 4)
    assert compactness([sliver])[0] == pytest.approx(4 * np.pi * 100 / 202 ** 2)


def test_a_piece_cut_off_from_every_other_group_ends_the_repair():
    """Faces 0 and 1 are one group, 2 another; face 1 touches nothing (its part of
    the parent was cut off by a redraw). The repair keeps face 0, cannot move face
    1 anywhere, and must stop instead of looping for ever (a planner's
    propose-micro held a server worker that way)."""
    import signal

    from geo.partition import _make_contiguous

    label = np.array([0, 0, 1])
    parent = np.zeros(3, dtype=int)
    pairs = (np.array([0]), np.array([2]), np.array([100.0]))
    area = np.array([10_000.0, 100.0, 5_000.0])

    def stuck(*_):
        raise TimeoutError("_make_contiguous did not return")

    previous = signal.signal(signal.SIGALRM, stuck)
    signal.alarm(5)
    try:
        result = _make_contiguous(label, parent, pairs, area)
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    assert result.tolist() == [0, 0, 1]
