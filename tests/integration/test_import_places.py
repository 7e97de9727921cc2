"""Where imported rows may lie, and what an import that stores nothing says (the
import issue, items 1–5, 9 and 10): files built here as other projects write
them, tried as a field worker, a planner and an administrator would, through
the API and the command line."""

import datetime as dt
import hashlib
import io
import json
import re

import gpxpy.gpx
import psycopg
import pyproj
import pytest
import shapely

import importers
from geo.crs import gk_zone_epsg
from geo.deployment import compass
from layers import imports, users
from layers.access import SYSTEM, Principal
from layers.errors import Forbidden, Unprocessable
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

BANGKOK = (100.5018, 13.7563)
MANILA = (120.9842, 14.5995)
TOKYO = (139.6917, 35.6895)
URUMQI = (87.6168, 43.8256)
GEOD = pyproj.Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    with psycopg.connect(rw.url) as c:
        rw.worker_grid = users.get_user(c, "worker")["grid_code"]
        rw.staff = c.execute(
            "SELECT id FROM grid_staff WHERE grid_code LIKE %s AND active"
            " ORDER BY id LIMIT 1", (rw.worker_grid + "%",)).fetchone()[0]
        rw.outline = shapely.from_wkb(bytes(c.execute(
            "SELECT ST_AsBinary(geom) FROM grids WHERE code = %s",
            (rw.worker_grid,)).fetchone()[0]))
        rw.town = shapely.from_wkb(bytes(c.execute(
            "SELECT ST_AsBinary(geom) FROM grids WHERE level = 1").fetchone()[0]))
    return rw


