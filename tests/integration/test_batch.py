"""Batch jobs on Dask (layers/batch.py): each job's output against the
in-process or SQL computation, row for row, on a real LocalCluster of two
worker processes, on the demo town and on a generated city of two towns.

The jobs commit: each test leaves the databases with right answers (the
in-process computation would give the same), so that the tests do not depend
on their order.
"""

import collections
import datetime as dt
import math

import dask_geopandas
import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from click.testing import CliRunner

from tests.conftest import DEMO_AS_OF, DEMO_SEED

pytestmark = pytest.mark.db

# the demo's patrols: the days before DEMO_AS_OF (2026-11-01)
MONTH = (dt.date(2026, 10, 1), dt.date(2026, 10, 31))


@pytest.fixture(scope="module")
def client():
    from web.cli_jobs import dask_client

    with dask_client(workers=2) as (c, n):
        assert n == 2
        yield c


def _loaded(databases, demo, scale):
    from layers import demo as demo_layer

    url = databases.new()
    with psycopg.connect(url) as c:
        demo_layer.load(c, demo, {"scale": scale, "seed": DEMO_SEED,
                                  "as_of": DEMO_AS_OF.isoformat()})
    return url


@pytest.fixture(scope="module")
def town_url(databases, demo_town):
    return _loaded(databases, demo_town, "town")


@pytest.fixture(scope="module")
def city_url(databases):
    from geo.demo import generate

    return _loaded(databases, generate("city", seed=DEMO_SEED, as_of=DEMO_AS_OF,
                                       towns=2), "city")


@pytest.fixture(params=["town", "city"])
def url(request):
    return request.getfixturevalue(f"{request.param}_url")


def _run(client, url, job, **options):
    from layers import batch

    return batch.run(client, url, job, 2, **options)


# The cut ---------------------------------------------------------------------------

def test_the_cut_goes_down_to_where_there_are_partitions_to_spread(town_url,
                                                                   city_url):
    from layers import batch

    with psycopg.connect(town_url) as conn:
        cut, parts = batch.partitions(conn, 2)
    # one county, one town: its 8 villages, then the rest
    assert cut.counts() == [(12, 8)]
    assert [p.prefix for p in parts[:-1]] == sorted(cut.prefixes, key=lambda p: (
        -dict(zip(cut.prefixes, cut.sizes, strict=True))[p], p))
    assert parts[-1].prefix is None and parts[-1].prefixes == cut.prefixes
    with psycopg.connect(city_url) as conn:
        # one county (320282) of two towns: by town for one worker (the larger
        # town, past half of the micro-grids, by village), by village for two
        assert batch.partitions(conn, 1)[0].counts()[0][0] == 9
        by_village = batch.partitions(conn, 2)[0].counts()
        assert len(by_village) == 1 and by_village[0][0] == 12 and by_village[0][1] > 8
        with pytest.raises(Exception, match="110101"):
            batch.partitions(conn, 2, counties=["110101"])


# Households ------------------------------------------------------------------------

# pairs of micro-grids of two different villages (two partitions) sharing a
# vertex: the vertex is on both borders
_SHARED_VERTICES = """
    SELECT DISTINCT ON (a.code, b.code) a.code, b.code, ST_X(v.geom), ST_Y(v.geom)
    FROM grids a
    JOIN grids b ON a.level = 4 AND b.level = 4 AND a.code < b.code
     AND left(a.code, 12) <> left(b.code, 12) AND a.geom && b.geom
    CROSS JOIN LATERAL ST_DumpPoints(a.geom) v
    WHERE ST_Intersects(v.geom, b.geom)
    ORDER BY a.code, b.code
    LIMIT 12
"""


def _lowest(conn, x, y):
    """The micro-grids holding the point, and the lowest of their codes."""
    codes = [r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE level = 4 AND ST_Intersects(geom,"
        " ST_SetSRID(ST_MakePoint(%s, %s), 4326))", (x, y))]
    return codes, min(codes)


