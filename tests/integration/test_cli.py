"""The `gridgov` command line, against a real database through GRIDGOV_DATABASE_URL."""

import socket

import psycopg
import pytest
from click.testing import CliRunner

from web.cli import main

pytestmark = pytest.mark.db

_FINGERPRINT = """
    SELECT md5(string_agg(external_id || address || ST_AsText(geom) || grid_code, ','
                          ORDER BY external_id)) FROM households
"""


@pytest.fixture()
def cli(tmp_path):
    """Run `gridgov` with a private home that must stay untouched."""
    home = tmp_path / "home"
    home.mkdir()

    def run(args, url):
        env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(home)}
        return CliRunner().invoke(main, args, env=env, catch_exceptions=False)

    run.home = home
    return run


def test_every_command_has_help():
    for args in (["--help"], ["up", "--help"], ["db", "--help"],
                 ["db", "start", "--help"], ["db", "stop", "--help"],
                 ["db", "status", "--help"], ["db", "migrate", "--help"],
                 ["db", "reset", "--help"], ["demo", "--help"], ["serve", "--help"]):
        result = CliRunner().invoke(main, args)
        assert result.exit_code == 0, args
        assert "Usage:" in result.output


def test_external_database_is_used_and_no_cluster_started(cli, databases):
    url = databases.new(migrated=False)
    result = cli(["db", "migrate"], url)
    assert result.exit_code == 0
    # each status line says it in Chinese first, then in English
    assert result.output.startswith("已应用迁移：0001_schema, 0002_accounts")
    assert "（applied: 0001_schema, 0002_accounts" in result.output
    again = cli(["db", "migrate"], url).output
    assert again.strip() == "数据库结构已是最新（schema up to date）"
    status = cli(["db", "status"], url)
    assert "(GRIDGOV_DATABASE_URL)" in status.output
    assert "没有待应用的迁移（pending migrations: none）" in status.output.splitlines()
    start = cli(["db", "start"], url).output
    assert start.startswith("已设置 GRIDGOV_DATABASE_URL：没有私有集群可启动（")
    assert "no private cluster" in start
    assert list(cli.home.iterdir()) == []  # nothing created under GRIDGOV_HOME


def test_demo_same_seed_same_data(cli, databases):
    url = databases.new()
    assert cli(["demo", "--seed", "3", "--as-of", "2026-11-01"], url).exit_code == 0
    with psycopg.connect(url) as conn:
        first = conn.execute(_FINGERPRINT).fetchone()[0]
        levels = dict(conn.execute("SELECT level, count(*) FROM grids GROUP BY 1"))
    assert levels == {1: 1, 2: 8, 3: 25, 4: 91}
    assert cli(["demo", "--seed", "3", "--as-of", "2026-11-01"], url).exit_code == 0
    with psycopg.connect(url) as conn:
        again = conn.execute(_FINGERPRINT).fetchone()[0]
    assert cli(["demo", "--seed", "4", "--as-of", "2026-11-01"], url).exit_code == 0
    with psycopg.connect(url) as conn:
        other = conn.execute(_FINGERPRINT).fetchone()[0]
    assert first == again != other


def test_user_commands_speak_chinese_first(cli, databases):
    url = databases.new()
    made = cli(["user", "add", "cli_zh", "--role", "planner", "--password",
                "a long enough passphrase 7"], url)
    assert made.exit_code == 0, made.output
    assert made.output.strip() == (
        "已创建用户 cli_zh（网格规划员，全域）（user cli_zh created (planner, "
        "everywhere)）")
    token = cli(["user", "token", "cli_zh"], url)
    assert token.output.startswith("cli_zh 的 API 令牌（只显示这一次，请妥善保管）")
    assert token.output.splitlines()[-1] == token.output.split()[-1]  # alone
    assert cli(["user", "disable", "cli_zh"], url).output.startswith(
        "用户 cli_zh 已停用，其令牌已吊销（user cli_zh disabled")
    listed = cli(["user", "list"], url).output
    assert "cli_zh\tplanner\t*" in listed and "已停用 disabled" in listed


def test_demo_refuses_to_wipe_real_data(cli, databases):
    url = databases.new()
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO grids (code, name, level, geom)"
            " VALUES ('320282106', '真实镇', 1,"
            " ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(119.7, 31.2), 4326), .01)))")
    result = cli(["demo"], url)
    assert result.exit_code == 1
    assert "not a generated demo" in result.output
    assert "--force" in result.output
    assert result.output.startswith("正在生成演示数据 town（种子 1")
    assert len(result.output.strip().splitlines()) == 2  # progress line + the error


