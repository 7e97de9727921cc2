"""The application's connection pool, and one connection per request.

A request takes one connection from the pool the first time it needs the database
(often already to identify its user) and gives it back when it ends. Connections
are in autocommit: each statement commits by itself, and the layer functions that
change several rows at once wrap them in ``conn.transaction()``. One checkout per
request and no BEGIN/COMMIT round trips around reads: the hot path (locate) pays
only for its queries.
"""

import atexit
import threading
from contextlib import contextmanager

from flask import current_app, g

from layers import db

__all__ = ["init_app", "connection", "second_connection", "pool"]

_lock = threading.Lock()


def init_app(app):
    """Register the pool's holder; the pool opens on the first request that needs it
    (after a forking server has forked)."""
    app.extensions["gridgov.pool"] = None
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


@contextmanager
def connection():
    """The request's connection (autocommit)."""
    conn = g.get("_db_conn")
    if conn is None:
        conn = pool().getconn()
        g._db_conn = conn
    yield conn


@contextmanager
def second_connection():
    """Another pooled connection (autocommit) for the length of the block: for
    what must be visible while the request's own transaction is still open (an
    import's progress)."""
    with pool().connection() as conn:
        yield conn


def _release(exc):
    conn = g.pop("_db_conn", None)
    if conn is not None:
        pool().putconn(conn)  # the pool rolls back anything left open
