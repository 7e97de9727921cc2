"""``python -m bench dispatch``: what the dispatcher's panel asks for one point.

Ours: ``GET /api/v1/locate?nearby=1`` — grid chain, staff, the cameras whose view
contains the point (with their sectors), and around it the open incidents within
200 m, households within 100 m and the nearest cameras: what the dispatch page asks,
in one request and one round trip to the database — through the Flask application
in process (routing, auth by token, JSON; no HTTP server), p50 / p99 over
``--points`` random points of the city. Bar: p99 under 10 ms. Printed beside it:
the same answer as two requests (``/locate`` then ``/locate/nearby``).

Baseline, in the same run: the same lookup as one plain SQL statement without our
index-friendly filters (distances on geography, which no GiST index on geometry
serves, so every camera, open incident and household is measured), on
``--baseline-points`` of the same points.

Edits (``--edit-seconds``, default 20; 0 skips): the application as a server runs
it (the index followed by its background thread, LISTENing for the changes of
migration 0029), first ``--edit-seconds`` of requests without edits, then as long
with a planner's edit or a camera move every ``--edit-every`` seconds from another
process (a micro-grid redrawn into its neighbour and back through
``layers.grid_edit.redraw``, as PUT /grids does; a camera moved 20 m and back),
p50 / p99 of each beside the other, in the same run; then, with ``--rebuild``, the
same edits with the index rebuilt in full on every edit (what the index did
before it followed edits). Bar: p99 under 10 ms during and right after edits
(the requests that start within a second of an edit's commit).

The city is loaded once into ``gridgov_bench_city`` (see ``bench.locate``).
"""

import argparse
import time

import numpy as np

from bench.locate import _percentiles, _random_points, city_database

__all__ = ["P99_BAR_MS", "main"]

P99_BAR_MS = 10.0

_NAIVE = """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g)
    SELECT
      (SELECT array_agg(code ORDER BY level) FROM grids, p
        WHERE ST_Covers(geom::geography, p.g::geography)),
      (SELECT array_agg(code) FROM cameras c, p
        WHERE ST_DWithin(c.geom::geography, p.g::geography, c.range_m)
          AND (c.bearing IS NULL OR c.fov_deg >= 360
               OR abs(mod((degrees(ST_Azimuth(c.geom::geography, p.g::geography))
                          - c.bearing + 540)::numeric, 360) - 180) <= c.fov_deg / 2)),
      (SELECT array_agg(code) FROM incidents i, p
        WHERE i.closed_at IS NULL
          AND ST_DWithin(i.geom::geography, p.g::geography, 200)),
      (SELECT count(*) FROM households h, p
        WHERE ST_DWithin(h.geom::geography, p.g::geography, 100))
"""


def _neighbours(conn, n, seed):
    """``n`` pairs of adjacent micro-grids of one parent: (a, b, geometry of a
    grown 40 m into b, geometry of b), read from the database."""
    import shapely

    rows = conn.execute("""
        SELECT a.code, b.code, ST_AsBinary(a.geom), ST_AsBinary(b.geom)
        FROM (SELECT * FROM grids WHERE level = 4
              ORDER BY md5(code || %s) LIMIT %s) a
        JOIN grids b ON b.parent_code = a.parent_code AND b.code > a.code
         AND b.geom && a.geom AND ST_Length(ST_Intersection(
             ST_Boundary(a.geom), ST_Boundary(b.geom))) > 0.001
    """, (str(seed), 4 * n)).fetchall()
    pairs, used = [], set()
    for a, b, wa, wb in rows:
        if a in used or b in used:
            continue
        used |= {a, b}
        ga, gb = shapely.from_wkb(wa), shapely.from_wkb(wb)
        shared = shapely.intersection(ga.boundary, gb.boundary)
        strip = shapely.intersection(gb, shapely.buffer(shared, 0.0004))
        pairs.append((a, b, shapely.union(ga, strip), gb))
    return pairs[:n]


class Editor:
    """Edits every ``every`` seconds until stopped, in a process of its own (as a
    planner's request in another server worker; in this process its own Python
    work -- the redraw's checks -- would hold the interpreter lock and be
    counted as the index's cost): a micro-grid grown into its neighbour, then
    the neighbour given its boundary back (``layers.grid_edit.redraw``); between
    them a camera moved 20 m east, then back. Notes each commit's time
    (``time.monotonic``: one clock for every process of the machine)."""

    def __init__(self, url, pairs, cameras, every):
        import multiprocessing

        ctx = multiprocessing.get_context("spawn")
        self.stop = ctx.Event()
        self._out = ctx.Queue()
        self._process = ctx.Process(
            target=_edit, name="bench-editor", daemon=True,
            args=(url, pairs, cameras, every, self.stop, self._out))
        self.commits, self.failed = [], []

    def start(self):
        self._process.start()

    def join(self):
        # drain before joining: a child whose queue is not emptied cannot exit
        while (item := self._out.get()) is not None:
            (self.commits if item[0] == "commit" else self.failed).append(item[1:])
        self._process.join()


