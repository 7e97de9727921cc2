"""The private PostgreSQL cluster (layers/cluster.py) against real PostgreSQL.

One cluster is shared by the module (initdb costs a second or two); tests
that stop or crash it start it again themselves, so they do not depend on
their order.
"""

import os
import shutil
import signal
import socket
import stat
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from layers import _pgbin
from layers.cluster import Cluster, ClusterError

pytestmark = pytest.mark.db


def _home(prefix: str, mode: int = 0o755) -> Path:
    # Not tmp_path: pytest makes its base directory 700, which the account
    # running PostgreSQL (when we are root) cannot traverse.
    path = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    path.chmod(mode)
    return path


@pytest.fixture(scope="module")
def cluster():
    home = _home("gridgov-cluster-")
    cl = Cluster(home)
    try:
        yield cl
    finally:
        cl.destroy()
        shutil.rmtree(home, ignore_errors=True)


def test_start_gives_url_where_postgis_works(cluster):
    url = cluster.start()
    assert url.startswith("postgresql://gridgov@/gridgov?host=")
    assert f"host={cluster.socket_dir}&" in url
    test_url = cluster.create_database("t_postgis")
    try:
        with psycopg.connect(test_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")
            version = conn.execute("SELECT postgis_full_version()").fetchone()[0]
            assert version.startswith("POSTGIS=")
            server = conn.execute("SHOW listen_addresses").fetchone()[0]
            assert server == "127.0.0.1"
    finally:
        cluster.drop_database("t_postgis")


def test_layout_and_modes(cluster):
    cluster.start()
    password = cluster.state / "password"
    assert stat.S_IMODE(password.stat().st_mode) == 0o600
    assert len(password.read_text().strip()) >= 24
    assert stat.S_IMODE(cluster.socket_dir.stat().st_mode) == 0o700
    assert cluster.log_file.is_file()
    assert cluster.data_dir == cluster.state / "data"  # reachable: no fallback
    if os.geteuid() == 0:
        assert cluster.data_dir.owner() == "gridgov"  # PostgreSQL refuses root


def test_second_start_is_a_fast_no_op(cluster):
    url = cluster.start()
    pid = cluster.status()["pid"]
    began = time.perf_counter()
    assert cluster.start() == url
    assert time.perf_counter() - began < 3
    assert cluster.status()["pid"] == pid


def test_status_reports_running_server(cluster):
    url = cluster.start()
    status = cluster.status()
    assert status["running"] is True
    assert status["url"] == url == cluster.url
    assert f"port={status['port']}" in url
    assert status["data_dir"] == str(cluster.data_dir)
    assert status["version"].split(".")[0] == cluster.data_dir.joinpath(
        "PG_VERSION").read_text().strip()
    with psycopg.connect(url) as conn:
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        assert pid != status["pid"]  # a backend, child of the postmaster


def test_create_and_drop_database(cluster):
    cluster.start()
    url = cluster.create_database("t_scratch")
    assert cluster.create_database("t_scratch") == url  # idempotent
    with psycopg.connect(url, autocommit=True) as conn:  # drop ends this session
        assert conn.execute("SELECT current_database()").fetchone()[0] == "t_scratch"
        cluster.drop_database("t_scratch")
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(url).close()
    cluster.drop_database("t_scratch")  # no error when already gone


def test_taken_port_makes_start_pick_another(cluster, caplog):
    cluster.start()
    old = cluster.status()["port"]
    cluster.stop()
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", old))
        squatter.listen()
        url = cluster.start()
    new = cluster.status()["port"]
    assert new != old
    assert f"port={new}" in url
    assert f"port {old} is taken" in caplog.text
    assert (cluster.state / "port").read_text().strip() == str(new)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_start_after_a_crash(cluster):
    cluster.start()
    os.kill(cluster.status()["pid"], signal.SIGKILL)  # leaves postmaster.pid
    deadline = time.monotonic() + 5
    while cluster.is_running() and time.monotonic() < deadline:
        time.sleep(0.01)  # SIGKILL is not instantaneous
    assert not cluster.is_running()
    assert (cluster.data_dir / "postmaster.pid").exists()
    url = cluster.start()
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_failed_start_says_why_in_one_line(cluster):
    cluster.start()
    cluster.stop()
    auto = cluster.data_dir / "postgresql.auto.conf"
    saved = auto.read_text()
    auto.write_text(saved + "shared_buffers = 'lots'\n")
    try:
        with pytest.raises(ClusterError, match="shared_buffers") as err:
            cluster.start()
        assert "\n" not in str(err.value)
        assert str(cluster.log_file) in str(err.value)
    finally:
        auto.write_text(saved)
    cluster.start()


def test_stop_then_status_says_not_running(cluster):
    cluster.start()
    cluster.stop()
    status = cluster.status()
    assert status["running"] is False and status["pid"] is None
    assert not cluster.is_running()
    cluster.stop()  # stopping a stopped cluster is fine
    with pytest.raises(ClusterError, match="not running"):
        cluster.create_database("t_nope")
    began = time.perf_counter()
    cluster.start()  # a warm start of an existing cluster
    assert time.perf_counter() - began < 3


@pytest.mark.skipif(os.geteuid() != 0, reason="the fallback is for root only")
def test_home_under_private_dir_falls_back_to_reachable_dir(caplog):
    private = _home("gridgov-private-", mode=0o700)  # like a checkout in /root
    cl = Cluster(private / "checkout" / "var")
    try:
        url = cl.start()
        assert cl.data_dir.parent.parent == Path("/var/lib/gridgov")
        assert f"lives in {cl.base}" in caplog.text
        assert cl.state.joinpath("password").exists()  # our own files stay home
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT 1").fetchone() == (1,)
        cl.stop()
        assert Cluster(private / "checkout" / "var").data_dir == cl.data_dir
    finally:
        cl.destroy()
        shutil.rmtree(private, ignore_errors=True)
    assert not cl._fallback.exists()


def test_missing_postgresql_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setattr(_pgbin, "PG_LIB", tmp_path / "lib")
    with pytest.raises(ClusterError, match=r"PostgreSQL is not installed: run `make"):
        _pgbin.find_bindir()


def test_missing_postgis_names_the_package(monkeypatch, tmp_path):
    (tmp_path / "lib/15/bin").mkdir(parents=True)
    (tmp_path / "lib/15/bin/postgres").touch()
    monkeypatch.setattr(_pgbin, "PG_LIB", tmp_path / "lib")
    monkeypatch.setattr(_pgbin, "PG_SHARE", tmp_path / "share")
    with pytest.raises(ClusterError, match="postgresql-15-postgis-3") as err:
        _pgbin.find_bindir()
    assert "\n" not in str(err.value)
