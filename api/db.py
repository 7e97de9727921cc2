"""The application's connection pool, and one connection per request.

A request takes one connection from the pool the first time it needs the database
(often already to identify its user) and gives it back when it ends. Connections
are in autocommit: each statement commits by itself, and the layer functions that
change several rows at once wrap them in ``conn.transaction()``. One checkout per
request and no BEGIN/COMMIT round trips around reads: the hot path (locate) pays
only for its queries.

Read replicas (``READ_DATABASE_URL``, comma-separated; ``layers.replicas``): maps,
tiles, statistics, search and locate read through :func:`read_connection`, which
is a replica's connection when one is healthy and has replayed the user's own
last write, and the primary's otherwise. Everything else, sessions, tokens and
audit rows included, stays on the primary: a replica a little behind must never
revive a revoked session (the user is identified on the primary before any read)
nor lose an audit row (written on the primary even by a read on a replica:
``layers.db.for_writes``).

Read-your-writes: after a request other than GET/HEAD/OPTIONS that used the
primary, the primary's WAL position is kept for its user, in a map of the process
(by user name, for ``RYW_SECONDS``) and, for a browser, in the signed session
cookie (so that every server process knows it); that user's reads go to a replica
only once it has replayed past that position.
"""

import atexit
import threading
import time
from contextlib import contextmanager

import psycopg
from flask import current_app, g, request, session

from layers import db
from layers.replicas import ReadReplicas

__all__ = ["init_app", "connection", "read_connection", "second_connection", "pool",
           "replicas", "remember_write"]

_lock = threading.Lock()
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
# A write is remembered this long: past it, a replica has replayed it (or lags
# more than READ_REPLICA_MAX_LAG and is left out anyway).
RYW_SECONDS = 300


def init_app(app):
    """Register the pools' holders; the pools open on the first request that needs
    them (after a forking server has forked)."""
    app.extensions["gridgov.pool"] = None
    app.extensions["gridgov.replicas"] = None  # False: none configured
    app.config.setdefault("READ_DATABASE_URL", None)
    app.config.setdefault("READ_REPLICA_MAX_LAG", 10.0)  # seconds
    app.config.setdefault("READ_REPLICA_CHECK_S", 2.0)
    app.config.setdefault("READ_REPLICA_POOL_TIMEOUT", 1.0)
    app.config.setdefault("READ_REPLICA_BACKGROUND", True)
    app.after_request(_after)
    app.teardown_request(_release)


def pool():
    """The application's pool (opened on the first request that needs it)."""
    app = current_app
    pool = app.extensions.get("gridgov.pool")
    if pool is None:
        with _lock:
            pool = app.extensions.get("gridgov.pool")
            if pool is None:
                pool = db.open_pool(
                    app.config["DATABASE_URL"],
                    max_size=app.config.get("DATABASE_POOL_SIZE", 8),
                    timeout=float(app.config.get("DATABASE_POOL_TIMEOUT",
                                                 db.POOL_TIMEOUT)),
                )
                app.extensions["gridgov.pool"] = pool
                atexit.register(pool.close)
    return pool


def _read_urls(app):
    urls = app.config.get("READ_DATABASE_URL") or []
    if isinstance(urls, str):
        urls = urls.split(",")
    return [u.strip() for u in urls if u and u.strip()]


def replicas():
    """The application's :class:`layers.replicas.ReadReplicas`, or None without
    replicas."""
    app = current_app
    found = app.extensions.get("gridgov.replicas")
    if found is False:
        return None
    if found is None:
        urls = _read_urls(app)
        if not urls:
            app.extensions["gridgov.replicas"] = False
            return None
        primary = pool()
        with _lock:
            found = app.extensions.get("gridgov.replicas")
            if found is None:
                config = app.config
                found = ReadReplicas(
                    urls, primary.connection,
                    max_lag_s=float(config["READ_REPLICA_MAX_LAG"]),
                    interval_s=float(config["READ_REPLICA_CHECK_S"]),
                    pool_size=config.get("DATABASE_POOL_SIZE", 8),
                    pool_timeout=float(config["READ_REPLICA_POOL_TIMEOUT"]),
                    background=bool(config["READ_REPLICA_BACKGROUND"]))
                app.extensions["gridgov.replicas"] = found
                app.extensions["gridgov.writes"] = {}
                atexit.register(found.close)
    return found


