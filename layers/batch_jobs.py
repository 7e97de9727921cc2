"""The batch jobs' tasks (:mod:`layers.batch`): one function per job, run by a
Dask worker on one partition — read from PostGIS, compute with geo/, write.

Each takes ``(conn, part, options, timer)``: its own autocommit connection, its
:class:`layers.batch.Partition`, what :func:`layers.batch.prepare` decided for
the whole run, and a timer to which it reports its reading, computing and
writing apart. It returns its figures (:func:`layers.batch.stats`).
"""

import contextlib
import io
import os
from pathlib import Path

import geopandas
import numpy as np
import pandas as pd
import shapely
from psycopg import sql

from geo import assign as geo_assign
from geo import batch as geo_batch
from geo import density as geo_density
from geo import tracks as geo_tracks
from geo.coverage import transformer
from geo.crs import WGS84
from geo.localtime import ZONE_NAME
from layers.batch import copy_in, copy_out, stale, stats

__all__ = ["TASKS", "write_coverage"]


@contextlib.contextmanager
def _snapshot(conn):
    """One REPEATABLE READ transaction: every read of a task sees one state."""
    with conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


# Assignments: households and GPS track points -------------------------------------

# micro-grids in code order: geo.assign gives a point on a shared edge the
# lowest index, so the lowest code, as layers.assign.reassign does
_GRIDS = """
    SELECT code, ST_AsBinary(geom) FROM grids
    WHERE level = 4 AND geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
    ORDER BY code COLLATE "C"
"""
# Households, by position: the box of the partition's micro-grids and of the
# households it holds now, then every household inside it (GiST)
_HOUSEHOLDS_BOX = """
    SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (
        SELECT ST_Extent(geom) AS e FROM (
            SELECT geom FROM grids WHERE level = 4 AND {grid}
            UNION ALL
            SELECT geom FROM households WHERE {held}) u) b
"""
_HOUSEHOLDS = """
    SELECT id, ST_X(geom), ST_Y(geom), coalesce({held}, false) FROM households
    WHERE geom && ST_MakeEnvelope(%(x0)s, %(y0)s, %(x1)s, %(y1)s, 4326)
"""
# GPS track points, by their worker: track_points has no spatial index (a
# billion rows a year), and every point has a worker's track, so the partition
# of the worker's grid owns it and reads it through tracks (indexed by worker)
_TRACK_POINTS = """
    SELECT p.track_id, p.seq::int8, ST_X(p.geom), ST_Y(p.geom)
    FROM track_points p JOIN tracks t ON t.id = p.track_id
    LEFT JOIN grid_staff s ON s.id = t.staff_id
    WHERE {held} {when}
"""


def _assign(part, codes, polygons, points, mine, timer):
    """Each point's micro-grid (None: in none) and whether the partition owns
    it (:func:`geo.batch.owned`), the grids being every micro-grid that meets
    the box of the points read, in code order."""
    index = geo_assign.assign(points, polygons)
    inside = np.zeros(len(codes), dtype=bool) if part.prefix is None else \
        np.fromiter((c.startswith(part.prefix) for c in codes), bool, len(codes))
    in_run = np.fromiter((c.startswith(part.prefixes) for c in codes), bool,
                         len(codes))
    own = geo_batch.owned(index, inside, in_run, mine)
    result = np.full(len(index), None, dtype=object)
    found = index >= 0
    result[found] = codes[index[found]]
    timer.lap("compute")
    return result, own


def _grids(conn, box):
    rows = conn.execute(_GRIDS, dict(zip(("x0", "y0", "x1", "y1"), box,
                                         strict=True))).fetchall()
    return (np.array([r[0] for r in rows], dtype=object),
            shapely.from_wkb([bytes(r[1]) for r in rows]))


