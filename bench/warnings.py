"""``python -m bench warnings``: early warning measured against a known answer.

On generated daily counts (``geo.demo.outbreaks``: 20,000 micro-grids x 4
categories, their comprehensive grids and villages, 13 months; about a dozen
incidents per micro-grid and category a year, grids differing by a Gamma factor,
a season and a weekday pattern):

- **false alarms**: the share of days with any warning on data with no outbreak at
  all (``--null-days`` independent days); bar: at most 5 %, which the
  Benjamini-Hochberg control at q = 0.05 promises then;
- **recall**: the share of injected outbreaks (``--outbreaks`` per day, each about
  six extra incidents over five days at one micro-grid and category) warned at
  that micro-grid or a grid above it, same category;
- the same two for the space-time scan on a 200 x 200 lattice of cells (the city
  at 250 m);
- **time** of the daily run on the city: every series tested plus the scan; bar:
  under 5 minutes;
- **end to end on the demo city** (``--city``, default on): ``layers.early_warning.run``
  on the bench's city database (1 M incidents, ``bench.locate.city_database``) for
  its last day -- reading the cube from PostGIS, testing, and writing the warnings
  with the incidents behind each -- rolled back afterwards, so the city is left as
  it was. The demo's hot spots (3-4 per town, each active a few months) are the
  warnings expected there.
"""

import argparse
import datetime as dt
import time

import numpy as np

from geo.demo.outbreaks import generate
from geo.early_warning import emerging_clusters, warn

__all__ = ["main"]

TODAY = dt.date(2026, 11, 30)
CITY_DAY = dt.date(2026, 11, 1)  # the demo city's last day of incidents
BAR_FALSE = 0.05
BAR_S = 300.0


def _grid_warnings(cube):
    return warn(cube.series, TODAY, cube.counts, cube.days, cube.groups,
                cube.categories)


def _caught(outbreak, flagged):
    code, category, _ = outbreak
    return any(cat == category and code.startswith(grid) for grid, cat in flagged)


def _lattice(seed, days, n=200, outbreak=False):
    rng = np.random.default_rng(seed)
    rate = rng.gamma(2.0, 0.01, size=(n, n))
    counts = rng.poisson(rate[:, :, None], size=(n, n, len(days)))
    where = None
    if outbreak:
        iy, ix = rng.integers(5, n - 5, size=2)
        counts[iy - 1:iy + 2, ix - 1:ix + 2, -4:] += rng.poisson(
            0.3, size=(3, 3, 4))
        where = (int(iy), int(ix))
    return counts, where


def main(argv=None):
    ap = argparse.ArgumentParser(prog="python -m bench warnings")
    ap.add_argument("--micro", type=int, default=20000)
    ap.add_argument("--null-days", type=int, default=40)
    ap.add_argument("--outbreak-days", type=int, default=5)
    ap.add_argument("--outbreaks", type=int, default=40)
    ap.add_argument("--city", action=argparse.BooleanOptionalAction, default=True,
                    help="also time the whole daily run on the demo city's database")
    args = ap.parse_args(argv)

    alarms, took = 0, []
    for seed in range(args.null_days):
        cube = generate(args.micro, TODAY, seed=seed)
        t = time.perf_counter()
        alarms += bool(_grid_warnings(cube))
        took.append(time.perf_counter() - t)
    n_series = len(cube.series)
    caught = total = false = warned = 0
    for seed in range(args.outbreak_days):
        cube = generate(args.micro, TODAY, outbreaks=args.outbreaks, seed=1000 + seed)
        flagged = {w["series"] for w in _grid_warnings(cube)}
        total += len(cube.outbreaks)
        caught += sum(_caught(o, flagged) for o in cube.outbreaks)
        warned += len(flagged)
        false += sum(not any(_caught(o, {f}) for o in cube.outbreaks) for f in flagged)
    share = alarms / args.null_days
    print(f"grids: {n_series:,} series ({args.micro:,} micro-grids and the grids above "
          f"x 4 categories), 7 and 30 days")
    verdict = "met" if share <= BAR_FALSE else "MISSED"
    print(f"  days with any warning, no outbreak: {alarms}/{args.null_days} = "
          f"{share:.1%}  (bar {BAR_FALSE:.0%}: {verdict})")
    print(f"  recall of injected outbreaks: {caught}/{total} = {caught / total:.1%}; "
          f"warnings not explained by an outbreak: {false}/{warned}")

    days = np.arange(np.datetime64(TODAY - dt.timedelta(days=394)),
                     np.datetime64(TODAY + dt.timedelta(days=1)))
    scan_alarms, scan_took = 0, []
    for seed in range(args.null_days):
        counts, _ = _lattice(seed, days)
        t = time.perf_counter()
        scan_alarms += bool(emerging_clusters(counts, days, TODAY, seed=seed))
        scan_took.append(time.perf_counter() - t)
    scan_hits = 0
    for seed in range(args.outbreak_days * 4):
        counts, (iy, ix) = _lattice(5000 + seed, days, outbreak=True)
        found = emerging_clusters(counts, days, TODAY, seed=seed)
        scan_hits += any(abs(c["iy"] - iy) <= 2 and abs(c["ix"] - ix) <= 2
                         for c in found)
    print("space-time scan: 200 x 200 cells, squares of 1/9/25 cells x 1-7 days, "
          "99 replicas, alpha 0.01")
    print(f"  days with any cluster, no outbreak: {scan_alarms}/{args.null_days}; "
          f"recall: {scan_hits}/{args.outbreak_days * 4}")
    daily = float(np.median(took)) + float(np.median(scan_took))
    print(f"daily run on the city (median): grids {np.median(took):.2f} s + scan "
          f"{np.median(scan_took):.2f} s = {daily:.2f} s  (bar {BAR_S:.0f} s: "
          f"{'met' if daily <= BAR_S else 'MISSED'})")
    if args.city:
        _city_run()
    return 0


def _city_run():
    import psycopg

    from bench.locate import city_database
    from layers import early_warning

    with psycopg.connect(city_database()) as conn:
        t = time.perf_counter()
        found = early_warning.run(conn, today=CITY_DAY)
        took = time.perf_counter() - t
        conn.rollback()  # the city stays as it was
    print(f"end to end on the demo city (1 M incidents, {CITY_DAY}): {took:.1f} s, "
          f"{found['grids']} grid warning(s), {found['clusters']} cluster(s)  "
          f"(bar {BAR_S:.0f} s: {'met' if took <= BAR_S else 'MISSED'})")
