"""`gridgov demo --scale province`: a (tiny) province streamed county by county
into the database, located and assigned in on both counties, and a re-run that
resumes where a run stopped, without duplicates."""

import psycopg
import pytest
from click.testing import CliRunner

from geo.demo import Scale, province
from geo.demo.scales import SCALES
from layers import assign, users
from layers.access import SYSTEM
from tests.common import TINY_COUNTY
from web.cli import main

pytestmark = pytest.mark.db

TINY = Scale(**TINY_COUNTY)
ARGS = ["demo", "--scale", "province", "--seed", "3", "--as-of", "2026-11-01"]
_TABLES = ("grids", "households", "grid_staff", "cameras", "incidents",
           "incident_events", "tracks", "track_points")


@pytest.fixture()
def gridgov(tmp_path, monkeypatch):
    """`gridgov` with the province's counties tiny."""
    monkeypatch.setitem(SCALES, "province", TINY)

    def run(args, url, code=0):
        env = {"GRIDGOV_DATABASE_URL": url, "GRIDGOV_HOME": str(tmp_path)}
        result = CliRunner().invoke(main, args, env=env)
        assert result.exit_code == code, (result.output, result.exception)
        return result

    return run


def _counts(url):
    with psycopg.connect(url) as conn:
        counts = {t: conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                  for t in _TABLES}
        counties = conn.execute(
            "SELECT array_agg(DISTINCT left(code, 6) ORDER BY left(code, 6))"
            " FROM grids").fetchone()[0]
        listed = conn.execute(
            "SELECT value -> 'counties' FROM meta WHERE key = 'dataset'").fetchone()[0]
    return counts, counties, listed


def _fingerprint(url):
    """Every household and incident, in code order."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT (SELECT md5(string_agg(concat_ws('|', external_id, address,"
            "  grid_code, ST_AsEWKB(geom)), ',' ORDER BY external_id))"
            "  FROM households),"
            " (SELECT md5(string_agg(concat_ws('|', code, grid_code, created_at,"
            "  ST_AsEWKB(geom)), ',' ORDER BY code)) FROM incidents)").fetchone()


def test_two_counties_load_and_work(gridgov, databases):
    url = databases.new()
    result = gridgov([*ARGS, "--counties", "2"], url)
    # a bilingual line per county on stderr, then the summary and the accounts
    lines = result.stderr.splitlines()
    assert [line.split()[:3] for line in lines] == [["县", "1/2", "320121"],
                                                    ["县", "2/2", "320122"]]
    assert all("（county " in line and " households, " in line for line in lines)
    assert "本次载入 2 个县" in result.stdout and "admin" in result.stdout
    counts, counties, listed = _counts(url)
    assert counties == ["320121", "320122"] and listed == counties
    assert counts["grids"] == 2 * (1 + 2 + 3 + 6)

    with psycopg.connect(url) as conn:
        # every household is in its county's micro-grids
        wrong = conn.execute(
            "SELECT count(*) FROM households h JOIN grids g ON g.code = h.grid_code"
            " WHERE NOT ST_Intersects(g.geom, h.geom)").fetchone()[0]
        assert wrong == 0
        # ids that span counties: one household of each, by external id
        one = conn.execute(
            "SELECT DISTINCT ON (left(grid_code, 6)) grid_code, ST_X(geom), ST_Y(geom)"
            " FROM households ORDER BY left(grid_code, 6), external_id").fetchall()
        token = users.create_token(conn, SYSTEM, "admin", "tests")
        conn.commit()
        # assign: households taken out of their grids come back to them, in both
        with conn.transaction(force_rollback=True):
            conn.execute("CREATE TEMP TABLE was AS"
                         " SELECT id, grid_code FROM households")
            conn.execute("UPDATE households SET grid_code = NULL")
            assert assign.reassign(conn, "households") == counts["households"]
            moved = conn.execute("SELECT count(*) FROM households h JOIN was USING (id)"
                                 " WHERE h.grid_code IS DISTINCT FROM was.grid_code"
                                 ).fetchone()[0]
            assert moved == 0

    from web import create_app

    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "x" * 32,
                      "LOCATE_INDEX_BACKGROUND": False})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    assert [row[0][:6] for row in one] == ["320121", "320122"]
    for grid_code, lon, lat in one:
        body = client.get(f"/api/v1/locate?lon={lon}&lat={lat}").get_json()
        chain = [g["code"] for g in body["grids"]]
        assert chain[-1] == grid_code and len(chain) == 4
        assert all(c.startswith(grid_code[:6]) for c in chain)
        assert body["staff"]


def test_a_rerun_resumes_without_duplicates(gridgov, databases, monkeypatch):
    url = databases.new()
    made = province.county

    def second_fails(scale, seed, k, as_of):
        if k == 1:
            raise RuntimeError("the machine went down")
        return made(scale, seed, k, as_of)

    # the run stops in county 2: county 1 stays, whole and listed
    monkeypatch.setattr(province, "county", second_fails)
    result = gridgov([*ARGS, "--counties", "2"], url, code=1)
    assert isinstance(result.exception, RuntimeError)
    counts_1, counties, listed = _counts(url)
    assert counties == listed == ["320121"]

    # the same command again: county 1 skipped, county 2 loaded
    monkeypatch.setattr(province, "county", made)
    result = gridgov([*ARGS, "--counties", "2"], url)
    assert result.stderr.splitlines()[0].startswith("县 1/2 320121 ")
    assert "已载入，跳过（county 1/2 320121" in result.stderr
    assert "本次载入 1 个县，跳过已载入的 1 个" in result.stdout
    counts_2, counties, listed = _counts(url)
    assert counties == listed == ["320121", "320122"]

    # the same as an uninterrupted run: no row twice, none missing
    fresh = databases.new()
    gridgov([*ARGS, "--counties", "2"], fresh)
    assert _counts(fresh) == (counts_2, counties, listed)
    assert _fingerprint(fresh) == _fingerprint(url)

    # once more, with a third county and no --as-of: the province keeps its date
    again = gridgov([a for a in ARGS if a not in ("--as-of", "2026-11-01")]
                    + ["--counties", "3"], url)
    assert "as of 2026-11-01" in again.stdout
    counts_3, counties, listed = _counts(url)
    assert counties == listed == ["320121", "320122", "320123"]
    for table in _TABLES:
        assert counts_3[table] > counts_2[table] > counts_1[table] > 0, table

    # another seed is another province: it replaces this one
    gridgov(["demo", "--scale", "province", "--seed", "4", "--counties", "1"], url)
    assert _counts(url)[1] == ["320121"]


@pytest.mark.parametrize(("args", "said"), [
    (["demo", "--counties", "2"], "--counties 只用于 --scale province（--counties "
                                  "goes with --scale province only）"),
    (["demo", "--scale", "province", "--counties", "0"], "'--counties'"),
    (["demo", "--scale", "province", "--counties", "201"],
     "--counties 最多 200 个县（--counties is at most 200）"),
])
def test_counties_are_checked_before_the_database(gridgov, args, said):
    # no database behind this URL: the options are refused first
    result = gridgov(args, "postgresql://nobody@127.0.0.1:9/none", code=2)
    assert said in result.output
