"""``python -m bench locate``: locate one point in the city, in process and by HTTP.

In process: ``layers.locate.locate`` as the API runs it (the data generation in
one round trip, then grid chain + staff + cameras from the process's in-memory
index, ``layers.locate_index``) through one psycopg connection, p50 / p99 over
``--points`` random points inside the city, beside a single bare prepared
``SELECT code FROM grids WHERE ST_Intersects(geom, point)``; then the index alone,
the SQL locate (three queries in one pipelined round trip) and each of its queries
(``--explain`` adds their EXPLAIN ANALYZE). Bar: p99 under 2 ms.

Through HTTP: ``web.serving.serve`` as ``gridgov serve`` runs it (granian, one
worker process per core unless ``--processes``, ``--threads`` Python threads
each) on 127.0.0.1, GET /api/v1/locate with an admin API token for ``--seconds``
from wrk (C; two threads, ``--clients`` keep-alive connections) when it is
installed, else ``--requests`` from Python client threads; in requests/s, beside
the same client against the same server serving a bare WSGI function (the floor
of server + client on this machine). Bar: over 1,500 requests/s. The client runs
on the same two cores as the server and PostgreSQL.

Memory (``--memory``): what the index holds per process, each part (grids,
cameras, staff) built alone in a fresh process, in resident megabytes once the
build's transient rows are returned to the system (``malloc_trim``) and after
2,000 located points (GEOS indexes a prepared polygon's edges on first use); per
grid, camera and person, for the arithmetic of a province (bench/README.md).

The city (``gridgov demo --scale city``) is loaded once into the database
``gridgov_bench_city`` on the test cluster (``var/test``, or
``$GRIDGOV_TEST_HOME``; or the server of ``$GRIDGOV_TEST_DATABASE_URL``) and kept
between runs; loading takes a few minutes.
"""

import argparse
import contextlib
import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

from bench import ROOT
from web.serving import DEFAULT_THREADS, default_processes

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


