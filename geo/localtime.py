"""The deployment's time zone, and times as people read them.

gridgov serves one deployment in mainland China: every time a person reads (on a
page, in a message, in an exported file) is China Standard Time (UTC+8, no
daylight saving) and says so, "2026-12-07 19:30 北京时间"; the API keeps ISO 8601
with the offset (``web/json.py``). The zone is defined here once: the
working-day calendar (``geo.workdays``), the tracks' days, the API and the pages
take it from here, and the SQL that groups by day uses the same zone by its IANA
name (``ZONE_NAME``, migration 0006). The pages' scripts format times with
``gg.time`` (``web/static/gg.js``), which reads the offset and the label that
``base.html`` writes from here.

No library does this: ``zoneinfo`` gives the zone, but a time for a reader needs
the label beside it, in the two languages of the message catalogue.
"""

import datetime as dt

__all__ = ["CHINA_TZ", "ZONE_NAME", "LABEL", "UTC_OFFSET_MIN", "local", "shown",
           "label"]

# China Standard Time; mainland China has one zone and no daylight saving.
CHINA_TZ = dt.timezone(dt.timedelta(hours=8), "CST")
ZONE_NAME = "Asia/Shanghai"
UTC_OFFSET_MIN = int(CHINA_TZ.utcoffset(None).total_seconds() // 60)
# What a time says it is in, Chinese and English.
LABEL = ("北京时间", "China time")


def local(moment):
    """``moment`` in the deployment's zone: an aware datetime (or an ISO 8601
    text) converted; a naive one is taken as already in the zone (as
    ``geo.workdays`` reads one); None stays None.

    >>> local(dt.datetime(2026, 12, 7, 11, 30, tzinfo=dt.UTC)).isoformat()
    '2026-12-07T19:30:00+08:00'
    >>> local("2026-12-07T11:30:00Z").hour
    19
    """
    if moment is None:
        return None
    if isinstance(moment, str):
        moment = dt.datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        return moment.replace(tzinfo=CHINA_TZ)
    return moment.astimezone(CHINA_TZ)


def label(lang="zh"):
    """The zone's name for a reader: 北京时间, or China time."""
    return LABEL[0] if lang == "zh" else LABEL[1]


def shown(moment, seconds=False, with_label=True, lang="zh"):
    """A time as people read it, in the deployment's zone, with its label.

    ``seconds``: down to the second; ``with_label`` False for a cell of a column
    whose header says the zone (exports, tables); None gives "".

    >>> t = dt.datetime(2026, 12, 7, 11, 30, 5, tzinfo=dt.UTC)
    >>> shown(t)
    '2026-12-07 19:30 北京时间'
    >>> shown(t, seconds=True, lang="en")
    '2026-12-07 19:30:05 China time'
    >>> shown(t, with_label=False)
    '2026-12-07 19:30'
    >>> shown(None)
    ''
    """
    if moment is None:
        return ""
    text = local(moment).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")
    return f"{text} {label(lang)}" if with_label else text
