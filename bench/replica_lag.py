"""``python -m bench replica_lag``: how far a streaming read replica falls behind
while gridgov imports a 1,000,000-row CSV of households (``bench.importing``'s
file and its "ours" run, into a fresh copy of the city), and how long it takes
to catch up after the import commits.

A replica of the test session's private cluster is made for the run
(``layers.replicas.add``: pg_basebackup -R, a slot) and removed after. Every
0.1 s a sampler reads the primary's WAL position and the replica's replay
position: the lag in bytes is their difference; the lag in seconds is how long
ago the primary was where the replica is now (the last sample whose primary
position the replica has reached), which an idle primary does not inflate.
No bar: the figures go to bench/scale.md and decide ``READ_REPLICA_MAX_LAG``.
"""

import argparse
import os
import threading
import time
from pathlib import Path

import numpy as np
import psycopg

from bench import ROOT
from bench.importing import _csv, _drop, _fresh_copy, _ours

__all__ = ["main"]


def _lsn(conn, query):
    return conn.execute(f"SELECT ({query} - '0/0')::bigint").fetchone()[0]


class Sampler(threading.Thread):
    """Primary and replica positions every ``every`` seconds until stopped."""

    def __init__(self, primary_url, replica_url, every=0.1):
        super().__init__(daemon=True)
        self.primary_url, self.replica_url, self.every = primary_url, replica_url, every
        self.rows = []  # (t, primary lsn, replay lsn)
        self.done = threading.Event()

    def run(self):
        with psycopg.connect(self.primary_url, autocommit=True) as p, \
                psycopg.connect(self.replica_url, autocommit=True) as r:
            while not self.done.is_set():
                t = time.monotonic()
                at = _lsn(p, "pg_current_wal_lsn()")
                replay = _lsn(r, "pg_last_wal_replay_lsn()")
                self.rows.append((t, at, replay))
                self.done.wait(self.every)

    def lags(self):
        """(seconds behind, bytes behind) of every sample."""
        t, at, replay = (np.array(c, dtype=float) for c in zip(*self.rows,
                                                                strict=True))
        # the last sample at or before each whose primary position the replica
        # had reached (positions only grow)
        reached = np.searchsorted(at, replay, side="right") - 1
        seconds = np.where(replay >= at, 0.0,
                           t - t[np.clip(reached, 0, None)])
        return seconds, np.maximum(at - replay, 0)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench replica_lag",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    from psycopg.conninfo import conninfo_to_dict

    from bench.locate import _server_url, city_database
    from layers import replicas
    from layers.cluster import Cluster

    if os.environ.get("GRIDGOV_TEST_DATABASE_URL"):
        raise SystemExit("the replica is made of the private cluster only")
    path = _csv(args.rows)
    city_database()
    server = _server_url()
    cluster = Cluster(Path(os.environ.get("GRIDGOV_TEST_HOME",
                                          ROOT / "var" / "test")))
    started = time.perf_counter()
    replica = replicas.add(cluster)
    print(f"replica {replica.number} made in {time.perf_counter() - started:.1f} s "
          f"(port {replica.status()['port']})", flush=True)
    try:
        url = _fresh_copy(server)
        standby = replica.url_for(conninfo_to_dict(url)["dbname"],
                                  replica.status()["port"])
        with psycopg.connect(url, autocommit=True) as p:
            target = _lsn(p, "pg_current_wal_lsn()")
        while True:  # the copy of the city replayed before the import starts
            try:
                with psycopg.connect(standby, autocommit=True) as r:
                    if _lsn(r, "pg_last_wal_replay_lsn()") >= target:
                        break
            except psycopg.OperationalError:
                pass
            time.sleep(0.1)
        sampler = Sampler(url, standby)
        sampler.start()
        seconds, report, _ = _ours(url, path)
        with psycopg.connect(url, autocommit=True) as p:
            committed = _lsn(p, "pg_current_wal_lsn()")
        done = time.monotonic()
        with psycopg.connect(standby, autocommit=True) as r:
            while _lsn(r, "pg_last_wal_replay_lsn()") < committed:
                time.sleep(0.01)
        caught_up = time.monotonic() - done
        sampler.done.set()
        sampler.join()
        with psycopg.connect(standby) as r:
            replicated = r.execute("SELECT count(*) FROM households").fetchone()[0]
    finally:
        _drop(server)
        replicas.remove(cluster, replica.number)
    lag_s, lag_b = sampler.lags()
    print(f"import: {report['counts']['added']:,} rows in {seconds:.2f} s; "
          f"on the replica after it: {replicated:,} rows")
    print(f"replica lag during the import ({len(lag_s)} samples every 0.1 s): "
          f"seconds p50 {np.median(lag_s):.2f}, p95 {np.percentile(lag_s, 95):.2f}, "
          f"max {lag_s.max():.2f}; bytes p50 {np.median(lag_b) / 2**20:.1f} MB, "
          f"max {lag_b.max() / 2**20:.1f} MB")
    print(f"caught up {caught_up:.2f} s after the import committed")
    return 0
