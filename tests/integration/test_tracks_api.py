"""Patrol tracks through the API: a GPX walk stored, summarised, covered."""

import datetime as dt
import io
import itertools
from types import SimpleNamespace
from urllib.parse import urlencode

import gpxpy.gpx
import numpy as np
import psycopg
import pytest
import shapely
from pyproj import Geod, Transformer

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


# --- GET /api/v1/tracks: the cleaned legs as GeoJSON ------------------------------
#
# Hand-made walks in the CGCS2000 GK zone of the demo (EPSG:4549, CM 120°E, the
# town ~24 km west of it: scale 1 + 7e-6, 7 mm per km), one fix every 10 s at
# 1 m/s, for a worker without demo tracks:
#   2026-10-12  300 m straight, inside one micro-grid: 31 fixes → 2 vertices
#   2026-10-13  600 m straight inside one micro-grid with one fix 50 km off, stored
#               as is (as by another loader): the read drops it, draws 600 m
#   2026-10-14  along the shared boundary of two micro-grids, 10 m steps

GK = "EPSG:4549"


def _worker_without_tracks(rw, demo_town):
    """The full-time worker of the 4th comprehensive grid (no demo tracks: they
    are the first three grids' and the last one's), and its micro-grids in GK."""
    level3 = sorted(demo_town.grids[demo_town.grids.level == 3].code)[3]
    micro = demo_town.grids[demo_town.grids.parent_code == level3].to_crs(GK)
    return _staff_of(rw, level3, "full_time"), level3, micro


def _straight_inside(micro, length):
    """A micro-grid and a straight east-west or north-south segment of ``length``
    metres lying 10 m or more inside it."""
    for row in micro.sort_values("code").itertuples():
        c = row.geometry.representative_point()
        for dx, dy in ((length / 2, 0), (0, length / 2)):
            seg = shapely.LineString([(c.x - dx, c.y - dy), (c.x + dx, c.y + dy)])
            if row.geometry.buffer(-10).contains(seg):
                return row.code, seg
    raise AssertionError("no micro-grid holds a straight walk")


def _lonlat(xy):
    lon, lat = Transformer.from_crs(GK, "EPSG:4326", always_xy=True).transform(
        xy[:, 0], xy[:, 1])
    return np.c_[lon, lat]


def _gpx(lonlat, start):
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack()
    gpx.tracks.append(track)
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    for i, (x, y) in enumerate(lonlat):
        segment.points.append(gpxpy.gpx.GPXTrackPoint(
            y, x, time=start + dt.timedelta(seconds=10 * i)))
    return gpx.to_xml().encode()


def _post(rw, staff, data, name):
    r = rw.client("admin").post(
        f"/api/v1/tracks?staff={staff}", data={"file": (io.BytesIO(data), name)})
    assert r.status_code == 200, r.get_json()
    return r.get_json()


