"""Working days: known answers on the official 2025 / 2026 arrangements (the
State Council's notices, checked by hand against the chinesecalendar package's
tables that the calendar now comes from)."""

import datetime as dt

import pytest

from geo import workdays
from geo.workdays import CHINA_TZ, WorkCalendar

CAL = workdays.china()
D = dt.date


@pytest.mark.parametrize(("start", "n", "due"), [
    # Friday 2026-11-20 + 1 → Monday 2026-11-23 (an ordinary weekend)
    (dt.datetime(2026, 11, 20, 9, 30), 1, dt.datetime(2026, 11, 23, 9, 30)),
    # a Saturday report starts counting on Monday
    (dt.datetime(2026, 11, 21, 15, 0), 1, dt.datetime(2026, 11, 23, 15, 0)),
    # National Day 2026: Oct 1–7 off, Oct 8 Thu (1), Oct 9 Fri (2), Sat Oct 10 is
    # a 调休 working day (3), Oct 12 Mon (4)
    (dt.datetime(2026, 9, 30, 10, 0), 3, dt.datetime(2026, 10, 10, 10, 0)),
    (dt.datetime(2026, 9, 30, 10, 0), 4, dt.datetime(2026, 10, 12, 10, 0)),
    # the Sunday before, Sep 20 2026, is a 调休 working day too: Fri 18 + 1 → Sun 20
    (dt.datetime(2026, 9, 18, 10, 0), 1, dt.datetime(2026, 9, 20, 10, 0)),
    # National Day 2025 (Oct 1–8 off, Sat Oct 11 working): Sep 30 + 3 → Oct 11
    (dt.datetime(2025, 9, 30, 10, 0), 3, dt.datetime(2025, 10, 11, 10, 0)),
    # Spring Festival 2026 (Feb 15–23 off; Sat Feb 14 and Sat Feb 28 working):
    # Fri Feb 13 + 1 → Sat Feb 14; + 2 → Tue Feb 24
    (dt.datetime(2026, 2, 13, 8, 0), 1, dt.datetime(2026, 2, 14, 8, 0)),
    (dt.datetime(2026, 2, 13, 8, 0), 2, dt.datetime(2026, 2, 24, 8, 0)),
    # New Year 2026: Wed Dec 31 2025 + 1 → Sun Jan 4 (调休), + 2 → Mon Jan 5
    (dt.datetime(2025, 12, 31, 17, 0), 1, dt.datetime(2026, 1, 4, 17, 0)),
    (dt.datetime(2025, 12, 31, 17, 0), 2, dt.datetime(2026, 1, 5, 17, 0)),
    # zero working days: the moment itself
    (dt.datetime(2026, 10, 3, 10, 0), 0, dt.datetime(2026, 10, 3, 10, 0)),
])
def test_add_workdays_known_answers(start, n, due):
    assert CAL.add_workdays(start, n) == due
    assert CAL.workdays_between(start, due) == n


def test_aware_timestamps_count_in_china_time():
    # 2026-09-30 23:30 UTC is already Thursday Oct 1, 07:30 in Beijing (a holiday):
    # one working day later is Thursday Oct 8, 07:30 Beijing = Oct 7 23:30 UTC.
    start = dt.datetime(2026, 9, 30, 23, 30, tzinfo=dt.UTC)
    due = CAL.add_workdays(start, 1)
    assert due == dt.datetime(2026, 10, 8, 7, 30, tzinfo=CHINA_TZ)
    assert due.tzinfo is dt.UTC


@pytest.mark.parametrize(("day", "working"), [
    (D(2026, 10, 10), True),   # 调休 Saturday
    (D(2026, 10, 1), False),   # National Day
    (D(2026, 10, 3), False),   # Saturday inside the holiday
    (D(2026, 11, 21), False),  # ordinary Saturday
    (D(2026, 11, 23), True),   # ordinary Monday
    (D(2025, 1, 26), True),    # 调休 Sunday before the 2025 Spring Festival
    (D(2025, 2, 4), False),    # last day of the 2025 Spring Festival
    (D(2026, 6, 19), False),   # 端午 2026 (Friday)
])
def test_is_workday(day, working):
    assert CAL.is_workday(day) is working


@pytest.mark.parametrize("year", [2025, 2026])
def test_a_year_has_248_working_days(year):
    # 365 days − 104 weekend days − 13 statutory holidays (since 2025) = 248;
    # 调休 only moves days, so any slip in the data shows here.
    assert CAL.workdays_between(D(year - 1, 12, 31), D(year, 12, 31)) == 248


def test_make_up_days_are_weekend_days():
    assert all(day.weekday() >= 5 for day in CAL.workdays)


def test_workdays_between_is_signed_and_by_day():
    assert CAL.workdays_between(D(2026, 11, 23), D(2026, 11, 20)) == -1
    assert CAL.workdays_between(D(2026, 11, 20), D(2026, 11, 20)) == 0
    # a whole National Day week holds no working day
    assert CAL.workdays_between(D(2026, 9, 30), D(2026, 10, 7)) == 0


def test_a_configured_calendar():
    # a local arrangement: Monday 2026-11-23 off, Saturday 2026-11-28 working
    cal = CAL.extended(holidays=["2026-11-23"], workdays=["2026-11-28"])
    assert cal.add_workdays(dt.datetime(2026, 11, 20, 9), 1) == dt.datetime(
        2026, 11, 24, 9)
    assert cal.workdays_between(D(2026, 11, 20), D(2026, 11, 28)) == 5
    assert CAL.is_workday(D(2026, 11, 23))  # the official calendar is unchanged


def test_years_covered_and_weekends_beyond():
    assert CAL.covers(D(2026, 5, 1)) and CAL.covers(D(2004, 5, 1))
    assert not CAL.covers(D(2099, 5, 1))
    plain = WorkCalendar()
    assert plain.add_workdays(D(2027, 10, 1), 1) == D(2027, 10, 4)  # Fri → Mon


def test_bad_input():
    with pytest.raises(ValueError, match="n must be"):
        CAL.add_workdays(dt.datetime(2026, 1, 5), -1)
    with pytest.raises(TypeError):
        CAL.workdays_between("2026-01-05", D(2026, 1, 6))
    with pytest.raises(ValueError, match="both off and working"):
        WorkCalendar.from_dates(["2026-10-10"], ["2026-10-10"])


def test_the_years_to_warn_about():
    # the package knows 2026: on 2026-12-07 only 2027 is missing (unless a newer
    # chinesecalendar knows it); a configured year counts
    assert workdays.uncovered_years(CAL, D(2026, 12, 7)) in ([2027], [])
    assert workdays.uncovered_years(CAL, D(2099, 1, 1)) == [2099, 2100]
    local = CAL.extended(holidays=["2099-01-01"], years={2099, 2100})
    assert workdays.uncovered_years(local, D(2099, 1, 1)) == []


def test_a_calendar_transcribed_by_hand():
    cal = workdays.china({2030: (["10-01..10-07"], ["09-29"])})
    assert not cal.is_workday(D(2030, 10, 7)) and cal.is_workday(D(2030, 9, 29))
    assert cal.years == {2030}
