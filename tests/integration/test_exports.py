"""Exports: a layer as a file, scoped, masked and audited like its read, that
gridgov's own importer reads back to the same features (positions to the
millimetre), in the CRS asked for.

Real PostGIS (the shared demo, only read: reads append audit rows), the files
written by GDAL and read back by ``importers.read_any``.
"""

import csv
import io
import math
import zipfile

import pyogrio
import pyproj
import pytest
import shapely

import importers
from api import exports
from geo import crs as crs_math
from tests.integration.test_read_audit import new_audit_rows

pytestmark = pytest.mark.db

VILLAGE = "320282105001"
MM_DEG = 1e-3 / 111_320 * 2  # a millimetre in degrees, with room for cos(lat)


def _export(client, layer, **query):
    query.setdefault("format", "geojson")
    r = client.get(f"/api/v1/exports/{layer}", query_string=query)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.headers["Cache-Control"] == "no-store"
    return r


def _expected(client, grid):
    """The village's households as the JSON API lists them (masked for the
    caller's role), by id."""
    page = client.get(f"/api/v1/households?grid={grid}&limit=1000").get_json()
    return {h["id"]: h for h in page["items"]}


def _close(a, b, tol=MM_DEG):
    return abs(a - b) <= tol


@pytest.mark.parametrize("fmt,name", [("gpkg", "households.gpkg"),
                                      ("shp", "households.zip"),
                                      ("geojson", "households.geojson"),
                                      ("kml", "households.kml"),
                                      ("csv", "households.csv")])
def test_households_round_trip(as_user, fmt, name):
    client = as_user("dispatcher")
    want = _expected(client, VILLAGE)
    assert len(want) > 50
    r = _export(client, "households", format=fmt, grid=VILLAGE)
    assert f"filename={name}" in r.headers["Content-Disposition"]
    got = importers.read_any(r.data, name=name).frame
    assert len(got) == len(want)
    ids = got["id"].astype(int)
    for (_, row), hid in zip(got.iterrows(), ids, strict=True):
        h = want[hid]
        assert _close(row.geometry.x, h["lon"]) and _close(row.geometry.y, h["lat"])
        for key in ("head_name", "address", "phone", "id_number", "grid_code",
                    "external_id"):
            column = key if key in got.columns else exports.SHP_NAMES.get(key)
            value = row.get(column)
            if h[key] is None:  # an empty cell, or no column where all are empty
                assert value is None or value == "" or value != value, (fmt, key)
            else:
                assert str(value) == str(h[key]), (fmt, key)
        assert int(row["size"]) == h["size"]


def test_shapefile_zip_has_prj_and_utf8_cpg(as_user):
    r = _export(as_user("dispatcher"), "cameras", format="shp", grid=VILLAGE)
    with zipfile.ZipFile(io.BytesIO(r.data)) as zf:
        names = set(zf.namelist())
        assert {"cameras.shp", "cameras.shx", "cameras.dbf", "cameras.prj",
                "cameras.cpg"} <= names
        assert zf.read("cameras.cpg").decode().strip().upper() in ("UTF-8", "UTF8")
        assert "WGS" in zf.read("cameras.prj").decode()


def test_grids_of_a_subtree_round_trip_as_geopackage(as_user):
    client = as_user("leader")
    r = _export(client, "grids", format="gpkg", level=4, grid=VILLAGE)
    want = {f["id"]: f for f in client.get(
        "/api/v1/grids?level=4").get_json()["features"]
        if f["id"].startswith(VILLAGE)}
    got = importers.read_any(r.data, name="grids.gpkg").frame
    assert sorted(got["code"]) == sorted(want) and len(want) > 3
    for _, row in got.iterrows():
        shape = shapely.geometry.shape(want[row["code"]]["geometry"])
        assert shapely.equals_exact(row.geometry.normalize(), shape.normalize(),
                                    tolerance=MM_DEG)
        assert row["name"] == want[row["code"]]["properties"]["name"]


def test_grids_in_csv_are_wkt(as_user):
    r = _export(as_user("leader"), "grids", format="csv", level=3, grid=VILLAGE)
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert rows and all(row["wkt"].startswith("MULTIPOLYGON") for row in rows)