def bench_database(name):
    """The URL of database ``name`` on the test server, created when missing."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    server = _server_url()
    with psycopg.connect(server, autocommit=True) as c:
        if not c.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                         (name,)).fetchone():
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return make_conninfo(server, dbname=name)


def city_database(seed=1, name=DBNAME):
    """The URL of a database holding the city of ``seed``, loaded when needed."""
    from layers import db
    from layers import demo as demo_layer

    url = bench_database(name)
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
    from layers.locate_follow import IndexHolder

    bare = ("SELECT code FROM grids WHERE ST_Intersects(geom, "
            "ST_SetSRID(ST_MakePoint(%s, %s), 4326))")
    with db.connect(url, autocommit=True) as conn:
        def run_bare(lon, lat):
            return conn.execute(bare, (lon, lat), prepare=True).fetchall()

        def run_locate(lon, lat):
            return locate.locate(conn, SYSTEM, lon, lat)

        resident = _resident_mb()
        started = time.perf_counter()
        holder = IndexHolder(lambda: db.connect(url, autocommit=True),
                             background=False)
        gen = conn.execute(locate.GENERATION).fetchone()[0]
        index = holder.current(gen)
        print(f"  (the in-memory index of the city was built in "
              f"{time.perf_counter() - started:.2f} s; the process grew by "
              f"{_resident_mb() - resident:.0f} MB)", flush=True)

        def run_indexed(lon, lat):  # as the API runs it: the generation, then memory
            return locate.locate(conn, SYSTEM, lon, lat, index=holder)

        def run_memory(lon, lat):  # the generation read with the user (prefetch)
            return index.locate(SYSTEM, lon, lat)

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
        for fn in (run_bare, run_locate, run_indexed, run_memory, chain, staff,
                   cameras):
            _timed(fn, warm)  # warm the caches and psycopg's prepared statements
        rows = {}
        for label, fn in (
            ("baseline  bare prepared SELECT code … ST_Intersects", run_bare),
            ("ours      layers.locate.locate, in-memory index", run_indexed),
            ("  part    the index alone (no round trip)", run_memory),
            ("  before  layers.locate.locate by SQL (3 queries)", run_locate),
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
    return rows["ours      layers.locate.locate, in-memory index"][1]


_PARTS = ("grids", "cameras", "staff")


def _resident_mb():
    """Resident size (MB) after returning freed memory to the system."""
    import ctypes
    import gc

    gc.collect()
    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def memory_part(url, part):
    """Build one part of the index alone; print ``part count MB MB`` (resident
    growth after the build, and after 2,000 located points)."""
    from layers import db
    from layers import locate_index as li
    from layers.access import SYSTEM

    with db.connect(url, autocommit=True) as conn:
        points = _random_points(conn, 2000, 1)
        before = _resident_mb()
        index = li.LocateIndex(0, None)
        with conn.transaction():
            if part == "grids":
                for rows in li._chunks(conn, li._GRID_ROWS):
                    index._set_grids((), rows, li._prepared(r[3] for r in rows),
                                     bulk=True)
                box = index._g_box[:len(index._g_code)]
                index._g_tree = li._tree(np.arange(len(box)), box[:, :2], box[:, 2:])
                count = len(index._g_code)
            elif part == "cameras":
                for rows in li._chunks(conn, li._CAMERA_ROWS):
                    index._append_cameras(rows)
                n = count = index._c_n
                xy = np.column_stack([index._c_lon[:n], index._c_lat[:n]])
                index._c_tree = li._tree(np.arange(n), xy, xy)
                index._set_reach()
            else:
                staff = li._chunks(conn, li._STAFF_ROWS + " ORDER BY grid_code")
                for rows in li._whole_grids(staff):
                    index._set_staff((), rows)
                count = conn.execute("SELECT count(*) FROM grid_staff"
                                     " WHERE active").fetchone()[0]
        built = _resident_mb()
        if part == "grids":
            for lon, lat in points:
                index._chain(SYSTEM, float(lon), float(lat))
        used = _resident_mb()
    print(part, count, built - before, used - before)


def memory(url):
    """Per part: count, MB after the build and after use; printed as a table."""
    parts = {}
    for part in _PARTS:
        out = subprocess.run(
            [sys.executable, "-m", "bench", "locate", "--memory-part", part],
            cwd=ROOT, capture_output=True, text=True, check=True).stdout
        name, count, built, used = out.split()[-4:]
        parts[name] = (int(count), float(built), float(used))
    print("memory of the index, each part built alone in a fresh process "
          "(resident MB, freed build rows returned):")
    for name, (count, built, used) in parts.items():
        print(f"  {name:<8} {count:>8,}  {built:6.1f} MB built, {used:6.1f} MB after "
              f"2,000 points  ({used * 2**20 / max(count, 1):,.0f} bytes each)")
    total = sum(u for _, _, u in parts.values())
    print(f"  total    {total:6.1f} MB per server process")
    return parts


def bare(environ, start_response):
    """The floor: a WSGI function answering ``{}`` (what server and client cost)."""
    start_response("200 OK", [("Content-Type", "application/json"),
                              ("Content-Length", "2")])
    return [b"{}"]


_SERVER = """
import sys
from web.serving import serve
target, port, threads, processes, factory = sys.argv[1:6]
serve(target, "127.0.0.1", int(port), threads=int(threads),
      processes=int(processes), factory=factory == "1")
