"""Tables partitioned by county (migration 0035, layers/partitions.py): the
upgrade of a database with data, keys, rows moving county, the DEFAULT
partition, track point months, audit still append-only, the detached bulk
load of a county."""

import datetime as dt
import threading
import time

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import errors

from layers import db, import_bulk, partitions
from tests.common import INNER, SQUARE

pytestmark = pytest.mark.db

A, B = "320282", "320283"  # two counties
TOWN_A, TOWN_B = A + "105", B + "101"
MICRO_A = TOWN_A + "001001001"
MICRO_B = TOWN_B + "001001001"


def _grid(conn, code, level, parent, geom=SQUARE):
    conn.execute(
        "INSERT INTO grids (code, name, level, parent_code, geom)"
        " VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, 4326))",
        (code, f"网格{code}", level, parent, geom))


def _chain(conn, town):
    """A town and one grid at each level below it, down to a micro-grid."""
    _grid(conn, town, 1, None)
    code = town
    for level in (2, 3, 4):
        _grid(conn, code + "001", level, code, INNER)
        code += "001"
    return code


def _before_0035():
    return [v for v, _ in db.migrations() if v < "0035"][-1]


def _parts_of(conn, table):
    return {r[0] for r in conn.execute(
        "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
        " WHERE i.inhparent = %s::regclass", (table,))}


def _where(conn, table, key, value):
    """The partition holding the row of ``table`` whose ``key`` is ``value``."""
    return conn.execute(f"SELECT tableoid::regclass::text FROM {table}"  # noqa: S608
                        f" WHERE {key} = %s", (value,)).fetchone()[0]


# The upgrade ----------------------------------------------------------------------

