"""``python -m bench dask``: the batch jobs on Dask (``gridgov jobs run``) at 1
and 2 workers, beside the same work in one process, in the same run.

- Assignment (``assign-households``): ``geo.assign.assign`` of every household
  into the micro-grids in one process (points and polygons read beforehand,
  untimed) against the same households through Dask, the job reading from and
  writing back to PostGIS, its reading, computing and writing timed apart in
  each task. Per worker: households / the seconds the tasks computed (summed
  over all tasks: one worker's rate, the neighbours' points each partition
  also reads counted against it). From 1 to 2 workers: the compute span (the
  busiest worker's computing seconds) and the wall time of the whole job.
  Every household's code is cleared before each run (untimed), so that every
  one is written back.
- The heatmap cube (``heatmap-cube``) beside the SQL recount
  ``incident_cells_refresh()``, and patrol coverage (``patrol-coverage``, the
  month before ``as_of``) beside ``layers.tracks.summary`` worker by worker, at
  1 and 2 workers.
- Memory: each worker's peak resident set (``ru_maxrss``) over its tasks.

Bars: per worker ≥ 0.8× the single process; 1 → 2 workers ≥ 1.7× (compute
span). The city (``geo.demo.generate("city", towns=N)``, ``--towns``, default
2: a small size to see it work on a shared machine) is loaded once into the
database ``gridgov_bench_dask_<N>`` on the test cluster (as ``bench locate``
does) and kept between runs.
"""

import argparse
import collections
import datetime as dt
import time

import numpy as np

__all__ = ["PER_WORKER_BAR", "SCALING_BAR", "main"]

PER_WORKER_BAR = 0.8
SCALING_BAR = 1.7
AS_OF = dt.date(2026, 11, 1)
MONTH = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


def _database(towns, seed):
    """The URL of a database holding the city of ``towns`` towns, loaded once."""
    from bench.locate import bench_database
    from layers import db
    from layers import demo as demo_layer

    name = f"gridgov_bench_dask_{towns}"
    url = bench_database(name)
    with db.connect(url) as conn:
        db.migrate(conn)
        have = demo_layer.dataset(conn) or {}
        want = {"scale": "city", "towns": towns, "seed": seed}
        if {k: have.get(k) for k in want} != want:
            from geo.demo import generate

            started = time.perf_counter()
            print(f"loading a city of {towns} towns (seed {seed}) into {name} once …",
                  flush=True)
            demo = generate("city", seed=seed, as_of=AS_OF, towns=towns)
            demo_layer.load(conn, demo, want | {"as_of": AS_OF.isoformat()},
                            force=True)
            print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
        conn.commit()
    return url


