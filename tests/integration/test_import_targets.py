"""Importing grid staff, a worker's patrol track and grids through the one import
flow (issue 5): preview, commit, upsert counts, refusals."""

import datetime as dt
import io
import json

import gpxpy.gpx
import psycopg
import pyproj
import pytest
import shapely

import importers
from geo.crs import to_metric, wgs84_to_gcj02
from layers import imports
from layers.access import Principal
from layers.errors import Conflict, Unprocessable
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

VILLAGE = "320282105001"


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def run(rw, principal, data, name, layer, dry_run=False, **options):
    result = importers.read_any(data, name=name, **{k: v for k, v in options.items()
                                                   if k != "staff"})
    import hashlib

    with psycopg.connect(rw.url) as c:
        return imports.run_import(c, principal, result, layer, name,
                                  hashlib.sha256(data).hexdigest(), options,
                                  dry_run=dry_run)


def micro_grids(demo_town, prefix):
    g = demo_town.grids
    return g[(g.level == 4) & g.code.str.startswith(prefix)].sort_values("code")


# Staff ------------------------------------------------------------------------------

def staff_csv(demo_town, phone1="13800000001"):
    x = micro_grids(demo_town, VILLAGE).iloc[0]
    inside = x.geometry.representative_point()
    lon, lat = wgs84_to_gcj02(inside.x, inside.y)
    other_village = "320282105002"
    lines = ["编号,姓名,角色,电话,所属网格,经度,纬度",
             f"S1,张联络,微网格联络员,{phone1},,{lon:.9f},{lat:.9f}",
             f"S2,李专职,专职网格员,13800000002,,{lon:.9f},{lat:.9f}",
             f"S3,王网格长,网格长,13800000003,{other_village},{lon:.9f},{lat:.9f}",
             f"S4,赵某,队长,13800000004,,{lon:.9f},{lat:.9f}"]
    return ("\n".join(lines) + "\n").encode("utf-8"), x.code


def staff_rows(url):
    with psycopg.connect(url) as c:
        return {r[0]: r[1:] for r in c.execute(
            "SELECT external_id, name, role, phone, grid_code FROM grid_staff"
            " WHERE external_id IS NOT NULL ORDER BY external_id")}


def test_staff_get_their_grid_from_position_and_role(rw, demo_town):
    # staff are the user administrators' (users:manage): one of a village
    village_user = Principal("vadmin", "admin", VILLAGE)
    data, x = staff_csv(demo_town)
    report = run(rw, village_user, data, "staff.csv", "staff", crs="gcj02")
    assert report["counts"] == {"read": 4, "added": 2, "updated": 0,
                                "unchanged": 0, "rejected": 2}
    rows = staff_rows(rw.url)
    assert rows["S1"] == ("张联络", "liaison", "13800000001", x)  # micro-grid X
    assert rows["S2"] == ("李专职", "full_time", "13800000002", x[:15])  # X's level 3
    assert "S3" not in rows and "S4" not in rows
    why = {r["row"]: r for r in report["rejected"]}
    assert why[4]["field"] == "grid"
    assert "outside your jurisdiction" in why[4]["reason"]
    assert why[4]["reason"].startswith("网格 320282105002 不在您的管辖范围 "
                                       f"{VILLAGE} ")
    assert why[5]["field"] == "role" and "队长" in why[5]["reason"]
    # the choices as Chinese labels with their codes
    assert why[5]["reason"].startswith("角色“队长”不是可选值，可选：网格长/grid_chief、"
                                       "专职网格员/full_time、")
    # the same file again: refused
    with pytest.raises(Conflict):
        run(rw, village_user, data, "staff.csv", "staff", crs="gcj02")
    # a changed phone: one updated, the other unchanged
    changed, _ = staff_csv(demo_town, phone1="13900000009")
    again = run(rw, village_user, changed, "staff2.csv", "staff", crs="gcj02")
    assert again["counts"] == {"read": 4, "added": 0, "updated": 1,
                               "unchanged": 1, "rejected": 2}
    assert staff_rows(rw.url)["S1"][2] == "13900000009"
    with psycopg.connect(rw.url) as c:
        audited = c.execute("SELECT count(*) FROM audit WHERE action = 'import'"
                            " AND table_name = 'staff'").fetchone()[0]
    assert audited == 2


