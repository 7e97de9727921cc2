"""Shared fixtures: a real PostGIS for the session, the app, its client.

The tests work in databases of their own, created for the session and dropped at
its end, on the project's own private cluster (under $GRIDGOV_TEST_HOME, default
var/test in the checkout), or on the server of GRIDGOV_TEST_DATABASE_URL (a role
that may CREATE DATABASE).
"""

import datetime as dt
import os
import uuid
from pathlib import Path

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
DEMO_SEED = 1
DEMO_AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="session")
def server_url():
    """A URL of the test server on which the tests may CREATE DATABASE."""
    external = os.environ.get("GRIDGOV_TEST_DATABASE_URL")
    if external:
        return external
    from layers.cluster import Cluster

    home = Path(os.environ.get("GRIDGOV_TEST_HOME", ROOT / "var" / "test"))
    return Cluster(home).start()


class Databases:
    """Creates throw-away databases on the test server, dropped at the end."""

    def __init__(self, server_url):
        self._server = server_url
        self._created = []

    def new(self, migrated=True):
        name = f"gridgov_test_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self._server, autocommit=True) as c:
            c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        self._created.append(name)
        url = make_conninfo(self._server, dbname=name)
        if migrated:
            from layers import db

            with db.connect(url) as conn:
                db.migrate(conn)
        return url

    def drop_all(self):
        with psycopg.connect(self._server, autocommit=True) as c:
            for name in self._created:
                c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                    sql.Identifier(name)))


@pytest.fixture(scope="session")
def databases(server_url):
    dbs = Databases(server_url)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def migrated_url(databases):
    """A migrated, empty database shared by the session (tests roll back)."""
    return databases.new()


@pytest.fixture()
def conn(migrated_url):
    """A connection whose work is rolled back at the end of the test."""
    with psycopg.connect(migrated_url) as c:
        with c.transaction(force_rollback=True):
            yield c


@pytest.fixture(scope="session")
def demo_town():
    from geo.demo import generate

    return generate(scale="town", seed=DEMO_SEED, as_of=DEMO_AS_OF)


@pytest.fixture(scope="session")
def demo_db(databases, demo_town):
    """A database holding the demo town (seed 1) and its accounts; tests must not
    change it. Returns (url, {username: password}, {username: API token})."""
    from layers import demo, users
    from layers.access import SYSTEM

    url = databases.new()
    with psycopg.connect(url) as c:
        demo.load(c, demo_town, {"scale": "town", "seed": DEMO_SEED,
                                 "as_of": DEMO_AS_OF.isoformat()})
        accounts = {name: pw for name, _, _, pw in demo.ensure_demo_accounts(c)}
        tokens = {name: users.create_token(c, SYSTEM, name, "tests")
                  for name in accounts}
    return url, accounts, tokens


@pytest.fixture(scope="session")
def demo_url(demo_db):
    return demo_db[0]


@pytest.fixture(scope="session")
def passwords(demo_db):
    return demo_db[1]


@pytest.fixture(scope="session")
def tokens(demo_db):
    return demo_db[2]


@pytest.fixture(scope="session")
def app(demo_url):
    from web import create_app

    return create_app({"DATABASE_URL": demo_url, "TESTING": True,
                       "SECRET_KEY": "test-secret-key-not-for-production",
                       "LOCATE_INDEX_BACKGROUND": False})


@pytest.fixture()
def as_user(app, tokens):
    """``as_user("leader")``: a client that sends that demo account's API token."""

    def make(username):
        c = app.test_client()
        c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens[username]}"
        return c

    return make


@pytest.fixture()
def client(as_user):
    """A client acting as the demo's administrator (whole deployment)."""
    return as_user("admin")


@pytest.fixture()
def anonymous(app):
    return app.test_client()


@pytest.fixture(scope="session")
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


def writable_demo(databases, demo_town, setup=None):
    """A writable copy of the demo town in its own database, and an app on it.

    ``setup(conn)`` may add to it (accounts …) before every active account gets an
    API token. Returns a namespace: ``url``, ``app``, ``passwords``, ``tokens`` and
    ``client(name=None)``, a test client sending that account's token.
    """
    from types import SimpleNamespace

    from layers import demo, users
    from layers.access import SYSTEM
    from web import create_app

    url = databases.new()
    with psycopg.connect(url) as c:
        demo.load(c, demo_town, {"scale": "town", "seed": DEMO_SEED,
                                 "as_of": DEMO_AS_OF.isoformat()})
        passwords = {n: pw for n, _, _, pw in demo.ensure_demo_accounts(c)}
        if setup is not None:
            setup(c)
        names = [r[0] for r in c.execute("SELECT username FROM users WHERE active")]
        tokens = {n: users.create_token(c, SYSTEM, n, "tests") for n in names}
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "x" * 32,
                      "LOCATE_INDEX_BACKGROUND": False})

    def client(name=None):
        cl = app.test_client()
        if name:
            cl.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens[name]}"
        return cl

    return SimpleNamespace(url=url, app=app, passwords=passwords, tokens=tokens,
                           client=client)


# the accounts tests' throwaway accounts' password (≥ 10 characters)
ACCOUNT_PASSWORD = "correct-horse-battery"


def accounts_demo(databases, demo_town, more=None):
    """A writable demo (:func:`writable_demo`) with the accounts the accounts
    tests share: ``vadmin``, an administrator of village A; ``vclerk``, a
    dispatcher in its first comprehensive grid; ``oclerk``, one of village B; and
    ``more`` dispatchers, name -> ``"inside"`` (vclerk's grid) or None (the whole
    deployment). Adds ``village``, ``other``, ``inside``, ``town`` and ``names``
    (grid code -> name) to the namespace."""
    from types import SimpleNamespace

    from layers import users
    from layers.access import SYSTEM

    g = demo_town.grids
    village, other = sorted(g[g.level == 2].code)[:2]
    inside = sorted(g[(g.level == 3) & g.code.str.startswith(village)].code)[0]

    def setup(c):
        users.add_user(c, SYSTEM, "vadmin", "admin", village, ACCOUNT_PASSWORD)
        users.add_user(c, SYSTEM, "vclerk", "dispatcher", inside, ACCOUNT_PASSWORD)
        users.add_user(c, SYSTEM, "oclerk", "dispatcher", other, ACCOUNT_PASSWORD)
        for name, grid in (more or {}).items():
            users.add_user(c, SYSTEM, name, "dispatcher",
                           inside if grid == "inside" else grid, ACCOUNT_PASSWORD)

    ns = writable_demo(databases, demo_town, setup)
    return SimpleNamespace(**vars(ns), village=village, other=other, inside=inside,
                           town=g[g.level == 1].code.iloc[0],
                           names=dict(zip(g.code, g.name, strict=True)))


def log_in_form(app, username, password=ACCOUNT_PASSWORD, address="192.0.2.10"):
    """A browser at ``address``: GET /login for the CSRF token, POST the form;
    ``(client, response)``."""
    import re

    c = app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    token = re.search(r'name="csrf_token" value="([^"]+)"',
                      c.get("/login").get_data(as_text=True)).group(1)
    r = c.post("/login", data={"username": username, "password": password,
                               "csrf_token": token})
    return c, r