def _border_households(conn):
    """Households put exactly on village borders, each given the higher of two
    codes; ``{id: (the lowest code holding it, the code given)}``."""
    found = {}
    for _, high, x, y in conn.execute(_SHARED_VERTICES).fetchall():
        codes, low = _lowest(conn, x, y)
        assert len({c[:12] for c in codes}) >= 2  # two partitions read it
        hid = conn.execute(
            "INSERT INTO households (address, geom, grid_code, county) VALUES"
            " ('界上 on a border', ST_SetSRID(ST_MakePoint(%s, %s), 4326), %s,"
            " left(%s, 6)) RETURNING id", (x, y, high, high)).fetchone()[0]
        found[hid] = (low, high)
    return found


def _scramble(conn):
    """Households in the wrong micro-grid, in none, or in a town's code; one
    outside every grid holding a code; some on borders."""
    conn.execute("UPDATE households SET grid_code = NULL WHERE id % 7 = 0")
    conn.execute("""
        WITH c AS (SELECT code, lead(code) OVER (ORDER BY code) AS other
                   FROM grids WHERE level = 4)
        UPDATE households h SET grid_code = c.other FROM c
        WHERE h.grid_code = c.code AND c.other IS NOT NULL AND h.id % 3 = 0""")
    conn.execute("UPDATE households SET grid_code = left(grid_code, 9)"
                 " WHERE id % 11 = 0 AND grid_code IS NOT NULL")
    conn.execute("""
        INSERT INTO households (address, geom, grid_code, county)
        SELECT '界外 outside', ST_SetSRID(ST_MakePoint(ST_XMax(e) + 0.01,
               ST_YMax(e) + 0.01), 4326), code, left(code, 6)
        FROM (SELECT ST_Extent(geom) AS e FROM grids) b,
             (SELECT min(code) AS code FROM grids WHERE level = 4) m""")
    return _border_households(conn)


def _codes(conn):
    return dict(conn.execute("SELECT id, grid_code FROM households").fetchall())


def _ownable(conn):
    """The households some partition must write: all but those in no micro-grid
    that hold no code (nothing to write for them)."""
    return {r[0] for r in conn.execute("""
        SELECT h.id FROM households h WHERE h.grid_code IS NOT NULL OR EXISTS (
            SELECT 1 FROM grids g WHERE g.level = 4 AND ST_Intersects(g.geom, h.geom))
    """)}


def test_households_are_assigned_as_the_sql_join_does(client, url):
    from layers.assign import reassign

    with psycopg.connect(url) as conn:
        border = _scramble(conn)
        conn.commit()
        before, ownable = _codes(conn), _ownable(conn)
        with conn.transaction(force_rollback=True):
            changed = reassign(conn, "households", "%")
            expected = _codes(conn)
    assert border and changed > 1000
    report = _run(client, url, "assign-households")
    with psycopg.connect(url) as conn:
        got = _codes(conn)
    assert got == expected
    assert report.total("written") == changed
    # a point exactly on a border between two partitions: the lowest code
    for hid, (low, high) in border.items():
        assert before[hid] == high != low == got[hid]
    # every household owned by one partition, none left out
    assert report.total("owned") == len(ownable)


def test_each_household_is_owned_by_one_partition(url):
    """In process, without writing: the ids each partition would write."""
    from layers import batch, batch_jobs

    with psycopg.connect(url, autocommit=True) as conn:
        border = _border_households(conn)
        _, parts = batch.partitions(conn, 2)
        owners = collections.defaultdict(list)
        codes, read = {}, 0
        for part in parts:
            ids, assigned, n = batch_jobs.owned_households(
                conn, part, {}, batch.Timer())
            read += n
            for hid, code in zip(ids.tolist(), assigned.tolist(), strict=True):
                owners[hid].append(part.label)
                codes[hid] = code
        everyone = _ownable(conn)
        conn.execute("DELETE FROM households WHERE id = ANY(%s)", (list(border),))
    assert set(owners) == everyone
    assert all(len(o) == 1 for o in owners.values())
    assert read > len(everyone)  # the neighbours' points near each border too
    for hid, (low, _) in border.items():
        assert codes[hid] == low and owners[hid] == [low[:12]]


