"""Early warning (预警): which grids' recent incident counts are unusually high.

Every day, every series (a grid at any level × an incident category) is asked: are
the last 7 days, and the last 30 days, more than its own history leads one to
expect? The data is thin -- about a dozen incidents per micro-grid and category a
year -- so a series' own rate is estimated with the help of the others:

* **Season and weekday** (:func:`day_factors`) are multiplicative factors pooled
  over all series of a category (per month of the year and per weekday), because
  no single grid has enough incidents to show them. A day's *exposure* is the
  product of its two factors, 1 on an average day.
* **The series' level** is a Gamma-Poisson (negative binomial) empirical Bayes
  estimate (:func:`prior`, :func:`expected`): the series' count over its baseline
  (its history before the 30-day window, so that an outbreak does not raise its
  own expectation) shrinks toward the mean of similar series (the same category
  and grid level) by as much as its own exposure is small. The prior's mean and
  variance come from the method of moments across those series -- closed form,
  and with thousands of series the difference from a maximum-likelihood fit is
  far below the sampling noise of any one series.
* **The test**: under "nothing new", the window's count follows the posterior
  predictive distribution, a negative binomial; its upper tail gives the p-value
  (parameter uncertainty included, so a grid with little history is not flagged
  for a count any similar grid often has).
* **Many tests**: the day tests every series twice (7 and 30 days); the
  Benjamini-Hochberg procedure (scipy's ``false_discovery_control``) keeps the
  expected share of false warnings among the warnings at ``q`` (0.05). When
  nothing is happening anywhere, that also bounds the chance of *any* warning on
  the day by ``q`` -- the "share of days with a false alarm" the bench measures.
* **Since when**: for a warned series, the suffix of the window (the last k days,
  k = 1 .. window) with the smallest p-value is the outbreak's most likely extent
  (a prospective temporal scan of that one series); its first day with an
  incident is "since".

Nothing here reads the database: ``layers/`` passes the daily counts in.
Written by hand: the libraries at hand (scipy, statsmodels) fit one model at a
time; this is the same model vectorised over tens of thousands of series at once.
"""

import datetime as dt
from dataclasses import dataclass

import numpy as np
from scipy.stats import false_discovery_control, nbinom

__all__ = ["WINDOWS", "Prior", "day_factors", "prior", "expected", "warn"]

# the windows every series is tested on (days, ending today)
WINDOWS = (7, 30)
# the least baseline (days of records before the longest window) a warning needs
MIN_BASELINE_DAYS = 28
# incidents' worth of pseudo-observations pulling a month's factor toward 1: a
# month seen on two days of a town's baseline (records began at its end) holds a
# handful of incidents and says little of its season; a city's full month holds
# thousands and is left as it is
MONTH_PRIOR_COUNT = 20.0
# a count this small is never a warning: one or two incidents are not a trend a
# centre can act on, however quiet the grid was
MIN_COUNT = 3


@dataclass(frozen=True)
class Prior:
    """Gamma(shape, rate) prior of a series' rate per unit of exposure."""

    shape: float
    rate: float


def day_factors(totals, days):
    """Multiplicative month-of-year and weekday factors, one per day.

    Parameters
    ----------
    totals : array of b numbers
        A category's incidents per day, summed over all its series, on the first
        b days (the baseline: the factors are fitted on them).
    days : array of d >= b dates (numpy datetime64[D])

    Returns
    -------
    array of d floats, averaging 1 over the baseline: the day's month factor
    times its weekday factor. A month or weekday never seen has factor 1.
    """
    totals = np.asarray(totals, dtype=float)
    days = np.asarray(days, dtype="datetime64[D]")
    if totals.sum() <= 0:
        return np.ones(len(days))
    weekday = (days.astype("int64") + 3) % 7          # 1970-01-01 was a Thursday
    month = days.astype("datetime64[M]").astype("int64") % 12
    fit = len(totals)
    overall = totals.mean()
    w = _factor(totals, weekday[:fit], 7, overall)
    m = _factor(totals / w[weekday[:fit]], month[:fit], 12, overall,
                prior_count=MONTH_PRIOR_COUNT)
    exposure = m[month] * w[weekday]
    return exposure / exposure[:fit].mean()


