"""``python -m bench stats``: incident figures of all 20,000 micro-grids for a month.

Ours: ``layers.stats.stats(conn, SYSTEM, level=4, period=October 2026)`` on the
city (1 M incidents, 1.1 M households): one SQL statement (the three windows —
the month, the month before, the same month a year earlier — through the
``incidents(created_at)`` index, households grouped by code prefix) and the rates
in numpy, up to the JSON-ready list. Baselines, measured in the same run: the same
figures in plain pandas, (a) from rows already in memory (groupby only), (b)
including fetching those rows from PostGIS (incidents of the three windows, every
household's grid code, the micro-grids) — what one would write without SQL
aggregates. The answers are compared, so the baseline is the same aggregation.

The city is the database ``gridgov_bench_city`` (``bench.locate.city_database``).
"""

import argparse
import datetime as dt

import numpy as np
import pandas as pd

from bench import best_of
from bench.locate import city_database

__all__ = ["main"]


def _fetch(conn, period):
    """The rows the pandas baseline works from."""
    prev, yoy = period.previous(), period.year_before()
    cur = conn.execute(
        "SELECT grid_code, category, created_at, closed_at, deadline, outcome"
        " FROM incidents WHERE (created_at >= %s AND created_at < %s)"
        " OR (created_at >= %s AND created_at < %s)"
        " OR (created_at >= %s AND created_at < %s)",
        (period.start, period.end, prev.start, prev.end, yoy.start, yoy.end))
    incidents = pd.DataFrame(cur.fetchall(), columns=[d.name for d in
                                                      cur.description])
    households = pd.Series([r[0] for r in conn.execute(
        "SELECT grid_code FROM households WHERE grid_code IS NOT NULL")])
    grids = pd.Series([r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE level = 4 ORDER BY code")])
    return incidents, households, grids


def _pandas(incidents, households, grids, period, now, resolved_outcomes):
    """The per-grid figures in plain pandas (counts and rates, the same
    definitions as layers/stats.py)."""
    prev, yoy = period.previous(), period.year_before()
    i = incidents
    created = i["created_at"]
    cur = (created >= period.start) & (created < period.end)
    closed = i["closed_at"].notna()
    resolved = closed & i["outcome"].isin(resolved_outcomes)
    frame = pd.DataFrame({
        "code": i["grid_code"].str.slice(0, 18),
        "received": cur,
        "closed": cur & closed,
        "resolved": cur & resolved,
        "close_days": np.where(cur & closed, (i["closed_at"] - created)
                               .dt.total_seconds() / 86400, 0.0),
        "due": cur & (closed | (i["deadline"] < now)),
        "on_time": cur & closed & (i["deadline"].isna()
                                   | (i["closed_at"] <= i["deadline"])),
        "overdue": cur & ~closed & (i["deadline"] < now),
        "prev_received": (created >= prev.start) & (created < prev.end),
        "yoy_received": (created >= yoy.start) & (created < yoy.end),
    })
    for c in ("dispute", "public_order", "environment", "illegal_building"):
        frame["cat_" + c] = cur & (i["category"] == c)
    frame["prev_resolved"] = frame["prev_received"] & resolved
    frame["yoy_resolved"] = frame["yoy_received"] & resolved
    sums = frame.groupby("code").sum()
    counts = households.str.slice(0, 18).value_counts().rename("households")
    out = pd.DataFrame(index=pd.Index(grids, name="code")).join(sums).join(counts)
    out = out.fillna(0)
    out["resolution_rate"] = out["resolved"] / out["received"].where(
        out["received"] > 0)
    out["timeliness"] = out["on_time"] / out["due"].where(out["due"] > 0)
    out["per_100_households"] = out["received"] * 100 / out["households"].where(
        out["households"] > 0)
    out["avg_close_days"] = out["close_days"] / out["closed"].where(
        out["closed"] > 0)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench stats",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--month", default="2026-10")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    import psycopg

    from layers import stats
    from layers.access import SYSTEM

    period = stats.month_period(args.month)
    now = dt.datetime.now(dt.UTC)
    with psycopg.connect(city_database(), autocommit=True) as conn:
        n = conn.execute("SELECT count(*) FROM incidents").fetchone()[0]
        print(f"{n:,} incidents; month {args.month}, level 4; best of "
              f"{args.repeat}", flush=True)
        fetched, rows = best_of(lambda: _fetch(conn, period), args.repeat)
        grouped, theirs = best_of(
            lambda: _pandas(*rows, period, now, stats.RESOLVED_OUTCOMES),
            args.repeat)
        ours, answer = best_of(
            lambda: stats.stats(conn, SYSTEM, level=4, period=period, now=now),
            args.repeat)
    print(f"  baseline  {'pandas groupby, rows already in memory':<52} "
          f"{grouped:6.2f} s")
    print(f"  baseline  {'pandas, fetching the rows from PostGIS + groupby':<52} "
          f"{fetched + grouped:6.2f} s  ({len(rows[0]):,} incidents, "
          f"{len(rows[1]):,} households fetched)")
    print(f"  ours      {'layers.stats.stats (SQL aggregates + rates)':<52} "
          f"{ours:6.2f} s  ({len(answer['grids']):,} grids)")
    mine = pd.DataFrame(answer["grids"]).set_index("code")
    same = all(np.allclose(mine[c].astype(float), theirs[c].astype(float),
                           equal_nan=True)
               for c in ("received", "resolved", "households", "overdue",
                         "resolution_rate", "timeliness"))
    print(f"  the two answers agree: {'yes' if same else 'NO'}")
    return 0 if same else 1


if __name__ == "__main__":
    raise SystemExit(main())