def test_a_failed_partition_is_retried_alone_and_writes_nothing(client, town_url):
    from layers import batch, batch_jobs
    from layers.assign import reassign

    with psycopg.connect(town_url, autocommit=True) as conn:
        _scramble(conn)
        _, parts = batch.partitions(conn, 2)
        owned = {p.label: set(batch_jobs.owned_households(
            conn, p, {}, batch.Timer())[0].tolist()) for p in parts}
        victim = parts[0]
        bad = min(owned[victim.label])
        conn.execute("UPDATE households SET grid_code = NULL WHERE id = %s", (bad,))
        with conn.transaction(force_rollback=True):
            reassign(conn, "households", "%")
            right = _codes(conn)
        conn.execute("CREATE SEQUENCE batch_attempts")
        conn.execute("""
            CREATE FUNCTION batch_fail() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                PERFORM nextval('batch_attempts');
                RAISE EXCEPTION 'injected failure';
            END $$""")
        conn.execute("CREATE TRIGGER batch_fail BEFORE UPDATE ON households"
                     f" FOR EACH ROW WHEN (OLD.id = {int(bad)})"
                     " EXECUTE FUNCTION batch_fail()")
        before = _codes(conn)
    with pytest.raises(Exception, match="injected failure"):
        _run(client, town_url, "assign-households")
    with psycopg.connect(town_url, autocommit=True) as conn:
        after = _codes(conn)
        attempts = conn.execute("SELECT last_value FROM batch_attempts").fetchone()[0]
        conn.execute("DROP TRIGGER batch_fail ON households")
        conn.execute("DROP FUNCTION batch_fail()")
        conn.execute("DROP SEQUENCE batch_attempts")
    assert attempts == 3  # the first run and two retries, of that partition alone
    assert all(after[h] == before[h] for h in owned[victim.label])
    assert any(before[h] != right[h] for h in owned[victim.label])
    for label, ids in owned.items():  # each partition whole or untouched
        fixed = [after[h] == right[h] for h in ids if before[h] != right[h]]
        assert all(fixed) or not any(fixed), label
    _run(client, town_url, "assign-households")  # leave it right
    with psycopg.connect(town_url) as conn:
        assert _codes(conn) == right


# GPS track points -------------------------------------------------------------------

def test_track_points_are_assigned_as_in_one_process(client, url, tmp_path):
    from geo.assign import assign_codes

    with psycopg.connect(url) as conn:
        # a patrol's point exactly on a border between two villages
        _, high, x, y = conn.execute(_SHARED_VERTICES).fetchone()
        low = _lowest(conn, x, y)[1]
        track = conn.execute("SELECT id FROM tracks ORDER BY id LIMIT 1").fetchone()[0]
        conn.execute("INSERT INTO track_points (track_id, county, day, seq, at,"
                     " geom) SELECT %s, min(county), min(day), max(seq) + 1, max(at),"
                     " ST_SetSRID(ST_MakePoint(%s, %s), 4326) FROM track_points"
                     " WHERE track_id = %s", (track, x, y, track))
        conn.commit()
        grids = conn.execute("SELECT code, ST_AsBinary(geom) FROM grids"
                             " WHERE level = 4 ORDER BY code COLLATE \"C\"").fetchall()
        points = conn.execute("SELECT track_id, seq, ST_X(geom), ST_Y(geom)"
                              " FROM track_points ORDER BY track_id, seq").fetchall()
    keys = np.array([(t, s) for t, s, _, _ in points])
    xy = np.array([(a, b) for _, _, a, b in points])
    expected = assign_codes(shapely.points(xy), shapely.from_wkb(
        [bytes(w) for _, w in grids]), [c for c, _ in grids])
    report = _run(client, url, "assign-points", output=tmp_path / "points")
    assert report.output == str(tmp_path / "points")
    # one dataset, a partition per file, as dask-geopandas reads it
    frame = dask_geopandas.read_parquet(report.output)
    assert frame.npartitions == len(report.partitions)
    got = frame.compute().sort_values(["track_id", "seq"])
    assert len(got) == len(points) > 1000  # each point once
    assert (got[["track_id", "seq"]].to_numpy() == keys).all()
    assert (shapely.get_coordinates(got.geometry.values) == xy).all()
    codes = got["grid_code"].astype(object).where(got["grid_code"].notna(), None)
    assert codes.tolist() == expected.tolist()
    on_border = got[(got.track_id == track)].iloc[-1]
    assert on_border["grid_code"] == low != high


