"""Incident figures per grid (事件统计) and the monthly ranking (月度排名).

For the grids of one level under a root (by default the user's jurisdiction) and a
period (a calendar month, or days from–to, in China time), one SQL statement
counts, per grid, the incidents received in the period and in the two periods it
is compared with (环比: the period just before; 同比: the same period a year
earlier). Incidents belong to a grid through their micro-grid code, whose prefix
names every ancestor (GB/T 31000 codes), so a level-n figure is a GROUP BY on the
code cut to the level's length — no spatial join; the scan is bounded by the
``incidents(created_at)`` index on the three windows.

Definitions (the API document repeats them), for the incidents *received* in the
period (``created_at`` in [start, end)), as the database stands at ``as_of`` (now):

- ``received`` 受理数; ``by_category`` the same per category;
- ``per_100_households``: received × 100 / the grid's households (today's);
- ``closed`` 办结数: status closed or evaluated (``closed_at`` set);
- ``resolved`` 化解数: closed with a successful outcome, ``RESOLVED_OUTCOMES`` =
  mediated 调解成功 and handled 已处置. Not resolved: not_mediated 调解未成功,
  litigation 转诉讼 (left to the courts) and transferred 移交职能部门 (handed to a
  department: closed for the grid, not resolved by it), and everything still open;
- ``resolution_rate`` 化解率 = resolved / received (null when nothing was received);
- ``avg_close_days``: mean days from receipt to closing, over the closed ones;
- ``due``: closed, or still open past the deadline at ``as_of``; ``on_time``:
  closed by the deadline (or closed with no deadline); ``timeliness`` 按期办结率 =
  on_time / due; ``overdue`` 超期未结: open past the deadline at ``as_of``;
  ``closed_late``: closed after the deadline;
- ``visited_households``: households of the grid visited (入户走访, the phone's
  ``visits``) at least once in the period; ``visit_rate`` 走访率 =
  visited_households / the grid's households (null without households). Not a
  component of the ranking's score;
- ``mom`` 环比 and ``yoy`` 同比: ``{"received", "received_change",
  "resolution_rate", "resolution_rate_change"}`` of the compared period, the change
  of ``received`` relative ((now − then) / then, null when then = 0) and that of
  the rate in points of share (now − then, null when either is null).

A past month's figures still move while its incidents are being closed: they are
the picture at ``as_of``, which the answer states.
"""

import calendar
import datetime as dt
import importlib
import math
from dataclasses import dataclass

import numpy as np
from psycopg import sql

from geo import ranking, vocab, workdays
from geo.catalogue import say
from layers.access import like_prefix
from layers.errors import Invalid, NotFound

__all__ = ["RESOLVED_OUTCOMES", "MAX_DAYS", "Period", "month_period", "day_period",
           "today", "current_month", "default_month", "stats", "rankings",
           "worker_visits", "coverage_shares"]

RESOLVED_OUTCOMES = ("mediated", "handled")
MAX_DAYS = 366  # a from–to period of at most a year

_COUNTS = ("received", "closed", "resolved", "due", "on_time", "overdue",
           "closed_late", "prev_received", "prev_resolved", "yoy_received",
           "yoy_resolved", "visited")
_CATEGORIES = tuple(vocab.INCIDENT_CATEGORIES)


