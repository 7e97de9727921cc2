"""importers.gpx, geojson, kml, shapefile, geopackage on small generated files."""

import io
import json
import zipfile

import geopandas
import pandas as pd
import pytest
import shapely

from importers import ImportRefused, read_any

GPX_11 = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1"
     xmlns:gpxtpx="http://www.garmin.com/xmlschemas/TrackPointExtension/v1">
  <wpt lat="31.2" lon="119.7"><ele>12.5</ele><name>桥头</name></wpt>
  <rte><name>r</name><rtept lat="31.21" lon="119.71"/><rtept lat="31.22" lon="119.72"/>
  </rte>
  <trk><name>巡查</name>
    <trkseg>
      <trkpt lat="31.20" lon="119.70"><ele>5</ele><time>2026-05-01T08:00:00Z</time>
        <extensions><gpxtpx:TrackPointExtension><gpxtpx:hr>92</gpxtpx:hr>
        <gpxtpx:speed>1.2</gpxtpx:speed></gpxtpx:TrackPointExtension></extensions>
      </trkpt>
      <trkpt lat="31.201" lon="119.701"><time>2026-05-01T08:01:00Z</time></trkpt>
    </trkseg>
    <trkseg><trkpt lat="31.202" lon="119.702"/></trkseg>
  </trk>
</gpx>
"""
GPX_10 = """<?xml version="1.0"?>
<gpx version="1.0" creator="t" xmlns="http://www.topografix.com/GPX/1/0">
  <trk><trkseg><trkpt lat="31.2" lon="119.7"><speed>1.5</speed></trkpt></trkseg></trk>
</gpx>
"""
KML = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document><name>d</name>
  <Folder><name>一村</name>
    <Folder><name>摄像头</name>
      <Placemark><name>CAM-1</name><description>枪机</description>
        <ExtendedData><Data name="朝向"><value>90</value></Data></ExtendedData>
        <Point><coordinates>119.7,31.2,0</coordinates></Point></Placemark>
    </Folder>
    <Placemark><name>边界</name>
      <ExtendedData><SchemaData schemaUrl="#s">
        <SimpleData name="编码">320282105001</SimpleData></SchemaData></ExtendedData>
      <Polygon><outerBoundaryIs><LinearRing><coordinates>
        119.70,31.20 119.71,31.20 119.71,31.21 119.70,31.21 119.70,31.20
      </coordinates></LinearRing></outerBoundaryIs></Polygon></Placemark>
  </Folder>
  <Placemark><name>路线</name><LineString><coordinates>119.7,31.2 119.71,31.21
    </coordinates></LineString></Placemark>
  <Placemark><name>组合</name><MultiGeometry>
    <Point><coordinates>119.7,31.2</coordinates></Point>
    <MultiGeometry><Point><coordinates>119.71,31.21</coordinates></Point></MultiGeometry>
  </MultiGeometry></Placemark>
  <Placemark><name>轨迹</name><gx:Track><gx:coord>119.7 31.2 0</gx:coord>
    <gx:coord>119.71 31.21 0</gx:coord></gx:Track></Placemark>
  <Placemark><name>坏点</name><Point><coordinates>abc,def</coordinates></Point></Placemark>
  <Placemark><name>无几何</name></Placemark>
</Document></kml>
"""
POINTS = geopandas.GeoDataFrame(
    {"名称": ["张三家", "李四家"], "人口": [3, 5]},
    geometry=[shapely.Point(119.7, 31.2), shapely.Point(119.71, 31.21)], crs=4326)


def kmz(text, name="doc.kml"):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, text)
        archive.writestr("files/icon.png", b"\x89PNG")
    return buffer.getvalue()


def test_gpx_points_routes_tracks_segments():
    result = read_any(GPX_11.encode())
    frame = result.frame
    assert frame["kind"].tolist() == ["waypoint", "route_point", "route_point",
                                      "track_point", "track_point", "track_point"]
    assert frame["row"].tolist() == [1, 2, 3, 4, 5, 6]
    assert frame["segment"].tolist() == [pd.NA, pd.NA, pd.NA, 0, 0, 1]
    assert frame["track"].iloc[3] == 0 and frame["route"].iloc[1] == 0
    assert frame["name"].iloc[0] == "桥头" and frame["elevation"].iloc[0] == 12.5
    assert frame["track_name"].iloc[4] == "巡查"
    assert frame["time"].iloc[4] == pd.Timestamp("2026-05-01T08:01:00Z")
    assert (frame.geometry.iloc[5].x, frame.geometry.iloc[5].y) == (119.702, 31.202)
    assert (result.crs.name, result.crs.source) == ("wgs84", "format")


