"""Patrol tracks through the API: a GPX walk stored, summarised, covered."""

import datetime as dt

import gpxpy.gpx
import numpy as np
import psycopg
import pytest
import shapely
from pyproj import Geod

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

START = dt.datetime(2026, 10, 20, 1, 0, tzinfo=dt.UTC)  # 09:00 in China


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def _walk(demo_town, parent):
    """A straight walk from one micro-grid of ``parent`` to a neighbour, one point
    every 10 s at 1.25 m/s, and one GPS jump 50 km away in the middle."""
    micro = demo_town.grids[demo_town.grids.parent_code == parent]
    a, b = micro.iloc[0], micro.iloc[1]
    pa, pb = a.geometry.representative_point(), b.geometry.representative_point()
    geod = Geod(ellps="WGS84")
    _, _, length = geod.inv(pa.x, pa.y, pb.x, pb.y)
    n = int(length / 12.5) + 1
    lons, lats = np.linspace(pa.x, pb.x, n), np.linspace(pa.y, pb.y, n)
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack()
    gpx.tracks.append(track)
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    for i, (x, y) in enumerate(zip(lons, lats, strict=True)):
        if i == n // 2:  # one fix 50 km off, one second after the previous one
            segment.points.append(gpxpy.gpx.GPXTrackPoint(
                y + 0.45, x, time=START + dt.timedelta(seconds=10 * i - 9)))
        segment.points.append(gpxpy.gpx.GPXTrackPoint(
            y, x, time=START + dt.timedelta(seconds=10 * i)))
    # known answer: the sum of the geodesic steps (pyproj), without the jump
    _, _, steps = geod.inv(lons[:-1], lats[:-1], lons[1:], lats[1:])
    return gpx.to_xml().encode(), a.code, b.code, float(steps.sum()), n


def _staff_of(rw, grid_code, role):
    with psycopg.connect(rw.url) as conn:
        return conn.execute("SELECT id FROM grid_staff WHERE grid_code = %s"
                            " AND role = %s ORDER BY id LIMIT 1",
                            (grid_code, role)).fetchone()[0]


def test_a_walk_is_stored_summarised_and_covered(rw, demo_town):
    parent = "320282105001001"  # the demo worker's comprehensive grid
    data, a, b, metres, n = _walk(demo_town, parent)
    staff = _staff_of(rw, parent, "full_time")
    r = rw.client("worker").post(f"/api/v1/tracks?staff={staff}",
                                 data={"file": (__import__("io").BytesIO(data),
                                                "walk.gpx")})
    assert r.status_code == 200, r.get_json()
    saved = r.get_json()
    assert saved == {"tracks": 1, "points": n, "dropped": {"speed": 1}}
    r = rw.client("leader").get(
        f"/api/v1/tracks/summary?staff={staff}&from=2026-10-20&to=2026-10-26")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    (day,) = body["days"]
    assert day["day"] == "2026-10-20"
    assert day["distance_m"] == pytest.approx(metres, rel=0.002)
    assert day["duration_s"] == 10 * (n - 1)
    assert day["entered"][0] == a and day["entered"][-1] == b
    own = sorted(demo_town.grids[demo_town.grids.parent_code == parent].code)
    assert body["coverage"]["own"] == len(own)
    visited = set(day["entered"]) & set(own)
    assert body["coverage"]["share"] == pytest.approx(len(visited) / len(own),
                                                      abs=0.001)
    assert sorted(body["coverage"]["not_visited"]) == sorted(set(own) - visited)
    track = shapely.geometry.shape(body["tracks"]["features"][0]["geometry"])
    assert track.geom_type == "MultiLineString"


def test_tracks_stay_in_the_jurisdiction(rw, demo_town):
    far = demo_town.grids[demo_town.grids.level == 3].code.iloc[-1]
    staff = _staff_of(rw, far, "full_time")
    data, *_ = _walk(demo_town, "320282105001001")
    r = rw.client("worker").post(f"/api/v1/tracks?staff={staff}",
                                 data={"file": (__import__("io").BytesIO(data),
                                                "walk.gpx")})
    assert r.status_code == 404  # another village's worker: not yours
    assert rw.client("viewer").get(f"/api/v1/tracks/summary?staff={staff}"
                                   ).status_code == 403
    bad = rw.client("leader").get(f"/api/v1/tracks/summary?staff={staff}&from=x")
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] == "from"