# The heatmap's cube -------------------------------------------------------------------

_CELLS = "SELECT category, day, grid_code, ix, iy, n FROM incident_cells"


def _cells(conn):
    return sorted(conn.execute(_CELLS).fetchall())


def test_the_heatmap_cube_is_counted_as_the_sql_refresh_does(client, url):
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT incident_cells_refresh()")
        expected = _cells(conn)
        # wrong counts, a lost cell and a stray one: the job must rebuild them
        conn.execute("UPDATE incident_cells SET n = n + 1 WHERE ix % 2 = 0")
        conn.execute("DELETE FROM incident_cells WHERE iy % 5 = 0")
        conn.execute("INSERT INTO incident_cells SELECT category, day, grid_code,"
                     " ix + 100000, iy, 3 FROM incident_cells LIMIT 1")
        generation = conn.execute(
            "SELECT generation FROM incident_cells_state").fetchone()[0]
    assert len(expected) > 500
    _run(client, url, "heatmap-cube")
    with psycopg.connect(url) as conn:
        assert _cells(conn) == expected
        state = conn.execute("SELECT generation, log_from FROM incident_cells_state"
                             ).fetchone()
    assert state[0] > generation and state[1] == state[0]  # copies reload


def test_changes_made_while_a_partition_ran_are_kept(url):
    """An incident that the triggers count between a partition's read and its
    write is counted once (the partition adds the logged change); after a
    change they did not log (a bulk load), the partition is counted again."""
    from layers import batch, batch_jobs

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT incident_cells_refresh()")
        _, parts = batch.partitions(conn, 2)
        options = batch.prepare(conn, "heatmap-cube")
        part = parts[0]
        since, cells, _ = batch_jobs.count_cells(conn, part, options, batch.Timer())
        conn.execute("""
            INSERT INTO incidents (code, category, source, grid_code, county,
                                   geom, created_at)
            SELECT 'BATCH-LATE', category, source, grid_code, county, geom,
                   created_at + interval '1 day'
            FROM incidents WHERE grid_code LIKE %s ORDER BY id LIMIT 1""",
                     (part.prefix + "%",))
        batch_jobs.write_cells(conn, part, options, since, cells)
        got = _cells(conn)
        conn.execute("SELECT incident_cells_refresh()")
        assert got == _cells(conn)
        since, cells, _ = batch_jobs.count_cells(conn, part, options, batch.Timer())
        conn.execute("SELECT incident_cells_unlogged()")
        with pytest.raises(batch.Stale):
            batch_jobs.write_cells(conn, part, options, since, cells)
        conn.execute("DELETE FROM incidents WHERE code = 'BATCH-LATE'")
        conn.execute("SELECT incident_cells_refresh()")


# Patrol coverage --------------------------------------------------------------------

