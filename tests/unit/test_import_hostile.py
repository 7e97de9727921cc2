"""Hostile and broken files: refused with a plain message, before any harm."""

import gzip
import io
import zipfile

import pytest

from importers import ImportRefused, gpx, kml, read_any, safezip, shapefile

BILLION_LAUGHS = """<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol9 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<{root}><wpt lat="31.2" lon="119.7"><name>&lol9;</name></wpt></{root}>
"""
EXTERNAL_ENTITY = """<?xml version="1.0"?>
<!DOCTYPE {root} [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<{root}><wpt lat="31.2" lon="119.7"><name>&secret;</name></wpt></{root}>
"""
GPX = """<?xml version="1.0"?>
<gpx version="1.1" creator="t" xmlns="http://www.topografix.com/GPX/1/1">
<trk><trkseg>
""" + "".join(f'<trkpt lat="31.2{i}" lon="119.7{i}"></trkpt>\n' for i in range(9)) + """
</trkseg></trk></gpx>
"""


@pytest.mark.parametrize("template", [BILLION_LAUGHS, EXTERNAL_ENTITY])
@pytest.mark.parametrize("root, name", [("gpx", "a.gpx"), ("kml", "a.kml")])
def test_xml_entities_refused(template, root, name):
    data = template.replace("{root}", root).encode()
    with pytest.raises(ImportRefused, match="declares XML entities.*gridgov "
                       "refuses") as refused:
        read_any(data, name=name)
    # Chinese first (which file, that it is refused), the English in brackets
    zh = {"gpx": "GPX 文件", "kml": "KML 文件"}[root]
    assert refused.value.message.startswith(
        f"{zh}声明了 XML 实体，gridgov 拒绝此类文件：")
    assert f"（the {root.upper()} file declares XML entities" in refused.value.message


def test_entities_refused_inside_a_kmz():
    data = zipped({"doc.kml": BILLION_LAUGHS.replace("{root}", "kml")})
    with pytest.raises(ImportRefused, match="KMZ file declares XML entities"):
        kml.read(data)


@pytest.mark.parametrize("cut", [0.3, 0.6, 0.95])
def test_truncated_gpx(cut):
    data = GPX.encode()[: int(len(GPX) * cut)]
    with pytest.raises(ImportRefused, match=r"GPX file is broken or truncated \(XML "
                                            r"error at line \d+"):
        gpx.read(data)
    assert len(gpx.read(GPX.encode()).frame) == 9


def zipped(members, method=zipfile.ZIP_DEFLATED):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def forbid_unzipping(monkeypatch):
    """Make any decompression fail: limits must be checked on the directory."""

    def refuse(*args, **kwargs):
        raise AssertionError("a member was opened before the limits were checked")

    monkeypatch.setattr(zipfile.ZipFile, "open", refuse)


@pytest.mark.parametrize("reader, member", [(kml.read, "doc.kml"),
                                            (shapefile.read, "a.shp")])
def test_zip_bomb_refused_by_ratio_before_extraction(reader, member, monkeypatch):
    # 2 MB of one repeated byte deflates to ~2 KB: a ratio near 1000 to 1
    data = zipped({member: b" " * (2 * 1024 * 1024), "a.dbf": b"", "a.shx": b""})
    forbid_unzipping(monkeypatch)
    with pytest.raises(ImportRefused, match="compressed \\d+ to 1, over the limit of "
                                            "100 to 1: refused"):
        reader(data)


@pytest.mark.parametrize("reader, member", [(kml.read, "doc.kml"),
                                            (shapefile.read, "a.shp")])
def test_zip_bomb_refused_by_total_size_before_extraction(reader, member, monkeypatch):
    monkeypatch.setattr(safezip, "MAX_UNZIPPED_BYTES", 64 * 1024)
    # stored, not compressed: the ratio is 1, the total 100 KB over a 64 KB limit
    data = zipped({member: bytes(range(256)) * 400}, method=zipfile.ZIP_STORED)
    forbid_unzipping(monkeypatch)
    with pytest.raises(ImportRefused, match="would unpack to 100 KB, over the limit "
                                            "of 64 KB"):
        reader(data)


def gzipped(data):
    return gzip.compress(data)


class CountingGzip:
    """gzip.GzipFile that records how many bytes were asked of it."""

    asked = []
    real = gzip.GzipFile

    def __init__(self, *args, **kwargs):
        self.inner = CountingGzip.real(*args, **kwargs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.inner.close()

    def read(self, size=-1):
        CountingGzip.asked.append(size)
        return self.inner.read(size)


def test_gzip_bomb_refused_by_ratio_without_unpacking_it_all(monkeypatch):
    # 64 MB of one byte gzips to ~64 KB: over 100 to 1 once past the 1 MB floor
    data = gzipped(bytes(64 * 2**20))
    monkeypatch.setattr(safezip.gzip, "GzipFile", CountingGzip)
    CountingGzip.asked.clear()
    with pytest.raises(ImportRefused, match="gzip 文件解压后超过其自身大小的 100 倍："
                       "已拒绝.*the gzip file unpacks to more than 100 times its "
                       "size: refused"):
        read_any(data, name="track.gpx.gz")
    # never asked for more than 100 times its size (and one byte)
    assert CountingGzip.asked == [100 * len(data) + 1]


def test_gzip_refused_by_total_size(monkeypatch):
    monkeypatch.setattr(safezip, "MAX_UNZIPPED_BYTES", 64 * 1024)
    data = gzipped(bytes(range(256)) * 400)  # 100 KB, a ratio of about 100
    with pytest.raises(ImportRefused, match="unpacks to more than 64 KB: refused"):
        read_any(data, name="a.csv.gz")


@pytest.mark.parametrize("data, words", [
    (gzipped(b"lon,lat\n119.7,31.2\n" * 100)[:40], "gzip file is broken or "
                                                   "truncated"),
    (gzipped(gzipped(b"lon,lat\n119.7,31.2\n")), "holds another gzip file"),
    (b"\x1f\x8bnot gzip at all", "gzip file is broken or truncated"),
], ids=["truncated", "nested", "not gzip"])
def test_broken_and_nested_gzip(data, words):
    with pytest.raises(ImportRefused, match=words):
        read_any(data, name="a.csv.gz")


def test_the_real_limits():
    assert (safezip.MAX_UNZIPPED_BYTES, safezip.MAX_RATIO) == (200 * 2**20, 100)


def test_zip_member_outside_its_folder_refused():
    data = zipped({"../../etc/cron.d/x.shp": b"x"})
    with pytest.raises(ImportRefused, match="outside its folder"):
        shapefile.read(data)


def test_xlsx_bomb_refused(monkeypatch):
    data = zipped({"[Content_Types].xml": b"", "xl/workbook.xml": b" " * 2**21})
    forbid_unzipping(monkeypatch)
    with pytest.raises(ImportRefused, match="workbook is compressed"):
        read_any(data)


@pytest.mark.parametrize("data, words", [
    (b"PK\x03\x04broken", "broken or truncated"),
    (b'{"type": "FeatureCollection", "features": [', "broken or truncated"),
    (b'{"type": "Topology"}', "top-level type is 'Topology'"),
    (b"", "empty"),
])
def test_broken_files(data, words):
    with pytest.raises(ImportRefused, match=words):
        read_any(data)


def test_loose_shp_bytes_refused():
    with pytest.raises(ImportRefused, match="zip it with its"):
        read_any(b"\x00\x00\x27\x0a" + bytes(96))