def test_a_database_with_data_is_upgraded_in_place(databases):
    url = databases.new(migrated=False)
    with psycopg.connect(url, autocommit=True) as conn:
        db.migrate(conn, upto=_before_0035())
        assert "0035_county_partitions" in db.pending(conn)
        with conn.transaction():
            micro = _chain(conn, TOWN_A)
            _grid(conn, TOWN_B, 1, None)
            staff = conn.execute(
                "INSERT INTO grid_staff (name, role, grid_code) VALUES"
                " ('李四', 'full_time', %s) RETURNING id", (micro,)).fetchone()[0]
            homes = [conn.execute(
                "INSERT INTO households (external_id, address, geom, grid_code)"
                " VALUES (%s, %s, ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326),"
                " %s) RETURNING id", (ext, addr, grid)).fetchone()[0]
                for ext, addr, grid in (("H1", "甲路1号", micro),
                                        ("H2", "甲路2号", micro),
                                        (None, "无网格路", None))]
            incident = conn.execute(
                "INSERT INTO incidents (code, category, source, geom, grid_code)"
                " VALUES ('SJ202612070001', 'dispute', 'walk_in',"
                " ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326), %s)"
                " RETURNING id", (micro,)).fetchone()[0]
            conn.execute(
                "INSERT INTO incidents (code, category, source, geom)"
                " VALUES ('SJ202612070002', 'environment', 'hotline',"
                " ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326))")
            conn.execute("INSERT INTO incident_events (incident_id, action, status)"
                         " VALUES (%s, 'register', 'registered')", (incident,))
            conn.execute("INSERT INTO incident_photos (incident_id, sha256, width,"
                         " height, bytes) VALUES (%s, %s, 10, 10, 100)",
                         (incident, "a" * 64))
            conn.execute("INSERT INTO visits (household_id, username, visited_at)"
                         " VALUES (%s, 'worker', now())", (homes[0],))
            track = conn.execute(
                "INSERT INTO tracks (staff_id, day, name) VALUES (%s, '2026-11-03',"
                " 't') RETURNING id", (staff,)).fetchone()[0]
            for seq in range(3):
                conn.execute(
                    "INSERT INTO track_points (track_id, seq, at, geom) VALUES"
                    " (%s, %s, '2026-11-03 08:00+08'::timestamptz"
                    " + %s * interval '1 s',"
                    " ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326))",
                    (track, seq, seq))
            conn.execute("INSERT INTO audit (username, action, table_name, grid_code)"
                         " VALUES ('admin', 'update', 'grids', %s), ('admin', 'login',"
                         " 'users', NULL)", (micro,))
            audit_ids = [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id")]
        assert db.migrate(conn)[0] == "0035_county_partitions"

        # every row kept, under its id, in its county's partition
        assert [r[0] for r in conn.execute("SELECT id FROM households ORDER BY id")] \
            == homes
        assert _where(conn, "households", "id", homes[0]) == f"households_{A}"
        assert _where(conn, "households", "id", homes[2]) == "households_default"
        assert _where(conn, "incidents", "id", incident) == f"incidents_{A}"
        assert _where(conn, "incidents", "code", "SJ202612070002") == \
            "incidents_default"
        assert _where(conn, "incident_events", "incident_id", incident) == \
            f"incident_events_{A}"
        assert conn.execute("SELECT county FROM incident_photos").fetchone()[0] == A
        assert conn.execute("SELECT county FROM visits").fetchone()[0] == A
        assert [r[0] for r in conn.execute("SELECT id FROM audit ORDER BY id")] \
            == audit_ids
        assert {r[0] for r in conn.execute("SELECT county FROM audit")} == {A, ""}
        assert conn.execute("SELECT count(*), min(tableoid::regclass::text)"
                            " FROM track_points").fetchone() == \
            (3, f"track_points_{A}_202611")
        # a level-1 grid's county has its partitions (households at first write)
        assert f"incidents_{B}" in _parts_of(conn, "incidents")
        assert f"households_{B}" not in _parts_of(conn, "households")
        # the sequences go on after the copied ids
        with conn.transaction():
            new = conn.execute(
                "INSERT INTO households (address, geom, grid_code, county) VALUES"
                " ('乙路', ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326), %s, %s)"
                " RETURNING id", (micro, A)).fetchone()[0]
        assert new > max(homes)
        # cascades kept: an incident deleted takes its events and photos along
        with conn.transaction():
            conn.execute("DELETE FROM incidents WHERE id = %s", (incident,))
            assert conn.execute("SELECT count(*) FROM incident_events").fetchone()[0] \
                == 0
            assert conn.execute("SELECT count(*) FROM incident_photos").fetchone()[0] \
                == 0
        assert db.migrate(conn) == []


def test_a_failing_upgrade_leaves_the_old_schema(databases):
    """All or nothing: a migration that fails part way (here: a foreign key to
    households it does not know) rolls back whole."""
    url = databases.new(migrated=False)
    with psycopg.connect(url, autocommit=True) as conn:
        db.migrate(conn, upto=_before_0035())
        conn.execute("CREATE TABLE stray (h bigint REFERENCES households (id))")
        with pytest.raises(errors.RaiseException, match="stray"):
            db.migrate(conn)
        assert conn.execute("SELECT relkind FROM pg_class"
                            " WHERE relname = 'households'").fetchone()[0] == "r"
        assert "0035_county_partitions" in db.pending(conn)


# Keys ------------------------------------------------------------------------------

@pytest.mark.parametrize(("table", "key"), [
    ("households", "PRIMARY KEY (id, county)"),
    ("households", "UNIQUE (external_id, county)"),
    ("incidents", "PRIMARY KEY (id, county)"),
    ("incidents", "UNIQUE (code, county)"),
    ("incident_events", "PRIMARY KEY (id, county)"),
    ("audit", "PRIMARY KEY (id, county)"),
    ("track_points", "PRIMARY KEY (track_id, seq, county, day)"),
])
def test_the_county_joins_every_key(conn, table, key):
    keys = {r[0] for r in conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype IN ('p', 'u')", (table,))}
    assert key in keys
    assert conn.execute("SELECT relkind FROM pg_class WHERE relname = %s",
                        (table,)).fetchone()[0] == "p"


def test_a_wrong_county_is_refused(conn):
    micro = _chain(conn, TOWN_A)
    with pytest.raises(errors.CheckViolation, match="households_county"):
        conn.execute("INSERT INTO households (address, geom, grid_code, county)"
                     " VALUES ('x', ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326),"
                     " %s, %s)", (micro, B))


# Rows that move -------------------------------------------------------------------

def test_a_household_follows_its_grid_into_another_county(conn):
    micro_a, micro_b = _chain(conn, TOWN_A), _chain(conn, TOWN_B)
    partitions.ensure(conn, "households", [A, B])
    home = conn.execute(
        "INSERT INTO households (address, geom, grid_code, county) VALUES"
        " ('甲路', ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326), %s, %s)"
        " RETURNING id", (micro_a, A)).fetchone()[0]
    conn.execute("INSERT INTO visits (household_id, username, visited_at)"
                 " VALUES (%s, 'worker', now())", (home,))
    # as a reassignment writes it: the grid only
    conn.execute("UPDATE households SET grid_code = %s WHERE id = %s",
                 (micro_b, home))
    assert _where(conn, "households", "id", home) == f"households_{B}"
    assert conn.execute("SELECT county FROM visits WHERE household_id = %s",
                        (home,)).fetchone()[0] == B


def test_rows_without_a_partition_wait_in_default_and_are_settled(conn):
    micro_a, micro_b = _chain(conn, TOWN_A), _chain(conn, TOWN_B)
    partitions.ensure(conn, "households", [A])
    home = conn.execute(
        "INSERT INTO households (address, geom, grid_code, county) VALUES"
        " ('甲路', ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326), %s, %s)"
        " RETURNING id", (micro_a, A)).fetchone()[0]
    visit = conn.execute("INSERT INTO visits (household_id, username, visited_at)"
                         " VALUES (%s, 'worker', now()) RETURNING id",
                         (home,)).fetchone()[0]
    # B has no household partition yet: the move never fails, DEFAULT takes it
    conn.execute("UPDATE households SET grid_code = %s WHERE id = %s",
                 (micro_b, home))
    assert _where(conn, "households", "id", home) == "households_default"
    made = conn.execute("SELECT partitions_settle()").fetchone()[0]
    assert f"households_{B}" in made
    assert _where(conn, "households", "id", home) == f"households_{B}"
    # the visit that referred to it came along (not cascaded away)
    assert conn.execute("SELECT household_id, county FROM visits WHERE id = %s",
                        (visit,)).fetchone() == (home, B)


def test_an_incident_without_a_grid_goes_to_default(conn):
    conn.execute("INSERT INTO incidents (code, category, source, geom) VALUES"
                 " ('X-1', 'dispute', 'walk_in',"
                 " ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326))")
    assert _where(conn, "incidents", "code", "X-1") == "incidents_default"


# Audit ------------------------------------------------------------------------------

def test_audit_stays_append_only_on_every_partition(conn):
    _chain(conn, TOWN_A)
    conn.execute("INSERT INTO audit (username, action, table_name, grid_code, county)"
                 " VALUES ('planner1', 'update', 'grids', %s, %s)", (TOWN_A, A))
    part = f"audit_{A}"
    assert _where(conn, "audit", "username", "planner1") == part
    for statement in ("UPDATE audit SET username = 'someone'",
                      "DELETE FROM audit",
                      f"DELETE FROM {part}",
                      f"UPDATE {part} SET action = 'read'",
                      f"TRUNCATE {part}",
                      "TRUNCATE audit_default",
                      "TRUNCATE audit"):
        with pytest.raises(errors.InsufficientPrivilege):
            with conn.transaction():
                conn.execute(statement)


# Track point months ----------------------------------------------------------------

def test_track_points_go_to_their_month_and_old_months_are_dropped(conn):
    micro = _chain(conn, TOWN_A)
    staff = conn.execute("INSERT INTO grid_staff (name, role, grid_code) VALUES"
                         " ('李四', 'full_time', %s) RETURNING id",
                         (micro,)).fetchone()[0]
    old_day = dt.date(2025, 3, 4)
    for day in (old_day, dt.date.today()):
        track = conn.execute(
            "INSERT INTO tracks (staff_id, day, name, county) VALUES (%s, %s, 't', %s)"
            " RETURNING id", (staff, day, A)).fetchone()[0]
        conn.execute("INSERT INTO track_points (track_id, county, day, seq, geom)"
                     " VALUES (%s, %s, %s, 0, ST_SetSRID(ST_MakePoint(119.705, 31.205),"
                     " 4326))", (track, A, day))
    this_month = f"track_points_{A}_{dt.date.today():%Y%m}"
    assert this_month in _parts_of(conn, f"track_points_{A}")
    # a month with no partition: the county's DEFAULT month, then its own
    assert _where(conn, "track_points", "day", old_day) == f"track_points_{A}_default"
    assert conn.execute("SELECT track_point_months_add(%s, %s, 0)",
                        (f"track_points_{A}", old_day)).fetchone()[0] > 0
    assert _where(conn, "track_points", "day", old_day) == f"track_points_{A}_202503"
    # made ahead by the daily job
    partitions.months_ahead(conn, 3)
    ahead = (dt.date.today().replace(day=1) + dt.timedelta(days=95)).replace(day=1)
    assert f"track_points_{A}_{ahead:%Y%m}" in _parts_of(conn, f"track_points_{A}")
    dropped = partitions.drop_months(conn, dt.date(2025, 6, 1))
    assert f"track_points_{A}_202503" in dropped
    assert f"track_points_{A}_202505" in dropped
    assert this_month not in dropped
    assert conn.execute("SELECT count(*) FROM tracks WHERE day = %s",
                        (old_day,)).fetchone()[0] == 0
    assert conn.execute("SELECT count(*) FROM track_points").fetchone()[0] == 1


def test_the_partitions_are_listed_with_their_sizes(conn):
    _chain(conn, TOWN_A)
    listed = {(p["table"], p["county"]) for p in partitions.partitions(conn)}
    assert {("incidents", A), ("audit", A), ("track_points", A),
            ("incidents", ""), ("households", "")} <= listed


# The detached load -----------------------------------------------------------------

def _frame(n, county, grid, start=0):
    rng = np.random.default_rng(n)
    return pd.DataFrame({
        "src_row": np.arange(n) + start,
        "external_id": [f"{county}-{i:07d}" for i in range(start, start + n)],
        "address": [f"某村{i % 97}组{i}号" for i in range(start, start + n)],
        "grid_code": grid, "county": county,
        "lon": 119.701 + rng.random(n) * 0.008, "lat": 31.201 + rng.random(n) * 0.008})


COLUMNS = ["external_id", "address", "grid_code", "county"]


@pytest.fixture()
def two_counties(databases):
    """A database with county A's households committed, county B's grids and no
    household yet."""
    url = databases.new()
    with psycopg.connect(url, autocommit=True) as conn:
        with conn.transaction():
            _chain(conn, TOWN_A)
            _chain(conn, TOWN_B)
            partitions.ensure(conn, "households", [A])
            import_bulk.copy_frame(conn, "households", _frame(2000, A, MICRO_A).drop(
                columns=["src_row", "lon", "lat"]).assign(
                    geom=import_bulk.ewkb_points([119.705] * 2000, [31.205] * 2000)))
    return url


def test_a_county_loads_into_a_detached_partition_without_blocking_readers(
        two_counties):
    stop = threading.Event()
    waits = []

    def read():
        with psycopg.connect(two_counties, autocommit=True) as reader:
            while not stop.is_set():
                started = time.perf_counter()
                reader.execute("SELECT count(*) FROM households WHERE county = %s"
                               " AND address LIKE '某村1%%'", (A,)).fetchone()
                reader.execute("SELECT address FROM households WHERE id = 17"
                               " AND county = %s", (A,)).fetchone()
                waits.append(time.perf_counter() - started)
                time.sleep(0.005)

    thread = threading.Thread(target=read)
    with psycopg.connect(two_counties) as conn:
        thread.start()
        time.sleep(0.2)
        started = time.perf_counter()
        with conn.transaction():
            added = import_bulk.load_new_county(conn, "households", COLUMNS,
                                                _frame(60_000, B, MICRO_B),
                                                lambda phase: None,
                                                key="external_id")
        took = time.perf_counter() - started
        stop.set()
        thread.join()
        assert added == (60_000, 0)
        assert _where(conn, "households", "external_id", f"{B}-0000007") == \
            f"households_{B}"
        # the partition has the table's indexes (adopted, not built twice)
        indexes = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = %s",
                               (f"households_{B}",)).fetchone()[0]
        assert indexes == conn.execute(
            "SELECT count(*) FROM pg_indexes WHERE tablename = %s",
            (f"households_{A}",)).fetchone()[0]
    # the reader of the other county went on throughout the load
    assert len(waits) > 10
    assert took > 0.5, "the load was too short to show anything"
    assert max(waits) < min(0.25, took / 2), (max(waits), took)


def test_a_failing_detached_load_leaves_nothing_attached(two_counties):
    data = _frame(5000, B, MICRO_B)
    data.loc[4000, "grid_code"] = TOWN_B + "999"  # no such grid: the foreign key
    data.loc[4000, "county"] = B
    with psycopg.connect(two_counties) as conn:
        with pytest.raises(errors.ForeignKeyViolation):
            with conn.transaction():
                import_bulk.load_new_county(conn, "households", COLUMNS, data,
                                            lambda phase: None)
        assert f"households_{B}" not in _parts_of(conn, "households")
        assert conn.execute("SELECT to_regclass(%s)",
                            (f"households_{B}",)).fetchone()[0] is None
        assert conn.execute("SELECT count(*) FROM households").fetchone()[0] == 2000


def test_a_county_with_rows_or_an_id_elsewhere_is_not_loaded_detached(two_counties):
    with psycopg.connect(two_counties) as conn:
        # county A has rows
        assert import_bulk.load_new_county(conn, "households", COLUMNS,
                                           _frame(10, A, MICRO_A, 5000),
                                           lambda phase: None) is None
        conn.rollback()
        # an id that county A holds: rolled back to the savepoint
        data = _frame(10, B, MICRO_B).assign(external_id=[f"{A}-{i:07d}"
                                                           for i in range(10)])
        assert import_bulk.load_new_county(conn, "households", COLUMNS, data,
                                           lambda phase: None,
                                           key="external_id") is None
        assert conn.execute("SELECT to_regclass(%s)",
                            (f"households_{B}",)).fetchone()[0] is None


# Archive ---------------------------------------------------------------------------

def test_a_county_without_grids_is_archived_and_its_audit_stays_fixed(conn):
    gone = "320299"
    for table in partitions.TABLES:
        partitions.ensure(conn, table, [gone])
    conn.execute("INSERT INTO audit (username, action, table_name, grid_code, county)"
                 " VALUES ('old', 'update', 'grids', %s, %s)", (gone + "001", gone))
    kept = partitions.archive(conn, gone)
    assert len(kept) == len(partitions.TABLES)
    assert all(name.startswith("archive_") for name in kept)
    assert not any(p["county"] == gone for p in partitions.partitions(conn))
    archived = next(name for name in kept if name.startswith(f"archive_audit_{gone}"))
    assert conn.execute(f"SELECT username FROM {archived}").fetchall() == [("old",)]  # noqa: S608
    with pytest.raises(errors.InsufficientPrivilege):
        with conn.transaction():
            conn.execute(f"DELETE FROM {archived}")  # noqa: S608


def test_a_county_with_grids_is_not_archived(conn):
    from layers.errors import Conflict

    _chain(conn, TOWN_A)
    with pytest.raises(Conflict, match=A):
        partitions.archive(conn, A)


# Public identifiers ----------------------------------------------------------------

def test_public_urls_resolve_on_the_partitioned_demo(client, demo_url):
    with psycopg.connect(demo_url) as conn:
        home, hcounty = conn.execute("SELECT id, tableoid::regclass::text FROM"
                                     " households ORDER BY id DESC LIMIT 1").fetchone()
        code, icounty = conn.execute("SELECT code, tableoid::regclass::text FROM"
                                     " incidents ORDER BY id DESC LIMIT 1").fetchone()
    assert hcounty != "households_default" and icounty != "incidents_default"
    r = client.get(f"/api/v1/households/{home}")
    assert r.status_code == 200 and r.get_json()["id"] == home
    r = client.get(f"/api/v1/incidents/{code}")
    assert r.status_code == 200 and r.get_json()["code"] == code
    assert client.get("/api/v1/households/999999999").status_code == 404


def test_gridgov_db_partitions_lists_and_makes_months(databases, tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    url = databases.new()
    with psycopg.connect(url, autocommit=True) as conn:
        _chain(conn, TOWN_A)
    env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)}
    result = CliRunner().invoke(main, ["db", "partitions", "--months-ahead", "4"],
                                env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    ahead = (dt.date.today().replace(day=1) + dt.timedelta(days=4 * 31)).replace(day=1)
    lines = result.output.splitlines()
    assert "track point months made" in lines[0]
    rows = [line.split("\t") for line in lines[2:]]
    assert any(r[:3] == ["track_points", f"track_points_{A}", A] for r in rows)
    assert any(r[:3] == ["audit", "audit_default", ""] for r in rows)
    with psycopg.connect(url) as conn:
        assert f"track_points_{A}_{ahead:%Y%m}" in _parts_of(conn, f"track_points_{A}")
    bad = CliRunner().invoke(main, ["db", "partitions", "--archive", A], env=env)
    assert bad.exit_code == 1 and A in bad.output


def test_the_daily_job_settles_default_and_makes_months(conn):
    from layers import jobs

    micro = _chain(conn, TOWN_A)
    conn.execute("INSERT INTO households (address, geom, grid_code, county) VALUES"
                 " ('甲路', ST_SetSRID(ST_MakePoint(119.705, 31.205), 4326), %s, %s)",
                 (micro, A))
    assert _where(conn, "households", "address", "甲路") == "households_default"
    done = partitions.daily(conn)
    assert f"households_{A}" in done["settled"]
    assert _where(conn, "households", "address", "甲路") == f"households_{A}"
    periodic = {t.task.name: t
                for t in jobs.app.periodic_registry.periodic_tasks.values()}
    assert periodic[jobs.PARTITIONS].cron == jobs.DAILY_PARTITIONS_CRON
