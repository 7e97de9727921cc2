"""A CSV handed over part by part (``read_any(…, stream=True)``): whatever the
sizes of its parts, their rows, rejected rows, warnings and CRS are what the
file read whole gives, row for row and word for word."""

import numpy as np
import pandas as pd
import pytest
import shapely

import geo.crs
from geo.crs import wgs84_to_gcj02
from importers import ImportRefused, csvfile, read_any
from importers.coordinates import parse_angles


def points_csv(n, *, header="编号,地址,经度,纬度", start=0):
    """``n`` rows around Suzhou in GCJ-02, one line each (row i + 2 is line i)."""
    i = np.arange(start, start + n)
    lon, lat = wgs84_to_gcj02(119.7 + i * 1e-6, 31.2 + i * 1e-6)
    return [header] + [f"B{k},某村{k}号,{x:.9f},{y:.9f}"
                       for k, x, y in zip(i, lon, lat, strict=True)]


def text(lines):
    return ("\n".join(lines) + "\n").encode("utf-8")


def in_parts(data, sizes, **options):
    """(the parts' rows together, the finished Result) of ``data`` streamed."""
    streamed = read_any(data, name="parts.csv", stream=True, **options)
    assert isinstance(streamed, csvfile.Streamed)
    parts = list(streamed.parts(sizes))
    assert all(list(p.columns) == streamed.frame_columns for p in parts)
    return pd.concat(parts, ignore_index=True), streamed.finish()


def assert_same(data, sizes, **options):
    """The streamed answer is the whole file's; returns the whole file's."""
    whole = read_any(data, name="parts.csv", **options)
    frame, result = in_parts(data, sizes, **options)
    assert result.frame is None
    assert frame["row"].tolist() == whole.frame["row"].tolist()
    # the positions, bit for bit
    np.testing.assert_array_equal(shapely.get_coordinates(frame.geometry.values),
                                  shapely.get_coordinates(whole.frame.geometry.values))
    coordinates = [whole.columns["lon"], whole.columns["lat"]]
    for column in coordinates:  # as written: numbers or text, the same values
        np.testing.assert_array_equal(parse_angles(frame[column]),
                                      parse_angles(whole.frame[column]))
    others = [c for c in whole.frame.columns if c not in coordinates + ["geometry"]]
    pd.testing.assert_frame_equal(pd.DataFrame(frame[others]),
                                  pd.DataFrame(whole.frame[others]))
    assert result.rejected == whole.rejected
    assert result.warnings == whole.warnings
    assert (result.crs, result.columns, result.encoding, result.format) == (
        whole.crs, whole.columns, whole.encoding, whole.format)
    return whole


# a file of 1,000 rows with a rejection or a twist deep in its later parts
TRICKY = points_csv(1000)
TRICKY[5] = "B,多了,1,2,3"  # row 6: too many fields
TRICKY[51] = ""  # row 52: a blank line, dropped
TRICKY[52] = "Q,坏,abc,31.2"  # row 53: no number
TRICKY[300] = "S,换,31.25,119.75"  # row 301: latitude and longitude swapped
TRICKY[301] = "P,巴黎,2.35,48.85"  # row 302: Paris
TRICKY[400] = "D,度分秒,119°45'0.5\"E,31.25"  # row 401: an angle, read
TRICKY[500] = 'M,"两\n行",119.75,31.25'  # rows 501–502: one quoted field, two lines
TRICKY[998] = "B,多了,1,2,3,4"  # row 999: too many fields, in the last part


@pytest.mark.parametrize("sizes", [[7] * 200, [1, 2, 3, 500, 1000], [250] * 4,
                                   [100_000]])
def test_parts_of_any_size_answer_what_the_whole_file_answers(sizes):
    whole = assert_same(text(TRICKY), sizes, crs="gcj02")
    # by hand: each rejected row by its number in the file
    assert [(r["row"], r["field"]) for r in whole.rejected] == [
        (6, None), (53, "经度"), (301, None), (302, None), (999, None)]
    assert "该行的纬度和经度似乎互换了" in whole.rejected[2]["reason"]
    assert whole.rejected[4]["reason"].startswith("该行的字段过多")
    assert 401 in whole.frame["row"].tolist() and 52 not in whole.frame["row"].tolist()