@dataclass(frozen=True)
class Period:
    """[start, end) in China time; ``month`` "YYYY-MM" when it is a calendar month.

    The month still running (``month_period(text, now)`` with ``now`` inside it)
    ends at ``now``: its 环比 and 同比 compare as long a stretch of the month before
    and of the same month a year earlier (上月同期, 去年同期), not whole months.
    """

    start: dt.datetime
    end: dt.datetime
    month: str | None = None

    def _full_end(self):
        """Where the period would end if it were over: the month's end."""
        if not self.month:
            return self.end
        days = calendar.monthrange(self.start.year, self.start.month)[1]
        return _midnight(self.start.date() + dt.timedelta(days=days))

    def complete(self, now=None):
        """True when the whole period lies before ``now`` (default the clock).

        >>> now = dt.datetime(2026, 11, 20, 10, tzinfo=workdays.CHINA_TZ)
        >>> month_period("2026-10").complete(now), month_period("2026-11").complete(now)
        (True, False)
        >>> month_period("2026-11", now=now).complete(now)
        False
        """
        return self._full_end() <= (now or dt.datetime.now(dt.UTC))

    def _cut(self, length):
        """The same period ended ``length`` after its start (not past its end)."""
        return Period(self.start, min(self.end, self.start + length), self.month)

    def _like(self, month):
        """The whole calendar month ``month``, or as long a stretch of it as this
        period's when this is a month still running."""
        whole = month_period(month)
        return whole if self.end == self._full_end() else whole._cut(
            self.end - self.start)

    def previous(self):
        """The period compared for 环比: the month before, or as many days before."""
        if self.month:
            return self._like(f"{self.start.date() - dt.timedelta(days=1):%Y-%m}")
        days = (self.end - self.start).days
        return _days(self.start.date() - dt.timedelta(days=days), self.start.date())

    def year_before(self):
        """The period compared for 同比: the same dates a year earlier."""
        if self.month:
            return self._like(f"{self.start.year - 1}-{self.start:%m}")
        return _days(_year_back(self.start.date()), _year_back(self.end.date()))

    def as_dict(self):
        # the last day touched: the day before a midnight end, the day of a
        # running month's ``now``
        last = (self.end - dt.timedelta(microseconds=1)).date()
        return {"month": self.month, "from": self.start.date().isoformat(),
                "to": last.isoformat(), "start": self.start.isoformat(),
                "end": self.end.isoformat()}


def _midnight(day):
    return dt.datetime.combine(day, dt.time(), tzinfo=workdays.CHINA_TZ)


def _days(first, end):
    return Period(_midnight(first), _midnight(end))


def _year_back(day):
    # 29 February has no twin a year earlier: the 28th stands in
    return day.replace(year=day.year - 1, day=min(day.day, 28 if day.month == 2
                                                     else day.day))


def month_period(text, field="month", now=None):
    """The calendar month "YYYY-MM" (China time); given ``now`` inside that month,
    the month so far (it ends at ``now``)."""
    try:
        first = dt.datetime.strptime(text or "", "%Y-%m").date()
    except ValueError:
        raise Invalid(say("err_month_format", field=field, text=text),
                      field=field) from None
    if first.year < 1900:
        raise Invalid(say("err_out_of_range", field=field, text=text), field=field)
    days = calendar.monthrange(first.year, first.month)[1]
    whole = Period(_midnight(first), _midnight(first + dt.timedelta(days=days)),
                   f"{first:%Y-%m}")
    if now is not None and whole.start <= now < whole.end:
        return whole._cut(now - whole.start)
    return whole


def day_period(first, last):
    """The days ``first`` to ``last`` included (``datetime.date``), at most a year."""
    if last < first:
        raise Invalid(say("err_to_before_from"), field="to")
    if (last - first).days + 1 > MAX_DAYS:
        raise Invalid(say("err_period_too_long", days=MAX_DAYS), field="to")
    if first.year < 1901:
        raise Invalid(say("err_from_out_of_range"), field="from")
    return _days(first, last + dt.timedelta(days=1))


def today(now=None):
    """The date in China (the deployment's zone, ``geo.workdays.CHINA_TZ``) at
    ``now`` (default the clock)."""
    return (now or dt.datetime.now(dt.UTC)).astimezone(workdays.CHINA_TZ).date()


def current_month(now=None):
    """The month running at ``now`` (China time), up to ``now``."""
    now = now or dt.datetime.now(dt.UTC)
    return month_period(f"{today(now):%Y-%m}", now=now)


