"""importers: the registry, the Result contract, and the CRS of the coordinates."""

import doctest
import importlib
import json
import math

import numpy as np
import pytest

import importers
from importers import ImportRefused, read_any

# Tian'anmen in WGS-84 and in GCJ-02, as geo.crs's doctest publishes them (~600 m
# apart): reading the GCJ-02 point must give the WGS-84 one back within 0.5 m.
TIANANMEN_WGS84 = (116.404, 39.915)
TIANANMEN_GCJ02 = (116.410244, 39.916404)
# On the central meridian 120°E of CGCS2000 Gauss-Krüger zone 40: x = 500 000 m
# (40 500 000 with the zone prefix), y = 3 460 000 m → 120°E, 31.2618°N.
GK_POINT = (500_000.0, 3_460_000.0)
GK_LONLAT = (120.0, 31.26179514)


def metres(lon1, lat1, lon2, lat2):
    """Distance on a sphere of radius 6 371 km (enough at the metre scale)."""
    dx = math.radians(lon2 - lon1) * math.cos(math.radians(lat1))
    dy = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(dx, dy)


def csv(*lines):
    return "\n".join(lines).encode("utf-8") + b"\n"


def point(result, i=0):
    geometry = result.frame.geometry.iloc[i]
    return geometry.x, geometry.y


@pytest.mark.parametrize("module", [
    "importers", "importers.coordinates", "importers.reproject", "importers.safexml",
    "importers.shapefile", "importers.registry", "importers.codepage"])
def test_doctests(module):
    assert doctest.testmod(importlib.import_module(module)).failed == 0


@pytest.mark.parametrize("head, name, members, expected", [
    (b"lon,lat\n1,2\n", "", None, "csv"),
    (b"\xef\xbb\xbf\xe7\xbb\x8f\xe5\xba\xa6,lat\n", "x.txt", None, "csv"),
    (b'<?xml version="1.0"?>\n<!-- app -->\n<gpx version="1.0">', "a.csv", None, "gpx"),
    (b'<kml xmlns="http://www.opengis.net/kml/2.2">', "", None, "kml"),
    (b'  {"type": "FeatureCollection"', "", None, "geojson"),
    (b"SQLite format 3\x00rest", "", None, "gpkg"),
    (b"PK\x03\x04", "a.zip", ["doc.kml", "files/icon.png"], "kmz"),
    (b"PK\x03\x04", "a.zip", ["村界/村界.shp", "村界/村界.dbf"], "shapefile"),
    (b"PK\x03\x04", "a.zip", ["[Content_Types].xml", "xl/workbook.xml"], "xlsx"),
    (b"\x00\x00\x27\x0a" + bytes(96), "a.shp", None, "shapefile"),
])
def test_sniff_by_content(head, name, members, expected):
    assert importers.sniff(head, name, members) == expected