def post(client, data, layer, name, **args):
    return client.post("/api/v1/imports", query_string={"layer": layer, **args},
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def cli(rw, *args):
    from click.testing import CliRunner

    from web.cli import main

    return CliRunner().invoke(main, ["import", *map(str, args)],
                              env={"GRIDGOV_DATABASE_URL": rw.url})


def count(url, table):
    with psycopg.connect(url) as c:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


def walk_gpx(lon, lat, n=42, route=False, day=dt.date(2026, 10, 20)):
    """A phone's patrol: ``n`` points a second apart walking north at ~1 m/s,
    as track points (or as a timed route, as some apps write them)."""
    gpx = gpxpy.gpx.GPX()
    t0 = dt.datetime.combine(day, dt.time(1, 0), tzinfo=dt.UTC)
    if route:
        r = gpxpy.gpx.GPXRoute()
        gpx.routes.append(r)
        add, cls = r.points.append, gpxpy.gpx.GPXRoutePoint
    else:
        track = gpxpy.gpx.GPXTrack()
        gpx.tracks.append(track)
        segment = gpxpy.gpx.GPXTrackSegment()
        track.segments.append(segment)
        add, cls = segment.points.append, gpxpy.gpx.GPXTrackPoint
    for i in range(n):
        add(cls(lat + i * 1e-5, lon, time=t0 + dt.timedelta(seconds=i)))
    return gpx.to_xml().encode("utf-8")


def km_in(message):
    return float(re.search(r"约 ([0-9,.]+) km", message).group(1).replace(",", ""))


# 1. A track from the wrong place ------------------------------------------------

def test_a_phone_track_from_bangkok_is_refused_with_distance_and_direction(rw):
    data = walk_gpx(*BANGKOK)
    before = (count(rw.url, "imports"), count(rw.url, "track_points"))
    r = post(rw.client("worker"), data, "tracks", "bangkok.gpx", staff=rw.staff)
    assert r.status_code == 422, r.get_json()
    message = r.get_json()["error"]["message"]
    # by hand: from the middle of the worker's grid to Bangkok, along the
    # ellipsoid; the grid is ~1 km across, the message rounds to 10 km
    c = rw.outline.centroid
    azimuth, _, metres = GEOD.inv(c.x, c.y, *BANGKOK)
    zh, en = compass(azimuth)
    assert (zh, en) == ("西南", "south-west")
    assert message.startswith(f"全部 42 个点位于辖区以{zh}约 ")
    assert message.split("约 ")[1].split(" km")[0].endswith("0")  # 10 km steps
    assert km_in(message) == pytest.approx(metres / 1000, abs=10)
    assert "文件或坐标系有误？" in message and f"km {en} of " in message
    assert (count(rw.url, "imports"), count(rw.url, "track_points")) == before
    # the dry run says the same, and the command line exits 1 without a traceback
    dry = post(rw.client("worker"), data, "tracks", "bangkok.gpx", staff=rw.staff,
               dry_run="1")
    assert dry.status_code == 200 and dry.get_json()["refusal"] == message
    assert dry.get_json()["counts"]["added"] == 0


def test_the_command_line_refuses_a_track_from_manila(rw, tmp_path):
    path = tmp_path / "manila.gpx"
    path.write_bytes(walk_gpx(*MANILA))
    for extra in ((), ("--dry-run",)):
        out = cli(rw, path, "--layer", "tracks", "--staff", rw.staff, "--user",
                  "worker", *extra)
        assert out.exit_code == 1, out.output
        assert "Traceback" not in out.output
        assert "全部 42 个点位于辖区以南约 " in out.output
    # by the administrator: the deployment (the town) is the area
    out = cli(rw, path, "--layer", "tracks", "--staff", rw.staff)
    assert out.exit_code == 1
    c = rw.town.centroid
    _, _, metres = GEOD.inv(c.x, c.y, *MANILA)
    assert km_in(out.output) == pytest.approx(metres / 1000, abs=15)


def test_a_track_within_the_margin_is_kept_beyond_it_rejected(rw, demo_town):
    """2 km around the worker's grid: a patrol along its edge is theirs."""
    inside = rw.outline.representative_point()
    east = rw.outline.bounds[2]
    # metres per degree of longitude here, by pyproj
    _, _, per_degree = GEOD.inv(east, inside.y, east + 1, inside.y)
    near = walk_gpx(east + 1000 / per_degree, inside.y, n=5,
                    day=dt.date(2026, 10, 21))
    far = walk_gpx(east + 3500 / per_degree, inside.y, n=5)
    both = near.replace(b"</gpx>", b"")  # two tracks in one file
    both += far[far.index(b"<trk>"):]
    body = post(rw.client("worker"), both, "tracks", "edge.gpx", staff=rw.staff,
                dry_run="1").get_json()
    assert body["counts"]["added"] == 5 and body["counts"]["rejected"] == 5
    why = body["rejected"][0]
    assert why["row"] == 6 and why["label"] == "位置"
    assert "位于其以东约 3." in why["reason"] and "超出 2.0 km 的容差" in why["reason"]
    assert why["lon"] == pytest.approx(east + 3500 / per_degree)


def test_before_any_level1_grid_only_an_admin_grid_import_is_accepted(databases):
    url = databases.new()
    town = shapely.box(119.70, 31.20, 119.80, 31.30)
    grids = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(town),
         "properties": {"编码": "320282105", "名称": "新镇"}}]}).encode()
    homes = "经度,纬度,地址,人口\n119.75,31.25,新镇1号,3\n".encode()

    def run(principal, data, name, layer):
        result = importers.read_any(data, name=name)
        with psycopg.connect(url) as c:
            return imports.run_import(c, principal, result, layer, name,
                                      hashlib.sha256(data).hexdigest())

    with pytest.raises(Unprocessable) as refused:
        run(SYSTEM, homes, "homes.csv", "households")
    assert "尚无一级网格" in refused.value.message
    with pytest.raises(Forbidden):
        run(Principal("planner", "planner"), grids, "town.geojson", "grids")
    report = run(SYSTEM, grids, "town.geojson", "grids")
    assert report["counts"]["added"] == 1
    # the deployment exists now: a point in it passes the place check (and
    # finds no micro-grid yet)
    with pytest.raises(Unprocessable) as refused:
        run(SYSTEM, homes, "homes.csv", "households")
    assert "micro-grid" in refused.value.message


# 2. Lines and polygons in a point layer -------------------------------------------

def google_earth_kml(pins, others):
    """A Google Earth export: pins named by their address, and other shapes."""
    marks = [f"<Placemark><name>{name}</name><Point><coordinates>{x},{y},0"
             "</coordinates></Point></Placemark>" for name, x, y in pins]
    for name, geom in others:
        coords = " ".join(f"{x},{y},0" for x, y in geom.exterior.coords) \
            if geom.geom_type == "Polygon" else \
            " ".join(f"{x},{y},0" for x, y in geom.coords)
        body = (f"<Polygon><outerBoundaryIs><LinearRing><coordinates>{coords}"
                "</coordinates></LinearRing></outerBoundaryIs></Polygon>"
                if geom.geom_type == "Polygon" else
                f"<LineString><coordinates>{coords}</coordinates></LineString>")
        marks.append(f"<Placemark><name>{name}</name>{body}</Placemark>")
    return ('<?xml version="1.0" encoding="UTF-8"?><kml xmlns='
            '"http://www.opengis.net/kml/2.2"><Document>' + "".join(marks)
            + "</Document></kml>").encode("utf-8")