def owned_households(conn, part, options, timer):
    """The households ``part`` owns, and their micro-grids: ``(ids, codes,
    read)``, ``read`` the households read (its own and, near its borders, its
    neighbours'). Nothing written (what :func:`assign_households` writes; the
    tests look at it directly)."""
    params = part.params()
    held = part.member("grid_code")
    with _snapshot(conn):
        box = conn.execute(sql.SQL(_HOUSEHOLDS_BOX).format(
            grid=part.member("code"), held=held), params).fetchone()
        if box[0] is None:
            timer.lap("read")
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=object), 0
        codes, polygons = _grids(conn, box)
        rows = copy_out(conn, sql.SQL(_HOUSEHOLDS).format(held=held), params
                        | dict(zip(("x0", "y0", "x1", "y1"), box, strict=True)),
                        [("id", "int8"), ("x", "float8"), ("y", "float8"),
                         ("mine", "bool")])
    points = shapely.points(rows["x"], rows["y"])
    timer.lap("read")
    result, own = _assign(part, codes, polygons, points, rows["mine"], timer)
    return rows["id"][own], result[own], len(own)


def assign_households(conn, part, options, timer):
    """``households.grid_code`` of the households the partition owns."""
    ids, codes, read = owned_households(conn, part, options, timer)
    with conn.transaction():
        conn.execute("CREATE TEMP TABLE batch_households (id bigint, grid_code text)"
                     " ON COMMIT DROP")
        copy_in(conn, "batch_households", [("id", "int8", ids),
                                            ("grid_code", "text", codes)])
        conn.execute("ANALYZE batch_households")  # a temp table has no statistics
        changed = conn.execute(
            "UPDATE households h SET grid_code = s.grid_code FROM batch_households s"
            " WHERE h.id = s.id AND h.grid_code IS DISTINCT FROM s.grid_code"
        ).rowcount
    timer.lap("write")
    return stats(part, timer, rows=read, written=changed, owned=len(ids))


def assign_points(conn, part, options, timer):
    """The micro-grid of every GPS track point of the partition's workers, as a
    GeoParquet file ``part-<prefix>.parquet`` (``track_id``, ``seq``,
    ``grid_code``, the point) under ``options["output"]``, written aside then
    renamed (never half a file): the folder is one dataset, which
    ``dask_geopandas.read_parquet`` opens as a frame of one partition per
    file. With ``options["first"]``, only the tracks of those days."""
    params = part.params()
    when = sql.SQL("")
    if options.get("first"):
        when = sql.SQL("AND t.day BETWEEN %(first)s AND %(last)s")
        params |= {"first": options["first"], "last": options["last"]}
    with _snapshot(conn):
        rows = copy_out(conn, sql.SQL(_TRACK_POINTS).format(
            held=part.member("coalesce(s.grid_code, '')"), when=when), params,
            [("track_id", "int8"), ("seq", "int8"), ("x", "float8"),
             ("y", "float8")])
        xy = np.column_stack([rows["x"], rows["y"]])
        codes, polygons = np.zeros(0, dtype=object), np.zeros(0, dtype=object)
        if len(xy):
            codes, polygons = _grids(conn, [float(v) for v in (*xy.min(axis=0),
                                                               *xy.max(axis=0))])
    points = shapely.points(xy)
    timer.lap("read")
    result, _ = _assign(part, codes, polygons, points, np.ones(len(xy), dtype=bool),
                        timer)
    folder = Path(options["output"])
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"part-{part.label}.parquet"
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    geopandas.GeoDataFrame(
        {"track_id": rows["track_id"], "seq": rows["seq"].astype(np.int32),
         "grid_code": pd.Series(result, dtype="string")},
        geometry=points, crs=WGS84,
    ).to_parquet(aside, index=False)
    os.replace(aside, path)
    timer.lap("write")
    return stats(part, timer, rows=len(xy), written=len(xy), owned=len(xy))


# The heatmap's cube -----------------------------------------------------------------

_INCIDENTS = """
    COPY (SELECT category, grid_code,
                 (created_at AT TIME ZONE %(zone)s)::date - DATE '1970-01-01',
                 ST_X(geom), ST_Y(geom)
          FROM incidents WHERE grid_code IS NOT NULL AND {member}) TO STDOUT
"""
_CELL_KEYS = ["category", "day", "grid_code", "ix", "iy"]
# the counts' changes that the triggers logged since the partition was read
_LOGGED = """
    SELECT category, day - DATE '1970-01-01', grid_code, ix, iy, d
    FROM incident_cells_log
    WHERE generation > %(since)s AND generation <= %(until)s AND {member}
"""