@pytest.mark.parametrize("head, members, words", [
    (b"<html><body>", None, "neither GPX nor KML"),
    (b"PK\x03\x04", ["a.txt"], "a.txt"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1", None, ".xls"),
    (b"\x89PNG\r\n\x1a\n\x00\x00", None, "does not read"),
])
def test_sniff_refuses_what_it_cannot_read(head, members, words):
    with pytest.raises(ImportRefused, match=words):
        importers.sniff(head, "", members)


def test_read_any_follows_the_content_and_says_so():
    gpx = (b'<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">'
           b'<wpt lat="31.2" lon="119.7"/></gpx>')
    result = read_any(gpx, name="points.csv", lon="x")
    assert result.format == "gpx"
    assert point(result) == (119.7, 31.2)
    assert any("named like csv but holds gpx" in w for w in result.warnings)
    assert any("lon= does not apply to gpx" in w for w in result.warnings)


def test_result_contract():
    result = read_any(csv("名称,经度,纬度", "甲,119.7,31.2"))
    assert result.frame.crs.to_epsg() == 4326
    assert list(result.frame.columns[:1]) == ["row"]
    assert result.frame["row"].tolist() == [2]  # the header is row 1
    assert result.columns == {"lon": "经度", "lat": "纬度"}
    assert (result.crs.name, result.crs.source) == ("wgs84", "default")
    assert result.rejected == [] and result.format == "csv"


def test_gcj02_comes_back_to_wgs84_within_half_a_metre():
    result = read_any(csv("lng,lat", "{},{}".format(*TIANANMEN_GCJ02)), crs="gcj02")
    assert metres(*point(result), *TIANANMEN_WGS84) < 0.5
    assert (result.crs.name, result.crs.source) == ("gcj02", "option")


def test_bd09_goes_through_geo_crs():
    from geo.crs import wgs84_to_bd09

    bd = [float(v) for v in wgs84_to_bd09(*TIANANMEN_WGS84)]
    result = read_any(csv("lng,lat", f"{bd[0]!r},{bd[1]!r}"), crs="BD-09")
    assert metres(*point(result), *TIANANMEN_WGS84) < 0.5
    # a BD-09 point is ~1 km from WGS-84 here: reading it as WGS-84 would be wrong
    assert metres(*bd, *TIANANMEN_WGS84) > 500


@pytest.mark.parametrize("x, crs, used, source", [
    (GK_POINT[0], "EPSG:4549", "EPSG:4549", "option"),
    (40_000_000 + GK_POINT[0], None, "EPSG:4528", "detected"),  # zone 40 = 4513 + 15
    (40_000_000 + GK_POINT[0], "EPSG:4549", "EPSG:4528", "detected"),
    (GK_POINT[0], "EPSG:4528", "EPSG:4549", "detected"),  # prefix said, not there
])
def test_gauss_kruger_zone_prefix_is_detected(x, crs, used, source):
    result = read_any(csv("x,y", f"{x},{GK_POINT[1]}"), crs=crs)
    assert (result.crs.name, result.crs.source) == (used, source)
    assert point(result) == pytest.approx(GK_LONLAT, abs=1e-7)
    if source == "detected":
        assert any("prefix" in w for w in result.warnings)


def test_any_epsg_code_through_pyproj():
    # Web Mercator by hand: x = R λ, y = R ln tan(π/4 + φ/2), R = 6 378 137 m
    lon, lat, r = 119.7, 31.2, 6_378_137.0
    x = r * math.radians(lon)
    y = r * math.log(math.tan(math.pi / 4 + math.radians(lat) / 2))
    result = read_any(csv("x,y", f"{x},{y}"), crs="EPSG:3857")
    assert point(result) == pytest.approx((lon, lat), abs=1e-9)
    assert result.crs.name == "EPSG:3857"


def test_cgcs2000_is_wgs84_within_centimetres():
    result = read_any(csv("lon,lat", "119.7,31.2"), crs="EPSG:4490")
    assert point(result) == (119.7, 31.2) and result.crs.name == "cgcs2000"


def test_unknown_crs_is_refused_with_the_accepted_values():
    with pytest.raises(ImportRefused, match="unknown CRS 'mars'.*gcj02.*EPSG:4549"):
        read_any(csv("lon,lat", "119.7,31.2"), crs="mars")


@pytest.mark.parametrize("row, words", [
    ("2.35,48.85", "outside China"),  # Paris
    ("13325000,3650000", "not degrees"),  # metres read as degrees
    ("31.2,119.7", "swapped in this row"),
])
def test_outside_china_rejected_with_the_likely_cause(row, words):
    result = read_any(csv("lon,lat", "119.7,31.2", row))
    assert [r["row"] for r in result.rejected] == [3]
    assert words in result.rejected[0]["reason"]
    assert "CRS" in result.rejected[0]["reason"] or "swapped" in words
    assert len(result.frame) == 1


def test_outside_china_after_a_transform_names_the_crs():
    result = read_any(csv("x,y", "261600,6250000"), crs="EPSG:3857")  # Paris
    assert "read as EPSG:3857 falls at (2.3499" in result.rejected[0]["reason"]
    # degrees given with a projected CRS
    result = read_any(csv("lon,lat", "119.7,31.2"), crs="EPSG:4549")
    assert "look like degrees, but EPSG:4549 is in metres" in result.rejected[0][
        "reason"]


def test_deployment_bbox():
    town = (119.6, 31.1, 119.8, 31.3)
    # 119.75 inside; 119.85 beyond the bbox but within its 0.1° margin; 120.5 far
    result = read_any(csv("lon,lat", "119.75,31.2", "119.85,31.2", "120.5,31.2"),
                      bbox=town)
    assert result.frame["row"].tolist() == [2, 3]
    assert result.rejected[0]["row"] == 4
    assert "far outside the deployment's area" in result.rejected[0]["reason"]


def test_sizes_are_limited_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(csv("lon,lat", *["119.7,31.2"] * 100))
    with pytest.raises(ImportRefused, match="over the limit") as refused:
        read_any(path, max_bytes=1000)
    # 100 lines of 11 bytes and the 8-byte header: 1,108 bytes
    assert refused.value.message == ("文件 big.csv 大小为 1 KB，超过上限 1000 bytes"
                                     "（the file big.csv is 1 KB, over the limit of "
                                     "1000 bytes）")
    with pytest.raises(ImportRefused, match="over the limit"):
        read_any(path.read_bytes(), max_bytes=1000)
    assert len(read_any(path, max_bytes=10_000).frame) == 100


def test_mapping_is_reported_and_checked():
    data = csv("地址,人口,经度,纬度", "幸福路1号,3,119.7,31.2")
    result = read_any(data, mapping="address=地址,size=人口")
    assert result.columns == {"lon": "经度", "lat": "纬度", "address": "地址",
                              "size": "人口"}
    with pytest.raises(ImportRefused, match="电话.*地址、人口、经度、纬度"):
        read_any(data, mapping={"phone": "电话"})


def test_swap_option_reads_swapped_rows_the_other_way():
    result = read_any(csv("lon,lat", "119.7,31.2", "31.3,119.8"), swap=True)
    assert [point(result, i) for i in range(2)] == [(119.7, 31.2), (119.8, 31.3)]
    assert result.rejected == [] and "swap=True" in result.warnings[-1]
    assert np.array_equal(result.frame["row"], [2, 3])


def test_an_offset_option_wins_over_a_file_that_says_wgs84():
    # no .prj or GeoJSON crs member can name GCJ-02: apps write "WGS 84"
    doc = {"type": "Point", "coordinates": TIANANMEN_GCJ02,
           "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}}
    result = read_any(json.dumps(doc).encode(), crs="gcj02")
    assert (result.crs.name, result.crs.source) == ("gcj02", "option")
    assert "cannot express the gcj02 offset" in result.warnings[0]
    assert metres(*point(result), *TIANANMEN_WGS84) < 0.5