def test_a_google_earth_kml_imports_its_pins_and_says_why_not_the_rest(rw,
                                                                       tmp_path):
    p = rw.outline.representative_point()
    area = p.buffer(0.0003)
    line = shapely.LineString([(p.x, p.y), (p.x + 0.0003, p.y)])
    data = google_earth_kml([("幸福路1号", p.x, p.y), ("幸福路3号", p.x + 1e-4, p.y)],
                            [("小区范围", area), ("巡查路线", line)])
    r = post(rw.client("worker"), data, "households", "doc.kml",
             mapping="address=name")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["counts"]["added"] == 2 and body["counts"]["rejected"] == 2
    kinds = {w["row"]: w for w in body["rejected"]}
    assert kinds[3]["value"] == "Polygon" and kinds[4]["value"] == "LineString"
    assert kinds[3]["reason"].startswith("该行是 Polygon，不是点：住户只导入点")
    assert kinds[3]["label"] == "位置"
    assert (kinds[3]["lon"], kinds[3]["lat"]) == pytest.approx(
        (area.representative_point().x, area.representative_point().y))
    # the command line: no traceback, the pins in
    path = tmp_path / "doc.kml"
    path.write_bytes(data.replace("幸福路".encode(), "安康路".encode()))
    out = cli(rw, path, "--layer", "households", "--user", "worker", "--map",
              "address=name")
    assert out.exit_code == 0, out.output
    assert "added 2" in out.output and "不是点" in out.output


def test_kml_pins_with_ids_and_a_polygon_into_incidents_and_households(rw):
    """The crash as it was: ids in the KML's names, a polygon beside the pins."""
    p = rw.outline.representative_point()
    data = google_earth_kml([("KML-1", p.x, p.y)], [("KML-2", p.buffer(0.0003))])
    data = data.replace(b"</name><Point>",
                        "</name><description>清风路2号</description><Point>".encode())
    data = data.replace(b"</name><Polygon>",
                        "</name><description>清风路4号</description><Polygon>"
                        .encode())
    r = post(rw.client("worker"), data, "households", "ids.kml",
             mapping="external_id=name,address=description")
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["counts"]["added"] == 1
    assert r.get_json()["rejected"][0]["value"] == "Polygon"


# 3. The grid preview with points and lines -----------------------------------------

def test_a_grid_file_with_points_and_lines_previews(rw, demo_town):
    g = demo_town.grids
    micro = g[(g.level == 4) & g.code.str.startswith(rw.worker_grid)].iloc[0]
    p = micro.geometry.representative_point()
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(micro.geometry),
         "properties": {"编码": micro.code, "名称": micro["name"]}},
        {"type": "Feature", "geometry": {"type": "Point", "coordinates": [p.x, p.y]},
         "properties": {"编码": micro.code[:15] + "998", "名称": "点"}},
        {"type": "Feature", "geometry": {"type": "LineString", "coordinates": [
            [p.x, p.y], [p.x + 1e-4, p.y]]},
         "properties": {"编码": micro.code[:15] + "999", "名称": "线"}},
    ]}).encode()
    r = post(rw.client("planner"), data, "grids", "mixed.geojson", dry_run="1")
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["counts"]["unchanged"] == 1 and body["counts"]["rejected"] == 2
    assert [w["value"] for w in body["rejected"]] == ["Point", "LineString"]
    assert body["rejected"][0]["reason"].startswith("网格须为面")
    assert [f["geometry"]["coordinates"] for f in
            body["preview"]["rejected"]["features"]][0] == pytest.approx([p.x, p.y])
    assert rw.client("planner").get("/import").status_code == 200


# 4. A failed import is not an import ---------------------------------------------

