"""Read replicas: PostgreSQL's own streaming replicas of the private cluster, and
the application's view of any replicas (pools, health).

Private replicas (``gridgov db replica add|list|remove``): each is a cluster made
by ``pg_basebackup -R`` from the running primary, with a replication slot of its
own (the primary keeps the WAL the replica has not received, up to
``max_slot_wal_keep_size``), under ``<cluster base>/replicas/<n>`` with its own
port, socket directory and log; it runs the same OS binaries as the primary
(:mod:`layers._pgbin`) and is a :class:`layers.cluster.Cluster` in every other
respect (start, stop, status, crash recovery).

Any replicas (``READ_DATABASE_URL``, a comma-separated list): :class:`ReadReplicas`
holds a pool per replica and its health, measured at most every ``interval_s``
seconds (not per request) against the primary's WAL position. A replica is left
out while it lags more than ``max_lag_s`` or cannot be reached, and comes back
by itself at the first check that finds it well. Which request reads where is
decided in ``api.db``.
"""

from __future__ import annotations

import contextlib
import logging
import random
import shutil
import tempfile
import threading
import time
from collections import deque
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

from layers import _pgbin as pg
from layers import db
from layers.cluster import ROLE, Cluster, ClusterError

__all__ = ["ReplicaCluster", "add", "added", "remove", "start_all", "ReadReplicas",
           "Replica"]

log = logging.getLogger(__name__)

SLOT_PREFIX = "gridgov_replica_"
# WAL a stopped replica's slot may hold on the primary before the slot is given
# up (the replica must then be added again): a dead replica never fills the disk.
WAL_KEEP = "4GB"


# -- private replicas of the private cluster ------------------------------------

class ReplicaCluster(Cluster):
    """Replica ``number`` of the private cluster ``primary``."""

    def __init__(self, primary: Cluster, number: int):
        super().__init__(primary.home, primary.timeout)
        self.primary = primary
        self.number = int(number)
        self.state = primary.base / "replicas" / str(self.number)
        self._fallback = self.state  # never elsewhere: the primary's base is reachable
        self._short_run = Path(tempfile.gettempdir()) / (
            f"{primary._short_run.name}-r{self.number}")

    @property
    def base(self) -> Path:
        return self.state

    @property
    def slot(self) -> str:
        return f"{SLOT_PREFIX}{self.number}"

    def start(self) -> str:
        """Start the replica if stopped; return its URL (nothing is created: a
        standby is read-only)."""
        if not (self.data_dir / "PG_VERSION").exists():
            raise ClusterError(f"replica {self.number} has no data in "
                               f"{self.data_dir}: gridgov db replica remove "
                               f"{self.number}, then add it again")
        info = self._postmaster()
        if info is None or info[2] not in ("ready", "standby"):
            with self._locked():
                self._start_locked()
        return self.url

    def _start_locked(self) -> None:
        # a standby's postmaster.pid says "standby" once it accepts reads
        if self._postmaster() is None:
            bindir, _ = pg.find_bindir(self._data_version())
            account = self._account()
            pg.clear_stale(self.data_dir, self.socket_dir, account)
            self._place(account)
            self._launch(bindir, account)
        deadline = time.monotonic() + self.timeout
        while (info := self._postmaster()) is None or info[2] not in ("ready",
                                                                      "standby"):
            if time.monotonic() > deadline:
                raise ClusterError(f"replica {self.number} did not accept "
                                   f"connections in {self.timeout:.0f} s: "
                                   f"{pg.tail(self.log_file)}")
            time.sleep(0.05)

    def _initdb(self, bindir, account) -> None:  # a replica is never initdb'd
        raise ClusterError(f"replica {self.number} has no data: remove it and add "
                           "it again")

    def status(self) -> dict:
        return {"replica": self.number, "slot": self.slot} | super().status()


def added(primary: Cluster) -> list[ReplicaCluster]:
    """The replicas added to ``primary``, in the order they were added."""
    folder = primary.base / "replicas"
    numbers = sorted(int(p.name) for p in folder.glob("*") if p.name.isdigit()) \
        if folder.is_dir() else []
    return [ReplicaCluster(primary, n) for n in numbers]


