"""Connections and migrations.

Migrations are the plain ``.sql`` files of ``layers/migrations``, applied in the order
of their names, each in its own transaction, and recorded in ``schema_migrations``.
"""

import select
from importlib import resources

import psycopg
from psycopg_pool import ConnectionPool

__all__ = [
    "connect", "open_pool", "migrations", "pending", "migrate", "drop_schema",
    "is_postgis", "wal_lsn", "replay_state", "attach_primary", "detach_primary",
    "for_writes",
]

# Serialises concurrent `migrate` runs (two servers starting at once).
_MIGRATE_LOCK = 0x67726964  # "grid"

# While the database is down a request waits this long for a connection, then
# gets its 503, instead of psycopg_pool's 30 s; libpq gives up on a server that
# does not answer (TCP) after CONNECT_TIMEOUT (whole seconds, at least 2).
POOL_TIMEOUT = 3.0
CONNECT_TIMEOUT = 3


def connect(url, **kwargs):
    """Open one connection to ``url`` (a libpq URL or conninfo string)."""
    return psycopg.connect(url, **kwargs)


def open_pool(url, min_size=1, max_size=8, timeout=POOL_TIMEOUT,
              connect_timeout=CONNECT_TIMEOUT, application_name="gridgov"):
    """Open a pool of autocommit connections.

    Autocommit: a read costs one round trip, not three (BEGIN, query, COMMIT). A
    layer function that changes several rows together wraps them in
    ``conn.transaction()``, which it does anyway to be atomic.

    Made for outages: ``getconn`` gives up after ``timeout`` seconds
    (``psycopg_pool.PoolTimeout``); a failed connection attempt is retried for
    ``timeout`` seconds too, after which the next request starts a fresh attempt,
    so the pool is back within a request of the database (rather than after a
    back-off that grows with the outage); a connection the server closed while
    it was idle (a restart) is replaced before it is handed out
    (:func:`_check_idle`). The pool opens without waiting: a request meets a
    down database after ``timeout`` seconds, whether it is the first or not.
    """
    pool = ConnectionPool(
        url,
        min_size=min_size,
        max_size=max_size,
        open=False,
        name=application_name,
        kwargs={"application_name": application_name, "autocommit": True,
                "connect_timeout": connect_timeout},
        timeout=timeout,
        reconnect_timeout=timeout,
        check=_check_idle,
    )
    pool.open(wait=False)
    return pool


def _check_idle(conn):
    """Raise when a pooled connection is dead; the pool then takes another.

    An idle connection has nothing to read unless the server wrote to it: the
    notice of a shutdown, or the end of the stream. Only then is a round trip
    spent to find out (one ``poll`` costs microseconds, a round trip costs what
    the hot path spends on its whole query).
    """
    poller = select.poll()
    poller.register(conn.fileno(), select.POLLIN)
    if poller.poll(0):
        ConnectionPool.check_connection(conn)


def wal_lsn(conn):
    """The primary's current WAL position, in bytes (``pg_current_wal_lsn()``):
    every transaction committed so far lies before it."""
    return conn.execute("SELECT (pg_current_wal_lsn() - '0/0')::bigint").fetchone()[0]


def replay_state(conn):
    """What a replica has replayed: ``{"in_recovery", "replay_lsn" (bytes, None
    outside recovery), "xact_lag_s" (seconds since the primary committed the last
    transaction replayed here, None before any), "paused"}``."""
    row = conn.execute("""
        SELECT pg_is_in_recovery(),
               (pg_last_wal_replay_lsn() - '0/0')::bigint,
               extract(epoch FROM now() - pg_last_xact_replay_timestamp())::float8,
               CASE WHEN pg_is_in_recovery() THEN pg_is_wal_replay_paused() END
    """).fetchone()
    return {"in_recovery": row[0], "replay_lsn": row[1], "xact_lag_s": row[2],
            "paused": bool(row[3])}


# A replica's connection handed to a request carries a way to its primary's
# (api.db.read_connection): what must be written while reading (an audit row)
# goes there, as a replica is read-only.
_PRIMARY = "_gridgov_primary"


def attach_primary(conn, primary):
    """Give the replica connection ``conn`` its primary: ``primary()`` returns the
    connection that writes for it."""
    setattr(conn, _PRIMARY, primary)


def detach_primary(conn):
    """Forget what :func:`attach_primary` gave (the connection goes back to its
    pool, to serve another request)."""
    if hasattr(conn, _PRIMARY):
        delattr(conn, _PRIMARY)


def for_writes(conn):
    """The connection that writes for ``conn``: ``conn`` itself, or for a
    replica's connection its primary's (:func:`attach_primary`)."""
    primary = getattr(conn, _PRIMARY, None)
    return conn if primary is None else primary()


def migrations():
    """Return ``[(version, sql)]`` of every migration file, in order."""
    folder = resources.files("layers") / "migrations"
    files = sorted(f for f in folder.iterdir() if f.name.endswith(".sql"))
    return [(f.name.removesuffix(".sql"), f.read_text("utf-8")) for f in files]


def _ensure_table(conn):
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
    )


def _applied(conn):
    return {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}


def pending(conn):
    """Return the versions not yet applied to the database behind ``conn``."""
    with conn.transaction():
        _ensure_table(conn)
        done = _applied(conn)
    return [v for v, _ in migrations() if v not in done]


def migrate(conn, upto=None):
    """Apply every pending migration; return the versions applied (empty if none).

    Each file runs in its own transaction together with its ``schema_migrations``
    row, so a failing migration leaves the schema as the previous one left it.
    A session lock keeps two processes from migrating at once. ``upto``: the
    last version to apply (tests load data into an older schema), the job
    queue's schema left out.
    """
    applied = []
    with conn.transaction():
        conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATE_LOCK,))
    try:
        with conn.transaction():
            _ensure_table(conn)
        for version, sql in migrations():
            if upto is not None and version > upto:
                break
            with conn.transaction():
                if version in _applied(conn):
                    continue
                conn.execute(sql)
                conn.execute(
                    "INSERT INTO schema_migrations (version) VALUES (%s)", (version,)
                )
            applied.append(version)
        if upto is None and _queue_schema(conn):
            applied.append(QUEUE_SCHEMA)
    finally:
        with conn.transaction():
            conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATE_LOCK,))
    return applied


QUEUE_SCHEMA = "procrastinate"  # its row in schema_migrations


def _queue_schema(conn):
    """Apply the job queue's schema (procrastinate's own ``schema.sql``, as its
    ``schema_manager.apply_schema`` does) when its tables are missing; True when
    applied. Its version is procrastinate's: an upgrade of procrastinate that
    changes the schema brings its own migration files, applied like ours."""
    from procrastinate.schema import SchemaManager

    with conn.transaction():
        if conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()[0]:
            return False
        conn.execute(SchemaManager.get_schema())
        conn.execute("INSERT INTO schema_migrations (version) VALUES (%s)"
                     " ON CONFLICT DO NOTHING", (QUEUE_SCHEMA,))
    return True


def is_postgis(conn):
    """Return the PostGIS version string of the database, or None without it."""
    row = conn.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
    ).fetchone()
    return row[0] if row else None


def drop_schema(conn):
    """Drop everything gridgov created (all data is lost), leaving an empty schema.

    PostGIS lives in the schema too and comes back with the first migration.
    """
    with conn.transaction():
        conn.execute("DROP SCHEMA IF EXISTS public CASCADE")
        conn.execute("CREATE SCHEMA public")