def test_reset_recreates_an_empty_schema(cli, databases):
    url = databases.new()
    with psycopg.connect(url) as conn:
        conn.execute("INSERT INTO meta VALUES ('dataset', '{\"kind\": \"x\"}')")
    result = cli(["db", "reset", "--yes"], url)
    assert result.exit_code == 0
    with psycopg.connect(url) as conn:
        # the data is gone; settings a migration writes (the recurring
        # disputes' rule, 0031) are the schema's and come back with it
        assert conn.execute("SELECT key FROM meta").fetchall() == [
            ("recurring_disputes",)]


def test_a_busy_port_is_one_clear_line(cli, migrated_url):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = cli(["serve", "--port", str(port)], migrated_url)
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"Error: 无法监听 127.0.0.1:{port}（Address already in use）：请停止占用它的"
        "程序，或用 --port 另选端口（cannot listen on 127.0.0.1:"
        f"{port} (Address already in use): stop what uses it or choose another "
        "with --port）"]


def test_an_unreachable_database_is_one_clear_line(cli):
    result = cli(["db", "migrate"], "postgresql://nobody@127.0.0.1:1/none")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: 无法连接数据库")
    assert "cannot reach the database" in lines[0]
    assert "GRIDGOV_DATABASE_URL" in lines[0]


def test_serve_runs_one_worker_per_process_and_stops_them_all(migrated_url, tmp_path):
    """`gridgov serve --processes 2`: two workers answer on one port, and a
    SIGTERM to the server ends them with it (no orphan keeps the port)."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.error
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"GRIDGOV_DATABASE_URL": migrated_url,
                        "GRIDGOV_HOME": str(tmp_path),
                        "GRIDGOV_MAX_CONTENT_LENGTH": "4096"}
    server = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "serve",
         "--port", str(port),
         "--processes", "2", "--threads", "2"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                    assert r.status == 200
                    # the application's non-committal name, not the server's
                    assert r.headers["Server"] == "gridgov"
                break
            except OSError:
                assert time.monotonic() < deadline, server.stdout.read1().decode()
                time.sleep(0.2)
        # an upload over the limit is refused by its length, unread
        big = urllib.request.Request(
            f"http://127.0.0.1:{port}/login", data=b"x" * 100_000, method="POST",
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(big, timeout=5)
        assert refused.value.code == 413
        refused.value.close()
        from pathlib import Path

        proc = Path("/proc")
        children = (proc / str(server.pid) / "task" / str(server.pid) /
                    "children").read_text().split()
        assert len(children) == 2
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=15) == 0
        # the holiday calendar's gaps said once by `serve`, not once per worker
        from flask import Config

        from web.app import calendar_gaps
        config = Config(str(tmp_path))
        config.from_prefixed_env("GRIDGOV")
        gaps = calendar_gaps(config)
        said = server.stdout.read().decode()
        assert (said.count(gaps) if gaps else 1) == 1, said
        for pid in children:  # gone (or a zombie left for init to reap)
            stat = proc / pid / "stat"
            assert not stat.exists() or stat.read_text().split()[2] == "Z"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()


def test_up_starts_a_jobs_worker_and_stops_it_with_the_server(databases, demo_town,
                                                              tmp_path):
    """`gridgov up` runs the job queue's worker beside the web server: a job
    deferred in the database is done; a SIGTERM to `up` ends both."""
    import os
    import signal
    import subprocess
    import sys
    import time
    import urllib.request
    from pathlib import Path

    from layers import jobs
    from tests.conftest import writable_demo

    url = writable_demo(databases, demo_town).url  # not empty: no demo to load
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = os.environ | {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)}
    server = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "up",
         "--port", str(port)], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    proc = Path("/proc")

    def workers():
        children = (proc / str(server.pid) / "task" / str(server.pid) /
                    "children").read_text().split()
        return [pid for pid in children
                if b"jobs\0worker" in (proc / pid / "cmdline").read_bytes()]

    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as r:
                    assert r.status == 200
                break
            except OSError:
                assert server.poll() is None, server.stdout.read().decode()
                assert time.monotonic() < deadline
                time.sleep(0.3)
        (worker,) = workers()
        with psycopg.connect(url, autocommit=True) as c:
            with c.transaction():
                job = jobs.defer(c, jobs.PURGE, queue="maintenance", timestamp=0)
            deadline = time.monotonic() + 120
            while c.execute("SELECT status::text FROM procrastinate_jobs WHERE id"
                            " = %s", (job,)).fetchone()[0] != "succeeded":
                assert time.monotonic() < deadline, "the worker did not run the job"
                time.sleep(0.3)
        server.send_signal(signal.SIGTERM)
        # the worker stops gracefully (a loaded machine: tens of seconds), else
        # `up` kills it after 15 s
        assert server.wait(timeout=90) == 0
        stat = proc / worker / "stat"
        assert not stat.exists() or stat.read_text().split()[2] == "Z"
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        server.stdout.close()
