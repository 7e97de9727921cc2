"""``python -m bench field``: grid workers' phones uploading through the HTTP API.

Patrols: ``--clients`` grid workers of the city (accounts linked to staff
people, made once), each logged in with a device token (``POST /api/v1/devices``,
as the phone page does), post their patrol in batches of ``--batch`` points (the
phone page's batch: 120 fixes, 10 minutes at 5 s) to ``POST
/api/v1/patrols/points`` with an Idempotency-Key each, all at once from as many
keep-alive connections (Python client threads: many phones), against
``web.serving.serve`` as ``gridgov serve`` runs it (granian, one worker process
per core). Figure: points stored per second (the answers' ``stored``, summed).
Bar: 20,000 points/s. Baseline, in the same run: a bare COPY of the same points
(``track_id, seq, at, geom`` as EWKB) into the same table, ``track_points``, one
COPY per patrol from one connection — the database's floor for storing them.

Offline reports: the queue of one phone that comes back into signal with
``--reports`` reports, each with a photo (a distinct ~300 KB 1,600 × 1,200 JPEG
made with Pillow before the clock starts), drained as the phone's outbox does
(``static/mobile/sync.js``): in order, ``POST /api/v1/incidents`` with its
Idempotency-Key, then ``POST /api/v1/incidents/<code>/photos`` with its own.
Bar: under 60 s.

Everything the run stores is deleted after it (tracks, incidents, photos' rows);
the photo files go to a temporary directory. The city is loaded once into
``gridgov_bench_city`` (see ``bench.locate``). The clients run on the same cores
as the server and PostgreSQL.
"""

import argparse
import datetime as dt
import http.client
import io
import json
import os
import tempfile
import threading
import time
import uuid

import numpy as np

from bench.locate import _served, city_database
from web.serving import DEFAULT_THREADS, default_processes

__all__ = ["POINTS_BAR", "REPORTS_BAR_S", "main"]

POINTS_BAR = 20_000
REPORTS_BAR_S = 60.0
PASSWORD = "bench-field-pass-1"
PREFIX = "bench_field_"
PATROL_NAME = "巡查（手机）"


def _workers(conn, n):
    """``[(username, staff_id, grid_code)]``: ``n`` accounts of full-time grid
    workers of the city, made once (kept between runs)."""
    from layers import users
    from layers.access import SYSTEM

    have = conn.execute(
        "SELECT u.username, u.staff_id, s.grid_code FROM users u"
        " JOIN grid_staff s ON s.id = u.staff_id WHERE u.username LIKE %s"
        " ORDER BY u.username", (PREFIX + "%",)).fetchall()
    for i in range(len(have), n):
        staff, grid = conn.execute(
            "SELECT s.id, s.grid_code FROM grid_staff s"
            " JOIN grids g ON g.code = s.grid_code AND g.level = 3"
            " WHERE s.active AND s.role = 'full_time'"
            " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.staff_id = s.id)"
            " ORDER BY s.id OFFSET %s LIMIT 1", (i * 97,)).fetchone()
        name = f"{PREFIX}{i:03d}"
        users.add_user(conn, SYSTEM, name, "field_worker", grid_code=grid,
                       password=PASSWORD, staff_id=staff)
        have.append((name, staff, grid))
    conn.commit()
    return have[:n]


