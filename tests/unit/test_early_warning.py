"""Early warning: known answers, planted outbreaks found, quiet data left quiet."""

import datetime as dt

import numpy as np
import pytest
from scipy.stats import nbinom

from geo.demo.outbreaks import generate
from geo.early_warning import (
    day_factors,
    emerging_clusters,
    expected,
    prior,
    warn,
)

TODAY = dt.date(2026, 11, 30)


def _warnings(cube):
    return warn(cube.series, TODAY, cube.counts, cube.days, cube.groups,
                cube.categories)


def test_weekday_pattern_is_recovered_from_the_totals():
    days = np.arange(np.datetime64("2026-01-05"), np.datetime64("2026-01-05") + 70)
    # Mondays (2026-01-05 is one) have twice the incidents of any other day
    totals = np.where(np.arange(70) % 7 == 0, 20.0, 10.0)
    factors = day_factors(totals, days)
    assert factors[0] == pytest.approx(2 * factors[1], rel=0.01)
    assert factors.mean() == pytest.approx(1.0)


def test_a_series_with_no_history_is_judged_by_its_neighbours():
    # 99 grids with 10 incidents over 100 days of exposure, one with none: the
    # prior's mean rate is the pooled one, and the empty grid expects about it
    counts = np.array([10] * 99 + [0])
    exposure = np.full(100, 100.0)
    shared = prior(counts, exposure)
    assert shared.shape / shared.rate == pytest.approx(990 / 10000)
    mean, shape, p = expected([0], [100.0], [7.0], shared)
    assert mean[0] == pytest.approx(7 * shape[0] / (shared.rate + 100))
    # and five incidents in a week there is surprising, at the predictive tail
    assert nbinom.sf(4, shape[0], p[0]) < 0.01


def test_planted_outbreaks_are_warned_where_and_since_when_they_began():
    cube = generate(1000, TODAY, outbreaks=5, extra=2.0, seed=7)
    found = _warnings(cube)
    for code, category, start in cube.outbreaks:
        hits = [w for w in found
                if w["series"][1] == category and code.startswith(w["series"][0])]
        assert hits, (code, category)
        at_grid = [w for w in hits if w["series"][0] == code]
        assert at_grid, f"{code} {category} warned only above the micro-grid"
        warning = at_grid[0]
        assert warning["observed"] > warning["expected"]
        assert warning["q"] <= 0.05
        # the outbreak's first extra incident was on or after its first day; the
        # series' ordinary incidents may start the suffix a day or two earlier
        assert np.datetime64(warning["since"]) >= start - 3
        assert warning["since"] <= TODAY


def test_quiet_data_gives_a_false_alarm_on_few_days():
    # FDR control at q = 0.05 with nothing happening bounds the chance of any
    # warning on a day by 0.05: 2 or more such days out of 20 has probability
    # 0.26 at the bound, 4 or more 0.016
    alarms = sum(bool(_warnings(generate(1000, TODAY, seed=seed)))
                 for seed in range(20))
    assert alarms <= 3


def test_days_before_records_began_are_not_a_quiet_history():
    # A deployment whose records began a month into the 13-month history (the
    # demo city: a year of incidents, a history of 395 days). The empty first
    # month is not a quiet November: before, its month factor came out at the
    # 0.1 floor, every series' November expectation a tenth of its rate, and a
    # steady city got thousands of warnings (13,764 of 88,800 series).
    cube = generate(1000, TODAY, seed=3)
    cube.counts[:, :30] = 0
    found = _warnings(cube)
    assert len(found) <= 3, [(w["observed"], w["expected"]) for w in found[:5]]
    # and an outbreak there is still found
    cube = generate(1000, TODAY, outbreaks=5, extra=2.0, seed=7)
    cube.counts[:, :30] = 0
    found = _warnings(cube)
    warned = {(w["series"][0], w["series"][1]) for w in found}
    assert sum((code, category) in warned
               for code, category, _ in cube.outbreaks) >= 4


def test_too_short_a_history_gives_no_warning():
    # records began 40 days ago: 10 days of baseline are no history to judge by
    cube = generate(1000, TODAY, outbreaks=5, extra=2.0, seed=7)
    cube.counts[:, :-40] = 0
    assert _warnings(cube) == []


def test_a_planted_space_time_cluster_is_found_where_it_is():
    days = np.arange(np.datetime64("2025-11-01"), np.datetime64("2026-12-01"))
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.01, size=(60, 60, len(days)))
    counts[30:33, 20:23, -3:] += 1                      # 27 extra in three days
    found = emerging_clusters(counts, days, TODAY)
    assert found
    best = found[0]
    assert abs(best["iy"] - 31) <= 1 and abs(best["ix"] - 21) <= 1
    assert best["since"] >= dt.date(2026, 11, 26)
    assert best["p"] <= 0.01


def test_quiet_cells_give_no_space_time_cluster_on_most_days():
    days = np.arange(np.datetime64("2025-11-01"), np.datetime64("2026-12-01"))
    alarms = 0
    for seed in range(10):
        rng = np.random.default_rng(seed)
        counts = rng.poisson(rng.gamma(2.0, 0.01, size=(40, 40))[:, :, None],
                             size=(40, 40, len(days)))
        alarms += bool(emerging_clusters(counts, days, TODAY, seed=seed,
                                         replicas=49))
    assert alarms <= 2
