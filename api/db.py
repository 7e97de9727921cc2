"""The application's connection pool (opened on first use, closed with the app)."""

import atexit
import threading
from contextlib import contextmanager

from flask import current_app

from layers import db

__all__ = ["init_app", "connection"]

_lock = threading.Lock()


def init_app(app):
    """Register the pool's holder; the pool opens on the first request that needs it."""
    app.extensions["gridgov.pool"] = None


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
    """A pooled connection inside a transaction (committed on success)."""
    with _pool().connection() as conn:
        yield conn
