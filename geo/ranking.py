"""The monthly ranking of grids (月度排名): a score, ranks, the bottom three.

Pure functions over numpy arrays, one value per grid, NaN where a figure is
unknown; no SQL. The figures come from ``layers/stats.py``.

The score (0–100, higher is better) is a weighted mean of three shares, each 0–1:

=============  ======  ==========================================================
component      weight  what it is
=============  ======  ==========================================================
resolution     0.5     化解率: incidents resolved / incidents received
timeliness     0.3     按期办结率: incidents closed by their deadline / incidents
                       due (closed, or open past their deadline)
coverage       0.2     视频覆盖率: share of the grid's households seen by a camera
=============  ======  ==========================================================

Resolution weighs most because it is what the centres are assessed on (the field
reports' 化解率 targets); timeliness next (跟踪督办 is about deadlines); camera
coverage is equipment rather than work done, and least. A component that is unknown
for a grid (no incident received, nothing due, coverage not computed) is left out
and the other weights are renormalised to sum to 1, so a grid is never punished by
a zero it did not earn; a grid with no component known has no score and no rank.
"""

import numpy as np

__all__ = ["WEIGHTS", "BOTTOM", "rate", "change", "score", "ranks", "bottom"]

WEIGHTS = {"resolution": 0.5, "timeliness": 0.3, "coverage": 0.2}

# The field reports send reminder letters to the last three (末位) of each month.
BOTTOM = 3


def _floats(values):
    return np.asarray(values, dtype=float)


def rate(numerator, denominator):
    """``numerator / denominator``, NaN where the denominator is 0.

    >>> rate([1, 2, 0], [4, 0, 5]).tolist()
    [0.25, nan, 0.0]
    """
    num, den = _floats(numerator), _floats(denominator)
    out = np.full(np.broadcast(num, den).shape, np.nan)
    np.divide(num, den, out=out, where=den != 0)
    return out


def change(current, previous):
    """Relative change ``(current - previous) / previous``; NaN when previous is 0.

    >>> change([5, 3, 1], [4, 0, 2]).tolist()
    [0.25, nan, -0.5]
    """
    cur, prev = _floats(current), _floats(previous)
    return rate(cur - prev, prev)


def score(resolution, timeliness, coverage, weights=None):
    """The score of each grid, 0–100 rounded to 2 decimals, NaN when nothing is known.

    Parameters
    ----------
    resolution, timeliness, coverage : array_like of float
        Shares in [0, 1]; NaN (or None) where unknown. Broadcast together, so a
        scalar NaN stands for "coverage unknown everywhere".
    weights : dict, optional
        ``{"resolution": w1, "timeliness": w2, "coverage": w3}``, default
        ``WEIGHTS``; need not sum to 1 (only their ratios count).

    Examples
    --------
    Coverage unknown: the weights 0.5 and 0.3 are renormalised to 0.625 and 0.375.

    >>> score([0.4], [0.6], np.nan).tolist()
    [47.5]
    >>> score([0.4], [0.6], [0.5]).tolist()
    [48.0]
    >>> score([np.nan], [np.nan], [np.nan]).tolist()
    [nan]
    """
    weights = WEIGHTS if weights is None else weights
    parts = np.broadcast_arrays(*(_floats(v) for v in (resolution, timeliness,
                                                        coverage)))
    names = ("resolution", "timeliness", "coverage")
    for name, part in zip(names, parts, strict=True):
        bad = np.isfinite(part) & ((part < 0) | (part > 1))
        if bad.any():
            raise ValueError(f"{name} must be a share between 0 and 1, got "
                             f"{part[bad][0]}")
        if not weights.get(name, 0) >= 0:
            raise ValueError(f"the weight of {name} must be 0 or more")
    total = np.zeros(parts[0].shape)
    weight = np.zeros(parts[0].shape)
    for name, part in zip(names, parts, strict=True):
        known = np.isfinite(part)
        w = float(weights.get(name, 0))
        total += np.where(known, part * w, 0.0)
        weight += np.where(known, w, 0.0)
    out = rate(total, weight) * 100
    return np.round(out, 2)


def ranks(scores):
    """Competition ranks ("1224"), 1 for the highest score; 0 for NaN (unranked).

    Equal scores share a rank, and the next rank skips as many places.

    >>> ranks([80, 90, 80, np.nan, 70]).tolist()
    [2, 1, 2, 0, 4]
    """
    s = _floats(scores)
    out = np.zeros(s.shape, dtype=np.int64)
    known = np.isfinite(s)
    values = s[known]
    # rank = 1 + number of grids scoring strictly higher
    ordered = np.sort(values)
    higher = len(values) - np.searchsorted(ordered, values, side="right")
    out[known] = higher + 1
    return out


def bottom(scores, n=BOTTOM):
    """Which grids are among the last ``n`` (末位), ties included.

    A grid is flagged when fewer than ``n`` ranked grids score strictly lower than
    it: a tie at the boundary flags every grid of the tie (none escapes the letter
    another with the same score gets), so more than ``n`` may be flagged. Nothing is
    flagged when there are ``n`` ranked grids or fewer (all of them would be
    "last"); unranked (NaN) grids are never flagged.

    >>> bottom([90, 70, 70, 60, 95]).tolist()
    [False, True, True, True, False]
    >>> bottom([90, 70, 70, 70, 60, 95]).tolist()
    [False, True, True, True, True, False]
    >>> bottom([50, 60, 70]).tolist()
    [False, False, False]
    """
    s = _floats(scores)
    known = np.isfinite(s)
    out = np.zeros(s.shape, dtype=bool)
    values = s[known]
    if len(values) <= n:
        return out
    lower = np.searchsorted(np.sort(values), values, side="left")
    out[known] = lower < n
    return out