def default_month(now=None):
    """The month the pages and the API open on: the last complete calendar month
    before ``now`` (China time). The one place that decides it.

    >>> default_month(dt.datetime(2026, 12, 1, 0, 30, tzinfo=workdays.CHINA_TZ)).month
    '2026-11'
    >>> default_month(dt.datetime(2026, 11, 30, 16, 30, tzinfo=dt.UTC)).month
    '2026-11'
    """
    return month_period(f"{today(now).replace(day=1) - dt.timedelta(days=1):%Y-%m}")


_CATEGORY_COUNTS = sql.SQL(", ").join(
    sql.SQL("count(*) FILTER (WHERE x.cur AND x.category = {}) AS {}").format(
        sql.Literal(c), sql.Identifier("cat_" + c)) for c in _CATEGORIES)

_QUERY = sql.SQL("""
WITH g AS (
    SELECT code, name, level, parent_code FROM grids
    WHERE level = %(level)s AND code LIKE %(root)s AND code LIKE %(scope)s
),
h AS (
    SELECT left(grid_code, %(len)s) AS code, count(*) AS households
    FROM households
    WHERE grid_code LIKE %(root)s AND grid_code LIKE %(scope)s
    GROUP BY 1
),
x AS (
    SELECT grid_code, category, created_at, closed_at, deadline,
           created_at >= %(s0)s AND created_at < %(e0)s AS cur,
           created_at >= %(s1)s AND created_at < %(e1)s AS prev,
           created_at >= %(s2)s AND created_at < %(e2)s AS yoy,
           closed_at IS NOT NULL AND outcome = ANY(%(resolved)s) AS resolved
    FROM incidents
    WHERE grid_code LIKE %(root)s AND grid_code LIKE %(scope)s
      AND ((created_at >= %(s0)s AND created_at < %(e0)s)
        OR (created_at >= %(s1)s AND created_at < %(e1)s)
        OR (created_at >= %(s2)s AND created_at < %(e2)s))
),
i AS (
    SELECT left(x.grid_code, %(len)s) AS code,
        count(*) FILTER (WHERE x.cur) AS received,
        {categories},
        count(*) FILTER (WHERE x.cur AND x.closed_at IS NOT NULL) AS closed,
        count(*) FILTER (WHERE x.cur AND x.resolved) AS resolved,
        coalesce(sum(extract(epoch FROM x.closed_at - x.created_at))
                 FILTER (WHERE x.cur AND x.closed_at IS NOT NULL), 0)::float8
            / 86400 AS close_days,
        count(*) FILTER (WHERE x.cur AND (x.closed_at IS NOT NULL
                                          OR x.deadline < %(now)s)) AS due,
        count(*) FILTER (WHERE x.cur AND x.closed_at IS NOT NULL
                         AND (x.deadline IS NULL OR x.closed_at <= x.deadline))
            AS on_time,
        count(*) FILTER (WHERE x.cur AND x.closed_at IS NULL
                         AND x.deadline < %(now)s) AS overdue,
        count(*) FILTER (WHERE x.cur AND x.closed_at > x.deadline) AS closed_late,
        count(*) FILTER (WHERE x.prev) AS prev_received,
        count(*) FILTER (WHERE x.prev AND x.resolved) AS prev_resolved,
        count(*) FILTER (WHERE x.yoy) AS yoy_received,
        count(*) FILTER (WHERE x.yoy AND x.resolved) AS yoy_resolved
    FROM x GROUP BY 1
),
v AS (
    SELECT left(grid_code, %(len)s) AS code, count(DISTINCT household_id) AS visited
    FROM visits
    WHERE grid_code LIKE %(root)s AND grid_code LIKE %(scope)s
      AND visited_at >= %(s0)s AND visited_at < %(e0)s
    GROUP BY 1
)
-- USING merges the join columns: one "code" column
SELECT * FROM g LEFT JOIN h USING (code) LEFT JOIN i USING (code)
    LEFT JOIN v USING (code)
ORDER BY g.code
""").format(categories=_CATEGORY_COUNTS)


