"""The month the overview, /rankings and the stats API open on, and the month still
running (``layers.stats``: ``default_month``, ``current_month``, ``Period``).

Every moment here is fixed: nothing depends on today's date. China time is UTC+8.
"""

import datetime as dt
import doctest

import pytest

from layers import stats
from layers.errors import Invalid

CN = dt.timezone(dt.timedelta(hours=8))


def at(text):
    return dt.datetime.fromisoformat(text).replace(tzinfo=CN)


@pytest.mark.parametrize(("now", "month"), [
    (at("2026-11-20 10:00"), "2026-10"),
    (at("2026-12-01 00:00"), "2026-11"),  # November is over at China midnight
    (at("2026-11-30 23:59"), "2026-10"),
    # 1 December 00:30 in China is still 30 November in UTC
    (dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC), "2026-11"),
    (at("2026-01-15 09:00"), "2025-12"),  # over the turn of the year
])
def test_the_default_month_is_the_last_complete_one_in_china(now, month):
    period = stats.default_month(now)
    assert period.month == month
    assert period.complete(now)
    assert stats.current_month(now).month != month


def test_the_month_still_running_ends_now_and_says_so():
    now = at("2026-11-20 10:00")
    running = stats.current_month(now)
    assert running == stats.month_period("2026-11", now=now)
    assert (running.start, running.end) == (at("2026-11-01 00:00"), now)
    assert not running.complete(now)
    assert running.as_dict() | {"start": None, "end": None} == {
        "month": "2026-11", "from": "2026-11-01", "to": "2026-11-20",
        "start": None, "end": None}
    # given no ``now``, or a moment outside the month, the whole month
    whole = stats.month_period("2026-11")
    assert whole.end == at("2026-12-01 00:00") and whole.as_dict()["to"] == "2026-11-30"
    assert stats.month_period("2026-10", now=now).end == at("2026-11-01 00:00")
    assert stats.month_period("2026-12", now=now).end == at("2027-01-01 00:00")
    assert not stats.month_period("2026-12", now=now).complete(now)  # not begun


def test_the_running_month_compares_as_long_a_stretch_before():
    # 19 days and 10 hours of November: as long of October and of November 2025
    running = stats.month_period("2026-11", now=at("2026-11-20 10:00"))
    before, year = running.previous(), running.year_before()
    assert (before.start, before.end, before.month) == (
        at("2026-10-01 00:00"), at("2026-10-20 10:00"), "2026-10")
    assert (year.start, year.end) == (at("2025-11-01 00:00"), at("2025-11-20 10:00"))
    # on 31 March, February is compared whole (it has no 29th, 30th or 31st)
    late = stats.month_period("2026-03", now=at("2026-03-31 12:00"))
    assert late.previous().end == at("2026-03-01 00:00")
    # a whole month still compares whole months
    whole = stats.month_period("2026-03")
    assert (whole.previous().start, whole.previous().end) == (
        at("2026-02-01 00:00"), at("2026-03-01 00:00"))


def test_day_periods_are_complete_once_their_last_day_is_over():
    period = stats.day_period(dt.date(2026, 11, 1), dt.date(2026, 11, 7))
    assert not period.complete(at("2026-11-07 23:00"))
    assert period.complete(at("2026-11-08 00:00"))


def test_bad_months_are_named():
    with pytest.raises(Invalid) as caught:
        stats.month_period("2026-13", now=at("2026-11-20 10:00"))
    assert caught.value.field == "month"


def test_doctests():
    assert doctest.testmod(stats).failed == 0


def test_a_whole_month_compares_with_the_whole_month_before():
    # April has 30 days, March 31: all of March, not its first 30 days
    april = stats.month_period("2026-04")
    assert april.previous().end == at("2026-04-01 00:00")
    assert stats.month_period("2026-04", now=at("2026-05-02 09:00")).previous() == \
        stats.month_period("2026-03")
