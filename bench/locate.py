"""``python -m bench locate``: locate one point in the city, in process and by HTTP.

In process: ``layers.locate.locate`` (grid chain + staff + cameras, three queries
in one pipelined round trip)
through one psycopg connection, p50 / p99 over ``--points`` random points inside
the city, beside a single bare prepared ``SELECT code FROM grids WHERE
ST_Intersects(geom, point)``; then each of the three queries alone, to show what
dominates (``--explain`` adds their EXPLAIN ANALYZE). Bar: p99 under 2 ms.

Through HTTP: ``web.serving.serve`` as ``gridgov serve`` runs it (waitress, 8
threads, in one worker process per core unless ``--processes``) on 127.0.0.1,
``--requests`` GET /api/v1/locate with an admin API token from
``--clients`` client threads (one keep-alive connection each), in requests/s;
beside the same client against the same server serving a bare WSGI function (the
floor of server + client on this machine). Bar: over 1,500 requests/s.

The city (``gridgov demo --scale city``) is loaded once into the database
``gridgov_bench_city`` on the test cluster (``var/test``, or
``$GRIDGOV_TEST_HOME``; or the server of ``$GRIDGOV_TEST_DATABASE_URL``) and kept
between runs; loading takes a few minutes.
"""

import argparse
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from bench import ROOT
from web.serving import default_processes

__all__ = ["P99_BAR_MS", "RPS_BAR", "city_database", "main"]

P99_BAR_MS = 2.0
RPS_BAR = 1500
DBNAME = "gridgov_bench_city"


def _server_url():
    """The test server, as ``tests/conftest.py`` finds it."""
    external = os.environ.get("GRIDGOV_TEST_DATABASE_URL")
    if external:
        return external
    from layers.cluster import Cluster

    return Cluster(Path(os.environ.get("GRIDGOV_TEST_HOME", ROOT / "var" / "test"))
                   ).start()


def city_database(seed=1, name=DBNAME):
    """The URL of a database holding the city of ``seed``, loaded when needed."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from layers import db
    from layers import demo as demo_layer

    server = _server_url()
    with psycopg.connect(server, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                         (name,)).fetchone():
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_conninfo(server, dbname=name)
    with db.connect(url) as conn:
        db.migrate(conn)
        have = demo_layer.dataset(conn) or {}
        if have.get("scale") != "city" or have.get("seed") != seed:
            from geo.demo import generate

            started = time.perf_counter()
            print(f"loading the city (seed {seed}) into {name} once …", flush=True)
            demo = generate("city", seed=seed)
            demo_layer.load(conn, demo, {"scale": "city", "seed": seed,
                                         "as_of": "2026-11-01"}, force=True)
            del demo
            print(f"  loaded in {time.perf_counter() - started:.0f} s", flush=True)
        demo_layer.ensure_demo_accounts(conn)
        conn.commit()
    return url


def _random_points(conn, n, seed):
    """``n`` points uniformly inside the city's towns (rejection sampling)."""
    import shapely

    towns = shapely.from_wkb([row[0] for row in conn.execute(
        "SELECT ST_AsBinary(geom) FROM grids WHERE level = 1")])
    city = shapely.union_all(towns)
    shapely.prepare(city)
    x0, y0, x1, y1 = city.bounds
    rng = np.random.default_rng(seed)
    found = np.empty((0, 2))
    while len(found) < n:
        xy = rng.uniform((x0, y0), (x1, y1), size=(4 * n, 2))
        found = np.vstack([found, xy[shapely.contains_xy(city, xy[:, 0], xy[:, 1])]])
    return found[:n]


def _percentiles(seconds):
    ms = np.asarray(seconds) * 1e3
    return np.percentile(ms, 50), np.percentile(ms, 99)


def _timed(fn, points):
    times = []
    for lon, lat in points:
        started = time.perf_counter()
        fn(float(lon), float(lat))
        times.append(time.perf_counter() - started)
    return times


def in_process(url, points, explain):
    """Print p50 / p99 of locate and of the bare query; return locate's p99 (ms)."""
    from psycopg.rows import dict_row

    from layers import db, locate
    from layers.access import SYSTEM

    bare = ("SELECT code FROM grids WHERE ST_Intersects(geom, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))")
    with db.connect(url, autocommit=True) as conn:
        def run_bare(lon, lat):
            return conn.execute(bare, (lon, lat), prepare=True).fetchall()

        def run_locate(lon, lat):
            return locate.locate(conn, SYSTEM, lon, lat)

        cur = conn.cursor(row_factory=dict_row)
        scope = {"scope": "%", "root": ""}

        def chain(lon, lat):
            return cur.execute(locate._CHAIN, {"lon": lon, "lat": lat} | scope,
                               prepare=True).fetchall()

        def staff(lon, lat):  # finds the chain again inside, as locate does
            return cur.execute(locate._STAFF, {"lon": lon, "lat": lat,
                                               "contact": True} | scope,
                               prepare=True).fetchall()

        def cameras(lon, lat):
            dx, dy = locate.degrees_per_metre(lat)
            return cur.execute(locate._CAMERAS, {"lon": lon, "lat": lat, "dx": dx,
                                                 "dy": dy} | scope,
                               prepare=True).fetchall()

        warm = points[:200]
        for fn in (run_bare, run_locate, chain, staff, cameras):
            _timed(fn, warm)  # warm the caches and psycopg's prepared statements
        rows = {}
        for label, fn in (
            ("baseline  bare prepared SELECT code … ST_Intersects", run_bare),
            ("ours      layers.locate.locate (3 queries)", run_locate),
            ("  part    grid chain query", chain),
            ("  part    staff query (with its chain)", staff),
            ("  part    cameras query", cameras),
        ):
            rows[label] = _percentiles(_timed(fn, points))
            p50, p99 = rows[label]
            print(f"  {label:<54} p50 {p50:6.3f} ms  p99 {p99:6.3f} ms", flush=True)
        found = [len(run_locate(*p)["grids"]) for p in points[:100]]
        print(f"  (sanity: {sum(n == 4 for n in found)}/100 points got a 4-level "
              "chain)")
        if explain:
            lon, lat = (float(v) for v in points[0])
            dx, dy = locate.degrees_per_metre(lat)
            for title, query, params in (
                ("grid chain", locate._CHAIN, {"lon": lon, "lat": lat} | scope),
                ("staff", locate._STAFF,
                 {"lon": lon, "lat": lat, "contact": True} | scope),
                ("cameras", locate._CAMERAS,
                 {"lon": lon, "lat": lat, "dx": dx, "dy": dy} | scope),
            ):
                print(f"\nEXPLAIN ANALYZE {title}:")
                from psycopg import sql

                explain_query = sql.SQL("EXPLAIN (ANALYZE, BUFFERS) {}").format(
                    sql.SQL(query) if isinstance(query, str) else query)
                for (line,) in conn.execute(explain_query, params):
                    print("  " + line)
    return rows["ours      layers.locate.locate (3 queries)"][1]


