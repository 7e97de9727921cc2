"""Shapefile code pages: every .cpg spelling ArcGIS and QGIS write, the .dbf's LDID,
and .cpg files that lie (importers.codepage through importers.shapefile)."""

import io
import zipfile

import geopandas
import pytest
import shapely

from importers import ImportRefused, codepage, read_any

CHINESE = ["简体", "一村三组"]
POLISH_CZECH = ["Łódź", "Příbram"]
LATIN1 = ["Müller", "Ærø", "café"]
TRADITIONAL = ["繁體", "臺北"]


def shapefile(folder, values, encoding, cpg=None, ldid=None, field="名称"):
    """A point shapefile whose text field holds ``values`` in ``encoding``; its
    .cpg holds ``cpg`` (str, or bytes as they are; None: no .cpg) and byte 29 of
    its .dbf is set to ``ldid`` when given."""
    points = [shapely.Point(119.7 + i / 1000, 31.2) for i in range(len(values))]
    frame = geopandas.GeoDataFrame({field: values}, geometry=points, crs=4326)
    path = folder / "村界.shp"
    frame.to_file(path, encoding=encoding)
    (folder / "村界.cpg").unlink(missing_ok=True)
    if cpg is not None:
        (folder / "村界.cpg").write_bytes(cpg if isinstance(cpg, bytes)
                                         else cpg.encode("ascii"))
    if ldid is not None:
        dbf = bytearray((folder / "村界.dbf").read_bytes())
        dbf[29] = ldid
        (folder / "村界.dbf").write_bytes(bytes(dbf))
    return path


def zipped(folder):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)
    return buffer.getvalue()


def values(result, field="名称"):
    return result.frame[field].tolist()


def about_encoding(result):
    """The warnings that speak of the attributes' encoding."""
    return [w for w in result.warnings if "encoding" in w or "decoded" in w
            or ".cpg" in w]


# GBK data: the .cpg right in every spelling → read, no warning ------------------

@pytest.mark.parametrize("cpg", [
    "ANSI 936", "936", "GBK", "gbk", " GB2312 \r\n", "CP936", "cp936", "ansi  936",
    "ANSI_936", "EUC-CN", "GB18030", b"\xef\xbb\xbfANSI 936", b"\xef\xbb\xbfGBK\n"])
@pytest.mark.parametrize("packed", [False, True])
def test_gbk_with_a_right_cpg(tmp_path, cpg, packed):
    path = shapefile(tmp_path, CHINESE, "GBK", cpg)
    result = read_any(zipped(tmp_path) if packed else path)
    assert values(result) == CHINESE
    assert result.encoding in ("GBK (from the .cpg)", "GB18030 (from the .cpg)")
    assert about_encoding(result) == []


# GBK data, the .cpg wrong, vague, unknown or missing → read right, with a warning

@pytest.mark.parametrize("cpg, ldid, says", [
    ("ANSI 1252", None, "the .cpg (ANSI 1252) says CP1252"),
    ("ANSI 1250", None, "the .cpg (ANSI 1250) says CP1250"),
    ("88591", None, "says ISO-8859-1"),
    ("8859-1", None, "says ISO-8859-1"),
    ("UTF-8", None, "the .cpg (UTF-8) says UTF-8, but the attributes are not text"),
    ("UTF8", None, "says UTF-8, but"),
    ("65001", None, "the .cpg (65001) says UTF-8, but"),
    ("System", None, "the .cpg says 'System'"),
    ("OEM", None, "the .cpg says 'OEM'"),
    ("what is this", None, "the .cpg says 'what is this', not a code page"),
    (None, None, "nothing says the attributes' encoding"),
    (None, 0x00, "nothing says the attributes' encoding"),
    (None, 0x57, "the .dbf header (LDID 0x57) says CP1252"),
    (None, 0x03, "the .dbf header (LDID 0x03) says CP1252"),
    (None, 0xC8, "the .dbf header (LDID 0xC8) says CP1250"),
])
def test_gbk_with_a_wrong_or_no_cpg(tmp_path, cpg, ldid, says):
    path = shapefile(tmp_path, CHINESE, "GBK", cpg, ldid)
    result = read_any(path)
    assert values(result) == CHINESE  # never ¼òÌå, never a UnicodeDecodeError
    assert result.encoding.startswith("GBK")
    warnings = about_encoding(result)
    assert warnings and says in " ".join(warnings)
    assert "GBK" in warnings[-1] and warnings[-1].index("（") > 0  # Chinese first