def _incidents(conn, part, params):
    buffer = io.BytesIO()
    with conn.cursor() as cur, cur.copy(sql.SQL(_INCIDENTS).format(
            member=part.member("grid_code")), params) as copy:
        for block in copy:
            buffer.write(block)
    columns = {"category": str, "grid_code": str, "day": np.int64,
               "lon": np.float64, "lat": np.float64}
    if buffer.tell() == 0:
        return pd.DataFrame({k: pd.Series(dtype=v) for k, v in columns.items()})
    buffer.seek(0)
    return pd.read_csv(buffer, sep="\t", header=None, names=list(columns),
                       dtype=columns, keep_default_na=False)


def count_cells(conn, part, options, timer):
    """The partition's incidents counted by category, day, grid and 50 m cell:
    ``(generation, cells, incidents)``, ``generation`` the state's as read."""
    params = part.params() | {"zone": ZONE_NAME}
    with _snapshot(conn):
        since = conn.execute(
            "SELECT generation FROM incident_cells_state").fetchone()[0]
        rows = _incidents(conn, part, params)
    timer.lap("read")
    srid, cell_m = options["srid"], options["cell_m"]
    if len(rows) and srid is None:
        raise stale(part)  # incidents came into an empty table meanwhile
    ix = iy = np.zeros(0, dtype=np.int64)
    if len(rows):
        x, y = transformer("EPSG:4326", f"EPSG:{srid}").transform(
            rows["lon"].to_numpy(), rows["lat"].to_numpy())
        ix, iy = geo_density.cell_index(x, y, cell_m)
    cells = rows.assign(ix=ix, iy=iy).groupby(_CELL_KEYS, sort=False).size() \
        .rename("n").reset_index()
    timer.lap("compute")
    return since, cells, len(rows)


def write_cells(conn, part, options, since, cells):
    """Replace the partition's rows of ``incident_cells`` by ``cells``, counted
    at generation ``since``; the changes the triggers logged after it are added
    (a change they did not log, a bulk load, raises :class:`layers.batch.Stale`:
    the partition is counted again). Returns the rows written."""
    params = part.params()
    with conn.transaction():
        # the state's row lock holds the triggers off until this commits
        generation, log_from, srid, cell_m = conn.execute(
            "SELECT generation, log_from, srid, cell_m FROM incident_cells_state"
            " FOR UPDATE").fetchone()
        if (srid, float(cell_m)) != (options["srid"], options["cell_m"]) or (
                generation != since and log_from > since):
            raise stale(part)
        if generation != since:
            logged = pd.DataFrame(conn.execute(
                sql.SQL(_LOGGED).format(member=part.member("grid_code")),
                params | {"since": since, "until": generation}).fetchall(),
                columns=[*_CELL_KEYS, "n"])
            cells = pd.concat([cells, logged.astype(cells.dtypes.to_dict())])
            cells = cells.groupby(_CELL_KEYS, sort=False)["n"].sum().reset_index()
            cells = cells[cells["n"] > 0]
        conn.execute("CREATE TEMP TABLE batch_cells (category text, day int4,"
                     " grid_code text, ix int4, iy int4, n int4) ON COMMIT DROP")
        copy_in(conn, "batch_cells", [
            (k, "text" if k in ("category", "grid_code") else "int4",
             cells[k].to_numpy()) for k in [*_CELL_KEYS, "n"]])
        conn.execute(sql.SQL("DELETE FROM incident_cells WHERE {}").format(
            part.member("grid_code")), params)
        conn.execute("INSERT INTO incident_cells (category, day, grid_code, ix, iy, n)"
                     " SELECT category, DATE '1970-01-01' + day, grid_code, ix, iy,"
                     " n FROM batch_cells")
    return len(cells)