def test_gpx_10_with_speed():
    result = read_any(GPX_10.encode(), name="old.gpx")
    assert len(result.frame) == 1 and result.rejected == []


def test_gpx_in_gcj02_when_asked():
    result = read_any(GPX_10.encode(), crs="gcj02")
    assert result.crs.source == "option"
    assert result.frame.geometry.iloc[0].x < 119.7  # WGS-84 lies west of GCJ-02


def test_geojson_kinds():
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"名称": "甲"},
         "geometry": {"type": "Point", "coordinates": [119.7, 31.2]}},
        {"type": "Feature", "properties": {"名称": "乙"},
         "geometry": {"type": "Point", "coordinates": ["x"]}},
        {"type": "Feature", "properties": {"名称": "丙"}, "geometry": None},
        {"type": "Feature", "properties": None, "geometry": {
            "type": "Polygon", "coordinates": [[[119.70, 31.20], [119.71, 31.21],
                                                [119.71, 31.20], [119.70, 31.21],
                                                [119.70, 31.20]]]}}]}
    result = read_any(json.dumps(collection).encode(), name="a.geojson")
    assert result.frame["名称"].tolist() == ["甲"]
    reasons = {r["row"]: r["reason"] for r in result.rejected}
    assert "cannot be built" in reasons[2] and "no geometry" in reasons[3]
    assert "not valid: Self-intersection" in reasons[4]  # a bow-tie
    feature = collection["features"][0]
    assert len(read_any(json.dumps(feature).encode()).frame) == 1
    assert len(read_any(json.dumps(feature["geometry"]).encode()).frame) == 1


@pytest.mark.parametrize("member, coordinates, expected", [
    ({"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4549"}},
     [500000.0, 3460000.0], (120.0, 31.26179514)),  # CM 120°E, see test_importers
    ({"type": "name", "properties": {"name": "EPSG:4490"}}, [119.7, 31.2],
     (119.7, 31.2)),
    ({"type": "EPSG", "properties": {"code": 4326}}, [119.7, 31.2], (119.7, 31.2)),
])
def test_geojson_legacy_crs(member, coordinates, expected):
    doc = {"type": "Point", "coordinates": coordinates, "crs": member}
    result = read_any(json.dumps(doc).encode())
    assert result.crs.source == "file"
    geometry = result.frame.geometry.iloc[0]
    assert (geometry.x, geometry.y) == pytest.approx(expected, abs=1e-7)


@pytest.mark.parametrize("packed", [False, True])
def test_kml_and_kmz(packed):
    data = kmz(KML) if packed else KML.encode()
    result = read_any(data)
    assert result.format == ("kmz" if packed else "kml")
    frame = result.frame.set_index("name")
    assert list(frame.index) == ["CAM-1", "边界", "路线", "组合", "轨迹"]
    assert frame.loc["CAM-1", "folder"] == "一村/摄像头"
    assert frame.loc["CAM-1", "朝向"] == "90"
    assert frame.loc["CAM-1", "description"] == "枪机"
    assert frame.loc["边界", "编码"] == "320282105001"
    assert frame.loc["边界", "geometry"].geom_type == "Polygon"
    assert frame.loc["边界", "geometry"].area == pytest.approx(1e-4)
    assert frame.loc["组合", "geometry"].geom_type == "MultiPoint"
    assert frame.loc["轨迹", "geometry"].geom_type == "LineString"
    assert [(r["row"], r["field"]) for r in result.rejected] == [
        (6, "geometry"), (7, "geometry")]
    assert "not numbers" in result.rejected[0]["reason"]


def write_shapefile(folder, frame, encoding="UTF-8", cpg=True, name="户籍"):
    path = folder / f"{name}.shp"
    frame.to_file(path, encoding=encoding)
    if not cpg:
        (folder / f"{name}.cpg").unlink()
    return path


def zipped(folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, f"data/{path.name}")
    return buffer.getvalue()


@pytest.mark.parametrize("encoding, cpg, label", [
    ("UTF-8", True, "UTF-8 (from the .cpg)"), ("GBK", True, "GBK (from the .cpg)"),
    ("GBK", False, "GBK"), ("UTF-8", False, "UTF-8")])