_SERVER = """
import logging, sys
from web.serving import serve
# waitress warns "Task queue depth is N" whenever all its threads are busy
logging.getLogger("waitress.queue").setLevel(logging.ERROR)
kind = sys.argv[1]
port, threads, processes = (int(a) for a in sys.argv[2:5])
def bare(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", "2")])
    return [b"{}"]
def make_app():
    if kind == "bare":
        return bare
    from web import create_app
    return create_app()
serve(make_app, "127.0.0.1", port, threads=threads, processes=processes)
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(kind, url, threads, processes):
    """Start waitress in a child process; return (process, port) once it answers."""
    port = _free_port()
    env = os.environ | {"GRIDGOV_DATABASE_URL": url,
                        "GRIDGOV_SECRET_KEY": "bench-secret-key-not-for-production"}
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, kind, str(port),
                             str(threads), str(processes)], cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the {kind} server did not start on port {port}")


def _load(port, paths, headers, clients):
    """GET every path (split over ``clients`` keep-alive threads); return req/s."""
    errors = []

    def worker(mine):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for path in mine:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            body = response.read()
            if response.status != 200:
                errors.append((response.status, body[:200]))
        conn.close()

    threads = [threading.Thread(target=worker, args=(paths[i::clients],))
               for i in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[0]}")
    return len(paths) / elapsed


def through_http(url, points, n_requests, clients, threads, processes):
    """Print requests/s of locate and of the bare server; return locate's."""
    from layers import db, users
    from layers.access import SYSTEM

    with db.connect(url) as conn:
        token = users.create_token(conn, SYSTEM, "admin", "bench")
        conn.commit()
    picks = points[np.arange(n_requests) % len(points)]
    paths = [f"/api/v1/locate?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in picks]
    headers = {"Authorization": f"Bearer {token}"}
    rates = {}
    for kind, label, these in (
        ("bare", "baseline  waitress + bare WSGI function", ["/"] * n_requests),
        ("gridgov", "ours      GET /api/v1/locate (admin token)", paths),
        # what the application costs without locate's SQL: the health check (no
        # token; one pooled connection, two small queries), and locate of a point
        # in the sea east of the city (token checked, nothing found)
        ("gridgov", "  part    GET /api/v1/health", ["/api/v1/health"] * n_requests),
        ("gridgov", "  part    GET /api/v1/locate, a point in no grid",
         ["/api/v1/locate?lon=135.0&lat=20.0"] * n_requests),
    ):
        proc, port = _serve(kind, url, threads, processes)
        try:
            _load(port, these[:200], headers, clients)  # warm: pool, caches
            rates[label] = _load(port, these, headers, clients)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
        print(f"  {label:<54} {rates[label]:7.0f} requests/s", flush=True)
        if label.startswith("ours"):
            rates["gridgov"] = rates[label]
    return rates["gridgov"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench locate",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--points", type=int, default=2000)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--threads", type=int, default=8,
                        help="waitress threads per process")
    parser.add_argument("--processes", type=int, default=None,
                        help="server processes (default: one per core, as "
                             "`gridgov serve`)")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    args = parser.parse_args(argv)

    from layers import db

    url = city_database(args.seed)
    with db.connect(url) as conn:
        points = _random_points(conn, args.points, args.seed)
    print(f"in process, {len(points):,} random points inside the city, one "
          "connection over the unix socket:", flush=True)
    p99 = in_process(url, points, args.explain)
    ok = p99 < P99_BAR_MS
    print(f"  locate p99 {p99:.3f} ms (bar < {P99_BAR_MS} ms: "
          f"{'met' if ok else 'MISSED'})")
    if not args.skip_http:
        processes = args.processes or default_processes()
        print(f"through HTTP, {args.requests:,} requests from {args.clients} client "
              f"threads, {processes} server process(es) × {args.threads} threads, "
              "127.0.0.1:", flush=True)
        rps = through_http(url, points, args.requests, args.clients, args.threads,
                           processes)
        print(f"  locate {rps:.0f} requests/s (bar > {RPS_BAR}: "
              f"{'met' if rps > RPS_BAR else 'MISSED'})")
        ok = ok and rps > RPS_BAR
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