def _insert_raw(url, staff, day, lonlat, times):
    """A track stored without cleaning, as another loader might store it."""
    with psycopg.connect(url) as conn:
        track, county = conn.execute(
            "INSERT INTO tracks (staff_id, day, name, geom, county) VALUES (%s, %s,"
            " 'raw', ST_Multi(ST_GeomFromText(%s, 4326)), (SELECT county_of(grid_code)"
            " FROM grid_staff WHERE id = %s)) RETURNING id, county",
            (staff, day, shapely.LineString(lonlat).wkt, staff)).fetchone()
        for seq, ((x, y), at) in enumerate(zip(lonlat, times, strict=True)):
            conn.execute(
                "INSERT INTO track_points (track_id, county, day, seq, at, geom)"
                " VALUES (%s, %s, %s, %s, %s, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                (track, county, day, seq, at, float(x), float(y)))


@pytest.fixture(scope="module")
def walks(rw, demo_town):
    staff, level3, micro = _worker_without_tracks(rw, demo_town)
    # 1. 300 m straight inside one micro-grid (31 fixes, 10 m apart)
    inside, seg = _straight_inside(micro, 300)
    xy = np.linspace(seg.coords[0], seg.coords[1], 31)
    day1 = dt.datetime(2026, 10, 12, 1, 0, tzinfo=dt.UTC)
    assert _post(rw, staff, _gpx(_lonlat(xy), day1), "inside.gpx")["tracks"] == 1
    # 2. 600 m straight, the 31st of 61 fixes 0.45° (50 km) north, stored raw
    jump_grid, seg = _straight_inside(micro, 600)
    xy = np.linspace(seg.coords[0], seg.coords[1], 61)
    lonlat = _lonlat(xy)
    lonlat[30, 1] += 0.45
    day2 = dt.datetime(2026, 10, 13, 1, 0, tzinfo=dt.UTC)
    _insert_raw(rw.url, staff, dt.date(2026, 10, 13), lonlat,
                [day2 + dt.timedelta(seconds=10 * i) for i in range(61)])
    # 3. along the longest shared boundary of two of the worker's micro-grids,
    #    up to 400 m of it, a fix every 10 m of boundary
    best = None
    for a, b in itertools.combinations(micro.itertuples(), 2):
        shared = shapely.line_merge(a.geometry.boundary.intersection(
            b.geometry.boundary))
        for piece in getattr(shared, "geoms", [shared]):
            if piece.geom_type == "LineString" and (
                    best is None or piece.length > best[2].length):
                best = (a.code, b.code, piece)
    a, b, edge = best
    assert edge.length > 150, edge.length
    along = np.arange(0.0, min(edge.length, 400.0), 10.0)
    xy = shapely.get_coordinates(shapely.line_interpolate_point(edge, along))
    boundary = _lonlat(xy)
    day3 = dt.datetime(2026, 10, 14, 1, 0, tzinfo=dt.UTC)
    _post(rw, staff, _gpx(boundary, day3), "boundary.gpx")
    # known answer of walk 3: the geodesic steps between the fixes (pyproj)
    _, _, steps = Geod(ellps="WGS84").inv(boundary[:-1, 0], boundary[:-1, 1],
                                          boundary[1:, 0], boundary[1:, 1])
    return SimpleNamespace(staff=staff, level3=level3, micro=micro, inside=inside,
                           jump_grid=jump_grid, edge=(a, b), edge_m=steps.sum(),
                           edge_fixes=len(along))


def _get(client, **params):
    r = client.get("/api/v1/tracks?" + urlencode(params))
    return r.status_code, r.get_json()


def test_hand_made_walks_as_geojson(rw, walks):
    status, fc = _get(rw.client("leader"), worker=walks.staff,
                      **{"from": "2026-10-12", "to": "2026-10-14"})
    assert status == 200, fc
    assert fc["type"] == "FeatureCollection"
    assert fc["worker"]["id"] == walks.staff and fc["worker"]["grid_code"] == \
        walks.level3
    by_day = {f["properties"]["day"]: f for f in fc["features"]}
    assert sorted(by_day) == ["2026-10-12", "2026-10-13", "2026-10-14"]
    assert len(fc["features"]) == 3  # one leg a day
    days = {d["day"]: d for d in fc["days"]}

    # 1. 30 steps of 10 m = 300 m; collinear fixes simplify to the two ends
    one = by_day["2026-10-12"]
    assert one["geometry"]["type"] == "LineString"
    assert one["properties"]["distance_m"] == pytest.approx(300.0, abs=1.0)
    assert one["properties"]["points"] == 31
    assert len(one["geometry"]["coordinates"]) == 2
    assert one["properties"]["vertices"] == 2
    # the replay's clock: the two ends, 300 s apart (30 steps of 10 s)
    assert one["properties"]["vertex_s"] == [0.0, 300.0]
    assert one["properties"]["start"] == "2026-10-12T09:00:00+08:00"
    assert one["properties"]["end"] == "2026-10-12T09:05:00+08:00"
    assert one["properties"]["worker_name"] == fc["worker"]["name"]
    assert days["2026-10-12"]["entered"] == [walks.inside]
    assert days["2026-10-12"]["dropped"] == 0

    # 2. the fix 50 km off is dropped and not drawn: 60 steps of 10 m = 600 m
    two = by_day["2026-10-13"]
    assert two["properties"]["distance_m"] == pytest.approx(600.0, abs=1.0)
    assert two["properties"]["points"] == 60
    line = shapely.geometry.shape(two["geometry"])
    assert line.length < 0.01  # degrees: no vertex 0.45° away
    assert days["2026-10-13"]["dropped"] == 1 and fc["dropped"] == {"speed": 1}
    assert days["2026-10-13"]["entered"] == [walks.jump_grid]

    # 3. along a shared boundary: one grid entered, never the neighbour
    three = by_day["2026-10-14"]
    assert three["properties"]["distance_m"] == pytest.approx(walks.edge_m, abs=1.0)
    assert three["properties"]["points"] == walks.edge_fixes
    assert 2 <= three["properties"]["vertices"] <= walks.edge_fixes
    clock = three["properties"]["vertex_s"]
    assert len(clock) == three["properties"]["vertices"] and clock[0] == 0.0
    assert clock == sorted(clock) and clock[-1] == 10.0 * (walks.edge_fixes - 1)
    entered = days["2026-10-14"]["entered"]
    assert len(entered) == 1 and entered[0] in walks.edge

    # the worker's own micro-grids, those entered marked visited
    own = {f["properties"]["code"]: f["properties"]["visited"]
           for f in fc["grids"]["features"]}
    assert sorted(own) == sorted(walks.micro.code)
    visited = {walks.inside, walks.jump_grid, entered[0]}
    assert {c for c, v in own.items() if v} == visited


def test_the_default_window_is_the_last_week_with_tracks(rw, walks):
    status, fc = _get(rw.client("dispatcher"), worker=walks.staff)
    assert status == 200, fc
    # the last walk is on Wednesday 2026-10-14: its week is Monday 12 to Sunday 18
    assert (fc["from"], fc["to"]) == ("2026-10-12", "2026-10-18")
    assert len(fc["features"]) == 3
    status, fc = _get(rw.client("dispatcher"), worker=walks.staff, to="2026-10-13")
    assert (fc["from"], fc["to"]) == ("2026-10-07", "2026-10-13")
    assert [f["properties"]["day"] for f in fc["features"]] == [
        "2026-10-12", "2026-10-13"]


def test_only_the_jurisdictions_workers(rw, demo_town, walks):
    mine = _staff_of(rw, "320282105001001", "full_time")  # village1's village
    other = _staff_of(rw, demo_town.grids[demo_town.grids.level == 3].code.max(),
                      "full_time")
    village1 = rw.client("village1")
    assert _get(village1, worker=mine)[0] == 200
    status, body = _get(village1, worker=other)
    assert status == 404 and body["error"]["field"] == "worker"
    assert _get(rw.client("viewer"), worker=mine)[0] == 403
    assert rw.client("viewer").get("/api/v1/tracks/workers").status_code == 403
    # the workers with tracks: the demo's (the first three comprehensive grids'
    # and the last one's) and the hand-made walker; village1 sees its own village's
    everyone = rw.client("leader").get("/api/v1/tracks/workers").get_json()["workers"]
    ids = {w["id"] for w in everyone}
    assert {mine, other, walks.staff} <= ids
    seen = village1.get("/api/v1/tracks/workers").get_json()["workers"]
    assert seen and all(w["grid_code"].startswith("320282105001") for w in seen)
    assert other not in {w["id"] for w in seen}
    (me,) = [w for w in everyone if w["id"] == walks.staff]
    assert (me["first_day"], me["last_day"], me["days"]) == (
        "2026-10-12", "2026-10-14", 3)


@pytest.mark.parametrize(("params", "field"), [
    ({}, "worker"),
    ({"worker": "abc"}, "worker"),
    ({"worker": "1", "from": "2026-13-01"}, "from"),
    ({"worker": "1", "to": "yesterday"}, "to"),
    ({"worker": "1", "from": "2026-10-14", "to": "2026-10-12"}, "from"),
    # 2026-10-01 … 2026-11-01 is 32 days, one more than 31
    ({"worker": "1", "from": "2026-10-01", "to": "2026-11-01"}, "to"),
])
def test_bad_parameters_name_the_field(rw, params, field):
    status, body = _get(rw.client("leader"), **params)
    assert status == 400, body
    assert body["error"]["field"] == field


def test_a_month_is_allowed(rw, walks):
    # 2026-10-01 … 2026-10-31: 31 days, the longest window
    status, fc = _get(rw.client("leader"), worker=walks.staff,
                      **{"from": "2026-10-01", "to": "2026-10-31"})
    assert status == 200 and len(fc["features"]) == 3


def test_the_demo_tracks_are_simplified(demo_town, as_user):
    """The demo's patrols: every day's legs add up to the day's distance, and a
    line keeps far fewer vertices than the fixes it is drawn from."""
    staff = demo_town.tracks.staff.iloc[0]
    code = demo_town.staff.grid_code.iloc[staff]
    r = as_user("leader").get("/api/v1/tracks/workers")
    (worker,) = [w for w in r.get_json()["workers"] if w["grid_code"] == code]
    status, fc = _get(as_user("leader"), worker=worker["id"])
    assert status == 200
    assert (fc["from"], fc["to"]) == ("2026-10-26", "2026-11-01")  # as_of's week
    assert fc["features"] and fc["days"]
    for day in fc["days"]:
        legs = [f for f in fc["features"] if f["properties"]["day"] == day["day"]]
        assert len(legs) == day["legs"] >= 1
        assert sum(f["properties"]["distance_m"] for f in legs) == pytest.approx(
            day["distance_m"], abs=0.5)
    fixes = sum(f["properties"]["points"] for f in fc["features"])
    vertices = sum(len(f["geometry"]["coordinates"]) for f in fc["features"])
    assert vertices < fixes / 2


def test_the_weeks_coverage_without_the_lines(rw, walks):
    """What the page asks for each week: the figures and 巡查覆盖率, no lines."""
    r = rw.client("leader").get(f"/api/v1/tracks/summary?staff={walks.staff}"
                                "&from=2026-10-12&to=2026-10-18&lines=0")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["tracks"]["features"] == []
    assert [d["day"] for d in body["days"]] == ["2026-10-12", "2026-10-13",
                                                "2026-10-14"]
    own = set(walks.micro.code)
    visited = {c for d in body["days"] for c in d["entered"]} & own
    assert body["coverage"]["own"] == len(own)
    assert body["coverage"]["visited"] == len(visited) >= 2
    assert body["coverage"]["share"] == pytest.approx(len(visited) / len(own),
                                                      abs=0.001)
