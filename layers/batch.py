"""Batch work on Dask (issue 18): the heavy jobs of a province, one Dask task
per partition of the grid codes (:mod:`geo.batch`: by county, cut finer by
size).

A task gets the database URL and its partition, never the data: it opens its
own connection, reads its rows in one REPEATABLE READ snapshot (binary COPY
where the rows are numbers), runs the same geo/ functions as the in-process
paths and writes its results in one transaction of its own: a binary COPY into
a temporary table, then one statement from there into the table. A partition
that fails has written nothing and is run again alone (Dask's ``retries``).
Tables are written through their parent, by column name: the same whether they
are partitioned by county (migration 0035) or not.

The jobs (:data:`JOBS`), each beside the in-process computation it agrees with
row for row (``tests/integration/test_batch.py``):

- ``assign-households``: ``households.grid_code`` of every household, as
  ``layers.assign.reassign(conn, "households")``;
- ``assign-points``: the micro-grid of every GPS track point, as
  ``geo.assign.assign_codes`` over them all in one process; one Parquet file per
  partition under ``output`` (no table holds a point's grid: that needs a
  migration of its own);
- ``heatmap-cube``: ``incident_cells`` (category × day × grid × 50 m cell)
  rebuilt, as ``incident_cells_refresh()`` (migration 0006) counts it;
- ``patrol-coverage``: every worker's 巡查覆盖率 over a month, as
  ``layers.tracks.summary`` gives it, one CSV file;
- ``camera-coverage``: ``coverage_leaf`` filled for every leaf grid lacking it,
  by ``layers.coverage.refresh`` on each partition.

Points on a border (the assignments): every point is assigned against every
micro-grid meeting the box of the points read, the neighbours' included, so a
partition knows each point's true grid (the lowest code holding it) even on a
county border. A household is read by position: a partition reads the
households inside the box of its micro-grids and of those it holds now, and
writes only those :func:`geo.batch.owned` gives it (a household on a border is
read by both sides, written by one). A GPS track point is read by its worker:
the partition of the worker's grid owns all the worker's points, wherever they
lie (``track_points`` has no spatial index, and at a billion rows a year it
will not get one for this).
"""

import os
import resource
import time
from dataclasses import dataclass

import numpy as np
import psycopg
from psycopg import sql

from geo import batch as geo_batch
from geo.catalogue import say
from layers.access import like_prefix
from layers.errors import Conflict, Invalid
from layers.import_bulk import COPY_SIGNATURE, COPY_TRAILER, binary_rows

__all__ = ["JOBS", "Partition", "Report", "Stale", "partitions", "prepare",
           "run", "run_partition", "copy_out", "copy_in", "Timer", "stats", "stale"]

JOBS = ("assign-households", "assign-points", "heatmap-cube", "patrol-coverage",
        "camera-coverage")
COPY_ROWS = 200_000  # rows per binary COPY message written


@dataclass(frozen=True)
class Partition:
    """One task's share: the codes under ``prefix``, or (``prefix`` None) *the
    rest*, the codes of the run's ``scope`` under none of its ``prefixes``."""

    prefix: str | None
    scope: tuple  # LIKE patterns of the counties of the run ('%': everything)
    prefixes: tuple  # every partition's prefix in the run
    size: int = 0  # its micro-grids

    @property
    def label(self):
        return self.prefix or "rest"

    def params(self):
        """The parameters of :meth:`member`'s test."""
        if self.prefix is not None:
            # codes are digits: those under a prefix sort between it and the
            # prefix one higher, in any collation
            above = str(int(self.prefix) + 1).zfill(len(self.prefix))
            return {"like": like_prefix(self.prefix), "lo": self.prefix, "hi": above}
        return {"inc": list(self.scope), "exc": [like_prefix(p) for p in self.prefixes]}

    def member(self, column):
        """SQL: ``column`` (a code: an expression of ours) is in the partition
        (NULL for a NULL code). Under a prefix: a range, which any btree index
        of the column serves, and the LIKE (a ``text_pattern_ops`` index
        serves it); the tasks' queries are planned with their values (a
        connection each, never prepared)."""
        if self.prefix is not None:
            return sql.SQL("({c} >= %(lo)s AND {c} < %(hi)s AND {c} LIKE %(like)s)"
                           ).format(c=sql.SQL(column))
        return sql.SQL("({c} LIKE ANY(%(inc)s::text[])"
                       " AND NOT {c} LIKE ANY(%(exc)s::text[]))").format(
                           c=sql.SQL(column))


