"""Daily incident counts with known outbreaks: the answer key early warning is
measured against (``python -m bench warnings``, ``tests/unit/test_early_warning.py``).

Micro-grids sit in a hierarchy (``per_parent`` children per comprehensive grid,
per village, one town); each micro-grid and category has its own rate, drawn from
a Gamma distribution (grids differ: a market street has more disputes than a
hamlet), about ``per_year`` incidents a year on average, modulated by a season
(more in summer) and a weekday pattern (fewer on Sundays), and drawn as Poisson
counts. Outbreaks add, at chosen micro-grids and categories, ``extra`` incidents
a day for ``length`` days ending on ``today``.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np

__all__ = ["Cube", "generate"]

CATEGORIES = ("dispute", "public_order", "environment", "illegal_building")
_SHARE = np.array([0.45, 0.30, 0.17, 0.08])            # of a grid's incidents
_SEASON = 1 + 0.25 * np.sin((np.arange(12) - 3) / 12 * 2 * np.pi)  # peak in July
_WEEKDAY = np.array([1.05, 1.0, 1.0, 1.0, 1.05, 1.0, 0.9])         # Mon .. Sun


@dataclass
class Cube:
    """Counts of every series (all levels) by day, and what was injected."""

    series: list          # (grid code, category)
    levels: np.ndarray    # grid level of each series
    categories: np.ndarray
    days: np.ndarray      # datetime64[D]
    counts: np.ndarray    # (series, days) int32
    outbreaks: list       # (micro-grid code, category, first day)

    @property
    def groups(self):
        """Series sharing a prior: the same level and category."""
        return list(zip(self.levels.tolist(), self.categories.tolist(), strict=True))


def _codes(n_micro, per_parent):
    """Grid codes of micro-grids and their comprehensive grids and villages."""
    micro = [f"T{i // (per_parent * per_parent):03d}"
             f"V{i // per_parent % per_parent:02d}G{i % per_parent:02d}"
             for i in range(n_micro)]
    return micro


def generate(n_micro, today, history_days=395, per_year=12.0, heterogeneity=2.0,
             outbreaks=0, extra=1.2, length=5, per_parent=10, seed=0):
    """A cube of daily counts over ``history_days`` ending on ``today``."""
    rng = np.random.default_rng(seed)
    days = np.arange(np.datetime64(today - dt.timedelta(days=history_days - 1)),
                     np.datetime64(today + dt.timedelta(days=1)),
                     dtype="datetime64[D]")
    month = days.astype("datetime64[M]").astype("int64") % 12
    weekday = (days.astype("int64") + 3) % 7
    shape = _SEASON[month] * _WEEKDAY[weekday]
    shape = shape / shape.mean()
    n_cat = len(CATEGORIES)
    mean_rate = per_year / 365.0 * _SHARE                     # per day, per category
    rates = rng.gamma(heterogeneity, mean_rate / heterogeneity, size=(n_micro, n_cat))
    counts = rng.poisson(rates[:, :, None] * shape[None, None, :]).astype(np.int32)
    injected = []
    if outbreaks:
        picks = rng.choice(n_micro * n_cat, size=outbreaks, replace=False)
        for pick in picks:
            grid, cat = divmod(int(pick), n_cat)
            counts[grid, cat, -length:] += rng.poisson(extra, size=length)
            injected.append((grid, cat))
    micro = _codes(n_micro, per_parent)
    series, levels, cats, rows = [], [], [], []
    micro_counts = counts.reshape(n_micro * n_cat, -1)
    for grid in range(n_micro):
        for cat in range(n_cat):
            series.append((micro[grid], CATEGORIES[cat]))
            levels.append(4)
            cats.append(cat)
    rows.append(micro_counts)
    # the comprehensive grids and villages above: sums of their micro-grids
    for level, width in ((3, len(micro[0]) - 3), (2, len(micro[0]) - 6)):
        parents = sorted({code[:width] for code in micro})
        index = {code: i for i, code in enumerate(parents)}
        owner = np.array([index[code[:width]] for code in micro])
        summed = np.zeros((len(parents), n_cat, len(days)), dtype=np.int32)
        np.add.at(summed, owner, counts)
        for parent in parents:
            for cat in range(n_cat):
                series.append((parent, CATEGORIES[cat]))
                levels.append(level)
                cats.append(cat)
        rows.append(summed.reshape(len(parents) * n_cat, -1))
    start = np.datetime64(today - dt.timedelta(days=length - 1))
    return Cube(
        series=series, levels=np.array(levels), categories=np.array(cats),
        days=days, counts=np.concatenate(rows),
        outbreaks=[(micro[g], CATEGORIES[c], start) for g, c in injected])