@pytest.mark.parametrize("packed", [False, True])
def test_shapefile_encodings(tmp_path, encoding, cpg, label, packed):
    path = write_shapefile(tmp_path, POINTS, encoding, cpg)
    result = read_any(zipped(tmp_path) if packed else path)
    assert result.format == "shapefile" and result.encoding == label
    assert result.frame["名称"].tolist() == ["张三家", "李四家"]
    assert result.frame["人口"].tolist() == [3, 5]


def test_shapefile_prj_is_honoured(tmp_path):
    path = write_shapefile(tmp_path, POINTS.to_crs(4549))
    result = read_any(path, crs="gcj02")  # the .prj wins over a projected option
    assert (result.crs.name, result.crs.source) == ("EPSG:4549", "file")
    assert any("ignored" in w for w in result.warnings)
    geometry = result.frame.geometry.iloc[0]
    assert (geometry.x, geometry.y) == pytest.approx((119.7, 31.2), abs=1e-9)


def test_shapefile_without_prj_takes_the_option(tmp_path):
    path = write_shapefile(tmp_path, POINTS)
    (tmp_path / "户籍.prj").unlink()
    result = read_any(path, crs="gcj02")
    assert result.crs.source == "option" and "the .prj is missing" in result.warnings[0]


def test_zip_with_several_shapefiles(tmp_path):
    write_shapefile(tmp_path, POINTS, name="a")
    write_shapefile(tmp_path, POINTS.iloc[:1], name="b")
    data = zipped(tmp_path)
    with pytest.raises(ImportRefused, match=r"2 shapefiles \(a、b\).*layer="):
        read_any(data)
    assert len(read_any(data, layer="b").frame) == 1


def test_geopackage_layers(tmp_path):
    path = tmp_path / "town.gpkg"
    POINTS.to_file(path, layer="households")
    cameras = POINTS.iloc[:1].to_crs(4549)
    cameras.to_file(path, layer="cameras")
    with pytest.raises(ImportRefused, match="choose one with layer=.*households "
                                            r"\(Point\)、cameras \(Point\)"):
        read_any(path)
    result = read_any(path.read_bytes(), layer="cameras")
    assert result.format == "gpkg" and result.crs.name == "EPSG:4549"
    assert result.frame.geometry.iloc[0].x == pytest.approx(119.7, abs=1e-9)
    with pytest.raises(ImportRefused, match="no layer 'roads'"):
        read_any(path, layer="roads")


@pytest.mark.parametrize("fmt", ["gpx", "kml"])
def test_xml_declared_gbk(fmt):
    body = ('<gpx version="1.1" creator="t"><wpt lat="31.2" lon="119.7"><name>桥头'
            '</name></wpt></gpx>' if fmt == "gpx" else
            '<kml><Placemark><name>桥头</name><Point><coordinates>119.7, 31.2'
            '</coordinates></Point></Placemark></kml>')  # a space after the comma
    data = f'<?xml version="1.0" encoding="GBK"?>\n{body}'.encode("gbk")
    result = read_any(data)
    assert result.frame["name"].tolist() == ["桥头"] and result.encoding == "GBK"
    assert result.frame.geometry.iloc[0].coords[0] == (119.7, 31.2)


def test_swapped_and_far_geometries():
    ring = [[31.20, 119.70], [31.20, 119.71], [31.21, 119.71], [31.20, 119.70]]
    line = [[119.7, 31.2], [121.5, 31.2]]  # ends ~170 km east of the town
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": {
            "type": "Polygon", "coordinates": [ring]}},
        {"type": "Feature", "properties": {}, "geometry": {
            "type": "LineString", "coordinates": line}}]}
    data = json.dumps(doc).encode()
    town = (119.6, 31.1, 119.8, 31.3)
    result = read_any(data, bbox=town)
    assert "swapped in this row" in result.rejected[0]["reason"]
    assert "far outside the deployment's area" in result.rejected[1]["reason"]
    fixed = read_any(data, swap=True)
    assert fixed.frame.geometry.iloc[0].bounds == (119.70, 31.20, 119.71, 31.21)


# Formats at the edge -------------------------------------------------------------

HOUSEHOLDS = geopandas.GeoDataFrame(
    {"编号": ["H1", "H2"], "地址": ["一村1号", "一村2号"], "人口": [3, 5]},
    geometry=[shapely.Point(119.7, 31.2), shapely.Point(119.71, 31.21)], crs=4326)


