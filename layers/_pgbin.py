"""Helpers for :mod:`layers.cluster`: PostgreSQL binaries, OS users, free ports.

Kept apart so that ``cluster.py`` reads as the life cycle of the cluster only.
Nothing here talks SQL.
"""

from __future__ import annotations

import os
import pwd
import re
import socket
import subprocess
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

PG_LIB = Path("/usr/lib/postgresql")  # Debian/Ubuntu layout, one dir per major
PG_SHARE = Path("/usr/share/postgresql")
OS_USER = "gridgov"
FIRST_PORT = 5433  # 5432 is left to a system cluster, if any


class ClusterError(RuntimeError):
    """A one-line message saying what went wrong and what to do about it."""


@dataclass(frozen=True)
class RunAs:
    """The OS account that owns and runs the cluster.

    ``switch`` is false when it is the current process's own account, in which
    case commands run directly (no ``user=``/``group=`` arguments).
    """

    name: str
    uid: int
    gid: int
    switch: bool

    def run(self, cmd, *, check=True, **kw) -> subprocess.CompletedProcess:
        """Run ``cmd`` as this account, capturing text output."""
        if self.switch:
            # extra_groups=[] drops root's supplementary groups (gid 0 would
            # otherwise leak group access to root-owned files).
            kw.update(user=self.uid, group=self.gid, extra_groups=[])
        # PG* variables of the caller (PGDATA, PGPORT, ...) must not redirect
        # initdb/pg_ctl to another cluster.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        if self.switch:
            env["HOME"] = "/"
        kw.setdefault("cwd", "/")  # the caller's cwd may be unreachable (/root)
        return subprocess.run(
            [str(c) for c in cmd], env=env, capture_output=True, text=True,
            check=check, **kw,
        )

    def can_reach(self, path: Path) -> bool:
        """Whether this account can traverse every directory down to ``path``.

        Asked of the kernel in a child running as the account (``access(2)``
        checks search permission on each parent), not guessed from modes, so
        ACLs and mount options count.
        """
        if not self.switch:
            return os.access(path, os.X_OK)
        return self.run(["test", "-x", path], check=False).returncode == 0

    def chown(self, path: Path) -> None:
        """Give ``path`` to this account (no-op when we are that account)."""
        if self.switch:
            os.chown(path, self.uid, self.gid)


def current_account() -> RunAs:
    """The account of this process, used when it is not root."""
    uid = os.getuid()
    return RunAs(pwd.getpwuid(uid).pw_name, uid, os.getgid(), switch=False)


def service_account(owner_uid: int | None = None) -> RunAs:
    """The account to run PostgreSQL as.

    When not root, ourselves. When root (PostgreSQL refuses to run as root):
    the owner of an existing data directory if that is not root (a cluster
    made by a developer's own account stays theirs), else the system user
    ``gridgov``, created on first use.
    """
    if os.geteuid() != 0:
        return current_account()
    if owner_uid:
        entry = pwd.getpwuid(owner_uid)
        return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=True)
    try:
        entry = pwd.getpwnam(OS_USER)
    except KeyError:
        proc = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell",
             "/usr/sbin/nologin", OS_USER],
            capture_output=True, text=True, check=False,
        )
        try:  # re-read: a concurrent start may have created it meanwhile
            entry = pwd.getpwnam(OS_USER)
        except KeyError:
            raise ClusterError(
                f"could not create the OS user {OS_USER!r} to run PostgreSQL "
                f"(useradd: {proc.stderr.strip() or proc.returncode}); create it "
                "with `useradd --system gridgov` or run as a non-root user"
            ) from None
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid, switch=True)


def find_bindir(major: str | None = None) -> tuple[Path, str]:
    """Find PostgreSQL's ``bin`` directory and its major version.

    Parameters
    ----------
    major : str, optional
        The version an existing data directory was made with; it needs those
        very binaries. By default, the highest installed version that has
        PostGIS.

    Raises
    ------
    ClusterError
        When PostgreSQL, or PostGIS for it, is not installed.
    """
    found = sorted(
        (p.parent.parent.name for p in PG_LIB.glob("*/bin/postgres")),
        key=lambda v: [int(x) for x in re.findall(r"\d+", v)],
        reverse=True,
    )
    if major is not None:
        if major not in found:
            raise ClusterError(
                f"the database was created by PostgreSQL {major}, which is not "
                f"installed: apt-get install postgresql-{major} "
                f"postgresql-{major}-postgis-3 (or remove it: gridgov db reset --hard)"
            )
        candidates = [major]
    elif not found:
        raise ClusterError(
            "PostgreSQL is not installed: run `make setup` "
            "(or apt-get install postgresql postgresql-15-postgis-3)"
        )
    else:
        candidates = found
    for ver in candidates:
        if (PG_SHARE / ver / "extension" / "postgis.control").exists():
            return PG_LIB / ver / "bin", ver
    ver = candidates[0]
    raise ClusterError(
        f"PostGIS is not installed for PostgreSQL {ver}: run `make setup` "
        f"(or apt-get install postgresql-{ver}-postgis-3)"
    )


