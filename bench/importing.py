"""``python -m bench importing``: a 1,000,000-row CSV of households in GCJ-02 imported
end to end into the city, beside the database floor and GDAL in the same run.

- **ours**: ``importers.read_any(…, stream=True)`` (decode, the header, find the
  columns) then ``layers.imports.run_import`` (parse, GCJ-02 → WGS-84, the China /
  swap checks, map and validate the columns, assign to the city's 20,000
  micro-grids — chunk by chunk beside the COPY of the chunk before — into the
  empty ``households`` with its plain indexes built again at the end, record
  the import), timed from the file's bytes to the commit.
- **the database floor**: the same rows already prepared (grid codes and their
  county, the partition key of the partitioned ``households``, EWKB,
  the COPY data in the form ours sends, COPY's binary format, all computed
  beforehand, untimed) copied into the same table with the
  same constraints in one transaction, its plain indexes dropped and built again
  as ours does: what PostgreSQL alone needs for the rows.
- **GDAL**: ``ogr2ogr -f PostgreSQL -append`` with ``PG_USE_COPY=YES`` of the same
  rows, already in WGS-84 and carrying their grid codes (GDAL knows no GCJ-02 and
  assigns nothing), into the same table with every index live, as a GDAL user
  runs it (one transaction: ``-gt unlimited``, all or nothing as ours).

Each goes into its own fresh copy (``CREATE DATABASE … TEMPLATE``) of
``bench.locate``'s city database with its households emptied, dropped after.
Bar: ours ≤ 1.2 × the floor and ≤ 1.0 × GDAL; ``--repeat R`` runs the three R
times in turn and keeps the best of each. The points are
``bench.assign.city_level4``'s million households (cached under ``var/bench/``);
the CSV files are written once beside them.
"""

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import shapely

from bench import VAR

__all__ = ["FLOOR_RATIO", "GDAL_RATIO", "main"]

FLOOR_RATIO = 1.2  # ours at most this many times the database floor
GDAL_RATIO = 1.0  # … and at most GDAL's time
COPY_DB = "gridgov_bench_import"
TEMPLATE = "gridgov_bench_city"


def _csv(n):
    from bench.assign import _generator_hash, city_level4
    from geo.crs import wgs84_to_gcj02

    path = VAR / f"import-{n}-gcj02-{_generator_hash()}.csv"
    if not path.exists():
        import pandas as pd

        _, _, points = city_level4(n_points=n)
        xy = shapely.get_coordinates(points)
        lon, lat = wgs84_to_gcj02(xy[:, 0], xy[:, 1])
        rng = np.random.default_rng(1)
        frame = pd.DataFrame({
            "编号": [f"B{i:07d}" for i in range(len(xy))],
            "地址": [f"某村{i % 97}组{i % 1000}号" for i in range(len(xy))],
            "人口": rng.integers(1, 7, len(xy)),
            "经度": np.round(lon, 7), "纬度": np.round(lat, 7)})
        tmp = path.with_suffix(".tmp")
        frame.to_csv(tmp, index=False)
        tmp.rename(path)
    return path


def _prepared(path):
    """The rows of ``path`` as gridgov stores them, computed apart (untimed): WGS-84
    points by the same inverse, grid codes by the same assignment, ordered by
    micro-grid as ours writes them; rows in no micro-grid left out (ours rejects
    them). Returns a DataFrame ``external_id, address, size, tags, grid_code,
    county, lon, lat`` (county: the partition key, migration 0035) and the file
    order of its rows."""
    import pandas as pd

    from bench.assign import city_level4
    from geo.assign import assign_codes
    from geo.crs import gcj02_to_wgs84
    from layers.partitions import county_of

    raw = pd.read_csv(path, dtype={"编号": str, "地址": str})
    lon, lat = gcj02_to_wgs84(raw["经度"].to_numpy(), raw["纬度"].to_numpy())
    codes, polygons, _ = city_level4(n_points=1)
    grid = assign_codes(shapely.points(lon, lat), polygons, codes)
    frame = pd.DataFrame({"external_id": raw["编号"], "address": raw["地址"],
                          "size": raw["人口"], "tags": [()] * len(raw),
                          "grid_code": grid, "county": county_of(grid),
                          "lon": lon, "lat": lat})
    frame = frame[frame["grid_code"].notna()]
    return frame.sort_values("grid_code", kind="stable")


def _floor_blocks(rows, url):
    """The COPY data of ``rows`` in the form ours sends (COPY's binary format,
    ``layers.import_bulk.binary_rows``, the types read from the city at
    ``url``), in ``COPY_BLOCK`` blocks: ``(names, blocks, binary)``."""
    import psycopg

    from layers import import_bulk as bulk

    names = [*rows.columns.drop(["lon", "lat"]), "geom"]
    with psycopg.connect(url) as conn:
        types = bulk.binary_columns(bulk.column_types(conn, "households"), names)
    if types is None:
        frame = rows.drop(columns=["lon", "lat"]).assign(
            geom=bulk.ewkb_points(rows["lon"], rows["lat"]))
        return names, [b.encode() for b in bulk.text_blocks(frame)], False
    xy = rows[["lon", "lat"]].to_numpy()
    blocks = [bulk.binary_rows(list(zip(types, [
        *(rows[c].iloc[i:i + bulk.COPY_BLOCK] for c in names[:-1]),
        xy[i:i + bulk.COPY_BLOCK]], strict=True)))
        for i in range(0, len(rows), bulk.COPY_BLOCK)]
    return names, [bulk.COPY_SIGNATURE, *blocks, bulk.COPY_TRAILER], True