def test_cli_reads_a_loose_shp_with_its_sidecars(tmp_path, migrated_url):
    from click.testing import CliRunner

    from web.cli import main

    path = write_shapefile(tmp_path, HOUSEHOLDS, "GBK", name="住户")
    done = CliRunner().invoke(main, ["import", str(path), "--layer", "households",
                                     "--dry-run"],
                              env={"GRIDGOV_DATABASE_URL": migrated_url})
    assert "loose .shp" not in done.output
    # read; a dry run that would store nothing (an empty database: no level-1
    # grid to place the rows in) exits 1 (the import issue, item 4)
    assert done.exit_code == 1, done.output
    assert "尚无一级网格" in done.output
    assert "shapefile (GBK (from the .cpg))" in done.output
    assert "read 2" in done.output


def gz(data, name=None):
    import gzip

    return gzip.compress(data.encode() if isinstance(data, str) else data)


@pytest.mark.parametrize("name", ["patrol.gpx.gz", "patrol.gz", "upload"])
def test_gzipped_gpx(name):
    result = read_any(gz(GPX_11), name=name)
    assert result.format == "gpx" and len(result.frame) == 6
    assert result.frame["track_name"].iloc[4] == "巡查"
    assert not any("named like" in w for w in result.warnings)


def test_gzipped_files_of_every_kind_are_sniffed(tmp_path):
    path = tmp_path / "村界.geojson.gz"
    doc = {"type": "Point", "coordinates": [119.7, 31.2]}
    path.write_bytes(gz(json.dumps(doc)))
    assert read_any(path).format == "geojson"
    assert read_any(gz(kmz(KML)), name="a.kmz.gz").format == "kmz"
    result = read_any(gz("名称,经度,纬度\n甲,119.7,31.2\n"), name="a.csv.gz")
    assert result.format == "csv" and result.frame["名称"].tolist() == ["甲"]


def test_gzip_named_like_another_format_says_so():
    result = read_any(gz(GPX_11), name="patrol.kml.gz")
    assert result.format == "gpx"
    assert any("patrol.kml is named like kml but holds gpx" in w
               for w in result.warnings)


def linear_ring_cases():
    ring = [[119.70, 31.20], [119.71, 31.20], [119.71, 31.21], [119.70, 31.20]]
    geometry = {"type": "LinearRing", "coordinates": ring}
    coords = " ".join(f"{x},{y}" for x, y in ring)
    kml_ring = f"<LinearRing><coordinates>{coords}</coordinates></LinearRing>"
    return [
        ("bare GeoJSON", json.dumps(geometry)),
        ("GeoJSON Feature", json.dumps({"type": "Feature", "properties": {},
                                        "geometry": geometry})),
        ("GeoJSON collection", json.dumps({"type": "FeatureCollection", "features": [
            {"type": "Feature", "properties": {}, "geometry": geometry}]})),
        ("KML Placemark", f'<kml xmlns="http://www.opengis.net/kml/2.2"><Placemark>'
                          f"{kml_ring}</Placemark></kml>"),
        ("bare KML", f'<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
                     f"{kml_ring}</Document></kml>"),
    ]


@pytest.mark.parametrize("case, text", linear_ring_cases())
def test_a_linear_ring_is_read_as_a_line(case, text):
    result = read_any(text.encode())
    assert result.rejected == []
    geometry = result.frame.geometry.iloc[0]
    assert geometry.geom_type == "LineString" and len(geometry.coords) == 4
    assert geometry.coords[0] == geometry.coords[-1] == (119.70, 31.20)


# Times of tracks --------------------------------------------------------------

KML_TRACKS = """<?xml version="1.0" encoding="UTF-8"?>
<kml xmlns="http://www.opengis.net/kml/2.2" xmlns:gx="http://www.google.com/kml/ext/2.2">
<Document>
  <Placemark><name>桥头</name><Point><coordinates>119.7,31.2</coordinates></Point>
  </Placemark>
  <Placemark><name>早班</name><gx:Track>
    <when>2026-05-01T08:00:00Z</when><when>2026-05-01T16:01:00+08:00</when>
    <when>2026-05-01T08:02:00Z</when>
    <gx:coord>119.70 31.20 5</gx:coord><gx:coord>119.701 31.201 5</gx:coord>
    <gx:coord>119.702 31.202 5</gx:coord>
  </gx:Track></Placemark>
  <Placemark><name>晚班</name><gx:MultiTrack>
    <gx:Track><when>2026-05-01T20:00:00Z</when><gx:coord>119.71 31.21 0</gx:coord>
    </gx:Track>
    <gx:Track><when>2026-05-01T20:10:00Z</when><when>2026-05-01T20:11:00Z</when>
      <gx:coord>119.72 31.22 0</gx:coord><gx:coord>119.721 31.221 0</gx:coord>
    </gx:Track>
  </gx:MultiTrack></Placemark>
  <Placemark><name>坏轨迹</name><gx:Track><when>2026-05-01T08:00:00Z</when>
    <gx:coord>119.70 31.20 5</gx:coord><gx:coord>119.701 31.201 5</gx:coord>
  </gx:Track></Placemark>
</Document></kml>
"""


