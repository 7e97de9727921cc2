"""While PostgreSQL is down: a 503 within seconds, and back by itself after.

A cluster of this module's own (not the session's shared one), which the test
stops and starts: API routes (with a token), pages (with a session) and health
(anonymous, with a token, with a session) answer 503 "数据库暂不可用（The
database is unavailable）" within a few seconds instead of a 500 after the pool's
30 s; once the server is back the same clients get their 200s again, with no
restart of the application.
"""

import re
import shutil
import tempfile
import time
from pathlib import Path

import psycopg
import pytest

from api.errors import UNAVAILABLE
from layers import db, users
from layers.access import SYSTEM
from layers.cluster import Cluster
from web import create_app

pytestmark = pytest.mark.db

PASSWORD = "outage-Password-1"
POOL_TIMEOUT = 3.0
FAST = POOL_TIMEOUT + 3  # the pool's wait, and slack for a busy machine
RECOVERY = 30  # seconds the pool may take to reconnect once the server is back


@pytest.fixture(scope="module")
def outage():
    # Not tmp_path: pytest makes its base directory 700, which the account
    # running PostgreSQL (when we are root) cannot traverse.
    home = Path(tempfile.mkdtemp(prefix="gridgov-outage-", dir="/tmp"))
    home.chmod(0o755)
    cluster = Cluster(home)
    try:
        cluster.start()
        url = cluster.create_database("t_outage")
        with psycopg.connect(url) as conn:
            db.migrate(conn)
            users.add_user(conn, SYSTEM, "admin", "admin", None, PASSWORD)
            token = users.create_token(conn, SYSTEM, "admin", "tests")
        config = {"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "x" * 32,
                  "DATABASE_POOL_TIMEOUT": POOL_TIMEOUT,
                  "LOCATE_INDEX_BACKGROUND": False}
        yield cluster, config, token
    finally:
        cluster.destroy()
        shutil.rmtree(home, ignore_errors=True)


def _logged_in(app):
    """A browser-like client: the login form with its CSRF token."""
    c = app.test_client()
    html = c.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    r = c.post("/login", data={"username": "admin", "password": PASSWORD,
                               "csrf_token": csrf})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return c


def test_an_outage_is_a_fast_503_and_recovery_is_automatic(outage):
    cluster, config, token = outage
    app = create_app(config)
    with_token = app.test_client()
    with_token.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    with_session = _logged_in(app)
    anonymous = app.test_client()
    visits = [  # (who, url, answers in JSON)
        (with_token, "/api/v1/grids", True),
        (with_session, "/admin/users", False),
        (with_session, "/api/v1/grids", True),
        (anonymous, "/api/v1/health", True),
        (with_token, "/api/v1/health", True),
        (with_session, "/api/v1/health", True),
    ]
    for client, url, _ in visits:
        assert client.get(url).status_code == 200, url

    cluster.stop()
    # an application started while the database is down: its first request opens
    # the pool (it used to wait 15 s for it, then answer 500)
    fresh = create_app(config)
    visits.append((fresh.test_client(), "/api/v1/health", True))
    try:
        for client, url, as_json in visits:
            began = time.monotonic()
            r = client.get(url)
            took = time.monotonic() - began
            assert (r.status_code, url) == (503, url), r.get_data(as_text=True)[:300]
            assert took < FAST, f"{url} took {took:.1f} s"
            assert r.headers["Retry-After"]
            if as_json:
                body = r.get_json()
                message = body.get("message") or body["error"]["message"]
                assert message == UNAVAILABLE
                assert message == "数据库暂不可用（The database is unavailable）"
            else:
                assert r.mimetype == "text/html"
                assert UNAVAILABLE in r.get_data(as_text=True)
    finally:
        cluster.start()

    deadline = time.monotonic() + RECOVERY
    for client, url, _ in visits:
        while (status := client.get(url).status_code) != 200:
            assert status == 503, f"{url}: {status} while the pool reconnects"
            assert time.monotonic() < deadline, f"{url} still {status} after restart"
            time.sleep(0.2)