def test_the_ldid_of_gbk_is_enough(tmp_path):
    result = read_any(shapefile(tmp_path, CHINESE, "GBK", None, 0x4D))
    assert values(result) == CHINESE
    assert result.encoding == "GBK (from the .dbf header)"
    assert about_encoding(result) == []


def test_the_cpg_wins_over_the_ldid(tmp_path):
    result = read_any(shapefile(tmp_path, CHINESE, "GBK", "ANSI 936", 0x57))
    assert values(result) == CHINESE and result.encoding == "GBK (from the .cpg)"
    assert about_encoding(result) == []


def test_a_character_cut_by_the_end_of_its_field(tmp_path):
    # ArcGIS cuts a value at the field's width, sometimes between the two bytes of
    # a character: row 2 fills its field with 村…村a and the first byte of 文
    path = shapefile(tmp_path, ["一村三组", "二村"], "GBK", "ANSI 936")
    dbf = bytearray((tmp_path / "村界.dbf").read_bytes())
    width = dbf[32 + 16]  # the first field's descriptor: its width in byte 16
    long = "村" * ((width - 2) // 2) + "a"
    start = dbf.index("二村".encode("gbk"))
    dbf[start:start + width] = (long.encode("gbk") + "文".encode("gbk")[:1]).ljust(
        width, b"a")
    (tmp_path / "村界.dbf").write_bytes(bytes(dbf))
    result = read_any(path)
    assert values(result)[1].startswith(long)
    assert values(result)[0] == "一村三组"
    assert result.encoding == "GBK (from the .cpg)"


def test_a_damaged_byte_in_gbk_text(tmp_path):
    path = shapefile(tmp_path, ["一村三组", "二村"], "GBK", "ANSI 936")
    dbf = bytearray((tmp_path / "村界.dbf").read_bytes())
    start = dbf.index("二村".encode("gbk"))
    dbf[start + 2] = 0xFF  # not a GBK byte
    (tmp_path / "村界.dbf").write_bytes(bytes(dbf))
    result = read_any(path)
    assert values(result)[0] == "一村三组" and values(result)[1].startswith("二")
    assert result.encoding == "GBK (from the .cpg)"
    assert result.warnings == [
        "属性中有按 GBK 无法解码的字符：已替换或略去，请核对（some characters of the "
        "attributes are not valid GBK: replaced or dropped; check them）"]


def test_an_encoding_option_that_does_not_fit_is_refused_not_a_crash(tmp_path):
    path = shapefile(tmp_path, CHINESE, "GBK", "ANSI 936")
    with pytest.raises(ImportRefused, match="无法按 UTF-8 解码.*cannot decode the "
                                            "file as UTF-8"):
        read_any(path, encoding="UTF-8")
    assert values(read_any(path, encoding="GB18030")) == CHINESE


# Other code pages ------------------------------------------------------------

@pytest.mark.parametrize("cpg, ldid, label", [
    ("ANSI 1250", None, "CP1250 (from the .cpg)"),
    ("1250", None, "CP1250 (from the .cpg)"),
    ("windows-1250", None, "CP1250 (from the .cpg)"),
    (None, 0xC8, "CP1250 (from the .dbf header)"),
    ("ANSI 1250", 0x57, "CP1250 (from the .cpg)"),
])
def test_windows_1250(tmp_path, cpg, ldid, label):
    path = shapefile(tmp_path, POLISH_CZECH, "CP1250", cpg, ldid, field="NAME")
    result = read_any(path)
    assert values(result, "NAME") == POLISH_CZECH and result.encoding == label
    assert about_encoding(result) == []


@pytest.mark.parametrize("cpg", ["65001", "UTF-8", "utf8", "\ufeffUTF-8"])
def test_utf8(tmp_path, cpg):
    result = read_any(shapefile(tmp_path, CHINESE, "UTF-8",
                                cpg.encode("utf-8")))
    assert values(result) == CHINESE and result.encoding == "UTF-8 (from the .cpg)"
    assert about_encoding(result) == []


@pytest.mark.parametrize("cpg, ldid", [("ANSI 936", None), (None, 0x4D),
                                       ("ANSI 1252", None)])
def test_utf8_under_a_stale_code_page(tmp_path, cpg, ldid):
    # UTF-8 text is never valid by accident: a stale .cpg or LDID loses
    result = read_any(shapefile(tmp_path, CHINESE, "UTF-8", cpg, ldid))
    assert values(result) == CHINESE and result.encoding == "UTF-8"
    warned = " ".join(result.warnings)
    assert "decoded as UTF-8" in warned and ("valid UTF-8" in warned
                                             or "are not text in" in warned)


@pytest.mark.parametrize("cpg, ldid, label", [
    ("ANSI 950", None, "CP950 (from the .cpg)"),
    ("BIG5", None, "CP950 (from the .cpg)"),
    (None, 0x4F, "CP950 (from the .dbf header)"),
])
def test_big5(tmp_path, cpg, ldid, label):
    path = shapefile(tmp_path, TRADITIONAL, "CP950", cpg, ldid, field="NAME")
    result = read_any(path)
    assert values(result, "NAME") == TRADITIONAL and result.encoding == label


def test_latin1_without_cpg_is_never_read_as_chinese(tmp_path):
    # as GBK, "Müller" reads "M黮ler" (ü and the l after it make one character):
    # the sniff must not take that for Chinese
    result = read_any(shapefile(tmp_path, LATIN1, "ISO-8859-1", field="NAME"))
    assert values(result, "NAME") == LATIN1
    assert result.encoding == "CP1252"
    warned = " ".join(about_encoding(result))
    assert "neither UTF-8 nor Chinese in GBK: decoded as CP1252" in warned


@pytest.mark.parametrize("cpg, ldid", [("88591", None), ("8859-1", None),
                                       ("ISO-8859-1", None), (None, 0x57)])
def test_latin1_declared(tmp_path, cpg, ldid):
    result = read_any(shapefile(tmp_path, LATIN1, "ISO-8859-1", cpg, ldid,
                                field="NAME"))
    assert values(result, "NAME") == LATIN1 and about_encoding(result) == []


def test_windows_1250_under_a_wrong_chinese_cpg(tmp_path):
    path = shapefile(tmp_path, POLISH_CZECH, "CP1250", "ANSI 936", field="NAME")
    result = read_any(path)
    assert "GB" not in result.encoding
    assert "says GBK, but the attributes are not text in GBK" in (
        " ".join(result.warnings))


def test_ascii_takes_the_declared_code_page_quietly(tmp_path):
    result = read_any(shapefile(tmp_path, ["abc", "Main St"], "UTF-8", "ANSI 936",
                                field="NAME"))
    assert result.encoding == "GBK (from the .cpg)" and result.warnings == []


# The tables -------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("ANSI 936", "GBK"), ("936", "GBK"), ("GBK", "GBK"), ("gb2312", "GBK"),
    ("GB18030", "GB18030"), ("BIG5", "CP950"), ("ANSI 950", "CP950"),
    ("ANSI 949", "CP949"), ("ANSI 932", "CP932"), ("65001", "UTF-8"),
    ("UTF-8", "UTF-8"), ("UTF8", "UTF-8"), ("utf-8\r\n", "UTF-8"),
    ("\ufeffUTF-8", "UTF-8"), ("ANSI 1252", "CP1252"), ("1252", "CP1252"),
    ("ANSI 1250", "CP1250"), ("WINDOWS-1251", "CP1251"), ("88591", "ISO-8859-1"),
    ("8859-1", "ISO-8859-1"), ("ISO 8859-1", "ISO-8859-1"), ("latin1", "ISO-8859-1"),
    ("OEM 866", "CP866"), ("System", codepage.SYSTEM), ("OEM", codepage.SYSTEM),
    ("UTF-16", None), ("nonsense", None), ("", None)])
def test_cpg_spellings(text, expected):
    assert codepage.cpg_encoding(text) == expected


@pytest.mark.parametrize("ldid, expected", [
    (0x4D, "GBK"), (0x7A, "GBK"), (0x4E, "CP949"), (0x4F, "CP950"),
    (0x57, "CP1252"), (0x03, "CP1252"), (0xC8, "CP1250"), (0xC9, "CP1251"),
    (0x00, None), (0xFF, None)])
def test_ldid(ldid, expected):
    assert codepage.LDID.get(ldid) == expected