def _factor(values, key, n, overall, prior_count=0.0):
    sums = np.bincount(key, weights=values, minlength=n)
    seen = np.bincount(key, minlength=n) * overall
    factor = np.ones(n)
    np.divide(sums + prior_count, seen + prior_count, out=factor, where=seen > 0)
    # a month with no incident at all is a factor near zero, not zero: a single
    # incident then would be infinitely surprising
    return np.maximum(factor, 0.1)


def prior(counts, exposure):
    """The Gamma prior shared by similar series, by the method of moments.

    Parameters
    ----------
    counts : array of n ints
        Each series' baseline count.
    exposure : array of n floats
        Each series' baseline exposure (sum of its day factors).

    The rates ``counts / exposure`` have mean ``mu`` and variance ``tau2 + mu *
    mean(1 / exposure)`` (between-series variance plus Poisson noise); ``tau2`` is
    what is left after the noise, floored so that the prior stays proper.
    """
    counts = np.asarray(counts, dtype=float)
    exposure = np.asarray(exposure, dtype=float)
    ok = exposure > 0
    counts, exposure = counts[ok], exposure[ok]
    if not len(counts):
        return Prior(1.0, 1.0)
    mu = max(counts.sum() / exposure.sum(), 1e-6)
    rates = counts / exposure
    noise = mu * np.mean(1.0 / exposure)
    tau2 = max(rates.var() - noise, mu * mu / 1000.0)
    return Prior(mu * mu / tau2, mu / tau2)


def expected(counts, exposure, window_exposure, shared):
    """The posterior predictive of each series' window count.

    Returns ``(mean, shape, p)``: the expected count and the negative binomial's
    parameters (scipy's ``nbinom(shape, p)``).
    """
    shape = shared.shape + np.asarray(counts, dtype=float)
    rate = shared.rate + np.asarray(exposure, dtype=float)
    window_exposure = np.asarray(window_exposure, dtype=float)
    p = rate / (rate + window_exposure)
    return shape * window_exposure / rate, shape, p


def warn(series, today, counts, days, groups, categories, q=0.05,
         windows=WINDOWS, min_count=MIN_COUNT):
    """The day's warnings.

    Parameters
    ----------
    series : sequence of n keys
        What each series is (e.g. ``(grid_code, category)``); returned as given.
    today : datetime.date
        The last day of the windows (counts after it are ignored).
    counts : array (n, d) of ints
        Incidents per series and day.
    days : array of d dates, consecutive, ascending
    groups : array of n hashables
        Series that share a prior (e.g. ``(level, category)``).
    categories : array of n hashables
        Series that share season and weekday factors.
    q : float
        The false discovery rate.

    Returns
    -------
    list of dict, most significant first: ``series``, ``window`` (days),
    ``observed``, ``expected``, ``ratio``, ``p``, ``q`` (the Benjamini-Hochberg
    adjusted p-value), ``since`` (date).
    """
    counts = np.asarray(counts)
    days = np.asarray(days, dtype="datetime64[D]")
    end = int(np.searchsorted(days, np.datetime64(today, "D"), side="right"))
    start = _records_begin(counts[:, :end].any(axis=0))
    if start is None:
        return []
    counts, days, end = counts[:, start:end], days[start:end], end - start
    longest = max(windows)
    base_end = end - longest
    if base_end < MIN_BASELINE_DAYS:
        return []
    # one row of day factors per category, not per series: a city's 80,000
    # series x 400 days would be a quarter of a gigabyte of repeated rows
    categories = _codes(categories)
    factors = np.ones((categories.max() + 1, end))
    for category in np.unique(categories):
        rows = categories == category
        factors[category] = day_factors(counts[rows, :base_end].sum(axis=0),
                                        days[:end])
    base_counts = counts[:, :base_end].sum(axis=1)
    base_exposure = factors[:, :base_end].sum(axis=1)[categories]
    shape = np.empty(len(counts))
    rate = np.empty(len(counts))
    groups = _codes(groups)
    for group in np.unique(groups):
        rows = groups == group
        shared = prior(base_counts[rows], base_exposure[rows])
        shape[rows] = shared.shape + base_counts[rows]
        rate[rows] = shared.rate + base_exposure[rows]

    tests = []  # (row, window, observed, expected, p)
    for window in windows:
        observed = counts[:, end - window:end].sum(axis=1)
        window_exposure = factors[:, end - window:end].sum(axis=1)[categories]
        p_nb = rate / (rate + window_exposure)
        pvalue = nbinom.sf(observed - 1, shape, p_nb)
        pvalue = np.where(observed >= min_count, pvalue, 1.0)
        mean = shape * window_exposure / rate
        tests.append((observed, mean, pvalue, window))
    pvalues = np.concatenate([t[2] for t in tests])
    adjusted = false_discovery_control(pvalues) if len(pvalues) else pvalues
    n = len(counts)
    found = {}
    for k, (observed, mean, pvalue, window) in enumerate(tests):
        for row in np.flatnonzero(adjusted[k * n:(k + 1) * n] <= q):
            qvalue = float(adjusted[k * n + row])
            best = found.get(row)
            if best is not None and best["q"] <= qvalue:
                continue
            found[row] = {
                "series": series[row],
                "window": window,
                "observed": int(observed[row]),
                "expected": round(float(mean[row]), 2),
                "ratio": round(float(observed[row] / max(mean[row], 1e-9)), 2),
                "p": float(pvalue[row]),
                "q": qvalue,
                "since": _since(counts[row, end - window:end],
                                factors[categories[row], end - window:end],
                                shape[row], rate[row], days[end - window:end]),
            }
    return sorted(found.values(), key=lambda w: (w["q"], w["p"]))


