"""Working days of the Chinese calendar: weekends, public holidays and 调休.

Deadlines of the incident loop (跟踪督办) are counted in working days. A day is a
working day when it is a weekday that is not a public holiday, or a weekend day
that the State Council turned into a make-up working day (调休上班).

The official arrangements for 2025 and 2026 ship below as data (``CN_OFFICIAL``);
a deployment adds a later year (or a local arrangement) by building its own
:class:`WorkCalendar` from date lists, e.g. from configuration. Dates outside the
years of the data count by weekends only: check :meth:`WorkCalendar.covers`.

Times are China Standard Time (UTC+8, no daylight saving): an aware timestamp is
read in UTC+8 to find its calendar day; a naive one is taken as local time.
"""

import datetime as dt
from dataclasses import dataclass

__all__ = ["CHINA_TZ", "CN_OFFICIAL", "WorkCalendar", "china", "add_workdays",
           "workdays_between"]

CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")

# year -> (days off, make-up working days), as "MM-DD" ranges "a..b" or single days.
# Transcribed from the State Council General Office's notices (国务院办公厅关于
# 2025年 / 2026年部分节假日安排的通知, 国办发明电〔2024〕12号 and 〔2025〕7号).
# Checked on 2026-11-22 against the notices' text as published (2024-11-12 and
# 2025-11-04): every day off and every make-up day matches. A deployment adds a
# year without a release through GRIDGOV_INCIDENT_HOLIDAYS / _WORKDAYS (JSON lists
# of dates, api/incidents.py); nothing else in the code knows the dates.
CN_OFFICIAL = {
    2025: (
        [
            "01-01",         # 元旦 (Wed), 1 day, no 调休
            "01-28..02-04",  # 春节 (除夕 Tue – Tue), 8 days
            "04-04..04-06",  # 清明节
            "05-01..05-05",  # 劳动节
            "05-31..06-02",  # 端午节
            "10-01..10-08",  # 国庆节、中秋节, 8 days
        ],
        ["01-26", "02-08", "04-27", "09-28", "10-11"],
    ),
    2026: (
        [
            "01-01..01-03",  # 元旦 (Thu – Sat)
            "02-15..02-23",  # 春节 (腊月二十八 Sun – Mon), 9 days
            "04-04..04-06",  # 清明节
            "05-01..05-05",  # 劳动节
            "06-19..06-21",  # 端午节
            "09-25..09-27",  # 中秋节
            "10-01..10-07",  # 国庆节
        ],
        ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"],
    ),
}


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
    """The calendar of the official arrangements (``CN_OFFICIAL`` by default)."""
    data = CN_OFFICIAL if data is None else data
    holidays, workdays = set(), set()
    for year, (off, on) in data.items():
        holidays |= _expand(year, off)
        workdays |= _expand(year, on)
    return WorkCalendar(frozenset(holidays), frozenset(workdays), frozenset(data))


def add_workdays(start, n, calendar=None):
    """``calendar.add_workdays(start, n)``, on the official calendar by default."""
    return (calendar or china()).add_workdays(start, n)


def workdays_between(a, b, calendar=None):
    """``calendar.workdays_between(a, b)``, on the official calendar by default."""
    return (calendar or china()).workdays_between(a, b)