def heatmap_cube(conn, part, options, timer):
    """``incident_cells`` of the partition's incidents (by their grid code),
    counted again as ``incident_cells_refresh()`` counts them: the day in China
    time, the projected point's 50 m cell by :func:`geo.density.cell_index`."""
    since, cells, read = count_cells(conn, part, options, timer)
    written = write_cells(conn, part, options, since, cells)
    timer.lap("write")
    return stats(part, timer, rows=read, written=written)


# Patrol coverage (巡查覆盖率) ---------------------------------------------------

_STAFF = """
    SELECT s.id, s.grid_code FROM grid_staff s
    WHERE {member} AND (s.active OR EXISTS (
        SELECT 1 FROM tracks t WHERE t.staff_id = s.id
          AND t.day BETWEEN %(first)s AND %(last)s))
    ORDER BY s.id
"""
# a worker's own micro-grids: those under the grid of duty (layers.tracks)
_OWN = """
    SELECT s.id, g.code FROM grid_staff s
    JOIN grids g ON g.level = 4 AND left(g.code, length(s.grid_code)) = s.grid_code
    WHERE s.id = ANY(%(staff)s) ORDER BY s.id, g.code
"""
# as layers.tracks._points reads one worker's, for all the partition's workers
_PATROL_POINTS = """
    SELECT t.staff_id, extract(epoch FROM p.at)::float8, ST_X(p.geom), ST_Y(p.geom),
           t.id
    FROM track_points p JOIN tracks t ON t.id = p.track_id
    WHERE t.staff_id = ANY(%(staff)s) AND t.day BETWEEN %(first)s AND %(last)s
      AND p.at IS NOT NULL
    ORDER BY t.staff_id, p.at
"""
# the micro-grids meeting the box of each worker's points (layers.tracks)
_NEAR = """
    SELECT b.staff, g.code
    FROM unnest(%(staff)s::int8[], %(x0)s::float8[], %(y0)s::float8[],
                %(x1)s::float8[], %(y1)s::float8[]) AS b(staff, x0, y0, x1, y1)
    JOIN grids g ON g.level = 4
     AND g.geom && ST_MakeEnvelope(b.x0, b.y0, b.x1, b.y1, 4326)
"""


def patrol_coverage(conn, part, options, timer):
    """Each worker's 巡查覆盖率 over the month (``options["first"]`` to
    ``["last"]``): the points cleaned (:func:`geo.tracks.clean`), the days
    summarised against the micro-grids meeting the box of the worker's points
    (:func:`geo.tracks.summarise`), the share of the worker's own micro-grids
    entered (:func:`geo.tracks.coverage`) — one worker at a time, as
    ``layers.tracks.summary`` does."""
    params = part.params() | {"first": options["first"], "last": options["last"]}
    with _snapshot(conn):
        staff = conn.execute(sql.SQL(_STAFF).format(member=part.member("s.grid_code")),
                             params).fetchall()
        params["staff"] = [s for s, _ in staff]
        own = {}
        for sid, code in conn.execute(_OWN, params):
            own.setdefault(sid, []).append(code)
        rows = copy_out(conn, sql.SQL(_PATROL_POINTS), params, [
            ("staff", "int8"), ("at", "float8"), ("x", "float8"), ("y", "float8"),
            ("track", "int8")])
        who, first = np.unique(rows["staff"], return_index=True)
        last = np.r_[first[1:], len(rows["staff"])][:len(first)]
        boxes = {"staff": who.tolist()}
        for key, values, fn in (("x0", rows["x"], np.minimum), ("y0", rows["y"],
                                np.minimum), ("x1", rows["x"], np.maximum),
                                ("y1", rows["y"], np.maximum)):
            boxes[key] = fn.reduceat(values, first).tolist() if len(who) else []
        near = {}
        for sid, code in conn.execute(_NEAR, boxes):
            near.setdefault(sid, []).append(code)
        codes = sorted({c for found in near.values() for c in found})
        shapes = dict(conn.execute(
            "SELECT code, ST_AsBinary(geom) FROM grids WHERE code = ANY(%s)",
            (codes,)).fetchall())
    geoms = {c: shapely.from_wkb(bytes(w)) for c, w in shapes.items()}
    span = dict(zip(who.tolist(), zip(first.tolist(), last.tolist(), strict=True),
                    strict=True))
    timer.lap("read")
    out = []
    for sid, grid_code in staff:
        entered, days, metres = [], 0, 0.0
        if sid in span:
            a, b = span[sid]
            points = geopandas.GeoDataFrame(
                {"time": pd.to_datetime(np.round(rows["at"][a:b] * 1e6)
                                        .astype(np.int64), unit="us", utc=True),
                 "track": rows["track"][a:b], "worker": sid},
                geometry=shapely.points(rows["x"][a:b], rows["y"][a:b]), crs=WGS84)
            mine = sorted(near.get(sid, []))
            grids = geopandas.GeoDataFrame(
                {"code": mine, "level": [4] * len(mine)},
                geometry=[geoms[c] for c in mine], crs=WGS84)
            summary = geo_tracks.summarise(geo_tracks.clean(points).points, grids)
            entered = [c for e in summary["entered"] for c in e]
            days, metres = len(summary), float(summary["distance_m"].sum())
        cover = geo_tracks.coverage({sid: entered}, {sid: own.get(sid, [])}).iloc[0]
        out.append({"staff_id": sid, "grid_code": grid_code, "own": int(cover["own"]),
                    "visited": int(cover["visited"]), "share": float(cover["share"]),
                    "not_visited": " ".join(cover["not_visited"]), "days": days,
                    "distance_m": round(metres, 1)})
    timer.lap("compute")
    return stats(part, timer, rows=len(rows["staff"]), written=len(out),
                 coverage=out)


