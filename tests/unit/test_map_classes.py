"""The choropleth's classes, computed once (geo/choropleth.py) for the overview
page (in the rankings' answer) and for the exported HTML map (web/maps.py, which
prints the legend as static/overview.js's show does): known answers worked out
by hand below; tests/browser/test_map_export.py compares the page's legend and
fills with the export's on the demo."""

import math

from geo import choropleth
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


def test_every_measure_gets_its_breaks_and_one_colour_per_class():
    # six grids: received 1..6 (six distinct values: quantiles, 5 classes);
    # resolution rate 0, 0, 0.5, 1, 1, None (three distinct: one class each, exact)
    items = [{"code": str(i), "received": i, "resolution_rate": r,
              "mom": {"received_change": None}}
             for i, r in zip(range(1, 7), [0, 0, 0.5, 1, 1, None], strict=True)]
    found = choropleth.classes(items)
    assert set(found) == {key for key, _, _ in choropleth.MEASURES}
    # upper bounds v[ceil(i * 6 / 5) - 1] for i = 1..5: v[1], v[2], v[3], v[4], v[5]
    assert found["received"] == {"breaks": [1, 2, 3, 4, 5, 6], "exact": False,
                                 "colours": list(choropleth.RAMP)}
    rate = found["resolution_rate"]
    assert rate["breaks"] == [0, 0, 0.5, 1] and rate["exact"] is True
    # low is worse: the darkest for 0 %, the lightest for 100 %, spread over 3
    assert rate["colours"] == ["#bd0026", "#fd8d3c", "#ffffb2"]
    assert found["received_change"] == {"breaks": [], "exact": False, "colours": []}
    # the export's classes are these (web/maps.py takes them from here)
    assert maps.class_breaks is choropleth.class_breaks
    # 3 is not past the upper bound 3 of class 1
    assert [choropleth.class_of(i, found["received"]["breaks"]) for i in (1, 3, 6)] \
        == [0, 1, 4]
