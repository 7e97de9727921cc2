"""The demo town in the database, the guard that keeps real data safe, and
`gridgov demo`: the same seed and --as-of give the same data, and without --as-of
it reaches today (China time)."""

import datetime as dt
import re

import psycopg
import pytest

from layers import demo, stats
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


# --- `gridgov demo`: reproducible from (seed, --as-of), up to today by default -----

_TABLES = ("grids", "households", "grid_staff", "cameras", "incidents",
           "incident_events", "tracks", "track_points")
# every column of every incident, in code order (geometry as EWKB)
_INCIDENTS_MD5 = (
    "SELECT md5(string_agg(concat_ws('|', code, category, subtype, source, reporter,"
    " description, grid_code, status, escalation_level, created_at, deadline,"
    " closed_at, outcome, satisfaction, encode(ST_AsEWKB(geom), 'hex')), ','"
    " ORDER BY code)) FROM incidents")


def _gridgov(args, url, home):
    from click.testing import CliRunner

    from web.cli import main

    env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(home), "TZ": "UTC"}
    result = CliRunner().invoke(main, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


def _fingerprint(url):
    with psycopg.connect(url) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in _TABLES}
        return counts, conn.execute(_INCIDENTS_MD5).fetchone()[0]


def _last_incident_day(url):
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT (max(created_at) AT TIME ZONE 'Asia/Shanghai')"
                            "::date FROM incidents").fetchone()[0]


def test_the_same_seed_and_as_of_give_the_same_data(databases, tmp_path):
    url = databases.new()
    said = _gridgov(["demo", "--seed", "2", "--as-of", "2026-06-15"], url, tmp_path)
    # the date used is printed, with the command that makes the same data again
    assert "as of 2026-06-15" in said
    assert "gridgov demo --scale town --seed 2 --as-of 2026-06-15" in said
    first = _fingerprint(url)
    assert first[0]["incidents"] == 1230 and first[0]["grids"] == 125
    _gridgov(["demo", "--seed", "2", "--as-of", "2026-06-15"], url, tmp_path)
    assert _fingerprint(url) == first
    # the year ends at midnight starting --as-of: the last incident the day before
    assert dt.date(2026, 6, 13) <= _last_incident_day(url) <= dt.date(2026, 6, 14)


def test_without_as_of_the_demo_reaches_today(databases, tmp_path):
    url = databases.new()
    before = stats.today()
    said = _gridgov(["demo", "--seed", "2"], url, tmp_path)
    after = stats.today()  # the same day unless China's midnight passed meanwhile
    as_of = dt.date.fromisoformat(re.search(r"as of (\d{4}-\d\d-\d\d)", said)[1])
    assert as_of in (before, after)
    assert as_of - dt.timedelta(days=2) <= _last_incident_day(url) < as_of
    with psycopg.connect(url) as conn:
        assert demo.dataset(conn)["as_of"] == as_of.isoformat()


def test_up_says_how_to_renew_a_demo_that_ends_before_this_month(capsys):
    from web.cli import _warn_of_an_old_demo

    _warn_of_an_old_demo({"kind": "demo", "seed": 4, "as_of": "2020-01-01"})
    said = capsys.readouterr().err
    assert "2019-12-31" in said and "gridgov demo --seed 4" in said
    _warn_of_an_old_demo({"kind": "demo", "seed": 4,
                          "as_of": stats.today().isoformat()})
    _warn_of_an_old_demo({"kind": "import"})
    assert capsys.readouterr().err == ""
