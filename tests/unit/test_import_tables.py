"""importers.csvfile and importers.xlsx: columns, angles, encodings, bad rows."""

import datetime as dt

import pytest

from importers import ImportRefused, csvfile, read_any, xlsx
from importers.coordinates import find_columns

# 116°23'17.5"E = 116 + 23/60 + 17.5/3600 = 116.388194…; 39°54'27"N = 39.9075
DMS_LON, DMS_LAT = 116 + 23 / 60 + 17.5 / 3600, 39 + 54 / 60 + 27 / 3600
ROWS = [("幸福路1号", "119.7", "31.2"), ("和平街2号", "119.71", "31.21")]


def csv_bytes(header, rows, encoding="utf-8", sep=","):
    text = "\n".join(sep.join(r) for r in [header, *rows]) + "\n"
    return text.encode(encoding)


def lonlat(result):
    return [(round(g.x, 7), round(g.y, 7)) for g in result.frame.geometry]


@pytest.mark.parametrize("encoding, label", [
    ("utf-8", "UTF-8"), ("utf-8-sig", "UTF-8 with BOM"), ("gbk", "GBK"),
    ("gb18030", "GB18030"), ("utf-16", "UTF-16")])
def test_encodings(encoding, label):
    rows = ROWS if encoding != "gb18030" else [("𠀀路1号", "119.7", "31.2")]  # not GBK
    result = csvfile.read(csv_bytes(("地址", "经度", "纬度"), rows, encoding))
    assert result.encoding == label
    assert result.frame["地址"].tolist() == [r[0] for r in rows]
    assert result.columns == {"lon": "经度", "lat": "纬度"}


def test_bytes_in_no_known_encoding_are_refused():
    with pytest.raises(ImportRefused, match="not text in UTF-8, GBK or GB18030"):
        csvfile.read(b"lon,lat\n\x80\xff\xff,1\n")


@pytest.mark.parametrize("columns, expected", [
    (["名称", "经度", "纬度"], ("经度", "纬度")),
    (["lng", "lat"], ("lng", "lat")),
    (["LON", "LAT"], ("LON", "LAT")),
    (["Longitude", "Latitude"], ("Longitude", "Latitude")),
    (["x", "y"], ("x", "y")),
    (["东经", "北纬"], ("东经", "北纬")),
    (["经度(°)", "纬度（度）"], ("经度(°)", "纬度（度）")),
    (["GPS_Lng", "GPS_Lat"], ("GPS_Lng", "GPS_Lat")),
    (["高德经度", "高德纬度"], ("高德经度", "高德纬度")),
    (["x", "y", "经度", "纬度"], ("经度", "纬度")),  # names beat x/y
])
def test_coordinate_columns_found_by_name(columns, expected):
    assert find_columns(columns)[:2] == expected


def test_no_coordinate_columns_names_the_columns_found():
    with pytest.raises(ImportRefused, match="no longitude and latitude column found "
                                            "among the columns: 名称、地址、电话"):
        csvfile.read(csv_bytes(("名称", "地址", "电话"), [("甲", "乙", "1")]))


def test_columns_given_explicitly():
    data = csv_bytes(("名称", "东", "北"), [("甲", "119.7", "31.2")])
    result = read_any(data, lon="东", lat="北")
    assert lonlat(result) == [(119.7, 31.2)] and result.columns["lon"] == "东"
    with pytest.raises(ImportRefused, match="no column '经'; the columns are"):
        read_any(data, lon="经", lat="北")


@pytest.mark.parametrize("lon, lat", [
    ("116°23'17.5\"E", "39°54'27\"N"),
    ("116度23分17.5秒", "39度54分27秒"),
    ("东经116°23′17.5″", "北纬39°54′27″"),
    ("E116 23 17.5", "N39 54 27"),
    ("116:23:17.5", "39:54:27"),
])
def test_degree_minute_second_strings(lon, lat):
    result = csvfile.read(csv_bytes(("lon", "lat"), [(lon, lat)]))
    assert result.frame.geometry.iloc[0].x == pytest.approx(DMS_LON, abs=1e-9)
    assert result.frame.geometry.iloc[0].y == pytest.approx(DMS_LAT, abs=1e-9)


def test_mixed_valid_and_invalid_rows():
    rows = [("a", "119.7", "31.2"), ("b", "", "31.2"), ("c", "abc", "31.2"),
            ("d", "119.7", "31.2", "extra"), ("e", "119°70'", "31.2"),
            ("f", "2.35", "48.85"), ("g", "119.72", "31.22")]
    result = csvfile.read(csv_bytes(("名称", "经度", "纬度"), rows))
    assert result.frame["名称"].tolist() == ["a", "g"]
    assert result.frame["row"].tolist() == [2, 8]
    reasons = {r["row"]: (r["field"], r["reason"]) for r in result.rejected}
    assert reasons[3] == ("经度", "经度为空（经度 is empty）")
    assert reasons[4][0] == "经度" and "'abc' is neither a number" in reasons[4][1]
    assert "too many fields" in reasons[5][1]
    assert "119°70'" in reasons[6][1]  # 70 minutes: not an angle
    assert "outside China" in reasons[7][1]
    assert sorted(reasons) == [3, 4, 5, 6, 7]