def _records_begin(any_by_day):
    """The index of the first day with an incident anywhere, or None.

    The days before it are before records began (a deployment younger than the
    history), not a quiet season: counted, their month would look empty and its
    expectations a tenth of the truth."""
    recorded = np.flatnonzero(any_by_day)
    return int(recorded[0]) if len(recorded) else None


def _codes(keys):
    """Small integers standing for hashable keys (tuples included)."""
    seen = {}
    return np.asarray([seen.setdefault(key, len(seen)) for key in keys])


def _since(counts, exposure, shape, rate, days):
    """The first day with an incident of the window's most significant suffix."""
    observed = np.cumsum(counts[::-1])
    window_exposure = np.cumsum(exposure[::-1])
    pvalue = nbinom.sf(observed - 1, shape, rate / (rate + window_exposure))
    pvalue = np.where(observed > 0, pvalue, 1.0)
    length = int(np.argmin(pvalue)) + 1
    suffix = counts[-length:]
    first = int(np.flatnonzero(suffix)[0]) if suffix.any() else 0
    return dt.date.fromisoformat(str(days[len(days) - length + first]))


# --- emerging space-time clusters --------------------------------------------------
#
# Method: the expectation-based Poisson space-time scan (Neill, Moore, Sabhnani &
# Daniel 2005, "Detection of emerging space-time clusters"), prospective: every
# square of (2r+1) x (2r+1) cells (r in SCAN_RADII) and every duration ending today
# (SCAN_DAYS) is a candidate; its score is the Poisson log-likelihood ratio of
# "the rate is raised inside" against "counts are as expected",
# ``O log(O/E) - (O - E)`` for O > E; the day's most significant candidates are
# judged by Monte Carlo against the maximum score of replicas drawn from the
# expected counts, which accounts for the many overlapping candidates at once.
# Why this and not an "emerging hot spot" analysis (Gi* per time step plus a
# Mann-Kendall trend): that one asks for a trend over many time steps and answers
# days or weeks late on thin counts; the scan asks the dispatcher's question --
# "is something starting here now?" -- on the last days alone, and its expected
# counts come from each cell's own history as for the grids above, rather than
# from the whole area's mean. Kulldorff's space-time permutation scan needs no
# baseline but conditions on each cell's total, which hides a cell whose every
# incident is recent; the expectation-based form does not.

SCAN_RADII = (0, 1, 2)          # 1 x 1, 3 x 3, 5 x 5 cells
SCAN_DAYS = (1, 2, 3, 5, 7)


def _box_sums(grid, r):
    """Sums over the (2r+1)^2 square centred on every cell (zero outside)."""
    padded = np.pad(grid, ((r + 1, r), (r + 1, r)))
    c = padded.cumsum(0).cumsum(1)
    k = 2 * r + 1
    return c[k:, k:] - c[:-k, k:] - c[k:, :-k] + c[:-k, :-k]