def _root(conn, principal, code):
    """(code, name, level) of the root, which must lie in the user's subtree; None
    for the whole deployment."""
    code = code or principal.grid_code
    if not code:
        return None
    row = conn.execute("SELECT code, name, level FROM grids"
                       " WHERE code = %s AND code LIKE %s",
                       (code, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_no_grid_here", code=code), field="grid")
    return row


def _level(root, level):
    top = root[2] if root else 1
    if level is None:
        return min(top + 1, 4) if root else 1
    if level not in vocab.GRID_LEVELS:
        raise Invalid(say("err_level_1_to_4"), field="level")
    if level < top:
        raise Invalid(say("err_level_below_root", top=top, root=root[0]), field="level")
    return level


def _nan_none(value, digits=None):
    """A float for JSON: None for a missing or NaN value."""
    if value is None:
        return None
    value = float(value)
    if math.isnan(value):
        return None
    return round(value, digits) if digits is not None else value


def _json(array, digits=None):
    """A numpy array as a list for JSON, NaN as None (rounded when asked)."""
    a = np.atleast_1d(np.asarray(array, dtype=float))
    if digits is not None:
        a = np.round(a, digits)
    return [None if v != v else v for v in a.tolist()]  # v != v: NaN


def _figures(counts, by_cat, households, close_days):
    """The JSON figures of every grid (or of a total: arrays of one value each)."""
    c = {name: np.atleast_1d(a) for name, a in counts.items()}
    rate, change = ranking.rate, ranking.change
    resolution = rate(c["resolved"], c["received"])
    columns = {name: np.atleast_1d(a).tolist() for name, a in c.items()}
    cats = {k: np.atleast_1d(a).tolist() for k, a in by_cat.items()}
    plain = {
        "households": np.atleast_1d(households).tolist(),
        "per_100_households": _json(rate(c["received"] * 100, households)),
        "resolution_rate": _json(resolution),
        "avg_close_days": _json(rate(close_days, c["closed"]), 3),
        "timeliness": _json(rate(c["on_time"], c["due"])),
        "visit_rate": _json(rate(c["visited"], households)),
    }
    compared = {}
    for key, prefix in (("mom", "prev_"), ("yoy", "yoy_")):
        then = rate(c[prefix + "resolved"], c[prefix + "received"])
        compared[key] = {
            "received": columns[prefix + "received"],
            "received_change": _json(change(c["received"], c[prefix + "received"])),
            "resolution_rate": _json(then),
            "resolution_rate_change": _json(resolution - then),
        }
    out = []
    for k, households_k in enumerate(plain["households"]):
        out.append({
            "households": households_k,
            "received": columns["received"][k],
            "by_category": {cat: cats[cat][k] for cat in _CATEGORIES},
            "per_100_households": plain["per_100_households"][k],
            "closed": columns["closed"][k], "resolved": columns["resolved"][k],
            "resolution_rate": plain["resolution_rate"][k],
            "avg_close_days": plain["avg_close_days"][k],
            "due": columns["due"][k], "on_time": columns["on_time"][k],
            "timeliness": plain["timeliness"][k],
            "overdue": columns["overdue"][k],
            "closed_late": columns["closed_late"][k],
            "visited_households": columns["visited"][k],
            "visit_rate": plain["visit_rate"][k],
            **{key: {name: values[k] for name, values in parts.items()}
               for key, parts in compared.items()},
        })
    return out


def stats(conn, principal, level=None, period=None, root=None, now=None):
    """Incident figures per grid of ``level`` under ``root`` for ``period``.

    Parameters
    ----------
    principal : layers.access.Principal
        Bounds everything: ``root`` must lie in the user's subtree (NotFound
        otherwise, as for a missing grid).
    level : int, optional
        1–4, at or below the root's level; default the root's children (level 1
        for the whole deployment).
    period : Period, optional
        Default :func:`default_month`, the last complete month.
    root : str, optional
        Grid code; default the user's own grid (None: the whole deployment).
    now : datetime, optional
        The moment "overdue" and "due" are judged at (default now).

    Returns
    -------
    dict
        ``{"root", "level", "period", "previous_period", "year_before_period",
        "as_of", "empty", "not_compared", "grids": [...], "total": {...}}``; each
        grid ``{"code", "name", "level", "parent", ...figures}`` (see the module's
        definitions). ``period`` carries ``complete`` (false for the month still
        running, which ends at ``now``). ``empty``: no incident was received in
        the period under the root (本月无数据): then nothing is compared, every
        ``received_change`` is null rather than −100 %. ``not_compared``:
        ``{"mom": reason, "yoy": reason}``, null where the comparison stands,
        ``"empty"`` (this period has no incident) or ``"none_then"`` (the
        compared period has none).
    """
    now = now or dt.datetime.now(dt.UTC)
    period = period or default_month(now)
    top = _root(conn, principal, root)
    level = _level(top, level)
    prev, yoy = period.previous(), period.year_before()
    params = {"level": level, "len": 6 + 3 * level, "scope": principal.prefix,
              "root": like_prefix(top[0] if top else ""), "now": now,
              "resolved": list(RESOLVED_OUTCOMES),
              "s0": period.start, "e0": period.end, "s1": prev.start, "e1": prev.end,
              "s2": yoy.start, "e2": yoy.end}
    cur = conn.execute(_QUERY, params)
    names = [d.name for d in cur.description]
    rows = cur.fetchall()
    col = {name: [r[i] for r in rows] for i, name in enumerate(names)}

    def ints(name):
        return np.array([v or 0 for v in col[name]], dtype=np.int64)

    counts = {name: ints(name) for name in _COUNTS}
    by_cat = {c: ints("cat_" + c) for c in _CATEGORIES}
    households = ints("households")
    close_days = np.array([v or 0.0 for v in col["close_days"]], dtype=float)
    grids = [{"code": code, "name": name, "level": lv, "parent": parent} | f
             for code, name, lv, parent, f in zip(
                 col["code"], col["name"], col["level"], col["parent_code"],
                 _figures(counts, by_cat, households, close_days), strict=True)]
    total = _figures({k: a.sum() for k, a in counts.items()},
                     {k: a.sum() for k, a in by_cat.items()}, households.sum(),
                     close_days.sum())[0]
    empty = total["received"] == 0
    not_compared = {}
    for key in ("mom", "yoy"):
        then = total[key]["received"]
        not_compared[key] = "empty" if empty else None if then else "none_then"
        if empty:  # a month without data is not a fall of 100 %
            for figures in (*grids, total):
                figures[key]["received_change"] = None
    return {
        "root": None if top is None else {"code": top[0], "name": top[1],
                                          "level": top[2]},
        "level": level,
        "period": period.as_dict() | {"complete": period.complete(now)},
        "previous_period": prev.as_dict(), "year_before_period": yoy.as_dict(),
        "as_of": now.astimezone(workdays.CHINA_TZ).isoformat(),
        "empty": empty, "not_compared": not_compared,
        "grids": grids, "total": total,
    }


_WORKER_VISITS = """
WITH s AS (
    SELECT st.id, st.name, st.role, st.grid_code, g.name AS grid_name
    FROM grid_staff st JOIN grids g ON g.code = st.grid_code
    WHERE st.active AND st.grid_code LIKE %(root)s AND st.grid_code LIKE %(scope)s
)
SELECT s.id, s.name, s.role, s.grid_code, s.grid_name,
       (SELECT count(*) FROM households h
        WHERE h.grid_code LIKE s.grid_code || '%%') AS households,
       (SELECT count(DISTINCT v.household_id) FROM visits v
        WHERE v.staff_id = s.id AND v.grid_code LIKE s.grid_code || '%%'
          AND v.visited_at >= %(start)s AND v.visited_at < %(end)s) AS visited,
       (SELECT count(*) FROM visits v
        WHERE v.staff_id = s.id
          AND v.visited_at >= %(start)s AND v.visited_at < %(end)s) AS visits
FROM s ORDER BY s.grid_code, s.name, s.id
"""


def worker_visits(conn, principal, period=None, root=None, now=None):
    """走访率 per grid worker: of the households in the grid a worker serves
    (``grid_staff.grid_code`` and every grid below it), the share the worker
    visited at least once in ``period`` (their own visits from the phone;
    another worker's visit to the same household does not count for them).

    Returns ``{"root", "period", "as_of", "workers": [{"id", "name", "role",
    "grid_code", "grid_name", "households", "visited_households", "visits",
    "visit_rate"}]}``; ``visit_rate`` is null for a grid without households.
    Staff names and grids only: no household is named, so this is not a read
    of personal data. Scoped as :func:`stats` (``root`` in the user's subtree).
    """
    now = now or dt.datetime.now(dt.UTC)
    period = period or default_month(now)
    top = _root(conn, principal, root)
    rows = conn.execute(_WORKER_VISITS, {
        "root": like_prefix(top[0] if top else ""), "scope": principal.prefix,
        "start": period.start, "end": period.end}).fetchall()
    workers = [{"id": i, "name": name, "role": role, "grid_code": code,
                "grid_name": grid_name, "households": households,
                "visited_households": visited, "visits": visits,
                "visit_rate": (round(visited / households, 4) if households
                               else None)}
               for i, name, role, code, grid_name, households, visited, visits
               in rows]
    return {
        "root": None if top is None else {"code": top[0], "name": top[1],
                                          "level": top[2]},
        "period": period.as_dict() | {"complete": period.complete(now)},
        "as_of": now.astimezone(workdays.CHINA_TZ).isoformat(),
        "workers": workers,
    }


def coverage_shares(conn, principal, codes):
    """Camera coverage per grid from ``layers.coverage.shares``, or ``{}`` while
    that module (issue 7, first part) does not exist yet: coverage unknown."""
    try:
        coverage = importlib.import_module("layers.coverage")
    except ModuleNotFoundError as exc:
        if exc.name != "layers.coverage":
            raise
        return {}
    shares = getattr(coverage, "shares", None)
    return {} if shares is None else shares(conn, principal, codes)


def rankings(conn, principal, level=None, period=None, root=None, now=None,
             bottom=ranking.BOTTOM):
    """The ranking of the grids of ``level`` under ``root`` for ``period``.

    The figures of :func:`stats`, each grid with its camera coverage (the share of
    its households seen by a camera, ``coverage_shares``), its ``score`` (0–100,
    ``geo.ranking.score``: resolution rate, timeliness and coverage weighted
    ``geo.ranking.WEIGHTS``, unknown components left out), its ``rank`` (1 best,
    null when it has no score) and ``flagged`` for the last ``bottom`` (末位,
    ties included). Items are in rank order, unranked last.

    A period in which the root received no incident (``empty``, 本月无数据: a
    month the data does not reach, or one not begun) ranks and flags nobody:
    camera coverage alone is not a month's work.
    """
    figures = stats(conn, principal, level, period, root, now)
    items = figures.pop("grids")
    shares = coverage_shares(conn, principal, [g["code"] for g in items])
    for g in items:
        share = shares.get(g["code"]) or {}
        g["coverage"] = share.get("household_share")
        g["area_share"] = share.get("area_share")
        g["cameras"] = share.get("cameras")
        g["online_cameras"] = share.get("online_cameras")

    def column(name):
        return np.array([np.nan if g[name] is None else g[name] for g in items],
                        dtype=float)

    scores = ranking.score(column("resolution_rate"), column("timeliness"),
                           column("coverage"))
    if figures["empty"]:
        scores = np.full(len(items), np.nan)
    ranks = ranking.ranks(scores)
    flagged = ranking.bottom(scores, bottom)
    for g, s, r, flag in zip(items, scores, ranks, flagged, strict=True):
        g.update(score=_nan_none(s), rank=int(r) or None, flagged=bool(flag))
    items.sort(key=lambda g: (g["rank"] is None, g["rank"] or 0, g["code"]))
    return figures | {"weights": dict(ranking.WEIGHTS), "bottom": bottom,
                      "coverage_known": bool(shares), "items": items}