def test_blank_lines_keep_the_row_numbers():
    data = b"lon,lat\n119.7,31.2\n\n119.8,31.3\n"
    assert csvfile.read(data).frame["row"].tolist() == [2, 4]


def test_swapped_columns_reported_not_fixed():
    data = csv_bytes(("经度", "纬度"), [("31.2", "119.7"), ("31.3", "119.8")])
    result = csvfile.read(data)
    assert len(result.frame) == 0 and len(result.rejected) == 2
    assert all("columns look swapped: 经度 holds latitudes" in r["reason"]
               for r in result.rejected)
    assert "swapped in the whole file" in result.warnings[0]
    # Chinese first, the English words kept in the brackets
    assert result.rejected[0]["reason"] == (
        "各列似乎互换了：经度 列是纬度，纬度 列是经度；请检查，或用 swap=True "
        "按互换读取"
        "（the columns look swapped: 经度 holds latitudes and 纬度 longitudes; check "
        "them or pass swap=True）")
    assert result.warnings[0].startswith(
        "整个文件的经度和纬度似乎互换了：经度 列是纬度，纬度 列是经度；全部 2 行被拒绝")
    assert lonlat(csvfile.read(data, swap=True)) == [(119.7, 31.2), (119.8, 31.3)]


def test_text_kept_as_written():
    data = csv_bytes(("编号", "公式", "lon", "lat"),
                     [("001", "=1+2", "119.7", "31.2"), ("0510", "@SUM(A1)", "119.7",
                                                        "31.2")])
    frame = csvfile.read(data).frame
    assert frame["编号"].tolist() == ["001", "0510"]
    assert frame["公式"].tolist() == ["=1+2", "@SUM(A1)"]


@pytest.mark.parametrize("sep", [",", "\t", ";"])
def test_separators(sep):
    result = csvfile.read(csv_bytes(("名称", "lng", "lat"), [("a", "119.7", "31.2")],
                                    sep=sep))
    assert lonlat(result) == [(119.7, 31.2)]


def test_a_crs_hint_in_the_column_names_is_a_warning():
    result = csvfile.read(csv_bytes(("百度经度", "百度纬度"), [("119.7", "31.2")]))
    assert any("suggest bd09" in w for w in result.warnings)


def workbook(tmp_path, rows, sheets=("点位",)):
    import openpyxl

    book = openpyxl.Workbook()
    book.active.title = sheets[0]
    for extra in sheets[1:]:
        book.create_sheet(extra)
    ws = book[sheets[0]]
    for row in rows:
        ws.append(row)
    path = tmp_path / "points.xlsx"
    book.save(path)
    return path


def test_xlsx_cells_that_look_like_formulas_stay_text(tmp_path):
    import openpyxl

    rows = [("名称", "备注", "经度", "纬度"),
            ("甲", "=1+2", 119.7, 31.2),        # text cell, fixed below
            ("乙", "=HYPERLINK(\"http://x\")", 119.71, 31.21),  # a real formula
            ("丙", "+86 138", "119°42'", 31.2),
            ("丁", "@cmd", 119.7, 31.2),
            ("戊", -5, 119.7, 31.2)]            # a negative number is a number
    path = workbook(tmp_path, rows)
    book = openpyxl.load_workbook(path)
    book.active["B2"].data_type = "s"
    book.save(path)
    result = read_any(path)
    assert result.format == "xlsx" and result.rejected == []
    assert result.frame["备注"].tolist() == ["=1+2", "=HYPERLINK(\"http://x\")",
                                             "+86 138", "@cmd", -5]
    assert result.frame.geometry.iloc[2].x == pytest.approx(119.7)  # 119°42'


def test_xlsx_row_numbers_sheets_and_bad_rows(tmp_path):
    rows = [(None,), ("名称", "lng", "lat", "日期"),
            ("a", 119.7, 31.2, dt.datetime(2026, 5, 1)), (None,),
            ("b", "东经", 31.2, None), ("c", 31.2, 119.7, None)]
    path = workbook(tmp_path, rows, sheets=("点位", "说明"))
    result = xlsx.read(path)
    assert result.frame["row"].tolist() == [3]  # the header is on row 2
    assert result.frame["日期"].iloc[0] == dt.datetime(2026, 5, 1)
    assert [r["row"] for r in result.rejected] == [5, 6]
    assert "2 sheets" in result.warnings[0]
    with pytest.raises(ImportRefused, match="no sheet 'x'; the sheets are: 点位、说明"):
        xlsx.read(path, sheet="x")
    with pytest.raises(ImportRefused, match="empty"):
        xlsx.read(path, sheet="说明")