def test_columns_swapped_in_one_part_only_are_rows_not_the_files_columns():
    """The first part holds only swapped rows: alone it would look like a file
    whose columns are swapped; the whole file says "these rows"."""
    lines = points_csv(300)
    lines[1:101] = [",".join([*line.split(",")[:2], *line.split(",")[2:][::-1]])
                    for line in lines[1:101]]
    whole = assert_same(text(lines), [100] * 3, crs="gcj02")
    assert len(whole.rejected) == 100
    assert all("该行的纬度和经度似乎互换了" in r["reason"] for r in whole.rejected)
    assert not any("整个文件" in w for w in whole.warnings)
    # swap=True reads them the other way round, in every part
    assert len(assert_same(text(lines), [100] * 3, crs="gcj02", swap=True).frame) == 300


def test_every_row_swapped_is_the_files_columns_whatever_the_parts():
    lines = points_csv(300, header="编号,地址,纬度,经度")  # the names swapped
    whole = assert_same(text(lines), [64] * 5, crs="gcj02")
    assert len(whole.rejected) == 300
    assert all(r["reason"].startswith("各列似乎互换了") for r in whole.rejected)
    assert "全部 300 行被拒绝" in whole.warnings[-1]


def test_parts_of_whole_blocks_move_gcj02_points_as_the_whole_file():
    """geo.crs moves GCJ-02 points by blocks of its _BLOCK points: parts of a
    multiple of it (as layers.import_bulk's chunks are) give the whole file's
    positions bit for bit (assert_same compares them exactly)."""
    block = geo.crs._BLOCK
    assert_same(text(points_csv(2 * block + 1000)), [block, 2 * block], crs="gcj02")


def test_a_later_median_of_prefixed_eastings_asks_for_the_whole_file():
    """Without a CRS the Gauss-Krüger variant follows the median easting of the
    whole file: here the first part's (degrees) is not the whole file's
    (prefixed eastings, zone 40), so finish() asks for the whole file."""
    lines = ["x,y"] + ["119.75,31.25"] * 10 + ["40500000,3460000"] * 30
    streamed = read_any(text(lines), name="gk.csv", stream=True)
    list(streamed.parts([10] * 4))
    assert streamed.finish() is None
    whole = streamed.whole()
    assert whole.crs.name == "EPSG:4528" and len(whole.frame) == 30
    assert [r["row"] for r in whole.rejected] == list(range(2, 12))
    # with parts that do agree with the whole file, the answer is the same
    assert_same(text(lines[:1] + lines[11:] + lines[1:11]), [10] * 4)


def test_a_part_that_cannot_be_read_refuses_as_the_whole_file_does():
    lines = list(TRICKY)
    lines[900] = 'O,"未闭合,119.75,31.25'  # row 901: a quote left open
    with pytest.raises(ImportRefused) as whole:
        read_any(text(lines), name="open.csv")

    class Refused(Exception):
        pass

    streamed = read_any(text(lines), name="open.csv", stream=True)
    seen = []
    with pytest.raises(Refused) as parts:
        for part in streamed.parts([250] * 4, refused=Refused):
            seen.append(len(part))
    assert parts.value.args == (whole.value.message,)
    assert len(seen) == 3  # the parts before it were handed over
    with pytest.raises(Refused):
        streamed.whole(refused=Refused)


def test_what_the_header_refuses_is_refused_at_once():
    with pytest.raises(ImportRefused, match="经度"):
        read_any(text(["名称,地址"] + ["a,b"] * 5), name="x.csv", stream=True)
    with pytest.raises(ImportRefused):
        read_any(b"  \n\n", name="x.csv", stream=True)


def test_rows_counts_the_lines_after_the_header_and_other_formats_read_whole():
    assert read_any(text(points_csv(5)), name="x.csv", stream=True).rows == 5
    assert read_any(text(points_csv(5))[:-1], name="x.csv", stream=True).rows == 5
    geojson = (b'{"type": "FeatureCollection", "features": [{"type": "Feature",'
               b' "properties": {}, "geometry": {"type": "Point",'
               b' "coordinates": [119.7, 31.2]}}]}')
    result = read_any(geojson, name="x.geojson", stream=True)
    assert len(result.frame) == 1 and result.warnings == read_any(
        geojson, name="x.geojson").warnings