def _edit(url, pairs, cameras, every, stop, out):
    """The editor process's loop (see :class:`Editor`)."""
    import psycopg

    from layers import grid_edit
    from layers.access import SYSTEM

    def version(conn, code):
        return conn.execute("SELECT version FROM grids WHERE code = %s",
                            (code,)).fetchone()[0]

    steps = []
    for (a, b, grown, gb), cam in zip(pairs, cameras, strict=False):
        steps += [("grid", a, grown), ("camera", cam, 0.0002),
                  ("grid", b, gb), ("camera", cam, -0.0002)]
    try:
        with psycopg.connect(url, autocommit=True) as conn:
            for kind, key, what in steps:
                if stop.wait(every):
                    return
                try:
                    if kind == "grid":
                        grid_edit.redraw(conn, SYSTEM, key, what, version(conn, key))
                    else:
                        conn.execute("UPDATE cameras SET geom = ST_Translate(geom,"
                                     " %s, 0) WHERE id = %s", (what, key))
                    out.put(("commit", time.monotonic(), kind))
                except Exception as exc:  # noqa: BLE001 -- a refused edit: say so
                    out.put(("failed", kind, key, str(exc)[:120]))
    finally:
        out.put(None)


def _measure(one_request, points, seconds):
    """(start time, seconds) of requests over ``points`` (cycled) for ``seconds``."""
    out, started, k = [], time.monotonic(), 0
    while time.monotonic() - started < seconds:
        lon, lat = points[k % len(points)]
        k += 1
        t0 = time.monotonic()
        one_request(lon, lat)
        out.append((t0, time.monotonic() - t0))
    return out