def _single_process(url, repeat):
    """``(households, best seconds)`` of ``geo.assign.assign`` in this process
    over every household and micro-grid, read from the database untimed."""
    import psycopg
    import shapely

    from geo.assign import assign

    with psycopg.connect(url) as conn:
        grids = conn.execute("SELECT ST_AsBinary(geom) FROM grids WHERE level = 4"
                             " ORDER BY code COLLATE \"C\"").fetchall()
        xy = np.array(conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM households").fetchall())
    polygons = shapely.from_wkb([bytes(r[0]) for r in grids])
    points = shapely.points(xy)
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        assign(points, polygons)
        best = min(best, time.perf_counter() - started)
    return len(points), best


def _per_worker(report, key):
    """Seconds of ``key`` summed per worker process: ``{worker: seconds}``."""
    spent = collections.Counter()
    for figures in report.partitions:
        spent[figures["worker"]] += figures[key]
    return spent


def _memory(report):
    peak = {}
    for figures in report.partitions:
        peak[figures["worker"]] = max(peak.get(figures["worker"], 0),
                                      figures["rss_peak_mb"])
    return max(peak.values())


def _assignment(client, url, workers):
    import psycopg

    from layers import batch

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("UPDATE households SET grid_code = NULL")
    report = batch.run(client, url, "assign-households", workers)
    compute = _per_worker(report, "compute_s")
    return {"report": report, "owned": report.total("owned"),
            "read": report.total("rows"), "written": report.total("written"),
            "read_s": report.total("read_s"), "compute_s": report.total("compute_s"),
            "write_s": report.total("write_s"), "span": max(compute.values()),
            "wall": report.seconds, "memory": _memory(report)}


def _job(client, url, job, workers, **options):
    from layers import batch

    report = batch.run(client, url, job, workers, **options)
    compute = _per_worker(report, "compute_s")
    return {"report": report, "rows": report.total("rows"),
            "compute_s": report.total("compute_s"), "span": max(compute.values()),
            "wall": report.seconds, "memory": _memory(report)}


def _baselines(url, output):
    """Seconds of the SQL recount of the cube, and of layers.tracks.summary for
    every worker the patrol job counted."""
    import pandas as pd
    import psycopg

    from layers import tracks
    from layers.access import SYSTEM

    with psycopg.connect(url, autocommit=True) as conn:
        started = time.perf_counter()
        conn.execute("SELECT incident_cells_refresh()")
        cube = time.perf_counter() - started
        staff = pd.read_csv(output)["staff_id"].tolist()
        started = time.perf_counter()
        for sid in staff:
            tracks.summary(conn, SYSTEM, int(sid), *MONTH, lines=False)
        patrol = time.perf_counter() - started
    return cube, patrol


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench dask",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--towns", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3,
                        help="runs of the single-process assignment (best kept)")
    parser.add_argument("--output", default="var/bench/dask-patrol-coverage.csv")
    args = parser.parse_args(argv)

    from web.cli_jobs import dask_client

    url = _database(args.towns, args.seed)
    n, single = _single_process(url, args.repeat)
    print(f"{n:,} households; single process geo.assign: {single:.3f} s = "
          f"{n / single / 1e6:.2f} M points/s", flush=True)
    runs = {}
    for workers in (1, 2):
        with dask_client(workers=workers) as (client, _):
            runs[workers] = {
                "assign": _assignment(client, url, workers),
                "cube": _job(client, url, "heatmap-cube", workers),
                "patrol": _job(client, url, "patrol-coverage", workers, month=MONTH,
                               output=args.output)}
        cut = runs[workers]["assign"]["report"].plan
        print(f"{workers} worker(s): {len(cut.prefixes) + 1} partitions "
              f"({', '.join(f'{k} digits: {m}' for k, m in cut.counts())}, "
              "and the rest)", flush=True)
    cube_sql, patrol_loop = _baselines(url, args.output)

    print("\nassignment (assign-households)")
    print(f"  {'':<10}{'read s':>9}{'compute s':>11}{'write s':>9}{'span s':>9}"
          f"{'wall s':>9}{'M pts/s/worker':>16}{'× single':>10}{'RSS MB':>9}")
    per_worker_ok = True
    for workers, run in runs.items():
        a = run["assign"]
        rate = a["owned"] / a["compute_s"]
        ratio = rate / (n / single)
        per_worker_ok &= ratio >= PER_WORKER_BAR
        print(f"  {workers} worker{'s' if workers > 1 else ' '}{a['read_s']:>10.2f}"
              f"{a['compute_s']:>11.2f}{a['write_s']:>9.2f}{a['span']:>9.2f}"
              f"{a['wall']:>9.2f}{rate / 1e6:>16.2f}{ratio:>10.2f}{a['memory']:>9.0f}")
    a1, a2 = runs[1]["assign"], runs[2]["assign"]
    scaling = a1["span"] / a2["span"]
    print(f"  {a1['owned']:,} households owned, {a1['read']:,} read (neighbours'"
          f" points near the borders twice), {a1['written']:,} written")
    print(f"  per worker ≥ {PER_WORKER_BAR}× single process: "
          f"{'met' if per_worker_ok else 'MISSED'}; 1 → 2 workers (compute span) "
          f"{scaling:.2f}× (bar {SCALING_BAR}×: "
          f"{'met' if scaling >= SCALING_BAR else 'MISSED'}), wall time "
          f"{a1['wall'] / a2['wall']:.2f}×")
    for key, title, baseline, name in (
            ("cube", "heatmap cube (heatmap-cube)", cube_sql,
             "incident_cells_refresh()"),
            ("patrol", f"patrol coverage (patrol-coverage, {MONTH[0]:%Y-%m})",
             patrol_loop, "layers.tracks.summary per worker")):
        print(f"\n{title}: baseline {name} {baseline:.2f} s")
        for workers, run in runs.items():
            r = run[key]
            print(f"  {workers} worker{'s' if workers > 1 else ' '}: wall "
                  f"{r['wall']:.2f} s, compute {r['compute_s']:.2f} s (span "
                  f"{r['span']:.2f} s), {r['rows']:,} rows read, RSS peak "
                  f"{r['memory']:.0f} MB")
        print(f"  1 → 2 workers: compute span {_ratio(runs, key, 'span'):.2f}×, "
              f"wall {_ratio(runs, key, 'wall'):.2f}×")
    return 0 if per_worker_ok and scaling >= SCALING_BAR else 1


def _ratio(runs, key, figure):
    return runs[1][key][figure] / runs[2][key][figure]


if __name__ == "__main__":
    raise SystemExit(main())