"""


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def _served(target, url, threads, processes):
    """``gridgov serve``'s server (web.serving) on ``target`` in a child process
    group; yields its port once it answers, and stops the whole group after."""
    port = _free_port()
    env = os.environ | {"GRIDGOV_DATABASE_URL": url,
                        "GRIDGOV_SECRET_KEY": "bench-secret-key-not-for-production"}
    factory = "1" if target == "web:create_app" else "0"
    proc = subprocess.Popen([sys.executable, "-c", _SERVER, target, str(port),
                             str(threads), str(processes), factory], cwd=ROOT,
                            env=env, start_new_session=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the server of {target} did not start") \
                        from None
                time.sleep(0.1)
        yield port
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            pass
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # a worker left behind


_WRK_SCRIPT = """
local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do paths[#paths + 1] = line end
local auth = os.getenv("BENCH_AUTH")
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], {Authorization = auth})
end
"""


def _load_wrk(port, paths, headers, clients, seconds):
    """requests/s of wrk (C, two threads) cycling through ``paths``."""
    with tempfile.TemporaryDirectory() as tmp:
        Path(tmp, "paths").write_text("\n".join(paths))
        Path(tmp, "script.lua").write_text(_WRK_SCRIPT)
        env = os.environ | {"BENCH_PATHS": str(Path(tmp, "paths")),
                            "BENCH_AUTH": headers.get("Authorization", "")}
        out = subprocess.run(
            ["wrk", "-t2", f"-c{clients}", f"-d{seconds}s", "-s",
             str(Path(tmp, "script.lua")), f"http://127.0.0.1:{port}/"],
            env=env, capture_output=True, text=True, check=True).stdout
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if bad:
        raise RuntimeError(f"{bad.group(1)} failed requests:\n{out}")
    return float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))


def _load_python(port, paths, headers, clients):
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


def through_http(url, points, args):
    """Print requests/s of locate and of the bare server; return locate's."""
    from layers import db, users
    from layers.access import SYSTEM

    with db.connect(url) as conn:
        token = users.create_token(conn, SYSTEM, "admin", "bench")
        conn.commit()
    picks = points[np.arange(args.requests) % len(points)]
    paths = [f"/api/v1/locate?lon={lon:.7f}&lat={lat:.7f}" for lon, lat in picks]
    headers = {"Authorization": f"Bearer {token}"}
    use_wrk = shutil.which("wrk") is not None and not args.python_client

    def load(port, these):
        if use_wrk:
            return _load_wrk(port, these, headers, args.clients, args.seconds)
        return _load_python(port, these, headers, args.clients)

    rates = {}
    for target, label, these in (
        ("bench.locate:bare", "baseline  the server + a bare WSGI function",
         ["/"] * args.requests),
        ("web:create_app", "ours      GET /api/v1/locate (admin token)", paths),
        # what the application costs without the spatial work: the health check
        # (no token; one pooled connection, two small queries), and locate of a
        # point in the sea east of the city (token checked, nothing found)
        ("web:create_app", "  part    GET /api/v1/health",
         ["/api/v1/health"] * args.requests),
        ("web:create_app", "  part    GET /api/v1/locate, a point in no grid",
         ["/api/v1/locate?lon=135.0&lat=20.0"] * args.requests),
    ):
        with _served(target, url, args.threads, args.processes) as port:
            # warm: pools, prepared statements, and each worker's locate index
            # (built in the background on its first locate, ~1.3 s for the city)
            if use_wrk:
                _load_wrk(port, these, headers, args.clients, 4)
            else:
                _load_python(port, these[:500], headers, args.clients)
            time.sleep(2)
            rates[label] = load(port, these)
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
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="Python threads per server process")
    parser.add_argument("--processes", type=int, default=None,
                        help="server processes (default: one per core, as "
                             "`gridgov serve`)")
    parser.add_argument("--seconds", type=int, default=10,
                        help="length of each wrk run")
    parser.add_argument("--python-client", action="store_true",
                        help="load with Python threads even when wrk is installed")
    parser.add_argument("--explain", action="store_true")
    parser.add_argument("--skip-http", action="store_true")
    parser.add_argument("--memory", action="store_true",
                        help="also the index's memory per part")
    parser.add_argument("--memory-part", choices=_PARTS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    from layers import db

    url = city_database(args.seed)
    if args.memory_part:
        memory_part(url, args.memory_part)
        return 0
    if args.memory:
        memory(url)
    with db.connect(url) as conn:
        points = _random_points(conn, args.points, args.seed)
    print(f"in process, {len(points):,} random points inside the city, one "
          "connection over the unix socket:", flush=True)
    p99 = in_process(url, points, args.explain)
    ok = p99 < P99_BAR_MS
    print(f"  locate p99 {p99:.3f} ms (bar < {P99_BAR_MS} ms: "
          f"{'met' if ok else 'MISSED'})")
    if not args.skip_http:
        args.processes = args.processes or default_processes()
        client = ("wrk, 2 threads" if shutil.which("wrk") and not args.python_client
                  else "Python threads")
        print(f"through HTTP, {client}, {args.clients} connections, "
              f"{args.processes} server process(es) × {args.threads} threads, "
              "127.0.0.1:", flush=True)
        rps = through_http(url, points, args)
        print(f"  locate {rps:.0f} requests/s (bar > {RPS_BAR}: "
              f"{'met' if rps > RPS_BAR else 'MISSED'})")
        ok = ok and rps > RPS_BAR
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
