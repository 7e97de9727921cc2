"""The schema: migrations, and the constraints the database itself enforces."""

import re

import psycopg
import pytest
from psycopg import errors

from geo import vocab
from layers import db
from tests.common import BOWTIE, INNER, SQUARE

pytestmark = pytest.mark.db

TOWN, VILLAGE, GRID3, MICRO = "320282105", "320282105001", "320282105001001", \
    "320282105001001001"


def _grid(conn, code, level, parent, geom=SQUARE, srid=4326):
    conn.execute(
        "INSERT INTO grids (code, name, level, parent_code, geom)"
        " VALUES (%s, %s, %s, %s, ST_GeomFromText(%s, %s))",
        (code, f"网格{code}", level, parent, geom, srid),
    )


def test_migrate_from_empty_then_again_is_a_no_op(databases):
    url = databases.new(migrated=False)
    with psycopg.connect(url) as conn:
        every = [version for version, _ in db.migrations()]
        assert every[:2] == ["0001_schema", "0002_accounts"]
        assert db.pending(conn) == every
        # the job queue's schema (procrastinate's own) comes with the last one
        assert db.migrate(conn) == [*every, db.QUEUE_SCHEMA]
        assert db.migrate(conn) == []
        assert db.pending(conn) == []
        assert db.is_postgis(conn)
        tables = {r[0] for r in conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    assert {"grids", "grid_history", "grid_staff", "households", "cameras",
            "incidents", "incident_events", "tracks", "track_points", "imports",
            "audit", "schema_migrations", "users", "api_tokens",
            "login_attempts", "webhooks", "webhook_deliveries",
            "procrastinate_jobs", "procrastinate_periodic_defers"} <= tables


def test_a_level_4_grid_under_a_level_2_parent_is_refused(conn):
    _grid(conn, TOWN, 1, None)
    _grid(conn, VILLAGE, 2, TOWN, INNER)
    match = "level 4 cannot be a child of level-2"
    with pytest.raises(errors.CheckViolation, match=match):
        with conn.transaction():
            _grid(conn, VILLAGE + "001", 4, VILLAGE, INNER)


def test_a_child_code_must_start_with_its_parents(conn):
    _grid(conn, TOWN, 1, None)
    match = "must start with its parent's code"
    with pytest.raises(errors.CheckViolation, match=match):
        with conn.transaction():
            _grid(conn, "320282999001", 2, TOWN, INNER)


@pytest.mark.parametrize(
    ("code", "level"),
    [("32028210", 1), ("3202821050011", 2), ("32028210500100A", 3)],
)
def test_codes_follow_gbt31000_lengths(conn, code, level):
    with pytest.raises(errors.CheckViolation, match="grids_code_format"):
        _grid(conn, code, level, None)


def test_an_invalid_polygon_is_refused(conn):
    with pytest.raises(errors.CheckViolation, match="grids_geom_valid"):
        _grid(conn, TOWN, 1, None, BOWTIE)


def test_a_geometry_in_another_srid_is_refused(conn):
    with pytest.raises(psycopg.DataError, match="SRID"):
        _grid(conn, TOWN, 1, None, SQUARE, srid=3857)


def test_a_changed_boundary_is_kept_in_history(conn):
    _grid(conn, TOWN, 1, None)
    conn.execute("UPDATE grids SET geom = ST_GeomFromText(%s, 4326) WHERE code = %s",
                 (INNER, TOWN))
    version = conn.execute("SELECT version FROM grids WHERE code = %s",
                           (TOWN,)).fetchone()[0]
    old = conn.execute(
        "SELECT version, ST_AsText(geom), valid_to IS NOT NULL FROM grid_history"
        " WHERE code = %s", (TOWN,)).fetchall()
    assert version == 2
    assert len(old) == 1 and old[0][0] == 1 and old[0][2]
    assert old[0][1].startswith("MULTIPOLYGON(((119.7 31.2")


def test_grid_codes_cannot_change(conn):
    _grid(conn, TOWN, 1, None)
    with pytest.raises(errors.CheckViolation, match="grid codes cannot change"):
        conn.execute("UPDATE grids SET code = '320282106' WHERE code = %s", (TOWN,))


def test_audit_rows_cannot_be_changed(conn):
    conn.execute("INSERT INTO audit (username, action, table_name) VALUES"
                 " ('planner1', 'update', 'grids')")
    with pytest.raises(errors.InsufficientPrivilege, match="cannot be changed"):
        with conn.transaction():
            conn.execute("UPDATE audit SET username = 'someone else'")
    with pytest.raises(errors.InsufficientPrivilege):
        conn.execute("DELETE FROM audit")


def test_a_fixed_camera_needs_a_bearing(conn):
    with pytest.raises(errors.CheckViolation, match="cameras_bearing_needed"):
        conn.execute(
            "INSERT INTO cameras (code, name, kind, fov_deg, range_m, owner, geom)"
            " VALUES ('C1', '村口枪机', 'fixed', 60, 50, 'police',"
            " ST_SetSRID(ST_MakePoint(119.7, 31.2), 4326))")


@pytest.mark.parametrize(
    ("table", "column", "codes"),
    [
        ("grid_staff", "role", vocab.STAFF_ROLES),
        ("cameras", "kind", vocab.CAMERA_KINDS),
        ("cameras", "owner", vocab.CAMERA_OWNERS),
        ("cameras", "status", vocab.CAMERA_STATUSES),
        ("incidents", "category", vocab.INCIDENT_CATEGORIES),
        ("incidents", "source", vocab.INCIDENT_SOURCES),
        ("incidents", "status", vocab.INCIDENT_STATUSES),
        ("incidents", "outcome", vocab.INCIDENT_OUTCOMES),
    ],
)
def test_check_constraints_list_the_vocabulary(conn, table, column, codes):
    defs = [r[0] for r in conn.execute(
        "SELECT pg_get_constraintdef(oid) FROM pg_constraint"
        " WHERE conrelid = %s::regclass AND contype = 'c'", (table,))]
    (definition,) = [d for d in defs if re.match(rf"CHECK \(\({column} = ANY", d)]
    assert set(re.findall(r"'([a-z_]+)'::text", definition)) == set(codes)
