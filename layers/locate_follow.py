"""Keeping a server process's locate index (``layers.locate_index``) following the
database, and answering from it only when it is current.

Every statement writing grids, cameras or grid_staff records its keys in
``locate_changes`` and sends a NOTIFY on ``CHANNEL`` at its commit (migration
0029). In a server, one follower thread per process keeps a connection of its own
LISTENing: on each NOTIFY (and every ``POLL`` seconds, and after a reconnection,
since a NOTIFY is lost while nobody listens) it catches the index up from the
change rows. Change rows are pruned ``KEEP`` seconds after; a process that had not
seen them loads its index in full.

The bound on staleness: none. A request is answered from the index only when the
index was read at the request's own data generation; a request that starts after
an edit committed finds the index behind and is answered by SQL, until the index
has caught up (one NOTIFY and one catch-up after the commit: milliseconds; tested
within ``tests/integration/test_locate_index.py``'s FOLLOW_BOUND_S).
"""

import logging
import math
import threading
import time

from psycopg import sql

from layers.locate_index import Behind, LocateIndex

__all__ = ["CHANNEL", "KEEP", "IndexHolder", "prune_changes"]

log = logging.getLogger(__name__)

CHANNEL = "gridgov_locate"  # the NOTIFY of migration 0029
KEEP = 86400.0  # seconds a change row is kept (prune_changes)
PRUNE_EVERY = 600.0  # seconds between a follower's prunes
POLL = 5.0  # seconds a follower waits for a NOTIFY before looking anyway


def prune_changes(conn, keep=KEEP):
    """Delete the change rows older than ``keep`` seconds, and say up to which
    transaction they went (a process that had not seen them rebuilds); return
    how many went. One process at a time (the others skip)."""
    with conn.transaction():
        if not conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))",
                            ("locate_changes_prune",)).fetchone()[0]:
            return 0
        return conn.execute("""
            WITH gone AS (
                DELETE FROM locate_changes
                WHERE at < now() - make_interval(secs => %s) RETURNING xid),
            upto AS (
                UPDATE locate_changes_pruned
                SET upto = greatest(upto, (SELECT max(xid) FROM gone)),
                    prunes = prunes + 1
                WHERE EXISTS (SELECT FROM gone))
            SELECT count(*) FROM gone
        """, (keep,)).fetchone()[0]


class IndexHolder:
    """The process's current :class:`LocateIndex`, following the database.

    ``connect`` is a context manager factory giving a database connection.
    In the background (``background=True``, a server), the first request starts
    a follower thread that keeps one connection of its own (``connect``: a
    dedicated one, not the pool's), loads the index, LISTENs for the changes'
    NOTIFY and catches up on each one (or every ``POLL`` seconds, and after a
    reconnection); requests never wait for it. Otherwise (tests, scripts) the
    request that finds the index behind its generation catches it up itself.
    ``loads`` and ``catch_ups`` count full builds and applied changes.
    """

    def __init__(self, connect, background=True):
        self._connect = connect
        self._background = background
        self._index = None
        self._lock = threading.Lock()  # one load or catch-up at a time
        self._follower = None
        self._stopped = threading.Event()
        self._pruned = -math.inf
        self.loads = self.catch_ups = 0

    @property
    def index(self):
        """The index now (None before the first load)."""
        return self._index

    def locate(self, generation, principal, lon, lat):
        """The index's answer for a request at ``generation``, or None: ask SQL
        (the index is behind or ahead of the request, or being changed)."""
        index = self._index
        if index is None or index.generation != generation:
            self._behind()
            index = self._index
            if index is None:
                return None
        return index.read(generation, principal, lon, lat)

    def current(self, generation):
        """The index if it holds ``generation`` (after catching up, outside the
        background); otherwise None."""
        index = self._index
        if index is None or index.generation != generation:
            self._behind()
            index = self._index
        return index if index is not None and index.generation == generation \
            else None

    def _behind(self):
        if self._background:
            if self._follower is None:
                with self._lock:
                    if self._follower is None:
                        self._follower = threading.Thread(
                            target=self._follow, name="locate-index", daemon=True)
                        self._follower.start()
        elif self._lock.acquire(blocking=False):  # else another request is at it
            try:
                with self._connect() as conn:
                    self._refresh(conn)
            except Exception:  # noqa: BLE001 -- SQL answers meanwhile; say why
                log.exception("updating the locate index failed")
            finally:
                self._lock.release()

    def refresh(self):
        """Bring the index up to date now, in the caller."""
        with self._lock, self._connect() as conn:
            return self._refresh(conn)

    def _refresh(self, conn):
        """Catch up, or load in full when that is not possible; return the keys
        applied (or -1 after a full load)."""
        index = self._index
        if index is not None:
            try:
                applied = index.catch_up(conn)
                self.catch_ups += bool(applied)
                return applied
            except Behind as why:
                log.info("locate index rebuilt: %s", why)
        self._index = LocateIndex.load(conn)
        self.loads += 1
        return -1

    def _follow(self):
        """The follower thread: LISTEN, catch up, wait; reconnect on failure."""
        pause = 0.5
        while not self._stopped.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    pause = 0.5
                    while not self._stopped.is_set():
                        with self._lock:
                            self._refresh(conn)
                        self._prune(conn)
                        # wait for a NOTIFY (or POLL), then take all that came
                        for _ in conn.notifies(timeout=POLL, stop_after=1):
                            pass
                        for _ in conn.notifies(timeout=0):
                            pass
            except Exception:  # noqa: BLE001 -- SQL answers meanwhile; say why
                log.exception("following the locate changes failed; retrying")
                self._stopped.wait(pause)
                pause = min(2 * pause, 30.0)

    def _prune(self, conn):
        if time.monotonic() - self._pruned >= PRUNE_EVERY:
            self._pruned = time.monotonic()
            prune_changes(conn)

    def stop(self):
        """Stop the follower thread (within ``POLL`` seconds)."""
        self._stopped.set()
