"""The choropleth's classes of the exported HTML map (web/maps.py), which must be
the overview page's (static/overview.js classBreaks/colour/show): known answers
worked out by hand below; tests/browser/test_map_export.py compares the two
legends on the demo."""

import math

from web import maps


def test_quantile_breaks_of_distinct_values():
    # 10 values, 5 classes: the upper bound of class i is v[ceil(i * 10 / 5) - 1]
    assert maps.class_breaks(range(1, 11)) == ([1, 2, 4, 6, 8, 10], False)


def test_five_distinct_values_or_fewer_are_one_class_each():
    values = [0, 0, 0, 0, 1, 1, 1, 0.5, 0.25, 0.75, None, math.nan]
    assert maps.class_breaks(values) == ([0, 0, 0.25, 0.5, 0.75, 1], True)
    assert maps.class_breaks([None, math.nan]) == ([], False)


def test_ties_that_merge_the_quantiles_fall_back_to_the_distinct_values():
    # 10 × 0 %, 10 × 100 % and four rates between: the quantiles of all 24 are
    # [0, 1] (two classes); those of the 6 distinct values keep five
    values = [0] * 10 + [1] * 10 + [0.1, 0.2, 0.3, 0.4]
    assert maps.class_breaks(values) == ([0, 0.1, 0.2, 0.3, 0.4, 1], False)


def test_legend_rows_and_colours_as_the_page_prints_them():
    breaks, exact = maps.class_breaks(range(1, 11))
    worse_high = {"kind": "count", "worse": "high"}
    rows = maps._legend_rows(breaks, exact, worse_high)
    assert [label for _, label in rows] == [
        "1 – 2", ">2 – 4", ">4 – 6", ">6 – 8", ">8 – 10", "无数据"]
    assert [c for c, _ in rows] == [*maps.RAMP, maps.NO_DATA]
    # a rate where low is worse: the dark end first, shown as percentages
    breaks, exact = maps.class_breaks([0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    rows = maps._legend_rows(breaks, exact, {"kind": "share", "worse": "low"})
    assert rows[0] == (maps.RAMP[-1], "50.0% – 60.0%")
    assert maps._show(1 / 3, "count") == "0.33" and maps._show(2.0, "count") == "2"
    assert maps._show(-0.25, "change") == "-25%" and maps._show(None, "days") == "—"