def test_gauss_kruger_zone_against_pyproj(as_user, tmp_path):
    client = as_user("dispatcher")
    want = _expected(client, VILLAGE)
    lon0 = next(iter(want.values()))["lon"]
    zone = math.floor(lon0 / 3 + 0.5)  # 3-degree zone number (CM = 3 × zone)
    r = _export(client, "households", format="gpkg", grid=VILLAGE, crs=f"gk3-{zone}")
    (tmp_path / "gk.gpkg").write_bytes(r.data)
    frame = pyogrio.read_dataframe(tmp_path / "gk.gpkg")
    epsg = frame.crs.to_epsg()
    assert pyproj.CRS.from_epsg(epsg).name == (
        f"CGCS2000 / 3-degree Gauss-Kruger zone {zone}")
    to_gk = pyproj.Transformer.from_crs(4490, epsg, always_xy=True)
    for _, row in frame.head(20).iterrows():
        h = want[int(row["id"])]
        x, y = to_gk.transform(h["lon"], h["lat"])
        assert abs(row.geometry.x - x) < 1e-3 and abs(row.geometry.y - y) < 1e-3
        assert str(int(row.geometry.x)).startswith(str(zone))  # zone-prefixed
    # and gridgov's importer brings it back to the same WGS-84 positions
    got = importers.read_any(r.data, name="households.gpkg").frame
    for (_, row), hid in zip(got.iterrows(), got["id"].astype(int), strict=True):
        assert _close(row.geometry.x, want[hid]["lon"])
        assert _close(row.geometry.y, want[hid]["lat"])


def test_gcj02_columns_and_names(as_user, tmp_path):
    client = as_user("dispatcher")
    want = _expected(client, VILLAGE)
    r = _export(client, "households", format="csv", grid=VILLAGE, crs="gcj02")
    assert "filename=households_gcj02.csv" in r.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert "lon" not in rows[0] and "lon_gcj02" in rows[0]
    for row in rows[:50]:
        h = want[int(row["id"])]
        lon, lat = crs_math.wgs84_to_gcj02(h["lon"], h["lat"])
        assert _close(float(row["lon_gcj02"]), float(lon))
        assert _close(float(row["lat_gcj02"]), float(lat))
        assert not _close(float(row["lon_gcj02"]), h["lon"], 1e-4)  # shifted
    r = _export(client, "households", format="gpkg", grid=VILLAGE, crs="gcj02")
    (tmp_path / "g.gpkg").write_bytes(r.data)
    assert pyogrio.list_layers(tmp_path / "g.gpkg")[0][0] == "households_gcj02"
    # read back as GCJ-02, the positions are WGS-84 again
    got = importers.read_any(r.data, name="households_gcj02.gpkg",
                             crs="gcj02").frame
    for (_, row), hid in zip(got.iterrows(), got["id"].astype(int), strict=True):
        assert abs(row.geometry.x - want[hid]["lon"]) < 1e-6


def test_masked_names_and_one_audit_row_per_export(as_user, demo_url):
    leader = as_user("leader")  # households:read without households:personal
    with new_audit_rows(demo_url) as rows:
        r = _export(leader, "households", format="xlsx", grid=VILLAGE)
    assert len(rows) == 1 and rows[0]["table_name"] == "households"
    assert rows[0]["username"] == "leader" and rows[0]["action"] == "read"
    # the row says it was this export, not a listing
    query = rows[0]["after"]["query"]
    assert (query["via"], query["format"]) == ("export", "xlsx"), query
    got = importers.read_any(r.data, name="households.xlsx").frame
    assert len(got) == rows[0]["records"] > 0
    assert all("*" in str(name) for name in got["head_name"])
    assert all("****" in str(p) for p in got["phone"])
    with new_audit_rows(demo_url) as rows:
        _export(leader, "incidents", format="csv", grid=VILLAGE)
    assert [(r["table_name"], r["username"]) for r in rows] == [
        ("incidents", "leader")]
    query = rows[0]["after"]["query"]
    assert (query["via"], query["format"]) == ("export", "csv"), query


def test_incident_filters_and_china_time_header(as_user):
    client = as_user("dispatcher")
    want = client.get(f"/api/v1/incidents?grid={VILLAGE}&category=dispute"
                      "&limit=1000").get_json()
    r = _export(client, "incidents", format="csv", grid=VILLAGE, category="dispute")
    rows = list(csv.DictReader(io.StringIO(r.data.decode("utf-8-sig"))))
    assert sorted(row["code"] for row in rows) == sorted(
        i["code"] for i in want["items"]) and rows
    first = next(i for i in want["items"] if i["code"] == rows[0]["code"])
    # the API's ISO time with +08:00, shown as China time under a labelled header
    shown = first["created_at"][:19].replace("T", " ")
    assert rows[0]["created_at（北京时间）"] == shown