def test_patrol_coverage_is_the_workers_summary(client, url, tmp_path):
    from layers import tracks
    from layers.access import SYSTEM

    first, last = MONTH
    report = _run(client, url, "patrol-coverage", month=MONTH,
                  output=tmp_path / "cover.csv")
    got = pd.read_csv(report.output, dtype={"grid_code": str, "not_visited": str})
    with psycopg.connect(url) as conn:
        active = {r[0] for r in conn.execute(
            "SELECT id FROM grid_staff WHERE active")}
        walked = {r[0] for r in conn.execute(
            "SELECT DISTINCT staff_id FROM tracks WHERE day BETWEEN %s AND %s",
            (first, last))}
        assert set(got.staff_id) == active | walked and len(walked) >= 3
        for row in got[got.staff_id.isin(walked) & (got.own > 0)].itertuples():
            cover = tracks.summary(conn, SYSTEM, int(row.staff_id), first, last,
                                   lines=False)["coverage"]
            assert (row.own, row.visited) == (cover["own"], cover["visited"])
            missed = row.not_visited if isinstance(row.not_visited, str) else ""
            assert missed.split() == cover["not_visited"]
            assert math.isclose(row.share, cover["visited"] / cover["own"],
                                rel_tol=1e-9)
    assert got[got.staff_id.isin(walked)].visited.sum() > 0
    idle = got[~got.staff_id.isin(walked) & (got.own > 0)]
    assert (idle.visited == 0).all() and (idle.share == 0).all()


# Camera coverage --------------------------------------------------------------------

_LEAVES = ("SELECT code, area_m2, covered_m2, households, covered_households,"
           " coalesce(ST_Area(blind::geography), 0) FROM coverage_leaf ORDER BY code")


def test_camera_coverage_is_the_refresh_per_leaf(client, town_url):
    from layers import coverage

    with psycopg.connect(town_url, autocommit=True) as conn:
        conn.execute("DELETE FROM coverage_leaf")
    report = _run(client, town_url, "camera-coverage")
    with psycopg.connect(town_url, autocommit=True) as conn:
        got = conn.execute(_LEAVES).fetchall()
        conn.execute("DELETE FROM coverage_leaf")
        assert coverage.refresh(conn, None) == len(got) == report.total("rows")
        expected = conn.execute(_LEAVES).fetchall()
    assert [r[0] for r in got] == [r[0] for r in expected] and len(got) >= 91
    for a, b in zip(got, expected, strict=True):
        assert a[3:5] == b[3:5], a[0]
        for x, y in zip(a[1:3] + a[5:], b[1:3] + b[5:], strict=True):
            assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-6), a[0]
    assert sum(r[4] for r in got) > 0


# The command line -------------------------------------------------------------------

def test_the_command_runs_a_job_and_says_so(town_url):
    from web.cli import main

    result = CliRunner().invoke(
        main, ["jobs", "run", "heatmap-cube", "--workers", "2"],
        env={"GRIDGOV_DATABASE_URL": town_url}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "本机 Dask 集群：2 个工作进程（local Dask cluster: 2 worker processes）" \
        in result.output
    assert "9 个分区：按村社区（12 位）8 个" in result.output
    assert "heatmap-cube 完成：9 个分区" in result.output


@pytest.mark.parametrize(("args", "field"), [
    (["patrol-coverage"], "--month YYYY-MM"),
    (["patrol-coverage", "--month", "2026-13"], "--month"),
    (["heatmap-cube", "--county", "32028"], "32028"),
    (["heatmap-cube", "--workers", "0"], "--workers"),
    (["no-such-job"], "no-such-job"),
])
def test_bad_options_are_refused_before_any_work(args, field):
    from web.cli import main

    result = CliRunner().invoke(main, ["jobs", "run", *args],
                                env={"GRIDGOV_DATABASE_URL": "postgresql:///none"})
    assert result.exit_code in (1, 2), result.output
    assert field in result.output
    assert "Traceback" not in result.output
