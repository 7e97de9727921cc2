"""The choropleth's classes: one place for the class breaks and their colours.

The leaders' overview (``static/overview.js``) and the standalone HTML map
(``web/maps.py``) colour the same grids by the same measure; the breaks used to
be computed twice, in JavaScript and in Python, by rules that had to be kept
alike by hand. Now they are computed here only: the rankings' answer carries
them for every measure (``GET /api/v1/rankings``: ``classes``), the page paints
with them, and the export takes them from the same function on the same items.

Why no library: mapclassify's ``Quantiles`` takes percentiles interpolated
between values, and on micro-grids' rates -- often exactly 0 or 100 % with one
or two incidents -- its tied bins leave two classes of five; the rule below
(upper bounds taken from the sorted values, ties dropped, the distinct values'
quantiles when ties merged classes, one class per value when there are five or
fewer) is a dozen lines and says what a leader reads in the legend.
"""

import math

__all__ = ["RAMP", "NO_DATA", "MEASURES", "K", "value", "class_breaks", "class_of",
           "colour", "classes"]

# ColorBrewer YlOrRd, 5 classes: light to dark, readable in greyscale print;
# grey for a grid without a value.
RAMP = ("#ffffb2", "#fecc5c", "#fd8d3c", "#f03b20", "#bd0026")
NO_DATA = "#dddddd"
K = 5  # classes at most

# The choropleth's measures: key in the rankings' items, how to print it, and
# which end is worse (the legend's dark end, the list's top).
MEASURES = (
    ("resolution_rate", "share", "low"), ("timeliness", "share", "low"),
    ("received", "count", "high"), ("per_100_households", "count", "high"),
    ("overdue", "count", "high"), ("avg_close_days", "days", "high"),
    ("received_change", "change", "high"), ("yoy_change", "change", "high"),
    ("coverage", "share", "low"), ("visit_rate", "share", "low"),
    ("score", "count", "low"),
)


def value(item, key):
    """The value of measure ``key`` of a ranking item (None when it has none):
    the two changes are inside ``mom`` and ``yoy``.

    >>> value({"mom": {"received_change": 0.5}}, "received_change")
    0.5
    """
    if key == "received_change":
        return (item.get("mom") or {}).get("received_change")
    if key == "yoy_change":
        return (item.get("yoy") or {}).get("received_change")
    return item.get(key)


def _missing(v):
    return v is None or (isinstance(v, float) and math.isnan(v))


def _quantiles(v):
    out = [v[0]]
    for i in range(1, K + 1):
        b = v[min(len(v) - 1, math.ceil(i * len(v) / K) - 1)]
        if b > out[-1]:
            out.append(b)
    return out


def class_breaks(values):
    """``(breaks, exact)``: ``[min, upper of class 1, …]`` of the values (None
    and NaN left out): quantiles in 5 classes, those of the distinct values when
    ties merged them; with 5 distinct values or fewer one class each (``exact``:
    the legend names the value, not a range).

    >>> class_breaks(range(1, 11))
    ([1, 2, 4, 6, 8, 10], False)
    >>> class_breaks([0, 1, 1, None])
    ([0, 0, 1], True)
    """
    v = sorted(x for x in values if not _missing(x))
    if not v:
        return [], False
    distinct = [x for i, x in enumerate(v) if i == 0 or x != v[i - 1]]
    if len(distinct) <= K:
        return [distinct[0], *distinct], True
    out = _quantiles(v)
    return (out if len(out) >= K + 1 else _quantiles(distinct)), False


def class_of(v, breaks):
    """The class (0-based) of ``v``: the first whose upper bound it does not
    pass; -1 for no value.

    >>> class_of(3, [1, 2, 4, 6]), class_of(None, [1, 2]), class_of(9, [1, 2, 4])
    (1, -1, 1)
    """
    if _missing(v):
        return -1
    for i in range(1, len(breaks)):
        if v <= breaks[i]:
            return i - 1
    return len(breaks) - 2


def colour(cls, n, worse):
    """The fill of class ``cls`` of ``n`` breaks (``n - 1`` classes), spread over
    the ramp; the dark end is the worse one (``worse`` "high" or "low")."""
    if cls < 0:
        return NO_DATA
    steps = max(n - 1, 1)
    idx = round(cls * (len(RAMP) - 1) / max(steps - 1, 1))
    if steps == 1:
        idx = len(RAMP) - 1
    return RAMP[len(RAMP) - 1 - idx if worse == "low" else idx]


def classes(items, measures=MEASURES):
    """The classes of every measure over the ranking's ``items``: ``{key:
    {"breaks": [...], "exact": bool, "colours": [one per class]}}`` (what the
    overview paints with; a value goes in class :func:`class_of`)."""
    out = {}
    for key, _kind, worse in measures:
        breaks, exact = class_breaks(value(item, key) for item in items)
        out[key] = {"breaks": breaks, "exact": exact,
                    "colours": [colour(i, len(breaks), worse)
                                for i in range(len(breaks) - 1)]}
    return out