def test_an_import_that_stores_nothing_is_not_recorded(rw, demo_town, tmp_path):
    """Gauss-Krüger metres without --crs: every row is refused, nothing is
    recorded, and the same file with the right --crs then goes in."""
    hh = demo_town.households
    hh = hh[hh.grid_code.str.startswith(rw.worker_grid)].iloc[:4]
    zone = gk_zone_epsg(hh.geometry.x.mean())
    metric = hh.to_crs(f"EPSG:{zone}")
    lines = ["编号,地址,人口,X,Y"] + [
        f"GK{i},{a},3,{pt.x:.2f},{pt.y:.2f}"
        for i, (a, pt) in enumerate(zip(hh.address, metric.geometry, strict=True))]
    path = tmp_path / "gk.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = count(rw.url, "imports")
    for extra in (("--dry-run",), ()):
        out = cli(rw, path, "--layer", "households", "--user", "worker", *extra)
        assert out.exit_code == 1, out.output
        assert "4 行全部不是经纬度" in out.output, out.output
        assert "Traceback" not in out.output
    assert count(rw.url, "imports") == before
    out = cli(rw, path, "--layer", "households", "--user", "worker", "--crs",
              f"EPSG:{zone}")
    assert out.exit_code == 0, out.output
    assert "added 4" in out.output
    assert count(rw.url, "imports") == before + 1


def test_a_dry_run_the_hierarchy_check_would_refuse_exits_1(rw, demo_town,
                                                           tmp_path):
    g = demo_town.grids
    micro = g[(g.level == 4) & g.code.str.startswith(rw.worker_grid)]
    a, b = micro.iloc[0], micro.iloc[1]
    grown = shapely.union(a.geometry, b.geometry.buffer(-0.0002))
    path = tmp_path / "grown.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(grown),
         "properties": {"编码": a.code, "名称": a["name"]}}]}), encoding="utf-8")
    out = cli(rw, path, "--layer", "grids", "--dry-run")
    assert out.exit_code == 1, out.output
    assert "网格层级检查未通过" in out.output


# 5. The real reason first --------------------------------------------------------

def test_every_row_outside_china_says_so_before_the_missing_columns(rw):
    data = ("名称,经度,纬度\n" + "".join(
        f"东京{i},{TOKYO[0] + i * 1e-3},{TOKYO[1]}\n" for i in range(3))).encode()
    r = post(rw.client("planner"), data, "cameras", "tokyo.csv", crs="wgs84")
    assert r.status_code == 422, r.get_json()
    message = r.get_json()["error"]["message"]
    assert message.startswith("3 行全部位于中国境外（all 3 rows lie outside China）")
    assert "编号" not in message.split("：")[0]


def test_a_gpx_from_tokyo_is_outside_not_without_times(rw):
    r = post(rw.client("worker"), walk_gpx(*TOKYO), "tracks", "tokyo.gpx",
             staff=rw.staff)
    assert r.status_code == 422
    message = r.get_json()["error"]["message"]
    assert message.startswith("42 行全部位于中国境外")
    assert "no track point with a time" not in message


def test_timed_route_points_make_a_track(rw):
    p = rw.outline.representative_point()
    r = post(rw.client("worker"), walk_gpx(p.x, p.y, n=30, route=True,
                                           day=dt.date(2026, 10, 22)),
             "tracks", "route.gpx", staff=rw.staff)
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["counts"]["added"] == 30
    assert body["tracks"]["days"] == {"2026-10-22": 30}


# 9. Rejected rows as a user sees them -----------------------------------------------

def test_rejected_rows_name_their_field_in_chinese_and_show_where(rw):
    p = rw.outline.representative_point()
    data = (f"经度,纬度,地址,人口\n{p.x},{p.y},和平路1号,3\n"
            f"{p.x + 1e-4},{p.y},和平路2号,很多\n{p.x},{p.y + 1e-4},,2\n").encode()
    r = post(rw.client("worker"), data, "households", "h.csv", crs="wgs84")
    body = r.get_json()
    assert r.status_code == 200, body
    size, address = body["rejected"]
    assert (size["field"], size["label"]) == ("size", "人口")
    assert (address["field"], address["label"]) == ("address", "地址")
    assert (size["lon"], size["lat"]) == pytest.approx((p.x + 1e-4, p.y))
    shown = body["preview"]["rejected"]["features"]
    assert [f["properties"]["row"] for f in shown] == [3, 4]
    assert shown[0]["geometry"]["coordinates"] == pytest.approx([p.x + 1e-4, p.y])
    text = rw.client("worker").get(
        f"/api/v1/imports/{body['import_id']}/rejected.csv").get_data(as_text=True)
    assert text.startswith("\ufeffrow,field,value,reason,字段,经度,纬度")
    assert ",人口," in text and f"{p.x + 1e-4!r}"[:10] in text