def edits(url, token, points, args):
    """The edit mode (see the module's docstring); prints its table, returns the
    p99 (ms) during and right after edits."""
    import psycopg

    from layers import locate_index
    from web import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 32})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def one_request(lon, lat):
        r = client.get(f"/api/v1/locate?lon={lon:.7f}&lat={lat:.7f}&nearby=1")
        assert r.status_code == 200, r.get_json()

    one_request(*points[0])  # starts the follower, which loads the index
    holder = app.extensions["gridgov.locate_index"]
    answered = {"memory": 0, "sql": 0}
    locate = holder.locate

    def counted(*a):
        found = locate(*a)
        answered["sql" if found is None else "memory"] += 1
        return found

    holder.locate = counted
    catch_ups = []
    refresh = holder._refresh

    def timed(conn):
        t0 = time.monotonic()
        keys = refresh(conn)
        if keys:
            catch_ups.append((time.monotonic(), time.monotonic() - t0, keys))
        return keys

    holder._refresh = timed
    started = time.monotonic()
    while holder.index is None:
        time.sleep(0.1)
    print(f"  (the follower loaded the city's index in "
          f"{time.monotonic() - started:.1f} s)", flush=True)
    _measure(one_request, points[:50], 2)  # warm
    with psycopg.connect(url, autocommit=True) as conn:
        n = int(args.edit_seconds / args.edit_every / 2) + 2
        pairs = _neighbours(conn, n, args.seed)
        cameras = [r[0] for r in conn.execute(
            "SELECT id FROM cameras ORDER BY md5(code || %s) LIMIT %s",
            (str(args.seed), n))]
    rows = []

    def phase(label, editing):
        answered.update(memory=0, sql=0)
        del catch_ups[:]
        editor = Editor(url, pairs, cameras, args.edit_every) if editing else None
        if editor:
            editor.start()
        times = _measure(one_request, points, args.edit_seconds)
        if editor:
            editor.stop.set()
            editor.join()
        ms = np.array([t for _, t in times]) * 1e3
        row = {"label": label, "n": len(ms), "p50": np.percentile(ms, 50),
               "p99": np.percentile(ms, 99), "max": ms.max(), "answered": dict(
                   answered), "catch_ups": list(catch_ups)}
        if editor:
            commits = [t for t, _ in editor.commits]
            after = np.array([t for t0, t in times
                              if any(0 <= t0 - c < 1.0 for c in commits)]) * 1e3
            row |= {"edits": len(commits), "failed": editor.failed,
                    "after_p99": np.percentile(after, 99) if len(after) else
                    float("nan"), "after_n": len(after)}
            for kind, key, why in editor.failed[:3]:
                print(f"  (an edit refused: {kind} {key}: {why})")
        rows.append(row)
        return row

    phase("no edits (baseline, same run)", False)
    phase("edits, the index following them", True)
    if args.rebuild:
        share = locate_index.REBUILD_SHARE
        locate_index.REBUILD_SHARE = -1  # every change: a full load (as before)
        try:
            phase("edits, the index rebuilt on each (as before)", True)
        finally:
            locate_index.REBUILD_SHARE = share
    holder.stop()

    print(f"dispatch lookup with edits, city, {args.edit_seconds:.0f} s a phase, "
          f"an edit every {args.edit_every} s (grid redraw / camera move):")
    for row in rows:
        print(f"  {row['label']:<46} p50 {row['p50']:6.2f} ms  p99 "
              f"{row['p99']:7.2f} ms  max {row['max']:7.1f} ms  ({row['n']} "
              f"requests, {row['answered']['sql']} by SQL)")
        if "edits" in row:
            keys = [k for _, _, k in row["catch_ups"]]
            took = [t * 1e3 for _, t, _ in row["catch_ups"]]
            print(f"  {'':<46} right after an edit (< 1 s): p99 "
                  f"{row['after_p99']:7.2f} ms ({row['after_n']} requests); "
                  f"{row['edits']} edits, {len(took)} catch-ups of "
                  f"{int(np.median(keys)) if keys else 0} keys (median) taking "
                  f"{np.median(took) if took else 0:.1f} ms median, "
                  f"{max(took) if took else 0:.1f} ms max")
    following = rows[1]
    worst = max(following["p99"], following["after_p99"])
    print(f"  bar: p99 under {P99_BAR_MS:.0f} ms during and right after edits — "
          f"{'meets' if worst < P99_BAR_MS else 'MISSES'} ({worst:.2f} ms)")
    return worst


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench dispatch",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--points", type=int, default=500)
    parser.add_argument("--baseline-points", type=int, default=5)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--edit-seconds", type=float, default=20,
                        help="length of each phase of the edit mode (0: skip it)")
    parser.add_argument("--edit-every", type=float, default=0.5,
                        help="seconds between two edits")
    parser.add_argument("--rebuild", action="store_true",
                        help="also the edits with a full rebuild on each")
    args = parser.parse_args(argv)

    import psycopg

    from layers import users
    from layers.access import SYSTEM
    from web import create_app

    url = city_database()
    with psycopg.connect(url, autocommit=True) as conn:
        points = _random_points(conn, args.points, args.seed)
        token = users.create_token(conn, SYSTEM, "admin", "bench dispatch")
    # the steady state: the warm-up's first request builds the locate index
    # (a server builds it in the background, answering by SQL meanwhile); the
    # edit mode below runs it as a server does
    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "b" * 32,
                      "LOCATE_INDEX_BACKGROUND": False})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"

    def one_request(lon, lat, client=client):
        r = client.get(f"/api/v1/locate?lon={lon:.7f}&lat={lat:.7f}&nearby=1")
        assert r.status_code == 200, r.get_json()

    def two_requests(lon, lat):
        q = f"lon={lon:.7f}&lat={lat:.7f}"
        for path in ("/api/v1/locate?", "/api/v1/locate/nearby?"):
            r = client.get(path + q)
            assert r.status_code == 200, r.get_json()

    for lon, lat in points[:20]:  # warm the pool, caches and prepared plans
        one_request(lon, lat)
        two_requests(lon, lat)
    # interleaved, so that a passing load falls on both alike
    times, times2 = [], []
    for lon, lat in points:
        for fn, out in ((one_request, times), (two_requests, times2)):
            t0 = time.perf_counter()
            fn(lon, lat)
            out.append(time.perf_counter() - t0)
    p50, p99 = _percentiles(times)
    q50, q99 = _percentiles(times2)

    naive = []
    with psycopg.connect(url) as conn:
        for lon, lat in points[:args.baseline_points]:
            t0 = time.perf_counter()
            conn.execute(_NAIVE, {"lon": lon, "lat": lat}).fetchone()
            naive.append(time.perf_counter() - t0)
    b50, b99 = _percentiles(naive)

    print(f"dispatch lookup for one point, city ({args.points} points):")
    print(f"  ours      locate?nearby=1, one API request    p50 {p50:8.2f} ms"
          f"  p99 {p99:8.2f} ms")
    print(f"            locate + locate/nearby, two requests p50 {q50:8.2f} ms"
          f"  p99 {q99:8.2f} ms")
    print(f"  baseline  one plain SQL on geography ({len(naive)} pts)"
          f"  p50 {b50:8.2f} ms  p99 {b99:8.2f} ms")
    verdict = "meets" if p99 < P99_BAR_MS else "MISSES"
    print(f"  bar: p99 under {P99_BAR_MS:.0f} ms — {verdict}"
          f" ({np.median(naive) / np.median(times):.0f}x faster than the baseline)",
          flush=True)
    ok = p99 < P99_BAR_MS
    if args.edit_seconds > 0:
        ok = edits(url, token, points, args) < P99_BAR_MS and ok
    return 0 if ok else 1