def partitions(conn, workers, counties=None):
    """``(plan, [Partition])``: the micro-grids of ``counties`` (6-digit codes;
    None: all) cut for ``workers`` (:func:`geo.batch.plan`), the rest last."""
    scope = tuple(like_prefix(c) for c in counties) if counties else ("%",)
    codes = [r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE level = 4 AND code LIKE ANY(%s::text[])",
        (list(scope),))]
    if counties and not codes:
        raise Invalid(say("err_batch_no_grids", counties=", ".join(counties)),
                      field="county")
    cut = geo_batch.plan(codes, workers)
    parts = [Partition(p, scope, cut.prefixes, n)
             for p, n in zip(cut.prefixes, cut.sizes, strict=True)]
    parts.sort(key=lambda p: -p.size)  # the largest first: they finish last
    return cut, [*parts, Partition(None, scope, cut.prefixes)]


# Reading and writing in COPY's binary format --------------------------------------

_NUMPY = {"int8": ">i8", "int4": ">i4", "float8": ">f8", "bool": "?"}


def copy_out(conn, query, params, columns):
    """The rows of ``query`` as numpy arrays ``{name: array}``, read by a binary
    COPY: rows of numbers have one width, so the whole answer is parsed by one
    ``np.frombuffer`` (no Python object per value). ``columns`` is
    ``[(name, typname)]`` of int8, int4, float8 or bool; no value may be NULL."""
    dtype = [("fields", ">i2")]
    for name, kind in columns:
        dtype += [(f"{name}_n", ">i4"), (name, _NUMPY[kind])]
    dtype = np.dtype(dtype)
    buffer = bytearray()
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT BINARY)").format(query)
    with conn.cursor() as cur, cur.copy(statement, params) as copy:
        for block in copy:
            buffer += block
    # the header: 11 bytes of signature, 4 of flags, 4 giving the length of an
    # extension (none so far); the trailer: 2 bytes
    start = 19 + int.from_bytes(buffer[15:19], "big")
    rows = np.frombuffer(memoryview(buffer)[start:max(start, len(buffer) - 2)],
                         dtype=dtype)
    for name, kind in columns:
        if (rows[f"{name}_n"] != np.dtype(_NUMPY[kind]).itemsize).any():
            raise ValueError(f"column {name} has a NULL")
    return {name: rows[name].astype(_NUMPY[kind].lstrip(">"))
            for name, kind in columns}