def test_a_village_account_gets_only_its_village(app, as_user):
    r = _export(as_user("village1"), "cameras", format="geojson")
    got = importers.read_any(r.data, name="cameras.geojson").frame
    assert len(got) and all(c.startswith(VILLAGE) for c in got["grid_code"])
    r = _export(as_user("village1"), "grids", format="geojson", level=4)
    codes = list(importers.read_any(r.data, name="g.geojson").frame["code"])
    assert codes and all(c.startswith(VILLAGE) for c in codes)


def test_formula_cells_are_neutralised(as_user, tmp_path):
    from openpyxl import load_workbook

    gdf = exports._frame([{"note": "=HYPERLINK(\"x\")", "n": 1}],
                         [shapely.Point(120.3, 31.5)], "wgs84")
    path = tmp_path / "x.xlsx"
    path.write_bytes(exports._write(gdf, "xlsx", "wgs84", "x"))
    cell = load_workbook(path).active["A2"]
    assert cell.value == "=HYPERLINK(\"x\")" and cell.data_type == "s"
    assert cell.quotePrefix
    text = exports._write(gdf, "csv", "wgs84", "x").decode("utf-8-sig")
    assert "'=HYPERLINK" in text


@pytest.mark.parametrize("query,field", [
    ({"format": "dwg"}, "format"),
    ({"crs": "mars"}, "crs"),
    ({"crs": "gk3-99", "format": "gpkg"}, "crs"),
    ({"crs": "cgcs2000", "format": "geojson"}, "crs"),
    ({"crs": "gcj02", "format": "kml"}, "crs"),
    ({"level": "9"}, "level"),
])
def test_bad_format_or_crs_names_the_field(as_user, query, field):
    r = as_user("dispatcher").get("/api/v1/exports/grids", query_string=query)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == field


def test_unknown_layer_and_forbidden_layer(as_user):
    r = as_user("dispatcher").get("/api/v1/exports/staff")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "layer"
    r = as_user("viewer").get("/api/v1/exports/households")
    assert r.status_code == 403


def test_too_many_features_is_413(app, as_user):
    app.config["EXPORT_MAX_FEATURES"] = 10
    try:
        r = as_user("dispatcher").get("/api/v1/exports/households?format=csv")
    finally:
        app.config.pop("EXPORT_MAX_FEATURES")
    assert r.status_code == 413
    assert "10" in r.get_json()["error"]["message"]


def test_tracks_round_trip_as_geojson(as_user):
    client = as_user("dispatcher")
    r = _export(client, "tracks", format="geojson")
    got = importers.read_any(r.data, name="tracks.geojson").frame
    want = client.get("/ogc/collections/tracks/items?limit=10000").get_json()
    assert len(got) == len(want["features"]) > 0
    assert set(got.geom_type) <= {"MultiLineString", "LineString"}
    lines = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in want["features"]}
    for _, row in got.iterrows():
        assert shapely.equals_exact(row.geometry, lines[int(row["id"])],
                                    tolerance=MM_DEG)


@pytest.mark.parametrize("fmt", ["gpkg", "shp", "csv", "xlsx", "geojson", "kml"])
def test_an_empty_export_is_still_a_file(as_user, fmt):
    r = _export(as_user("dispatcher"), "incidents", format=fmt,
                since="2000-01-01T00:00:00+08:00", until="2000-01-02T00:00:00+08:00")
    assert r.data


def test_cgcs2000_and_a_zone_as_shapefile(as_user, tmp_path):
    client = as_user("dispatcher")
    want = {f["id"]: dict(zip(("lon", "lat"), f["geometry"]["coordinates"],
                              strict=True))
            for f in client.get("/ogc/collections/cameras/items?limit=10000"
                                ).get_json()["features"]}
    r = _export(client, "cameras", format="gpkg", grid=VILLAGE, crs="cgcs2000")
    (tmp_path / "c.gpkg").write_bytes(r.data)
    frame = pyogrio.read_dataframe(tmp_path / "c.gpkg")
    assert frame.crs.to_epsg() == 4490 and len(frame)
    for _, row in frame.iterrows():  # CGCS2000 is WGS-84 within centimetres
        assert _close(row.geometry.x, want[row["code"]]["lon"])
    r = _export(client, "cameras", format="shp", grid=VILLAGE, crs="EPSG:4549")
    got = importers.read_any(r.data, name="cameras.zip").frame
    assert len(got) == len(frame)
    for _, row in got.iterrows():  # the .prj brings the zone back to WGS-84
        assert _close(row.geometry.x, want[row["code"]]["lon"])
        assert _close(row.geometry.y, want[row["code"]]["lat"])


def test_a_grid_outside_the_jurisdiction_is_not_found(as_user):
    r = as_user("village1").get("/api/v1/exports/grids?grid=320282105002")
    assert r.status_code == 404 and r.get_json()["error"]["field"] == "grid"