def _gdal_file(path, rows):
    """``rows`` in the file's order as a CSV GDAL reads (WGS-84 ``lon``/``lat``, a
    ``.csvt`` giving the column types), written once beside ``path``.

    It fills ``tags`` (``[]``, GDAL's empty list) and ``updated_at`` too: GDAL's
    PostgreSQL driver leaves COPY for one INSERT per row whenever a column with a
    default is left unset (``OGRPGTableLayer::ICreateFeature``), and with the
    table's per-statement triggers that took ~5 ms a row (536 s for 100,000)."""
    out = path.with_name(path.stem + "-gdal-county.csv")
    if not out.exists():
        plain = rows.sort_index()[["external_id", "address", "size", "grid_code",
                                   "county", "lon", "lat"]].assign(
            tags="[]", updated_at="2026-12-07T00:00:00Z")
        tmp = out.with_suffix(".tmp")
        plain.to_csv(tmp, index=False, float_format="%.9f")
        out.with_suffix(".csvt").write_text(
            '"String","String","Integer","String","String","Real","Real","String",'
            '"DateTime"\n')
        tmp.rename(out)
    return out


def _fresh_copy(server):
    """An empty-households copy of the city; its URL. Checkpointed, so that the
    copy's writes do not fall into the next timing."""
    import psycopg
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    with psycopg.connect(server, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(COPY_DB)))
        # A template may have no other session: other benchmarks on the shared
        # machine read the city database for a while, so wait for a gap.
        for attempt in range(60):
            try:
                c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(
                    sql.Identifier(COPY_DB), sql.Identifier(TEMPLATE)))
                break
            except psycopg.errors.ObjectInUse:
                if attempt == 59:
                    raise
                if attempt == 0:
                    print(f"waiting for other sessions to leave {TEMPLATE} …",
                          flush=True)
                time.sleep(5)
    url = make_conninfo(server, dbname=COPY_DB)
    with psycopg.connect(url, autocommit=True) as c:
        c.execute("TRUNCATE households CASCADE")  # and the visits
        c.execute("VACUUM ANALYZE households")
        c.execute("CHECKPOINT")
    return url


def _drop(server):
    import psycopg
    from psycopg import sql

    with psycopg.connect(server, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
            sql.Identifier(COPY_DB)))


def _count(url):
    import psycopg

    with psycopg.connect(url) as c:
        return c.execute("SELECT count(*) FROM households").fetchone()[0]


def _ours(url, path):
    """gridgov end to end; (seconds, report, [(phase, own seconds)])."""
    import psycopg

    import importers
    from layers import imports
    from layers.access import SYSTEM

    marks = []

    def progress(phase, count, seconds):
        marks.append((phase, seconds))
        print(f"  {phase:<9} {count:>10,} rows at {seconds:6.2f} s", flush=True)

    started = time.perf_counter()
    data = path.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    # as the API and the command line read it: a CSV handed over part by part
    result = importers.read_any(data, name=path.name, crs="gcj02", stream=True)
    read = time.perf_counter() - started
    marks.append(("open", 0.0))
    print(f"  open      {result.rows:>10,} lines at {read:6.2f} s", flush=True)
    with psycopg.connect(url, autocommit=True) as conn:
        report = imports.run_import(conn, SYSTEM, result, "households", path.name,
                                    digest, {"crs": "gcj02"},
                                    progress=lambda *a: progress(a[0], a[1],
                                                                 a[2] + read))
    seconds = time.perf_counter() - started
    ends = [*(t for _, t in marks[1:]), seconds]
    phases = [(name, end - start) for (name, start), end
              in zip(marks, ends, strict=True) if name != "done"]
    return seconds, report, phases


def _floor(url, names, blocks, binary):
    """COPY of the prepared rows into ``households`` (its keys and foreign key in
    force, the plain indexes dropped and built again), one transaction;
    (seconds, [(part, seconds)])."""
    import psycopg
    from psycopg import sql

    from layers.import_bulk import plain_indexes

    parts = []
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        rebuilt = plain_indexes(conn, "households")
        for name, _ in rebuilt:
            conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
        statement = sql.SQL("COPY households ({}) FROM STDIN{}").format(
            sql.SQL(", ").join(map(sql.Identifier, names)),
            sql.SQL(" (FORMAT BINARY)" if binary else ""))
        mark = time.perf_counter()
        with conn.cursor() as cur, cur.copy(statement) as copy:
            for block in blocks:
                copy.write(block)
        parts.append(("COPY", time.perf_counter() - mark))
        mark = time.perf_counter()
        for _, definition in rebuilt:
            conn.execute(sql.SQL(definition))
        parts.append(("index builds", time.perf_counter() - mark))
        mark = time.perf_counter()
        conn.commit()
        parts.append(("commit", time.perf_counter() - mark))
        return time.perf_counter() - started, parts


