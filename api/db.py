"""The application's connection pool, and one connection per request.

A request takes one connection from the pool the first time it needs the database
(often already to identify its user) and gives it back when it ends; each
``with connection()`` block is one transaction on it, committed at the block's end.
One checkout per request instead of one per block: fewer round trips and pool
operations on the hot path (locate).
"""

import atexit
import threading
from contextlib import contextmanager

from flask import current_app, g

from layers import db

__all__ = ["init_app", "connection"]

_lock = threading.Lock()


def init_app(app):
    """Register the pool's holder; the pool opens on the first request that needs it
    (after a forking server has forked)."""
    app.extensions["gridgov.pool"] = None
    app.teardown_request(_release)


def _pool():
    app = current_app
    pool = app.extensions.get("gridgov.pool")
    if pool is None:
        with _lock:
            pool = app.extensions.get("gridgov.pool")
            if pool is None:
                pool = db.open_pool(
                    app.config["DATABASE_URL"],
                    max_size=app.config.get("DATABASE_POOL_SIZE", 8),
                )
                app.extensions["gridgov.pool"] = pool
                atexit.register(pool.close)
    return pool


@contextmanager
def connection():
    """The request's connection, inside a transaction committed on success."""
    conn = g.get("_db_conn")
    if conn is None:
        conn = _pool().getconn()
        g._db_conn = conn
    with conn.transaction():
        yield conn


def _release(exc):
    conn = g.pop("_db_conn", None)
    if conn is not None:
        _pool().putconn(conn)  # the pool rolls back anything left open
