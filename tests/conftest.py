"""Shared fixtures: a real PostGIS for the session, the app, its client.

Without GRIDGOV_TEST_DATABASE_URL the test run starts the project's own private
cluster (under $GRIDGOV_TEST_HOME, default var/test in the checkout) and works in
databases of its own, created for the session and dropped at its end.
"""

import datetime as dt
import os
import uuid
from pathlib import Path

import psycopg
import pytest

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "tests" / "artifacts"
DEMO_SEED = 1
DEMO_AS_OF = dt.date(2026, 11, 1)


@pytest.fixture(scope="session")
def cluster():
    if os.environ.get("GRIDGOV_TEST_DATABASE_URL"):
        pytest.skip("tests run against GRIDGOV_TEST_DATABASE_URL, not a private cluster")
    from layers.cluster import Cluster

    home = Path(os.environ.get("GRIDGOV_TEST_HOME", ROOT / "var" / "test"))
    c = Cluster(home)
    c.start()
    return c


class Databases:
    """Creates throw-away databases in the test cluster (or reuses an external one)."""

    def __init__(self, request):
        self._request = request
        self._created = []

    def new(self, migrated=True):
        external = os.environ.get("GRIDGOV_TEST_DATABASE_URL")
        if external:
            url = external
        else:
            cluster = self._request.getfixturevalue("cluster")
            name = f"gridgov_test_{uuid.uuid4().hex[:10]}"
            url = cluster.create_database(name)
            self._created.append((cluster, name))
        if migrated:
            from layers import db

            with db.connect(url) as conn:
                db.migrate(conn)
        return url

    def drop_all(self):
        for cluster, name in self._created:
            cluster.drop_database(name)


@pytest.fixture(scope="session")
def databases(request):
    dbs = Databases(request)
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
def demo_url(databases, demo_town):
    """A database holding the demo town (seed 1); tests must not change it."""
    from layers import demo

    url = databases.new()
    with psycopg.connect(url) as c:
        demo.load(c, demo_town, {"scale": "town", "seed": DEMO_SEED,
                                 "as_of": DEMO_AS_OF.isoformat()})
    return url


@pytest.fixture(scope="session")
def app(demo_url):
    from web import create_app

    return create_app({"DATABASE_URL": demo_url, "TESTING": True})


@pytest.fixture()
def client(app):
    return app.test_client()


@pytest.fixture(scope="session")
def runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