def test_staff_preview_through_the_api_and_rejected_csv(rw, demo_town):
    data, x = staff_csv(demo_town)
    data = data.replace(b"S", b"A")  # other ids, another hash
    r = rw.client("admin").post(
        "/api/v1/imports", query_string={"layer": "staff", "crs": "gcj02"},
        data={"file": (io.BytesIO(data), "a.csv")}, content_type="multipart/form-data")
    body = r.get_json()
    assert r.status_code == 200, body
    # the administrator's jurisdiction holds the other village: A3 is accepted
    assert body["counts"]["added"] == 3 and body["counts"]["rejected"] == 1
    assert [p["grid_code"] for p in body["preview"]["rows"]] == [
        x, x[:15], "320282105002"]
    csv = rw.client("admin").get(f"/api/v1/imports/{body['import_id']}/rejected.csv")
    text = csv.data.decode("utf-8-sig")
    assert "role" in text and "队长" in text


def _roster(demo_town, header, rows):
    """A roster of liaisons of the village's second micro-grid: ``rows`` are
    (id, the 公示电话 cell, the 公示号码 cell) under ``header``'s column names."""
    x = micro_grids(demo_town, VILLAGE).iloc[1]
    inside = x.geometry.representative_point()
    lon, lat = wgs84_to_gcj02(inside.x, inside.y)
    lines = [",".join(header)]
    for i, (sid, choice, number) in enumerate(rows):
        lines.append(f"{sid},联络员{i},微网格联络员,1380000{i:04d},{choice},{number},"
                     f"{lon:.9f},{lat:.9f}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _notice_phones(url):
    with psycopg.connect(url) as c:
        return {r[0]: r[1:] for r in c.execute(
            "SELECT external_id, notice_phone_choice, notice_phone FROM grid_staff"
            " WHERE external_id LIKE 'N%' ORDER BY external_id")}


def test_the_roster_gives_each_persons_notice_phone(rw, demo_town):
    from layers import import_checks, notices

    assert tuple(import_checks.NOTICE_CHOICES) == notices.PHONE_CHOICES
    village_user = Principal("vadmin", "admin", VILLAGE)
    header = ("编号", "姓名", "角色", "电话", "公示电话", "公示号码", "经度", "纬度")
    data = _roster(demo_town, header, [
        ("N01", "工作电话", ""), ("N02", "其他号码", "0510-88886666"),
        ("N03", "不公示", ""), ("N04", "0510-12345678", ""), ("N05", "", ""),
        ("N06", "", "0510-7777777"), ("N07", "none", ""),
        # refused, each naming its row, field and why
        ("N08", "其他号码", ""), ("N09", "none", "0510-1111111"), ("N10", "随便", ""),
        ("N11", "0510-2222222", "0510-3333333"), ("N12", "other", "call me")])
    report = run(rw, village_user, data, "roster.csv", "staff", crs="gcj02")
    assert report["counts"]["added"] == 7 and report["counts"]["rejected"] == 5
    assert _notice_phones(rw.url) == {
        "N01": ("work", None), "N02": ("other", "0510-88886666"),
        "N03": ("none", None), "N04": ("other", "0510-12345678"),
        "N05": ("work", None), "N06": ("other", "0510-7777777"),
        "N07": ("none", None)}
    why = {r["row"]: r for r in report["rejected"]}  # the file's rows: header 1
    assert {row: (why[row]["field"]) for row in why} == {
        9: "notice_phone", 10: "notice_phone", 11: "notice_phone_choice",
        12: "notice_phone", 13: "notice_phone"}
    assert why[9]["reason"] == ("公示电话为“其他号码”时须填写公示号码（"
                                "notice_phone_choice 'other' needs the number "
                                "(the notice_phone column)）")
    assert "0510-1111111" in why[10]["reason"] and "不公示" in why[10]["reason"]
    assert why[11]["reason"].startswith("公示电话“随便”无效：可填 工作电话/work、")
    assert "0510-2222222" in why[12]["reason"] and "0510-3333333" in why[12]["reason"]
    assert "call me" in why[13]["reason"]
    # English headers and labels
    english = _roster(demo_town, ("id", "name", "role", "phone", "notice phone",
                                  "notice number", "lon", "lat"),
                      [("N01", "Not published", ""), ("N02", "work", ""),
                       ("N03", "Another number", "13912345678")])
    again = run(rw, village_user, english, "roster-en.csv", "staff", crs="gcj02")
    assert again["counts"]["updated"] == 3, again
    found = _notice_phones(rw.url)
    assert (found["N01"], found["N02"], found["N03"]) == (
        ("none", None), ("work", None), ("other", "13912345678"))
    # a roster without the columns leaves everyone's choice as it is
    plain = _roster(demo_town, ("编号", "姓名", "角色", "电话", "备注", "备注2",
                                "经度", "纬度"), [("N02", "", ""), ("N04", "", "")])
    run(rw, village_user, plain, "roster-plain.csv", "staff", crs="gcj02")
    found = _notice_phones(rw.url)
    assert found["N02"] == ("work", None)
    assert found["N04"] == ("other", "0510-12345678")


def test_staff_phones_are_masked_for_a_role_without_contact(monkeypatch):
    assert imports.mask_phone("13812345678") == "138****5678"


# Tracks -----------------------------------------------------------------------------

def patrol_gpx(start_lon, start_lat, day, jump=0.45):
    gpx = gpxpy.gpx.GPX()
    track = gpxpy.gpx.GPXTrack()
    gpx.tracks.append(track)
    segment = gpxpy.gpx.GPXTrackSegment()
    track.segments.append(segment)
    t0 = dt.datetime.combine(day, dt.time(1, 0), tzinfo=dt.UTC)  # 09:00 in China
    for i in range(40):
        lat = start_lat + i * 1e-5  # ~1.1 m a second northwards
        if i == 20:
            lat += jump  # a jump of jump° (0.05°: 5.5 km) for one second
        segment.points.append(gpxpy.gpx.GPXTrackPoint(
            lat, start_lon, time=t0 + dt.timedelta(seconds=i)))
    return gpx.to_xml().encode("utf-8")


def test_a_track_with_a_gps_jump(rw, demo_town):
    with psycopg.connect(rw.url) as c:
        staff_id, code = c.execute(
            "SELECT id, grid_code FROM grid_staff WHERE role = 'liaison'"
            " ORDER BY id LIMIT 1").fetchone()
    inside = demo_town.grids.set_index("code").geometry[code].representative_point()
    day = dt.date(2026, 10, 20)
    # a 5.5 km jump towards the middle of the town: inside the deployment (a
    # point outside it is refused as outside, test_import_places.py)
    step = 0.05 if inside.y < 31.2476 else -0.05
    data = patrol_gpx(inside.x, inside.y, day, step)
    client = rw.client("admin")
    r = client.post("/api/v1/imports", query_string={"layer": "tracks"},
                    data={"file": (io.BytesIO(data), "walk.gpx"),
                          "staff": str(staff_id)},
                    content_type="multipart/form-data")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["counts"] == {"read": 40, "added": 39, "updated": 0,
                              "unchanged": 0, "rejected": 1}
    [jump] = body["rejected"]
    assert jump["row"] == 21
    # the geodesic distance of the jump, by pyproj apart from our code
    _, _, metres = pyproj.Geod(ellps="WGS84").inv(
        inside.x, inside.y + 19e-5, inside.x, inside.y + 20e-5 + step)
    assert f"GPS jump: {metres / 1000:.1f} km in 1 s" in jump["reason"]
    assert jump["reason"].startswith(f"GPS 跳点：1 秒内移动 {metres / 1000:.1f} 公里（")
    assert body["tracks"] == {"staff": staff_id, "stored": 1,
                              "days": {"2026-10-20": 39}}
    summary = client.get("/api/v1/tracks/summary", query_string={
        "staff": staff_id, "from": "2026-10-20", "to": "2026-10-20"}).get_json()
    assert [d["day"] for d in summary["days"]] == ["2026-10-20"]
    again = client.post("/api/v1/imports", query_string={"layer": "tracks",
                                                         "staff": staff_id},
                        data={"file": (io.BytesIO(data), "walk.gpx")},
                        content_type="multipart/form-data")
    assert again.status_code == 409
    missing = client.post("/api/v1/imports", query_string={"layer": "tracks"},
                          data={"file": (io.BytesIO(data), "walk.gpx")},
                          content_type="multipart/form-data")
    assert missing.status_code == 400
    assert missing.get_json()["error"]["field"] == "staff"


# Grids ------------------------------------------------------------------------------

def siblings(demo_town):
    """Two sibling micro-grids sharing an edge, and a piece of the second one
    along it (within ~40 m of the first)."""
    micro = micro_grids(demo_town, VILLAGE)
    for _, a in micro.iterrows():
        for _, b in micro[micro.code > a.code].iterrows():
            if a.code[:15] == b.code[:15] and a.geometry.intersection(
                    b.geometry).length > 0.002:
                piece = b.geometry.intersection(a.geometry.buffer(0.0004))
                return a, b, piece
    raise AssertionError("no siblings")


def grids_geojson(features):
    return json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(g),
         "properties": {"编码": code, "名称": name}}
        for code, name, g in features]}).encode("utf-8")


