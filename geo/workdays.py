"""Working days of the Chinese calendar: weekends, public holidays and 调休.

Deadlines of the incident loop (跟踪督办) are counted in working days. A day is a
working day when it is a weekday that is not a public holiday, or a weekend day
that the State Council turned into a make-up working day (调休上班).

The official arrangements come from the maintained package chinesecalendar
(``chinese_calendar``, the State Council's notices from 2004 on, updated each
November when the next year's notice is out); a deployment adds a year the
package does not know yet, or a local arrangement, on top of it from date lists,
e.g. from configuration (:meth:`WorkCalendar.extended`). Dates outside the years
of the data count by weekends only: check :meth:`WorkCalendar.covers` and
:func:`uncovered_years`.

Times are China Standard Time (UTC+8, no daylight saving): an aware timestamp is
read in UTC+8 to find its calendar day; a naive one is taken as local time.
"""

import datetime as dt
import functools
from dataclasses import dataclass

__all__ = ["CHINA_TZ", "ZONE_NAME", "WorkCalendar", "china", "uncovered_years",
           "add_workdays", "workdays_between"]

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
# The zone's name beside every time a person reads (pages, phone, PDF): zh, en.
ZONE_NAME = ("北京时间", "China time")

def _expand(year, items):
    days = set()
    for item in items:
        first, _, last = item.partition("..")
        a = dt.date.fromisoformat(f"{year}-{first}")
        b = dt.date.fromisoformat(f"{year}-{last or first}")
        if b < a:
            raise ValueError(f"{year}: range {item!r} runs backwards")
        days.update(a + dt.timedelta(d) for d in range((b - a).days + 1))
    return days


@dataclass(frozen=True)
class WorkCalendar:
    """A working-day calendar: weekends off, except ``workdays``; ``holidays`` off.

    Parameters
    ----------
    holidays : frozenset of datetime.date
        Days off that would otherwise be working days (weekend days may be listed).
    workdays : frozenset of datetime.date
        Make-up working days (调休), usually Saturdays or Sundays.
    years : frozenset of int
        The years the two sets describe completely (see :meth:`covers`).

    >>> cal = china()
    >>> cal.is_workday(dt.date(2026, 10, 10))  # a 调休 Saturday
    True
    """

    holidays: frozenset = frozenset()
    workdays: frozenset = frozenset()
    years: frozenset = frozenset()

    def __post_init__(self):
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"days both off and working: {sorted(both)}")

    @classmethod
    def from_dates(cls, holidays=(), workdays=(), years=()):
        """Build from dates or ISO date strings ("2026-10-01")."""

        def dates(values):
            return frozenset(v if isinstance(v, dt.date) else dt.date.fromisoformat(v)
                             for v in values)

        return cls(dates(holidays), dates(workdays), frozenset(years))

    def extended(self, holidays=(), workdays=(), years=()):
        """This calendar with more days off / make-up working days."""
        more = WorkCalendar.from_dates(holidays, workdays, years)
        return WorkCalendar((self.holidays - more.workdays) | more.holidays,
                            (self.workdays - more.holidays) | more.workdays,
                            self.years | more.years)

    def covers(self, day):
        """True when the calendar's data describe the year of ``day``."""
        return _day(day).year in self.years

    def is_workday(self, day):
        day = _day(day)
        if day in self.workdays:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_workdays(self, start, n):
        """The moment ``n`` working days after ``start``, at the same time of day.

        Counting starts the day after ``start``: a report of Friday 10:00 with one
        working day is due Monday 10:00; one of Saturday 10:00 is due Monday 10:00
        as well. ``n = 0`` returns ``start``. The result keeps the input's tzinfo.

        >>> china().add_workdays(dt.datetime(2026, 9, 30, 10, 0), 3)
        datetime.datetime(2026, 10, 10, 10, 0)
        """
        if n < 0:
            raise ValueError(f"n must be >= 0, got {n}")
        if not isinstance(start, dt.datetime):
            return self.add_workdays(_local(start), n).date()
        local = _local(start)
        day, left = local.date(), n
        while left:
            day += dt.timedelta(days=1)
            left -= self.is_workday(day)
        moved = local + dt.timedelta(days=(day - local.date()).days)
        return moved if start.tzinfo is None else moved.astimezone(start.tzinfo)

    def workdays_between(self, a, b):
        """Working days in ``(day of a, day of b]``; negative when ``b`` is earlier.

        The inverse of :meth:`add_workdays`:
        ``workdays_between(t, add_workdays(t, n)) == n``.

        >>> china().workdays_between(dt.date(2026, 9, 30), dt.date(2026, 10, 10))
        3
        """
        first, last = _day(a), _day(b)
        if last < first:
            return -self.workdays_between(b, a)
        return sum(self.is_workday(first + dt.timedelta(days=d))
                   for d in range(1, (last - first).days + 1))


def _local(moment):
    if isinstance(moment, dt.datetime):
        return moment if moment.tzinfo is None else moment.astimezone(CHINA_TZ)
    if isinstance(moment, dt.date):
        return dt.datetime.combine(moment, dt.time())
    raise TypeError(f"expected a date or datetime, got {type(moment).__name__}")


def _day(moment):
    if isinstance(moment, dt.datetime):
        return _local(moment).date()
    if isinstance(moment, dt.date):
        return moment
    raise TypeError(f"expected a date or datetime, got {type(moment).__name__}")


def china(data=None):
    """The calendar of the official arrangements, from the chinesecalendar package;
    or, with ``data``, from ``{year: (days off, make-up days)}`` as "MM-DD" or
    "MM-DD..MM-DD" (a notice transcribed by hand, for tests or a local calendar)."""
    if data is None:
        return _official()
    holidays, workdays = set(), set()
    for year, (off, on) in data.items():
        holidays |= _expand(year, off)
        workdays |= _expand(year, on)
    return WorkCalendar(frozenset(holidays), frozenset(workdays), frozenset(data))


@functools.cache
def _official():
    from chinese_calendar import constants  # its tables of days off and 调休

    holidays, workdays = frozenset(constants.holidays), frozenset(constants.workdays)
    years = {d.year for d in holidays}
    return WorkCalendar(holidays, workdays, frozenset(range(min(years),
                                                            max(years) + 1)))


def uncovered_years(calendar, today):
    """The years among ``today``'s and the next whose arrangements ``calendar``
    lacks (their deadlines would count weekends only): warn about them.

    >>> uncovered_years(WorkCalendar(years=frozenset({2026})), dt.date(2026, 12, 7))
    [2027]
    """
    return [y for y in (today.year, today.year + 1) if y not in calendar.years]


def add_workdays(start, n, calendar=None):
    """``calendar.add_workdays(start, n)``, on the official calendar by default."""
    return (calendar or china()).add_workdays(start, n)


def workdays_between(a, b, calendar=None):
    """``calendar.workdays_between(a, b)``, on the official calendar by default."""
    return (calendar or china()).workdays_between(a, b)