def add(primary: Cluster, port: int | None = None) -> ReplicaCluster:
    """Make and start a new streaming replica of the running ``primary``.

    Raises
    ------
    ClusterError
        The primary is not running, the port is taken, or pg_basebackup failed
        (nothing is left behind: no directory, no slot).
    """
    if not primary.is_running():
        raise ClusterError("PostgreSQL is not running: run `gridgov db start` first")
    _prepare_primary(primary)
    number = max([r.number for r in added(primary)], default=0) + 1
    replica = ReplicaCluster(primary, number)
    primary_port = primary.status()["port"]
    if port is None:
        port = pg.pick_port(avoid=primary_port, first=primary_port + 1)
    elif port == primary_port or not pg.port_free(port):
        raise ClusterError(f"port {port} is taken on 127.0.0.1: choose another "
                           "with --port")
    bindir, _ = pg.find_bindir(primary._data_version())
    account = primary._account()
    for path in (replica.state.parent, replica.state):
        path.mkdir(mode=0o755, exist_ok=path != replica.state)
        path.chmod(0o755)
    try:
        (replica.state / "port").write_text(f"{port}\n")
        replica._place(account)
        conninfo = make_conninfo(host=str(primary.socket_dir), port=primary_port,
                                 user=ROLE, application_name=replica.slot)
        proc = account.run(
            [bindir / "pg_basebackup", "-D", replica.data_dir, "-d", conninfo,
             "-R", "-C", "-S", replica.slot, "-X", "stream", "-c", "fast"],
            check=False)
        if proc.returncode != 0:
            msg = (proc.stderr.strip().splitlines() or ["?"])[-1]
            raise ClusterError(f"pg_basebackup failed: {msg}")
        with open(replica.data_dir / "postgresql.auto.conf", "a") as fh:
            # the primary keeps the rows a replica's query still reads (fewer
            # queries cancelled by the replay of a VACUUM)
            fh.write("# gridgov: a read replica (layers/replicas.py)\n"
                     "hot_standby = on\nhot_standby_feedback = on\n")
        replica.start()
    except BaseException:
        with contextlib.suppress(ClusterError, OSError, psycopg.Error):
            replica.stop()
        _drop_slot(primary, replica.slot)
        shutil.rmtree(replica.state, ignore_errors=True)
        shutil.rmtree(replica._short_run, ignore_errors=True)
        raise
    return replica


def remove(primary: Cluster, number: int) -> None:
    """Stop replica ``number``, give up its slot on the primary, delete it."""
    found = {r.number: r for r in added(primary)}
    if number not in found:
        raise ClusterError(f"there is no replica {number}: gridgov db replica list")
    found[number].destroy()
    if primary.is_running():
        _drop_slot(primary, found[number].slot)


def start_all(primary: Cluster) -> list[ReplicaCluster]:
    """Start every replica added to ``primary``; return those running (one that
    cannot start is said in the log and left out)."""
    running = []
    for replica in added(primary):
        try:
            replica.start()
        except ClusterError as exc:
            log.warning("replica %d left out: %s", replica.number, exc)
        else:
            running.append(replica)
    return running