def write_coverage(results, output):
    """The patrol figures of every partition as one CSV file at ``output``
    (written aside, then renamed); returns its path."""
    rows = [r for part in results for r in part["coverage"]]
    columns = ["staff_id", "grid_code", "own", "visited", "share", "not_visited",
               "days", "distance_m"]
    frame = pd.DataFrame(rows, columns=columns).sort_values("staff_id")
    path = Path(output)
    path.parent.mkdir(parents=True, exist_ok=True)
    aside = path.with_name(f".{path.name}.{os.getpid()}")
    frame.to_csv(aside, index=False)
    os.replace(aside, path)
    return str(path)


# Camera coverage --------------------------------------------------------------------

_LEAVES = """
    SELECT g.code FROM grids g WHERE {member}
      AND NOT EXISTS (SELECT 1 FROM grids k WHERE k.parent_code = g.code)
      {missing}
    ORDER BY g.code
"""
_MISSING = "AND NOT EXISTS (SELECT 1 FROM coverage_leaf l WHERE l.code = g.code)"


def camera_coverage(conn, part, options, timer):
    """``coverage_leaf`` of every leaf grid of the partition lacking it, by
    ``layers.coverage.refresh`` (:func:`geo.coverage.coverage_by_grid`; it
    stores nothing if cameras, households or grids changed while it ran: the
    partition is then run again)."""
    from layers import coverage

    params = part.params()
    roots = [part.prefix] if part.prefix else [r[0] for r in conn.execute(
        sql.SQL(_LEAVES).format(member=part.member("g.code"), missing=sql.SQL("")),
        params)]
    timer.lap("read")
    computed = sum(coverage.refresh(conn, root) for root in roots)
    timer.lap("compute")
    if conn.execute(sql.SQL("SELECT EXISTS ({})").format(sql.SQL(_LEAVES).format(
            member=part.member("g.code"), missing=sql.SQL(_MISSING))), params
            ).fetchone()[0]:
        raise stale(part)
    return stats(part, timer, rows=computed, written=computed)


TASKS = {
    "assign-households": assign_households,
    "assign-points": assign_points,
    "heatmap-cube": heatmap_cube,
    "patrol-coverage": patrol_coverage,
    "camera-coverage": camera_coverage,
}
