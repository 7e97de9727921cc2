"""The demo town in the database, and the guard that keeps real data safe."""

import psycopg
import pytest

from layers import demo
from layers.errors import Conflict

pytestmark = pytest.mark.db


def test_demo_counts_in_the_database(demo_url):
    with psycopg.connect(demo_url) as conn:
        levels = dict(conn.execute(
            "SELECT level, count(*) FROM grids GROUP BY level").fetchall())
        households = conn.execute("SELECT count(*) FROM households").fetchone()[0]
        cameras = conn.execute("SELECT count(*) FROM cameras").fetchone()[0]
        roles = dict(conn.execute(
            "SELECT role, count(*) FROM grid_staff GROUP BY role").fetchall())
        unassigned = conn.execute(
            "SELECT count(*) FROM households WHERE grid_code IS NULL").fetchone()[0]
        events = conn.execute(
            "SELECT count(DISTINCT incident_id) = (SELECT count(*) FROM incidents)"
            " FROM incident_events").fetchone()[0]
    assert levels == {1: 1, 2: 8, 3: 25, 4: 91}
    assert 4550 <= households <= 9100
    assert unassigned == 0
    assert cameras == 472
    assert roles["full_time"] == 25
    assert roles["liaison"] == 91
    assert roles["volunteer"] == 273
    assert events  # every incident has its history


def test_households_lie_in_the_micro_grid_they_name(demo_url):
    with psycopg.connect(demo_url) as conn:
        wrong = conn.execute(
            "SELECT count(*) FROM households h JOIN grids g ON g.code = h.grid_code"
            " WHERE NOT ST_Intersects(g.geom, h.geom)").fetchone()[0]
    assert wrong == 0


def test_loading_over_data_that_is_not_a_demo_is_refused(conn, demo_town):
    conn.execute(
        "INSERT INTO grids (code, name, level, geom) VALUES ('320282106', '真实镇', 1,"
        " ST_Multi(ST_Buffer(ST_SetSRID(ST_MakePoint(119.7, 31.2), 4326), 0.01)))")
    with pytest.raises(Conflict, match="not a generated demo"):
        demo.load(conn, demo_town, {"scale": "town", "seed": 1})
    still = conn.execute("SELECT name FROM grids").fetchall()
    assert still == [("真实镇",)]