def snapshot(url):
    with psycopg.connect(url) as c:
        grids = c.execute("SELECT code, version, name, ST_AsBinary(geom) FROM grids"
                          " ORDER BY code").fetchall()
        homes = c.execute("SELECT id, grid_code FROM households ORDER BY id"
                          ).fetchall()
    return grids, homes


def test_redrawn_shared_boundary_moves_the_households(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    planner = Principal("planner", "planner", None)
    a, b, piece = siblings(demo_town)
    new_a = shapely.union(a.geometry, piece)
    new_b = shapely.difference(b.geometry, piece)
    hh = demo_town.households
    # by hand: the households of B inside the piece go to A
    moving = int((hh.grid_code == b.code).mul(
        shapely.contains_xy(piece, hh.geometry.x, hh.geometry.y)).sum())
    assert moving > 0
    data = grids_geojson([(a.code, a["name"], new_a), (b.code, b["name"], new_b)])
    preview = run(rw, planner, data, "redraw.geojson", "grids", dry_run=True)
    assert preview["check"]["errors"] == [], preview["check"]["errors"]
    assert preview["moved"]["households"] == moving
    report = run(rw, planner, data, "redraw.geojson", "grids")
    assert report["counts"] == {"read": 2, "added": 0, "updated": 2,
                                "unchanged": 0, "rejected": 0}
    assert report["moved"]["households"] == moving
    with psycopg.connect(rw.url) as c:
        assert c.execute("SELECT count(*) FROM households WHERE grid_code = %s",
                         (a.code,)).fetchone()[0] == int(
                             (hh.grid_code == a.code).sum()) + moving
        versions = dict(c.execute("SELECT code, version FROM grids WHERE code"
                                  " = ANY(%s)", ([a.code, b.code],)).fetchall())
        history = c.execute("SELECT count(*) FROM grid_history WHERE code"
                            " = ANY(%s)", ([a.code, b.code],)).fetchone()[0]
    assert versions == {a.code: 2, b.code: 2} and history == 2
    # the same boundaries again (another file name, same content): unchanged
    same = run(rw, planner, data + b" ", "again.geojson", "grids")
    assert same["counts"]["unchanged"] == 2 and same["counts"]["updated"] == 0


def test_overlapping_grids_refuse_the_whole_import(rw, demo_town):
    planner = Principal("planner", "planner", None)
    a, b, piece = siblings(demo_town)
    before = snapshot(rw.url)
    data = grids_geojson([(a.code, a["name"], shapely.union(a.geometry, piece))])
    # the overlap's area by hand: the piece, in metres of the Gauss-Krüger zone
    import geopandas

    area = float(to_metric(geopandas.GeoSeries([piece], crs="EPSG:4326")).area[0])
    with pytest.raises(Unprocessable) as refused:
        run(rw, planner, data, "overlap.geojson", "grids")
    errors = refused.value.details["check"]["errors"]
    overlaps = [e for e in errors if e["kind"] == "overlap"]
    assert [sorted(e["codes"]) for e in overlaps] == [sorted([a.code, b.code])]
    assert overlaps[0]["area_m2"] == pytest.approx(area, rel=0.01)
    assert snapshot(rw.url) == before


def test_a_self_intersecting_polygon_is_rejected_with_the_reason(rw, demo_town):
    planner = Principal("planner", "planner", None)
    a, _, _ = siblings(demo_town)
    x0, y0, x1, y1 = a.geometry.bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    data = grids_geojson([(a.code, a["name"], bowtie)])
    report = run(rw, planner, data, "bowtie.geojson", "grids", dry_run=True)
    [why] = report["rejected"]
    assert "Self-intersection" in why["reason"]
    assert report["counts"]["rejected"] == 1 and report["counts"]["updated"] == 0


def test_grids_need_grids_edit(rw):
    r = rw.client("worker").post(
        "/api/v1/imports", query_string={"layer": "grids"},
        data={"file": (io.BytesIO(b'{"type": "FeatureCollection", "features": []}'),
                       "g.geojson")}, content_type="multipart/form-data")
    assert r.status_code == 403
