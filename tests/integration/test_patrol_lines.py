"""A phone patrol's line (``layers/patrols.py``): extended batch after batch when
the batches come in time order, rebuilt when a late one falls among its points,
and always the points in time order. Real PostGIS, a writable demo town."""

import datetime as dt
import uuid

import psycopg
import pytest
from pyproj import Geod

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

CHINA = dt.timezone(dt.timedelta(hours=8))


@pytest.fixture(scope="module")
def town(databases, demo_town):
    return writable_demo(databases, demo_town)


def _walk(n, start):
    """``n`` fixes 10 m apart going north-east, one every 5 s (no two alike)."""
    geod, lon, lat, points = Geod(ellps="WGS84"), 119.70, 31.30, []
    for i in range(n):
        points.append({"lon": lon, "lat": lat, "accuracy_m": 5,
                       "time": (start + dt.timedelta(seconds=5 * i)).isoformat()})
        lon, lat, _ = geod.fwd(lon, lat, 45 + (i % 3) * 20, 10)
    return points


def _line(town, patrol):
    with psycopg.connect(town.url) as c:
        return c.execute(
            "SELECT array_agg(ARRAY[ST_X(d.geom), ST_Y(d.geom)] ORDER BY d.path),"
            " t.last_at FROM tracks t, ST_DumpPoints(t.geom) d"
            " WHERE t.patrol_id = %s GROUP BY t.id", (patrol,)).fetchone()


@pytest.mark.parametrize("order", [
    [0, 1, 2, 3],   # in time order: each batch extends the line
    [0, 2, 1, 3],   # the second comes late: rebuilt, then extended again
    [3, 2, 1, 0],   # every batch late
])
def test_the_line_is_the_points_in_time_order_whatever_the_batches_order(
        town, order):
    points = _walk(40, dt.datetime(2026, 12, 2, 9, tzinfo=CHINA))
    batches = [points[i:i + 10] for i in range(0, 40, 10)]
    patrol, worker = str(uuid.uuid4()), town.client("worker")
    for i in order:
        r = worker.post("/api/v1/patrols/points",
                        json={"patrol_id": patrol, "points": batches[i]})
        assert r.status_code == 201, r.get_json()
    line, last_at = _line(town, patrol)
    flat = [v for xy in line for v in xy]
    assert flat == pytest.approx([v for p in points for v in (p["lon"], p["lat"])],
                                 abs=1e-9)
    assert last_at == dt.datetime.fromisoformat(points[-1]["time"])