@contextmanager
def connection():
    """The request's connection to the primary (autocommit)."""
    conn = g.get("_db_conn")
    if conn is None:
        conn = pool().getconn()
        g._db_conn = conn
    yield conn


@contextmanager
def read_connection():
    """The request's connection for reads (maps, tiles, statistics, search,
    locate): a replica's when one is healthy and has replayed the user's last
    write, else the primary's (:func:`connection`). A layer function's audit row
    goes to the primary whichever it is."""
    held = g.get("_read_conn")
    if held is None:
        held = _read_checkout()
    if held is None:
        with connection() as conn:
            yield conn
    else:
        yield held[1]


def _read_checkout():
    """``(replica, connection)`` for this request, or None: read on the primary."""
    found = replicas()
    if found is None:
        return None
    replica = found.choose(_needed())
    g._read_from = "primary"
    if replica is None:
        return None
    pool = replica.pool
    try:
        conn = pool.getconn()
    except psycopg.OperationalError as exc:  # PoolTimeout too: it is one
        found.mark_down(replica, str(exc).strip().splitlines()[0] if str(exc)
                        else type(exc).__name__)
        return None
    db.attach_primary(conn, _primary)
    g._read_conn = (pool, conn)
    g._read_from = f"replica {replica.number}"
    return g._read_conn


def _primary():
    with connection() as conn:
        return conn


def _needed():
    """The WAL position the user's reads must see (their last write), or None."""
    principal = g.get("principal")
    if principal is None:
        return None
    needed = None
    if "sid" in session and session.get("wal"):
        lsn, until = session["wal"]
        needed = lsn if until > time.time() else None
    writes = current_app.extensions.get("gridgov.writes", {})
    mine = writes.get(principal.username)
    if mine is not None:
        lsn, until = mine
        if until < time.monotonic():
            writes.pop(principal.username, None)
        else:
            needed = lsn if needed is None else max(needed, lsn)
    return needed


def remember_write():
    """Keep the primary's WAL position for the request's user: their next reads
    see what they wrote (called after every request that may have written; a
    view may call it after writing in a GET). Nothing without replicas."""
    principal = g.get("principal")
    conn = g.get("_db_conn")
    if principal is None or conn is None or replicas() is None:
        return
    try:
        lsn = db.wal_lsn(conn)
    except psycopg.Error:
        return  # the primary is gone: the request failed anyway
    writes = current_app.extensions["gridgov.writes"]
    if len(writes) > 10_000:  # forget the expired
        now = time.monotonic()
        for name, (_, until) in list(writes.items()):
            if until < now:
                writes.pop(name, None)
    writes[principal.username] = (lsn, time.monotonic() + RYW_SECONDS)
    if "sid" in session:
        session["wal"] = [lsn, time.time() + RYW_SECONDS]


def _after(response):
    if request.method not in _SAFE_METHODS:
        remember_write()
    if current_app.testing and g.get("_read_from"):
        response.headers["X-Gridgov-Read-From"] = g._read_from
    return response


@contextmanager
def second_connection():
    """Another pooled connection (autocommit) for the length of the block: for
    what must be visible while the request's own transaction is still open (an
    import's progress)."""
    with pool().connection() as conn:
        yield conn


def _release(exc):
    held = g.pop("_read_conn", None)
    if held is not None:
        pool_of_replica, conn = held
        db.detach_primary(conn)
        pool_of_replica.putconn(conn)  # closed, when that pool was dropped
    conn = g.pop("_db_conn", None)
    if conn is not None:
        pool().putconn(conn)  # the pool rolls back anything left open