def _request(conn, method, path, body=None, headers=None):
    """``(status, parsed JSON body)`` over a keep-alive connection."""
    conn.request(method, path, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, (json.loads(data) if data else None)


def _login(port, username):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    status, body = _request(conn, "POST", "/api/v1/devices", json.dumps(
        {"username": username, "password": PASSWORD, "label": "bench field"}),
        {"Content-Type": "application/json"})
    conn.close()
    if status != 201:
        raise RuntimeError(f"login of {username}: {status} {body}")
    return body["token"]


_TICK = os.sysconf("SC_CLK_TCK")


def _cpu_seconds(pids):
    """User + system CPU seconds of ``pids`` so far ({pid: seconds}; gone: 0)."""
    found = {}
    for pid in pids:
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        found[pid] = (int(fields[11]) + int(fields[12])) / _TICK
    return found


def _server_pids(port):
    """The processes of the server on ``port`` (its session: granian and its
    workers), found by the command line ``bench.locate._served`` gives it."""
    leaders = set()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = open(f"/proc/{entry}/cmdline", "rb").read().split(b"\0")
            stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if str(port).encode() in args and any(b"web.serving" in a for a in args):
            leaders.add(stat[3])  # its session id
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if stat[3] in leaders:
                pids.append(int(entry))
    return pids


def _backend_pids(url):
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        return [pid for (pid,) in conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()")]


class CpuMeter:
    """CPU seconds spent by the server's processes, the database's backends and
    this process (the clients) between ``start()`` and ``stop()``: what the
    same work would need of idle cores, whatever else runs on the machine."""

    def __init__(self, url, port):
        self.url, self.port = url, port

    def start(self):
        self.pids = _server_pids(self.port) + _backend_pids(self.url)
        self.before = _cpu_seconds(self.pids)
        self.client = time.process_time()

    def stop(self):
        self.client = time.process_time() - self.client
        pids = set(self.pids) | set(_backend_pids(self.url))
        after = _cpu_seconds(pids)
        server = set(_server_pids(self.port))
        spent = {pid: after[pid] - self.before.get(pid, 0.0) for pid in after}
        self.server = sum(v for pid, v in spent.items() if pid in server)
        self.database = sum(v for pid, v in spent.items() if pid not in server)
        return self


def _patrol(rng, start, n, t0):
    """A walk of ``n`` fixes every 5 s from ``start`` (lon, lat), at ~1.3 m/s."""
    heading = np.cumsum(rng.normal(0, 0.3, n))
    step = 6.5 / 111_000  # degrees per 5 s of walking
    lon = start[0] + np.cumsum(np.cos(heading)) * step / np.cos(np.radians(start[1]))
    lat = start[1] + np.cumsum(np.sin(heading)) * step
    times = [(t0 + dt.timedelta(seconds=5 * i)).isoformat() for i in range(n)]
    acc = rng.uniform(3, 25, n).round(1)
    return [{"lon": round(float(x), 7), "lat": round(float(y), 7), "time": t,
             "accuracy_m": float(a)} for x, y, t, a in zip(lon, lat, times, acc,
                                                             strict=True)]


def _starts(conn, grids):
    """A point inside each of ``grids`` (where its worker walks)."""
    rows = dict(conn.execute(
        "SELECT code, ARRAY[ST_X(p), ST_Y(p)] FROM (SELECT code,"
        " ST_PointOnSurface(geom) AS p FROM grids WHERE code = ANY(%s)) g",
        (list(set(grids)),)).fetchall())
    return [rows[g] for g in grids]


def patrols_through_api(port, workers, tokens, args, meter=None):
    """Post every worker's batches at once; ``(points stored, seconds, batches
    of each patrol)``."""
    rng = np.random.default_rng(args.seed)
    # yesterday from 08:00 China time: a whole day's walk, never in the future
    china = dt.timezone(dt.timedelta(hours=8))
    t0 = dt.datetime.combine(dt.datetime.now(china).date() - dt.timedelta(days=1),
                             dt.time(8), tzinfo=china)
    plans = []
    for (_, _, _), token, start in zip(workers, tokens, args.starts, strict=True):
        patrol = str(uuid.uuid4())
        points = _patrol(rng, start, args.batch * args.batches, t0)
        bodies = [json.dumps({"patrol_id": patrol,
                              "points": points[i:i + args.batch]}).encode()
                  for i in range(0, len(points), args.batch)]
        plans.append((token, patrol, points, bodies))
    stored = [0] * len(plans)
    errors = []
    barrier = threading.Barrier(len(plans) + 1)

    def phone(k):
        token, _, _, bodies = plans[k]
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        barrier.wait()
        for body in bodies:
            status, answer = _request(conn, "POST", "/api/v1/patrols/points", body, {
                "Authorization": f"Bearer {token}",
                "Content-Type": "application/json",
                "Idempotency-Key": str(uuid.uuid4())})
            if status != 201:
                errors.append((status, answer))
                break
            stored[k] += answer["stored"]
        conn.close()

    threads = [threading.Thread(target=phone, args=(k,)) for k in range(len(plans))]
    for t in threads:
        t.start()
    if meter is not None:
        meter.start()
    barrier.wait()
    started = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    if meter is not None:
        meter.stop()
    if errors:
        raise RuntimeError(f"{len(errors)} failed batches, e.g. {errors[0]}")
    return sum(stored), elapsed, plans


def bare_copy(url, workers, plans):
    """Seconds of a bare COPY of the same points into ``track_points``: one
    track and one COPY per patrol, from one connection, committed."""
    import psycopg
    import shapely

    rows = []
    for (_, staff, _), (_, _, points, _) in zip(workers, plans, strict=True):
        lon = np.array([p["lon"] for p in points])
        lat = np.array([p["lat"] for p in points])
        ewkb = shapely.to_wkb(shapely.set_srid(shapely.points(lon, lat), 4326),
                              hex=True, include_srid=True)
        rows.append((staff, [p["time"] for p in points], ewkb))
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for staff, times, ewkb in rows:
            track, county, day = conn.execute(
                "INSERT INTO tracks (staff_id, day, name, patrol_id, county)"
                " VALUES (%s, %s, %s, %s, coalesce((SELECT county_of(grid_code)"
                " FROM grid_staff WHERE id = %s), '')) RETURNING id, county, day",
                (staff, times[0][:10], PATROL_NAME, uuid.uuid4(), staff)).fetchone()
            with conn.cursor() as cur, cur.copy(
                    "COPY track_points (track_id, county, day, seq, at, geom)"
                    " FROM STDIN") as copy:
                for seq, (at, geom) in enumerate(zip(times, ewkb, strict=True)):
                    copy.write_row((track, county, day, seq, at, geom))
        conn.commit()
        return time.perf_counter() - started


def _photos(n, seed, target_kb):
    """``n`` distinct 1,600 × 1,200 JPEGs of about ``target_kb`` each (a phone's
    resized picture: smooth shapes under fine grain, like a photograph)."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    grain = rng.normal(0, 1, (1200, 1600, 3)).astype(np.float32)

    def one(sigma):
        coarse = rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)
        base = np.asarray(Image.fromarray(coarse).resize((1600, 1200),
                                                         Image.BICUBIC), np.float32)
        picture = np.clip(base + grain * sigma, 0, 255).astype(np.uint8)
        out = io.BytesIO()
        Image.fromarray(picture).save(out, "JPEG", quality=85)
        return out.getvalue()

    sigma = 1.0  # the grain that gives the size, found on the first pictures
    while len(one(sigma)) < target_kb * 1024 and sigma < 64:
        sigma *= 1.1
    return [one(sigma) for _ in range(n)]


def _multipart(data):
    boundary = uuid.uuid4().hex
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\";"
            f" filename=\"photo.jpg\"\r\nContent-Type: image/jpeg\r\n\r\n"
            ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def reports_through_api(port, token, reports):
    """Drain the queue of ``reports`` ([(incident body, jpeg)]) in order, as the
    phone does; ``(seconds, codes)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    auth = {"Authorization": f"Bearer {token}"}
    codes = []
    started = time.perf_counter()
    for body, jpeg in reports:
        status, answer = _request(conn, "POST", "/api/v1/incidents", json.dumps(body),
                                  auth | {"Content-Type": "application/json",
                                          "Idempotency-Key": str(uuid.uuid4())})
        if status != 201:
            raise RuntimeError(f"report: {status} {answer}")
        codes.append(answer["code"])
        payload, kind = _multipart(jpeg)
        status, answer = _request(conn, "POST",
                                  f"/api/v1/incidents/{answer['code']}/photos",
                                  payload, auth | {"Content-Type": kind,
                                                   "Idempotency-Key":
                                                       str(uuid.uuid4())})
        if status != 201:
            raise RuntimeError(f"photo: {status} {answer}")
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, codes


def _reports(conn, grid, n, seed, photo_kb):
    from geo import vocab

    category = next(iter(vocab.INCIDENT_CATEGORIES))
    points = conn.execute(
        "SELECT ST_X(p.geom), ST_Y(p.geom) FROM grids g,"
        " ST_Dump(ST_GeneratePoints(g.geom, %s, %s)) p WHERE g.code = %s",
        (n, seed, grid)).fetchall()
    now = dt.datetime.now(dt.UTC)
    pictures = _photos(n, seed, photo_kb)
    return [({"category": category, "description": f"离线上报 {i + 1}（bench）",
              "source": "grid_worker", "lon": round(lon, 7), "lat": round(lat, 7),
              "reported_at": (now - dt.timedelta(minutes=n - i)).isoformat(),
              "accuracy_m": 8.0},
             picture)
            for i, ((lon, lat), picture) in enumerate(zip(points, pictures,
                                                        strict=True))]


def _clean(url, staff_ids, codes):
    """Remove what the run stored: the bench workers' tracks and incidents."""
    import psycopg

    with psycopg.connect(url) as conn:
        conn.execute("DELETE FROM tracks WHERE staff_id = ANY(%s) AND name = %s",
                     (staff_ids, PATROL_NAME))
        conn.execute("DELETE FROM incidents WHERE code = ANY(%s)", (codes,))
        conn.execute("DELETE FROM idempotency_keys WHERE user_id IN"
                     " (SELECT id FROM users WHERE username LIKE %s)", (PREFIX + "%",))


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench field",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--clients", type=int, default=16,
                        help="phones posting at once (one worker each)")
    parser.add_argument("--batch", type=int, default=120,
                        help="points per request (the phone page sends 120)")
    parser.add_argument("--batches", type=int, default=40,
                        help="batches per phone")
    parser.add_argument("--reports", type=int, default=200)
    parser.add_argument("--photo-kb", type=int, default=300)
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS,
                        help="Python threads per server process")
    parser.add_argument("--processes", type=int, default=None,
                        help="server processes (default: one per core)")
    args = parser.parse_args(argv)
    args.processes = args.processes or default_processes()

    import psycopg

    url = city_database(args.seed)
    with psycopg.connect(url) as conn:
        workers = _workers(conn, args.clients)
        args.starts = _starts(conn, [w[2] for w in workers])
        print(f"making {args.reports} photos (~{args.photo_kb} KB JPEG each) …",
              flush=True)
        reports = _reports(conn, workers[0][2], args.reports, args.seed,
                           args.photo_kb)
    sizes = np.array([len(jpeg) for _, jpeg in reports]) / 1024
    staff_ids = [w[1] for w in workers]
    codes = []
    photos = tempfile.TemporaryDirectory(prefix="gridgov-bench-photos-")
    os.environ["GRIDGOV_PHOTO_DIR"] = photos.name
    try:
        with _served("web:create_app", url, args.threads, args.processes) as port:
            tokens = [_login(port, name) for name, _, _ in workers]
            # warm: every process's pool and prepared plans, one small batch each
            warm = argparse.Namespace(**vars(args) | {"batch": 10, "batches": 1})
            patrols_through_api(port, workers, tokens, warm)
            meter = CpuMeter(url, port)
            stored, elapsed, plans = patrols_through_api(port, workers, tokens, args,
                                                         meter)
            drained, codes = reports_through_api(port, tokens[0], reports)
        floor = bare_copy(url, workers, plans)
    finally:
        _clean(url, staff_ids, codes)
        photos.cleanup()
    rate, floor_rate = stored / elapsed, stored / floor
    print(f"patrol points, {args.clients} phones × {args.batches} batches of "
          f"{args.batch} points ({stored:,} points), {args.processes} server "
          f"process(es) × {args.threads} threads, 127.0.0.1:")
    print(f"  ours      POST /api/v1/patrols/points   {rate:9,.0f} points/s"
          f"  ({elapsed:.2f} s, {stored / args.batch / elapsed:,.0f} requests/s)")
    print(f"  baseline  bare COPY into track_points   {floor_rate:9,.0f} points/s"
          f"  ({floor:.2f} s; ours is {rate / floor_rate:.2f}x of it)")
    cpu = meter.server + meter.database
    cores = len(os.sched_getaffinity(0))
    print(f"  CPU spent: server {meter.server:.1f} s, PostgreSQL backends "
          f"{meter.database:.1f} s, the clients {meter.client:.1f} s: "
          f"{stored / cpu:,.0f} points per CPU-second of server and database,"
          f" i.e. ~{stored / (cpu + meter.client) * cores:,.0f} points/s on"
          f" {cores} idle cores with these clients (load average during the run"
          f" {os.getloadavg()[0]:.1f})")
    ok_points = rate >= POINTS_BAR
    print(f"  bar: ≥ {POINTS_BAR:,} points/s — {'met' if ok_points else 'MISSED'}")
    print(f"offline queue of {args.reports} reports with a photo each "
          f"({sizes.mean():.0f} KB on average, {sizes.min():.0f}–{sizes.max():.0f}),"
          " drained in order by one phone:")
    print(f"  ours      POST /incidents + POST …/photos  {drained:6.1f} s"
          f"  ({drained / args.reports * 1e3:.0f} ms per report)")
    ok_reports = drained < REPORTS_BAR_S
    print(f"  bar: under {REPORTS_BAR_S:.0f} s — {'met' if ok_reports else 'MISSED'}")
    return 0 if ok_points and ok_reports else 1


if __name__ == "__main__":
    raise SystemExit(main())
