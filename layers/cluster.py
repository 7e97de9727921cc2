"""The project's private PostgreSQL + PostGIS cluster.

Without ``GRIDGOV_DATABASE_URL`` gridgov runs its own cluster. ``<home>/pg``
holds ``password`` (for TCP logins, mode 600) and ``port`` (the port chosen
last time); ``<base>`` holds ``data`` (PGDATA), ``run`` (the unix socket,
mode 700) and ``log/postgres.log``. ``<base>`` is ``<home>/pg``, except when we
are root and the account running PostgreSQL (which refuses to run as root)
cannot reach it, e.g. a checkout under /root: then ``/var/lib/gridgov/<hash>``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import secrets
import shutil
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import psycopg
from psycopg import sql

from layers import _pgbin as pg
from layers._pgbin import ClusterError, RunAs

__all__ = ["Cluster", "ClusterError"]

log = logging.getLogger(__name__)

ROLE = DBNAME = "gridgov"
FALLBACK_ROOT = Path("/var/lib/gridgov")
SUN_PATH_MAX = 107  # sockaddr_un.sun_path, minus the NUL


class Cluster:
    """A PostgreSQL cluster owned by the project, under ``home``.

    Parameters
    ----------
    home : pathlib.Path
        gridgov's data directory; the cluster's state lives in ``home / "pg"``.
    timeout : float
        Seconds to wait for the server to start or stop.
    """

    def __init__(self, home: Path, timeout: float = 60.0):
        self.home = Path(home).absolute()
        self.state = self.home / "pg"
        self.timeout = timeout
        key = hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        self._fallback = FALLBACK_ROOT / key
        self._short_run = Path(tempfile.gettempdir()) / f"gridgov-{key}"

    @classmethod
    def default(cls) -> Cluster:
        """The cluster under ``$GRIDGOV_HOME``, else ``<checkout>/var``."""
        if os.environ.get("GRIDGOV_HOME"):
            return cls(Path(os.environ["GRIDGOV_HOME"]).expanduser())
        checkout = Path(__file__).resolve().parent.parent
        if (checkout / "pyproject.toml").exists():
            return cls(checkout / "var")
        data = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local/share"
        return cls(Path(data) / "gridgov")  # installed from a wheel, no checkout

    # -- where things are -------------------------------------------------

    @property
    def base(self) -> Path:
        """The directory holding ``data``, ``run`` and ``log``."""
        # The fallback exists only once chosen (by _place), and is kept.
        if self._fallback.exists() and not (self.state / "data/PG_VERSION").exists():
            return self._fallback
        return self.state

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_file(self) -> Path:
        return self.base / "log/postgres.log"

    @property
    def socket_dir(self) -> Path:
        run = self.base / "run"
        # Unix socket paths are limited to 107 bytes: a deep checkout gets its
        # socket in the temp directory instead (PostgreSQL touches the socket
        # hourly so that tmp cleaners leave it alone).
        if len(f"{run}/.s.PGSQL.65535") > SUN_PATH_MAX:
            return self._short_run
        return run

    def url_for(self, dbname: str, port: int | None = None) -> str:
        """libpq URL of database ``dbname`` over the unix socket."""
        port = port or self._remembered_port() or 5433
        host = quote(str(self.socket_dir), safe="/")
        return f"postgresql://{ROLE}@/{quote(dbname)}?host={host}&port={port}"

    @property
    def url(self) -> str:
        """URL of the ``gridgov`` database (valid once started)."""
        info = self._postmaster()
        return self.url_for(DBNAME, info[1] if info else None)

    # -- life cycle -------------------------------------------------------

    def is_running(self) -> bool:
        """Whether our postmaster is alive (it may still be starting up)."""
        return self._postmaster() is not None

    def start(self) -> str:
        """Create the cluster if needed, start it if stopped, return the URL.

        Cheap when already running: a pid file read and one connection.

        Raises
        ------
        ClusterError
            PostgreSQL/PostGIS missing, or the server did not come up (the
            message carries the end of its log).
        """
        info = self._postmaster()
        if info is None or info[2] != "ready":
            for path in (*reversed(self.state.parents), self.state):
                if not path.exists():
                    # Explicit mode: under a umask of 077 the account running
                    # PostgreSQL could not traverse the directories we create.
                    path.mkdir(mode=0o755, exist_ok=True)
                    path.chmod(0o755)
            with self._locked():
                self._start_locked()
        self.create_database(DBNAME)
        return self.url

    def stop(self) -> None:
        """Stop the server (fast shutdown: open sessions are disconnected)."""
        if not self.is_running():
            return
        bindir, _ = pg.find_bindir(self._data_version())
        proc = self._account().run(
            [bindir / "pg_ctl", "-D", self.data_dir, "-m", "fast", "-w",
             "-t", int(self.timeout), "stop"], check=False)
        if proc.returncode != 0 and self.is_running():
            why = " ".join(proc.stderr.split())
            raise ClusterError(f"could not stop PostgreSQL: {why} ({self.log_file})")

    def status(self) -> dict:
        """running, pid, port, data_dir, socket_dir, log, url, version."""
        info = self._postmaster()
        version = None
        with contextlib.suppress(psycopg.Error, ClusterError, OSError):
            if info:
                with self._connect() as conn:
                    row = conn.execute("SHOW server_version").fetchone()
                    version = row[0].split()[0]
            else:
                version = pg.server_version(pg.find_bindir(self._data_version())[0])
        return {
            "running": info is not None, "pid": info[0] if info else None,
            "port": info[1] if info else self._remembered_port(),
            "data_dir": str(self.data_dir), "socket_dir": str(self.socket_dir),
            "log": str(self.log_file), "url": self.url, "version": version,
        }

    def destroy(self) -> None:
        """Stop the server and delete the cluster with all its data."""
        self.stop()  # raises rather than delete a running server's files
        for path in (self._fallback, self._short_run, self.state):
            shutil.rmtree(path, ignore_errors=True)

    # -- databases --------------------------------------------------------

    def create_database(self, name: str) -> str:
        """Create database ``name`` unless it exists; return its URL."""
        with self._connect() as conn:
            query = "SELECT 1 FROM pg_database WHERE datname = %s"
            if not conn.execute(query, [name]).fetchone():
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return self.url_for(name, self._postmaster()[1])

    def drop_database(self, name: str) -> None:
        """Drop database ``name`` if it exists, disconnecting its sessions."""
        with self._connect() as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
                         .format(sql.Identifier(name)))

    # -- internals --------------------------------------------------------

    def _connect(self) -> psycopg.Connection:
        info = self._postmaster()
        if info is None:
            raise ClusterError("PostgreSQL is not running: run `gridgov up` first")
        return psycopg.connect(self.url_for("postgres", info[1]), autocommit=True,
                               connect_timeout=int(self.timeout))

    def _postmaster(self) -> tuple[int, int, str] | None:
        """(pid, port, status) of our live postmaster, from postmaster.pid."""
        try:
            lines = (self.data_dir / "postmaster.pid").read_text().splitlines()
            pid, port = int(lines[0]), int(lines[3])
        except (OSError, ValueError, IndexError):
            return None
        if not pg.runs_in(pid, self.data_dir):
            return None  # left behind by a crash
        return pid, port, (lines[7].strip() if len(lines) > 7 else "")

    def _remembered_port(self) -> int | None:
        with contextlib.suppress(OSError, ValueError):
            return int((self.state / "port").read_text())
        return None

    def _data_version(self) -> str | None:
        with contextlib.suppress(OSError):
            return (self.data_dir / "PG_VERSION").read_text().strip()
        return None

    def _account(self) -> RunAs:
        with contextlib.suppress(OSError):
            return pg.service_account(self.data_dir.stat().st_uid)
        return pg.service_account()

    @contextlib.contextmanager
    def _locked(self):
        # Two processes starting at once (a test session and `gridgov up`)
        # must not both run initdb or pick ports.
        with open(self.state / ".lock", "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            yield

    def _start_locked(self) -> None:
        if self._postmaster() is None:
            if self.data_dir.exists() and not os.access(self.data_dir, os.R_OK):
                owner = self.data_dir.owner()
                raise ClusterError(f"{self.data_dir} belongs to user {owner}: run "
                                   f"gridgov as {owner} or as root")
            bindir, _ = pg.find_bindir(self._data_version())
            account = self._account()
            if pg.clear_stale(self.data_dir, self.socket_dir, account):
                log.warning("removed postmaster.pid left by a crashed PostgreSQL")
            self._place(account)
            if self._data_version() is None:
                self._initdb(bindir, account)
            self._launch(bindir, account)
        deadline = time.monotonic() + self.timeout  # another process starting it
        while (info := self._postmaster()) is None or info[2] != "ready":
            if time.monotonic() > deadline:
                raise ClusterError(f"PostgreSQL did not become ready in "
                                   f"{self.timeout:.0f} s: {pg.tail(self.log_file)}")
            time.sleep(0.05)

    def _place(self, account: RunAs) -> None:
        """Create base/run/log for ``account``, falling back if unreachable."""
        if self.base == self.state and self._data_version() is None:
            if not account.can_reach(self.state):
                FALLBACK_ROOT.mkdir(mode=0o755, parents=True, exist_ok=True)
                self._fallback.mkdir(mode=0o700, exist_ok=True)
                account.chown(self._fallback)
        if self.base != self.state:
            log.warning("PostgreSQL data for %s lives in %s (user %s cannot reach "
                        "%s)", self.home, self.base, account.name, self.state)
        elif not account.can_reach(self.state):
            raise ClusterError(f"user {account.name} cannot reach {self.state}: "
                               "make its parents traversable (chmod o+x) or move it")
        for sub in (self.data_dir, self.log_file.parent, self.socket_dir):
            sub.mkdir(mode=0o700, exist_ok=True)
            sub.chmod(0o700)
            account.chown(sub)

    def _initdb(self, bindir: Path, account: RunAs) -> None:
        if any(self.data_dir.iterdir()):
            # A failed initdb left a half-made cluster (no PG_VERSION).
            shutil.rmtree(self.data_dir)
            self._place(account)
        password = self.state / "password"
        if not password.exists():
            pg.write_private(password, secrets.token_urlsafe(24) + "\n")
        log.info("creating the PostgreSQL cluster in %s", self.data_dir)
        pg.initdb(bindir, account, self.data_dir, ROLE, password.read_text(),
                  scratch=self.log_file.parent)

    def _launch(self, bindir: Path, account: RunAs) -> None:
        port = self._remembered_port()
        for attempt in range(2):
            if port is None or not pg.port_free(port):
                new = pg.pick_port(avoid=port)
                if port is not None:
                    log.warning("port %d is taken by another process; "
                                "PostgreSQL will use port %d", port, new)
                port = new
            (self.state / "port").write_text(f"{port}\n")
            sock = str(self.socket_dir).replace("'", "''")
            pg.write_private(self.data_dir / "gridgov.conf",
                             "# written by gridgov at each start (layers/cluster.py)\n"
                             "listen_addresses = '127.0.0.1'\n"
                             # every server worker's pool (8 each), the job
                             # and index threads, psql: more than the default
                             # 100 once a machine has many cores (and the test
                             # session's many apps, each with its own pool)
                             "max_connections = 300\n"
                             f"port = {port}\nunix_socket_directories = '{sock}'\n",
                             account)
            size = self.log_file.stat().st_size if self.log_file.exists() else 0
            proc = account.run(
                [bindir / "pg_ctl", "-D", self.data_dir, "-l", self.log_file,
                 "-w", "-t", int(self.timeout), "start"], check=False)
            if proc.returncode == 0:
                return
            with contextlib.suppress(OSError), open(self.log_file, "rb") as fh:
                fh.seek(size)
                if attempt == 0 and b"could not bind" in fh.read():
                    continue  # the port was taken between our check and the bind
            raise ClusterError(f"PostgreSQL did not start: {pg.tail(self.log_file)} "
                               f"(log: {self.log_file})")


if __name__ == "__main__":  # python -m layers.cluster [start|stop|status|destroy]
    import sys

    action = (sys.argv[1:] or ["status"])[0]
    if action not in ("start", "stop", "status", "destroy"):
        sys.exit("usage: python -m layers.cluster [start|stop|status|destroy]")
    try:
        out = getattr(Cluster.default(), action)()
    except ClusterError as err:
        sys.exit(f"gridgov: {err}")  # one line, no traceback
    for line in [f"{k}: {v}" for k, v in out.items()] if action == "status" else [out]:
        print(line or "ok")