def port_free(port: int) -> bool:
    """Whether 127.0.0.1:``port`` can be listened on right now.

    SO_REUSEADDR as PostgreSQL sets it, so a port only in TIME_WAIT (say,
    from our own cluster just stopped) counts as free.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def pick_port(avoid: int | None = None, first: int = FIRST_PORT) -> int:
    """The first free port from ``first`` upward, other than ``avoid``."""
    for port in range(first, first + 200):
        if port != avoid and port_free(port):
            return port
    raise ClusterError(
        f"no free TCP port in {first}-{first + 199} on 127.0.0.1: "
        "stop some servers or set GRIDGOV_DATABASE_URL to an existing PostGIS"
    )


def tail(path: Path, lines: int = 8) -> str:
    """The last ``lines`` lines of a log file, joined with `` | `` (one line)."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return "(no log)"
    return " | ".join(t.strip() for t in text[-lines:]) or "(empty log)"


def server_version(bindir: Path) -> str | None:
    """``15.14`` from ``postgres --version`` (allowed as root, unlike running)."""
    out = subprocess.run([bindir / "postgres", "--version"], capture_output=True,
                         text=True, check=False).stdout
    found = re.search(r"\(PostgreSQL\) (\S+)", out)
    return found.group(1) if found else None


def initdb_locale() -> str:
    """C.UTF-8 where the C library has it (Unicode-aware ctype), else C."""
    out = subprocess.run(["locale", "-a"], capture_output=True, text=True,
                         check=False).stdout
    return "C.UTF-8" if "c.utf8" in out.lower().replace("-", "").split() else "C"


def initdb(bindir: Path, account: RunAs, data_dir: Path, role: str, password: str,
           scratch: Path) -> None:
    """Run initdb for ``data_dir`` with superuser ``role`` and ``password``.

    Local (socket) logins are trusted: the socket directory is private to the
    account. TCP logins need the password (scram).
    """
    # initdb reads the password from a file it can open: a private copy in
    # ``scratch`` (the caller's own copy may lie where the account cannot reach).
    pwfile = scratch / "initdb.pw"
    write_private(pwfile, password, account)
    try:
        proc = account.run(
            [bindir / "initdb", "-D", data_dir, "-U", role, "--auth-local=trust",
             "--auth-host=scram-sha-256", "-E", "UTF8",
             f"--locale={initdb_locale()}", f"--pwfile={pwfile}"], check=False)
    finally:
        pwfile.unlink()
    if proc.returncode != 0:
        msg = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise ClusterError(f"initdb failed in {data_dir}: {msg}")
    with open(data_dir / "postgresql.conf", "a") as fh:
        fh.write("\n# gridgov: port and socket, rewritten at each start\n"
                 "include_if_exists = 'gridgov.conf'\n")


def write_private(path: Path, text: str, account: RunAs | None = None) -> None:
    """Write ``path`` with mode 600 from its creation on; give it to ``account``."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(text)
    if account is not None:
        account.chown(path)


def clear_stale(data_dir: Path, socket_dir: Path, account: RunAs) -> bool:
    """Remove the pid file of a crashed server once its processes are gone.

    PostgreSQL removes a stale pid file itself, except when its pid is still
    taken (a zombie not yet reaped, a reused pid): it then refuses to start.
    Removing it is safe only when no process runs in the data directory, as
    orphaned backends may still write there. Returns whether it removed one.
    """
    pidfile = data_dir / "postmaster.pid"
    if not pidfile.exists():
        return False
    deadline = time.monotonic() + 10  # orphaned backends exit promptly
    while pids := pids_in(data_dir, account):
        if time.monotonic() > deadline:
            raise ClusterError(f"processes {pids} of a crashed PostgreSQL still "
                               f"use {data_dir}: end them (kill) and retry")
        time.sleep(0.1)
    # The socket's lock file names the same pid; the directory is ours alone.
    for stale in [pidfile, *socket_dir.glob(".s.PGSQL.*")]:
        stale.unlink(missing_ok=True)
    return True


def runs_in(pid: int, data_dir: Path) -> bool:
    """Whether process ``pid`` is alive and a postgres of ``data_dir``.

    A crash leaves postmaster.pid behind, and its pid may since name another
    process (even another cluster's postgres), or a zombie not yet reaped.
    """
    try:  # PostgreSQL's processes all run in their data directory
        return os.readlink(f"/proc/{pid}/cwd") == str(data_dir.resolve())
    except PermissionError:
        pass  # root without CAP_SYS_PTRACE (Docker's default), another's process
    except OSError:
        return False  # gone, or a zombie
    try:  # public, and empty for zombies; pg_ctl runs `postgres -D <data_dir>`
        args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    wanted = {os.fsencode(str(data_dir)), os.fsencode(str(data_dir.resolve()))}
    return any(a == b"-D" and b in wanted for a, b in pairwise(args))


def pids_in(directory: Path, account: RunAs) -> list[int]:
    """Live processes of ``account`` whose working directory is ``directory``.

    This finds a cluster's leftover backends even when its postmaster is gone.
    Looked up as the account itself: root may lack the right to read another
    user's /proc/<pid>/cwd (no CAP_SYS_PTRACE in containers).
    """
    pattern = re.sub(r"([*?\[\]\\])", r"\\\1", str(directory.resolve()))
    out = account.run(["find", "/proc", "-mindepth", "2", "-maxdepth", "2",
                       "-name", "cwd", "-lname", pattern], check=False).stdout
    return [int(line.split("/")[2]) for line in out.split()]
