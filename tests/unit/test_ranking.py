"""geo/ranking.py: score, ranks and the bottom three, known answers by hand."""

import math

import numpy as np
import pytest

from geo import ranking

NAN = math.nan


@pytest.mark.parametrize(("resolution", "timeliness", "coverage", "expected"), [
    # all three known: 100 × (0.5·0.8 + 0.3·0.5 + 0.2·0.25) = 100 × 0.6 = 60
    (0.8, 0.5, 0.25, 60.0),
    # coverage unknown: (0.5·0.4 + 0.3·0.6) / 0.8 = 0.38 / 0.8 = 0.475
    (0.4, 0.6, NAN, 47.5),
    # timeliness unknown: (0.5·1 + 0.2·0.5) / 0.7 = 0.6 / 0.7 = 0.857142… → 85.71
    (1.0, NAN, 0.5, 85.71),
    # only coverage: 0.3 → 30
    (NAN, NAN, 0.3, 30.0),
    # all perfect, all zero
    (1.0, 1.0, 1.0, 100.0),
    (0.0, 0.0, 0.0, 0.0),
])
def test_score_known_answers(resolution, timeliness, coverage, expected):
    assert ranking.score([resolution], [timeliness], [coverage])[0] == expected


def test_score_of_nothing_known_is_nan():
    assert np.isnan(ranking.score([NAN], [NAN], [NAN])[0])


def test_score_takes_none_and_a_scalar_for_unknown_coverage():
    # coverage unknown everywhere: one NaN broadcast over the grids
    got = ranking.score([0.4, 1.0], [0.6, None], NAN)
    # second grid: resolution alone → 100
    assert got.tolist() == [47.5, 100.0]


def test_score_with_other_weights():
    # 2:1:1 → (2·0.5 + 1·1 + 1·0) / 4 = 0.5
    w = {"resolution": 2, "timeliness": 1, "coverage": 1}
    assert ranking.score([0.5], [1.0], [0.0], weights=w)[0] == 50.0


@pytest.mark.parametrize("bad", [1.2, -0.1])
def test_a_share_outside_0_1_is_refused(bad):
    with pytest.raises(ValueError, match="timeliness"):
        ranking.score([0.5], [bad], [0.5])


def test_ranks_competition_style_and_unranked():
    #          a   b   c   d    e   f
    scores = [70, 90, 70, NAN, 50, 95]
    # f 1st, b 2nd, a and c share 3rd, e 5th (4th skipped), d unranked
    assert ranking.ranks(scores).tolist() == [3, 2, 3, 0, 5, 1]


def test_ranks_of_nothing():
    assert ranking.ranks([]).tolist() == []
    assert ranking.ranks([NAN, NAN]).tolist() == [0, 0]


def test_bottom_three_of_eight():
    scores = [88.5, 47.5, 100.0, 61.2, 75.0, 52.0, 90.1, 80.0]
    # lowest three: 47.5, 52.0, 61.2
    assert np.flatnonzero(ranking.bottom(scores)).tolist() == [1, 3, 5]


def test_bottom_ties_at_the_boundary_are_all_flagged():
    # sorted: 40, 50, 60, 60, 80 — the third-lowest score is tied: both flagged
    scores = [60, 80, 40, 60, 50]
    assert ranking.bottom(scores).tolist() == [True, False, True, True, True]


def test_bottom_ignores_unranked_and_small_sets():
    # NaN never flagged; 4 ranked grids: the lowest 3 flagged
    assert ranking.bottom([NAN, 10, 20, 30, 40]).tolist() == [
        False, True, True, True, False]
    # 3 ranked grids or fewer: nobody is "last three"
    assert not ranking.bottom([NAN, 10, 20, 30]).any()
    assert ranking.bottom([10, 20, 30, 40], n=1).tolist() == [True, False, False,
                                                              False]


def test_rate_and_change():
    assert ranking.rate([3, 0, 2], [4, 0, 3]).tolist()[:1] == [0.75]
    assert np.isnan(ranking.rate([0], [0])[0])
    # (5 − 4) / 4 = 0.25; (5 − 2) / 2 = 1.5; from 0: undefined
    got = ranking.change([5, 5, 1], [4, 2, 0])
    assert got[:2].tolist() == [0.25, 1.5] and np.isnan(got[2])