def _prepare_primary(primary: Cluster) -> None:
    """What streaming replication needs of the primary: WAL for replicas, WAL
    senders and slots, a ``pg_hba`` line letting the local user replicate, and
    a bound on the WAL a lost replica's slot keeps. PostgreSQL's defaults give
    all but the last; a restart only when ``wal_level`` or the senders change."""
    with primary._connect() as conn:
        settings = dict(conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN ('wal_level',"
            " 'max_wal_senders', 'max_replication_slots', 'max_slot_wal_keep_size')"
        ).fetchall())
        restart = False
        for name, value, bad in (("wal_level", "replica", settings["wal_level"]
                                  == "minimal"),
                                 ("max_wal_senders", "10",
                                  int(settings["max_wal_senders"]) < 2),
                                 ("max_replication_slots", "10",
                                  int(settings["max_replication_slots"]) < 2)):
            if bad:
                _alter_system(conn, name, value)
                restart = True
        if settings["max_slot_wal_keep_size"] == "-1":
            _alter_system(conn, "max_slot_wal_keep_size", WAL_KEEP)
        hba = conn.execute(
            "SELECT count(*) FROM pg_hba_file_rules WHERE type = 'local'"
            " AND 'replication' = ANY(database) AND auth_method IN ('trust', 'peer')"
            " AND ('all' = ANY(user_name) OR %s = ANY(user_name))",
            (ROLE,)).fetchone()[0]
        if not hba:
            path = Path(conn.execute("SHOW hba_file").fetchone()[0])
            # first: the first matching line decides
            path.write_text(f"# gridgov: local replicas (layers/replicas.py)\n"
                            f"local replication {ROLE} trust\n" + path.read_text())
        conn.execute("SELECT pg_reload_conf()")
    if restart:
        log.warning("restarting PostgreSQL for replication (wal_level, senders)")
        primary.stop()
        primary.start()


def _alter_system(conn, name, value):
    conn.execute(sql.SQL("ALTER SYSTEM SET {} = {}").format(
        sql.Identifier(name), sql.Literal(value)))


def _drop_slot(primary: Cluster, slot: str) -> None:
    with contextlib.suppress(ClusterError, psycopg.Error), primary._connect() as conn:
        conn.execute("SELECT pg_drop_replication_slot(slot_name)"
                     " FROM pg_replication_slots WHERE slot_name = %s", (slot,))


# -- the application's replicas -------------------------------------------------

class Replica:
    """One replica as the application sees it: its pool and its last check."""

    def __init__(self, number, url, pool_size, pool_timeout):
        self.number = number
        self.url = url
        self._pool_size = pool_size
        self._pool_timeout = pool_timeout
        self._pool = None
        self._lock = threading.Lock()
        self.usable = False  # until a check finds it well
        self.replay_lsn = -1
        self.state = {"replica": number, "state": "unknown"}

    @property
    def pool(self):
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self._pool = db.open_pool(
                        self.url, max_size=self._pool_size,
                        timeout=self._pool_timeout,
                        connect_timeout=max(2, int(self._pool_timeout)),
                        application_name="gridgov read")
        return self._pool

    def drop_pool(self):
        """Close the pool (in a thread of its own: a request never waits for it);
        the next use opens a new one. For a replica found down: no attempts to
        reconnect in the meantime, and no attempt in its back-off when it is
        back (a request would wait out the pool's timeout). A connection out of
        the old pool is closed when given back to it."""
        with self._lock:
            old, self._pool = self._pool, None
        if old is not None:
            threading.Thread(target=old.close, name="gridgov replica pool close",
                             daemon=True).start()

    def close(self):
        if self._pool is not None:
            self._pool.close()