def copy_in(conn, table, columns):
    """Binary COPY of ``columns`` (``[(name, typname, values)]``, typnames as
    :func:`layers.import_bulk.binary_rows` writes them) into ``table``."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT BINARY)").format(
        sql.Identifier(table), sql.SQL(", ").join(
            sql.Identifier(name) for name, _, _ in columns))
    n = len(columns[0][2])
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(COPY_SIGNATURE)
        for start in range(0, n, COPY_ROWS):
            copy.write(binary_rows([(kind, values[start:start + COPY_ROWS])
                                    for _, kind, values in columns]))
        copy.write(COPY_TRAILER)


class Timer:
    """Seconds spent reading, computing and writing, apart."""

    def __init__(self):
        self.seconds = {"read": 0.0, "compute": 0.0, "write": 0.0}
        self._at = time.perf_counter()

    def lap(self, phase):
        now = time.perf_counter()
        self.seconds[phase] += now - self._at
        self._at = now


def stats(part, timer, rows=0, written=0, **extra):
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"partition": part.label, "size": part.size, "rows": int(rows),
            "written": int(written), **{f"{k}_s": v for k, v in timer.seconds.items()},
            "rss_peak_mb": peak_kb / 1024, "worker": f"{os.uname().nodename}:"
            f"{os.getpid()}", **extra}


def run_partition(job, url, part, options):
    """Run ``job`` on one partition (a Dask task): its own connection to
    ``url``, its own transactions; returns its figures (rows, seconds spent
    reading, computing and writing, the worker's peak memory)."""
    from layers import batch_jobs

    task = batch_jobs.TASKS[job]
    with psycopg.connect(url, autocommit=True,
                         application_name=f"gridgov-batch {job}") as conn:
        return task(conn, part, options, Timer())


# Before and after the partitions ---------------------------------------------------

def prepare(conn, job, counties=None, month=None, output=None):
    """What every partition of ``job`` shares, decided once before they start:
    the heatmap's zone and cell, the month's days, where files go."""
    options = {"output": None if output is None else str(output)}
    if month is not None:
        first, last = month
        options |= {"first": first, "last": last}
    if job == "heatmap-cube":
        # the zone as incident_cells_refresh() chooses it (the mean longitude of
        # every incident) when the whole deployment is rebuilt; a part of it
        # keeps the zone the rest of the table is counted in
        if counties:
            conn.execute("UPDATE incident_cells_state SET srid = coalesce(srid, ("
                         "SELECT incident_cells_zone(avg(ST_X(geom))) FROM incidents))")
        else:
            conn.execute("UPDATE incident_cells_state SET srid = ("
                         "SELECT incident_cells_zone(avg(ST_X(geom))) FROM incidents)")
        srid, cell_m = conn.execute(
            "SELECT srid, cell_m FROM incident_cells_state").fetchone()
        options |= {"srid": srid, "cell_m": float(cell_m)}
    return options


def _finish(conn, job, results, options):
    """The run's last step: heatmap copies held by the servers reload (one new
    generation for the whole rebuild); the patrol figures are written."""
    if job == "heatmap-cube":
        conn.execute("SELECT incident_cells_unlogged()")
    if job == "patrol-coverage":
        from layers import batch_jobs

        return batch_jobs.write_coverage(results, options["output"])
    if job == "assign-points":
        return options["output"]
    return None


@dataclass
class Report:
    """What :func:`run` returns."""

    job: str
    plan: geo_batch.Plan
    partitions: list  # the figures of each, in the order they finished
    seconds: float
    output: str | None = None

    def total(self, key):
        return sum(p[key] for p in self.partitions)


def run(client, url, job, workers, counties=None, month=None, output=None,
        on_start=None, on_done=None, retries=2):
    """Run ``job`` (one of :data:`JOBS`) on the Dask ``client``, one task per
    partition: ``on_start(plan, partitions)`` once they are cut,
    ``on_done(figures)`` after each one. A partition that fails is tried
    again up to ``retries`` times alone; if it still fails, the others are
    cancelled and its error raised (partitions already done stay written:
    each is whole). Returns a :class:`Report`."""
    from distributed import as_completed

    if job not in JOBS:
        raise Invalid(say("err_unknown_choice", field="job", value=job,
                          choices=", ".join(JOBS)), field="job")
    if job == "patrol-coverage" and month is None:
        raise Invalid(say("err_batch_month_required"), field="month")
    if job in ("patrol-coverage", "assign-points") and output is None:
        raise Invalid(say("err_required", field="output"), field="output")
    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        cut, parts = partitions(conn, workers, counties)
        options = prepare(conn, job, counties, month, output)
    if on_start is not None:
        on_start(cut, parts)
    keys = [f"{job}-{p.label}-{os.urandom(4).hex()}" for p in parts]
    futures = client.map(run_partition, [job] * len(parts), [url] * len(parts),
                         parts, [options] * len(parts), key=keys, retries=retries)
    done = []
    try:
        for future in as_completed(futures):
            done.append(future.result())
            if on_done is not None:
                on_done(done[-1])
    except BaseException:
        client.cancel(futures)
        raise
    with psycopg.connect(url, autocommit=True) as conn:
        written = _finish(conn, job, done, options)
    return Report(job, cut, done, time.perf_counter() - started, written)


class Stale(Conflict):
    """The data a partition read changed before it could write: run it again."""


def stale(part):
    return Stale(say("err_batch_changed", partition=part.label), field="partition")