# 10. Grids far from the deployment ------------------------------------------------

def test_a_level1_grid_on_another_continent_needs_new_area(rw):
    far = shapely.box(URUMQI[0], URUMQI[1], URUMQI[0] + 0.1, URUMQI[1] + 0.1)
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(far),
         "properties": {"编码": "650102001", "名称": "远方镇"}}]}).encode()
    r = post(rw.client("admin"), data, "grids", "far.geojson", dry_run="1")
    body = r.get_json()
    assert r.status_code == 200, body
    assert body["counts"]["added"] == 0 and body["refusal"]
    [area] = body["new_areas"]
    assert (area["code"], area["direction_zh"]) == ("650102001", "西北")
    # by hand: the town's north-west corner to the grid's south-east corner
    # is about the gap; both ~10 km boxes, the message rounds to 10 km
    _, _, metres = GEOD.inv(rw.town.bounds[0], rw.town.bounds[3],
                            URUMQI[0] + 0.1, URUMQI[1])
    assert float(area["km"].replace(",", "")) == pytest.approx(metres / 1000,
                                                               abs=30)
    assert "--new-area" in body["rejected"][0]["reason"]
    ok = post(rw.client("admin"), data, "grids", "far.geojson", dry_run="1",
              new_area="1").get_json()
    assert ok["counts"]["added"] == 1
    assert ok["preview"]["rows"][0]["new_area"] is True


def test_an_overlap_in_two_parts_is_one_problem_with_one_area(rw, demo_town):
    import geopandas

    from geo.crs import to_metric

    g = demo_town.grids
    micro = g[(g.level == 4) & g.code.str.startswith("320282105001")]
    for _, a in micro.iterrows():
        pair = [b for _, b in micro[micro.code > a.code].iterrows()
                if a.code[:15] == b.code[:15]
                and a.geometry.intersection(b.geometry).length > 0.002]
        if pair:
            b = pair[0]
            break
    piece = b.geometry.intersection(a.geometry.buffer(0.0004))
    x0, y0, x1, y1 = piece.bounds
    mid = (x0 + x1) / 2 if x1 - x0 > y1 - y0 else (y0 + y1) / 2
    if x1 - x0 > y1 - y0:
        cut = (shapely.box(x0, y0, mid - 0.0003, y1), shapely.box(mid + 0.0003, y0,
                                                                  x1, y1))
    else:
        cut = (shapely.box(x0, y0, x1, mid - 0.0003), shapely.box(x0, mid + 0.0003,
                                                                  x1, y1))
    parts = [piece.intersection(c) for c in cut]
    grown = shapely.union_all([a.geometry, *parts])
    data = json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(grown),
         "properties": {"编码": a.code, "名称": a["name"]}}]}).encode()
    body = post(rw.client("planner"), data, "grids", "two.geojson",
                dry_run="1").get_json()
    overlaps = [e for e in body["check"]["errors"] if e["kind"] == "overlap"]
    assert [sorted(e["codes"]) for e in overlaps] == [sorted([a.code, b.code])]
    area = float(to_metric(geopandas.GeoSeries(parts, crs="EPSG:4326")).area.sum())
    assert overlaps[0]["area_m2"] == pytest.approx(area, rel=0.01)
    assert "（2 处）" in overlaps[0]["message"]


def test_the_command_line_lists_a_new_area_and_takes_it_with_new_area(rw,
                                                                      tmp_path):
    far = shapely.box(URUMQI[0], URUMQI[1], URUMQI[0] + 0.1, URUMQI[1] + 0.1)
    path = tmp_path / "far.geojson"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(far),
         "properties": {"编码": "650102002", "名称": "远方二镇"}}]}),
        encoding="utf-8")
    out = cli(rw, path, "--layer", "grids", "--dry-run")
    assert out.exit_code == 1, out.output
    assert "新辖区：一级网格 650102002 远方二镇，位于现有辖区以西北约" in out.output
    assert "--new-area" in out.output
    out = cli(rw, path, "--layer", "grids", "--dry-run", "--new-area")
    assert out.exit_code == 0, out.output
    assert "added 1" in out.output