def test_kml_tracks_with_times_are_points_with_times():
    result = read_any(KML_TRACKS.encode())
    frame = result.frame
    assert frame["kind"].tolist() == ["placemark"] + ["track_point"] * 6
    assert frame["name"].tolist() == ["桥头"] + ["早班"] * 3 + ["晚班"] * 3
    assert frame["row"].tolist() == [1, 2, 3, 4, 5, 6, 7]
    assert frame["track"].tolist() == [pd.NA, 0, 0, 0, 1, 1, 1]
    assert frame["segment"].tolist() == [pd.NA, 0, 0, 0, 0, 1, 1]
    assert frame["time"].iloc[2] == pd.Timestamp("2026-05-01T08:01:00Z")
    assert frame["time"].iloc[0] is pd.NaT
    assert (frame.geometry.iloc[6].x, frame.geometry.iloc[6].y) == (119.721, 31.221)
    assert set(frame.geometry.iloc[1:].geom_type) == {"Point"}
    # a track whose <when> and gx:coord do not pair up is rejected, saying so
    assert [r["row"] for r in result.rejected] == [8]
    assert "the gx:Track has 1 <when> but 2 gx:coord" in result.rejected[0]["reason"]


def test_kml_track_without_times_stays_a_line():
    result = read_any(KML.encode())
    assert "kind" not in result.frame and "time" not in result.frame


def test_gpx_route_points_keep_their_times():
    gpx = """<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">
    <rte><rtept lat="31.2" lon="119.7"><time>2026-05-01T08:00:00Z</time></rtept>
    <rtept lat="31.201" lon="119.701"><time>2026-05-01T08:01:00Z</time></rtept></rte>
    </gpx>"""
    frame = read_any(gpx.encode()).frame
    assert frame["kind"].tolist() == ["route_point", "route_point"]
    assert frame["time"].tolist() == [pd.Timestamp("2026-05-01T08:00:00Z"),
                                      pd.Timestamp("2026-05-01T08:01:00Z")]


def gpx_with_times(*times):
    points = "".join(f'<trkpt lat="31.2{i}" lon="119.7{i}"><time>{t}</time></trkpt>'
                     for i, t in enumerate(times))
    return (f'<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/'
            f'1/1"><trk><trkseg>{points}</trkseg></trk></gpx>').encode()


def test_times_in_1901_or_the_future_are_read_with_a_warning():
    future = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(days=3)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    result = read_any(gpx_with_times("2026-05-01T08:00:00Z", "1901-12-13T20:45:52Z",
                                     "2026-05-01T08:02:00Z", future,
                                     "1901-12-13T20:45:53Z"))
    assert len(result.frame) == 5 and result.rejected == []  # read, all of them
    early = [w for w in result.warnings if "before 2000-01-01" in w]
    late = [w for w in result.warnings if "more than a day in the future" in w]
    assert early == ["第 2、5 行的时间早于 2000-01-01（如 1901-12-13T20:45:52+00:00）："
                     "已读取，请检查设备的时钟（rows 2, 5: a time before 2000-01-01 "
                     "(e.g. 1901-12-13T20:45:52+00:00): read; check the device's "
                     "clock）"]
    assert len(late) == 1 and late[0].startswith("第 4 行的时间晚于当前时间一天以上")
    assert "row 4: a time more than a day" in late[0]


def test_plausible_times_give_no_warning():
    tomorrow = (pd.Timestamp.now(tz="UTC") + pd.Timedelta(hours=12)).strftime(
        "%Y-%m-%dT%H:%M:%SZ")
    result = read_any(gpx_with_times("2000-01-01T00:00:00Z", tomorrow))
    assert result.warnings == []


def test_kml_track_times_in_1901_are_warned_of():
    text = KML_TRACKS.replace("2026-05-01T08:02:00Z", "1901-12-13T20:45:52Z")
    result = read_any(text.encode())
    assert any(w.startswith("第 4 行的时间早于 2000-01-01") for w in result.warnings)