class ReadReplicas:
    """The replicas of ``urls``, their pools and health.

    Parameters
    ----------
    urls : list of str
        libpq URLs of the replicas.
    primary : callable
        ``primary()``: a context manager giving a connection to the primary (the
        health check reads its WAL position there).
    max_lag_s : float
        A replica further behind than this is left out.
    interval_s : float
        Health is measured at most this often; a measure older than three
        intervals is no longer trusted (every read goes to the primary until the
        next one).
    background : bool
        Measure in a thread of its own (a request never waits for it); False:
        in the request that finds the measure due (tests: the state is certain).
    """

    def __init__(self, urls, primary, max_lag_s=10.0, interval_s=2.0, pool_size=8,
                 pool_timeout=1.0, background=True):
        self.replicas = [Replica(i + 1, url, pool_size, pool_timeout)
                         for i, url in enumerate(urls)]
        self.max_lag_s = float(max_lag_s)
        self.interval_s = float(interval_s)
        self.background = background
        self._primary = primary
        # (monotonic time, primary WAL position) of recent checks: how long ago
        # the primary was where a replica is now
        self._samples = deque(maxlen=max(8, int(4 * self.max_lag_s / max(
            self.interval_s, 0.1)) + 2))
        self._checked = -float("inf")
        self._checking = threading.Lock()

    def choose(self, need=None):
        """A healthy replica that has replayed at least to WAL position ``need``
        (bytes; None: any), at random among them; None when there is none (read
        on the primary)."""
        now = time.monotonic()
        if now - self._checked >= self.interval_s:
            self._check_soon()
        if time.monotonic() - self._checked > 3 * self.interval_s:
            return None  # not measured lately: nothing is known
        found = [r for r in self.replicas
                 if r.usable and (need is None or r.replay_lsn >= need)]
        return random.choice(found) if found else None

    def mark_down(self, replica, why):
        """Leave ``replica`` out until a check finds it well again (a request
        could not get a connection to it)."""
        replica.usable = False
        replica.state = replica.state | {"state": "down", "error": why}
        replica.drop_pool()

    def states(self):
        """What the last check found, one dict per replica."""
        if time.monotonic() - self._checked >= self.interval_s:
            self._check_soon()
        return [dict(r.state) for r in self.replicas]

    def check(self):
        """Measure every replica now (see :meth:`_measure`)."""
        with self._checking:
            self._measure()

    def close(self):
        for replica in self.replicas:
            replica.close()

    def _check_soon(self):
        if not self._checking.acquire(blocking=False):
            return  # a check is under way
        if not self.background:
            try:
                self._measure()
            finally:
                self._checking.release()
            return

        def run():
            try:
                self._measure()
            except Exception:  # noqa: BLE001 -- a thread must not die silently
                log.exception("checking the read replicas failed")
            finally:
                self._checking.release()

        threading.Thread(target=run, name="gridgov replica check",
                         daemon=True).start()

    def _measure(self):
        """One check: the primary's WAL position, then each replica's replay
        position. A replica's lag is 0 when it has replayed all the primary had
        written; otherwise the smaller of two upper bounds: the time since the
        primary committed the last transaction the replica replayed (exact
        under steady writes, far too high after a quiet hour), and the time since
        the last check whose primary position the replica has reached (within
        an interval, whatever the traffic)."""
        try:
            with self._primary() as conn:
                lsn = db.wal_lsn(conn)
        except (psycopg.Error, OSError) as exc:
            log.warning("read replicas: the primary's WAL position is unknown: %s",
                        exc)
            return  # unknown: after three intervals, every read is the primary's
        now = time.monotonic()
        self._samples.append((now, lsn))
        for replica in self.replicas:
            self._measure_one(replica, lsn, now)
        self._checked = time.monotonic()

    def _measure_one(self, replica, primary_lsn, now):
        try:
            with db.connect(replica.url, autocommit=True, connect_timeout=2,
                            application_name="gridgov replica check") as conn:
                found = db.replay_state(conn)
        except (psycopg.Error, OSError) as exc:
            self.mark_down(replica, (str(exc).strip().splitlines() or ["?"])[0])
            return
        if not found["in_recovery"]:
            replica.usable = False
            replica.state = {"replica": replica.number, "state": "not_a_replica"}
            return
        replay = found["replay_lsn"] or 0
        behind = max(0, primary_lsn - replay)
        by_commits = found["xact_lag_s"]
        by_commits = float("inf") if by_commits is None else max(0.0, by_commits)
        reached = [t for t, at in self._samples if at <= replay]
        if behind == 0:
            lag = 0.0
        elif reached:
            lag = min(now - max(reached), by_commits)
        else:  # behind every check kept: only the commits tell
            lag = by_commits
        replica.replay_lsn = replay
        replica.usable = lag <= self.max_lag_s
        replica.state = {"replica": replica.number,
                         "state": "ok" if replica.usable else "lagging",
                         "lag_s": round(lag, 3) if lag != float("inf") else None,
                         "lag_bytes": behind,
                         "replay_paused": found["paused"]}