def _ogr_target(url):
    """``PG:…`` of a libpq URL for ogr2ogr (key=value pairs, no password shown
    on the command line: it goes by PGPASSWORD)."""
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(url)
    env = dict(os.environ)
    if "password" in params:
        env["PGPASSWORD"] = str(params.pop("password"))
    return "PG:" + " ".join(f"{k}={v}" for k, v in params.items()), env


def _gdal(url, gdal_csv):
    """ogr2ogr of the WGS-84 file into ``households`` (every index live); seconds."""
    target, env = _ogr_target(url)
    command = ["ogr2ogr", "-f", "PostgreSQL", target, str(gdal_csv),
               "-append", "-nln", "households", "-gt", "unlimited",
               "--config", "PG_USE_COPY", "YES",
               "-oo", "X_POSSIBLE_NAMES=lon", "-oo", "Y_POSSIBLE_NAMES=lat",
               "-oo", "KEEP_GEOM_COLUMNS=NO", "-a_srs", "EPSG:4326"]
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env)
    return time.perf_counter() - started


def _load():
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench importing",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-gdal", action="store_true",
                        help="skip GDAL (for quick iterations on ours)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="rounds of the three (best of each kept)")
    args = parser.parse_args(argv)

    import pandas as pd

    from bench.locate import _server_url, city_database

    if not args.no_gdal and shutil.which("ogr2ogr") is None:
        sys.exit("ogr2ogr not found: install gdal-bin (scripts/setup.sh "
                 "--with-browser does it on a development machine), or --no-gdal")
    path = _csv(args.rows)
    print(f"file: {path.name} ({path.stat().st_size / 2**20:.0f} MB)", flush=True)
    city = city_database()
    server = _server_url()
    rows = _prepared(path)
    names, blocks, binary = _floor_blocks(rows, city)
    gdal_csv = None if args.no_gdal else _gdal_file(path, rows)
    started = time.perf_counter()
    pd.read_csv(path)
    baseline = time.perf_counter() - started
    ours = floor = gdal = float("inf")
    loads = []
    try:
        for round_ in range(1, args.repeat + 1):
            loads.append(os.getloadavg()[0])
            print(f"round {round_}, ours ({_load()}):", flush=True)
            seconds, report, phases = _ours(_fresh_copy(server), path)
            ours = min(ours, seconds)
            print(f"  {seconds:.2f} s", flush=True)
            url = _fresh_copy(server)
            print(f"floor ({_load()}) …", flush=True)
            seconds, parts = _floor(url, names, blocks, binary)
            floor = min(floor, seconds)
            floor_rows = _count(url)
            print(f"  {seconds:.2f} s: " + ", ".join(f"{n} {s:.2f} s"
                                                     for n, s in parts), flush=True)
            gdal_rows = None
            if gdal_csv is not None:
                url = _fresh_copy(server)
                print(f"GDAL ({_load()}) …", flush=True)
                seconds = _gdal(url, gdal_csv)
                gdal = min(gdal, seconds)
                gdal_rows = _count(url)
                print(f"  {seconds:.2f} s", flush=True)
            added = report["counts"]["added"]
            assert floor_rows == added and gdal_rows in (None, added), \
                f"rows: ours {added:,}, floor {floor_rows:,}, GDAL {gdal_rows}"
            print("ours, each phase: " + ", ".join(f"{n} {s:.2f} s"
                                                   for n, s in phases), flush=True)
    finally:
        _drop(server)
    loads.append(os.getloadavg()[0])
    print(f"counts: {report['counts']}")
    best = "best of " + str(args.repeat) if args.repeat > 1 else "one run"
    print(f"figures ({best}; 1-minute load average {min(loads):.2f}–"
          f"{max(loads):.2f} on {os.cpu_count()} cores):")
    print(f"  reference: pandas.read_csv of the file            {baseline:6.2f} s")
    print(f"  database floor: COPY of the prepared rows + indexes {floor:6.2f} s")
    if gdal_csv is not None:
        print(f"  GDAL: ogr2ogr -append, PG_USE_COPY, indexes live  {gdal:6.2f} s")
    print(f"  ours: read + check + assign + COPY + indexes       {ours:6.2f} s")
    met = added == args.rows - report["counts"]["rejected"]
    met = met and ours <= FLOOR_RATIO * floor
    print(f"ours / floor = {ours / floor:.2f} (bar ≤ {FLOOR_RATIO:g})")
    if gdal_csv is not None:
        print(f"ours / GDAL  = {ours / gdal:.2f} (bar ≤ {GDAL_RATIO:g})")
        met = met and ours <= GDAL_RATIO * gdal
    print(f"bar: {'met' if met else 'NOT met'}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