def _scores(recent, expected_recent):
    """Best score per (radius, duration) and where: arrays of LLR, O, E."""
    out = []
    obs = np.cumsum(recent[:, :, ::-1], axis=2)          # last k days, k = 1 ..
    exp = np.cumsum(expected_recent[:, :, ::-1], axis=2)
    for days in SCAN_DAYS:
        o_day, e_day = obs[:, :, days - 1], exp[:, :, days - 1]
        for r in SCAN_RADII:
            o, e = _box_sums(o_day, r), _box_sums(e_day, r)
            with np.errstate(divide="ignore", invalid="ignore"):
                llr = np.where(o > e, o * np.log(o / e) - (o - e), 0.0)
            out.append((llr, o, e, r, days))
    return out


def emerging_clusters(counts, days, today, alpha=0.01, replicas=99, seed=0,
                      min_count=MIN_COUNT):
    """Space-time clusters starting now, on a lattice of cells.

    Parameters
    ----------
    counts : array (ny, nx, d) of ints
        Incidents per cell and day (the heatmap's cube, coarsened to the cell
        size scanned).
    days : array of d dates, consecutive, ascending
    today : datetime.date
    alpha : float
        The chance, on a day with nothing happening anywhere, of any cluster.

    Returns
    -------
    list of dict, most significant first, none overlapping: ``iy``, ``ix``
    (centre cell), ``radius`` (cells), ``days``, ``observed``, ``expected``,
    ``p`` (Monte Carlo), ``since`` (date).
    """
    counts = np.asarray(counts)
    days = np.asarray(days, dtype="datetime64[D]")
    end = int(np.searchsorted(days, np.datetime64(today, "D"), side="right"))
    start = _records_begin(counts[:, :, :end].any(axis=(0, 1))) if counts.size \
        else None
    if start is None:
        return []
    counts, days, end = counts[:, :, start:end], days[start:end], end - start
    span = max(SCAN_DAYS)
    base_end = end - span
    if base_end < MIN_BASELINE_DAYS:
        return []
    factors = day_factors(counts[:, :, :base_end].sum(axis=(0, 1)), days[:end])
    base = counts[:, :, :base_end].sum(axis=2).ravel()
    exposure = np.full(base.shape, factors[:base_end].sum())
    shared = prior(base, exposure)
    rate = (shared.shape + base) / (shared.rate + exposure)   # posterior mean
    rate = rate.reshape(counts.shape[:2])
    expected_recent = rate[:, :, None] * factors[None, None, end - span:end]
    recent = counts[:, :, end - span:end].astype(float)

    observed = _scores(recent, expected_recent)
    rng = np.random.default_rng(seed)
    maxima = np.empty(replicas)
    for k in range(replicas):
        draw = rng.poisson(expected_recent).astype(float)
        maxima[k] = max(float(s[0].max()) for s in _scores(draw, expected_recent))
    maxima.sort()

    candidates = []
    for llr, o, e, r, length in observed:
        beaten = replicas - np.searchsorted(maxima, llr, side="left")
        p = (1 + beaten) / (replicas + 1)
        for iy, ix in np.argwhere((p <= alpha) & (o >= min_count)):
            candidates.append((float(llr[iy, ix]), float(p[iy, ix]), int(iy), int(ix),
                               r, length, int(o[iy, ix]), float(e[iy, ix])))
    candidates.sort(key=lambda c: -c[0])
    taken = np.zeros(counts.shape[:2], dtype=bool)
    found = []
    for _score, p, iy, ix, r, length, o, e in candidates:
        square = (slice(max(iy - r, 0), iy + r + 1), slice(max(ix - r, 0), ix + r + 1))
        if taken[square].any():
            continue
        taken[square] = True
        inside = recent[square][:, :, span - length:].sum(axis=(0, 1))
        first = int(np.flatnonzero(inside)[0]) if inside.any() else 0
        found.append({
            "iy": iy, "ix": ix, "radius": r, "days": length, "observed": o,
            "expected": round(e, 2), "p": p,
            "since": dt.date.fromisoformat(str(days[end - length + first])),
        })
    return found
