"""A large CSV handed over by its reader part by part (``importers.read_any(…,
stream=True)``, as the API and the command line read it, issue 14's speed bar):
its first rows go to the database while the next are still parsed, and the
import answers what the file read whole answers — a row rejected deep in a later
part named by its number in the file, swapped columns told for the whole file,
the deployment's refusal, all or nothing."""

import hashlib
import io
import time

import numpy as np
import pandas as pd
import psycopg
import pyproj
import pytest

import importers
from importers import csvfile
from layers import import_bulk, imports
from layers.access import SYSTEM
from layers.errors import Invalid, Unprocessable
from tests.conftest import writable_demo
from tests.integration.test_imports_fast import (
    definitions,
    execute,
    households_csv,
    indexes,
    rows,
)

pytestmark = pytest.mark.db

N = 1200  # rows per file
SMALL = 500  # bulk_rows: the large path for N rows
NEVER = 10**9
# STREAM_ROWS for the tests: parts of 83, 166, then 250 rows, so the file's rows
# 2–84, 85–250, 251–500, 501–750, 751–1000, 1001–1201 (the header is row 1)
CHUNK = 250


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


@pytest.fixture
def small_chunks(monkeypatch):
    monkeypatch.setattr(import_bulk, "STREAM_ROWS", CHUNK)


def run(url, data, name, bulk_rows, stream, crs="gcj02", events=None, **kwargs):
    """Import ``data`` into households as the system, its CSV read whole or
    handed over part by part; (report, phases)."""
    phases = []

    def progress(phase, *_):
        phases.append(phase)
        if events is not None:
            events.append(phase)

    options = {"crs": crs} if crs else {}
    result = importers.read_any(data, name=name, stream=stream, **options)
    assert hasattr(result, "parts") == stream
    with psycopg.connect(url, autocommit=True) as c:
        report = imports.run_import(
            c, SYSTEM, result, "households", name, hashlib.sha256(data).hexdigest(),
            {}, progress=progress, bulk_rows=bulk_rows, **kwargs)
    return report, phases


def edited(data, changes):
    """``data`` with its lines (numbered as rows: the header is 1) replaced."""
    lines = data.decode("utf-8").split("\n")
    for row, change in changes.items():
        lines[row - 1] = change(lines[row - 1]) if callable(change) else change
    return "\n".join(lines).encode("utf-8")


def swap_xy(line):
    *rest, lon, lat = line.split(",")
    return ",".join([*rest, lat, lon])


def imported(url):
    with psycopg.connect(url) as c:
        return c.execute("SELECT count(*) FROM imports").fetchone()[0]


def field(index, value):
    """A change of ``edited``: the ``index``-th field of the line (households_csv:
    编号, 地址, 户主, 电话, 人口, 标签, 经度, 纬度) set to ``value``."""

    def change(line):
        fields = line.split(",")
        fields[index] = value
        return ",".join(fields)

    return change


def test_rows_rejected_in_later_parts_are_named_as_the_whole_file_names_them(
        rw, demo_town, small_chunks, monkeypatch):
    data, _ = households_csv(demo_town, N, "ST")
    data = edited(data, {
        400: "",  # a blank line: dropped, the rows after keep their numbers
        600: field(4, "99"),  # 人口 out of range
        700: swap_xy,  # latitude and longitude swapped, this row only
        950: field(6, "abc"),  # 经度 no number
        1100: lambda line: line + ",one too many",  # in the last part
        1150: field(6, "87.617"),  # Ürümqi's longitude: outside the deployment
        1180: field(0, "ST00001"),  # row 3's id again
    })
    execute(rw.url, "TRUNCATE households CASCADE")
    whole, _ = run(rw.url, data, "whole.csv", NEVER, stream=False, force=True)
    expected = rows(rw.url)

    events = []  # each part the reader hands over, among the import's phases
    parts = csvfile.Streamed.parts

    def counted(self, sizes, refused=importers.ImportRefused):
        for part in parts(self, sizes, refused):
            events.append("part")
            yield part

    monkeypatch.setattr(csvfile.Streamed, "parts", counted)
    execute(rw.url, "TRUNCATE households CASCADE")
    before = indexes(rw.url)
    streamed, phases = run(rw.url, data, "streamed.csv", SMALL, stream=True,
                           events=events, force=True)
    assert phases == ["checking", "inserting", "indexing", "done"]
    # the COPY began before the reader was through the file (in 6 parts)
    assert events.count("part") == 6
    assert events.index("inserting") < len(events) - 1 - events[::-1].index("part")
    for part in ("counts", "rejected", "preview", "points", "warnings", "crs",
                 "columns"):
        assert streamed[part] == whole[part], part
    assert rows(rw.url) == expected
    assert definitions(indexes(rw.url)) == definitions(before)
    # by hand: each rejected row by its number in the file, and why
    got = {r["row"]: (r["field"], r["reason"]) for r in streamed["rejected"]}
    assert sorted(got) == [600, 700, 950, 1100, 1150, 1180]
    assert got[600][0] == "size" and got[950][0] == "经度"
    assert got[1100][1].startswith("该行的字段过多")
    assert "该行的纬度和经度似乎互换了" in got[700][1]
    assert got[1150][0] == "geometry" and got[1180][0] == "external_id"
    assert streamed["counts"] == {"read": N - 1, "added": N - 7, "updated": 0,
                                  "unchanged": 0, "rejected": 6}
    # a dry run tells the same and leaves nothing
    execute(rw.url, "TRUNCATE households CASCADE")
    dry, _ = run(rw.url, data, "dry.csv", SMALL, stream=True, dry_run=True,
                 force=True)
    assert dry["rejected"] == whole["rejected"] and dry["counts"] == whole["counts"]
    assert rows(rw.url) == []


def test_a_part_that_cannot_be_read_leaves_nothing(rw, demo_town, small_chunks):
    """A quote left open on row 1150: the first parts are in the COPY when the
    reader meets it; the import is refused as the whole file is, naming the
    file, and nothing of it stays."""
    data, _ = households_csv(demo_town, N, "OPEN")
    data = edited(data, {1150: lambda line: line.replace(",", ',"', 1)})
    with pytest.raises(importers.ImportRefused) as whole:
        importers.read_any(data, name="open.csv", crs="gcj02")
    execute(rw.url, "TRUNCATE households CASCADE")
    before, count = indexes(rw.url), imported(rw.url)
    phases = []
    with pytest.raises(Invalid) as streamed:
        result = importers.read_any(data, name="open.csv", crs="gcj02", stream=True)
        with psycopg.connect(rw.url, autocommit=True) as c:
            imports.run_import(c, SYSTEM, result, "households", "open.csv",
                               hashlib.sha256(data).hexdigest(), {},
                               progress=lambda p, *_: phases.append(p),
                               bulk_rows=SMALL, force=True)
    assert streamed.value.field == "file"
    assert streamed.value.message == whole.value.message
    assert "inserting" in phases  # the first parts had gone to the server
    assert rows(rw.url) == [] and indexes(rw.url) == before
    assert imported(rw.url) == count
    with psycopg.connect(rw.url) as c:  # nothing holds the table
        assert c.execute("SELECT count(*) FROM pg_locks l JOIN pg_class t"
                         " ON t.oid = l.relation WHERE t.relname = 'households'"
                         " AND l.pid <> pg_backend_pid()").fetchone()[0] == 0


def test_swapped_columns_are_told_for_the_whole_file(rw, demo_town, small_chunks):
    """Every row of the first part swapped, the later parts right: each of those
    rows is "swapped" on its own, not the file's columns (which only the whole
    file shows); every row swapped: the file's columns, as the whole file says."""
    data, _ = households_csv(demo_town, N, "SW")
    first = edited(data, {r: swap_xy for r in range(2, 85)})
    reports = []
    for stream in (False, True):
        execute(rw.url, "TRUNCATE households CASCADE")
        reports.append(run(rw.url, first, "first.csv", SMALL, stream, force=True)[0])
    whole, streamed = reports
    for part in ("counts", "rejected", "warnings", "preview"):
        assert streamed[part] == whole[part], part
    assert [r["row"] for r in streamed["rejected"]] == list(range(2, 85))
    assert streamed["counts"]["added"] == N - 83
    assert all("该行的纬度和经度似乎互换了" in r["reason"]
               for r in streamed["rejected"])
    assert "整个文件" not in " ".join(streamed["warnings"])

    every = edited(data, {r: swap_xy for r in range(2, N + 2)})
    refusals = []
    for stream in (False, True):
        execute(rw.url, "TRUNCATE households CASCADE")
        with pytest.raises(Unprocessable) as refused:
            run(rw.url, every, "every.csv", SMALL, stream, force=True)
        refusals.append((refused.value.message, refused.value.details["counts"],
                         refused.value.details["rejected"]))
    assert refusals[1] == refusals[0]
    # the file's columns
    assert refusals[1][2][0]["reason"].startswith("各列似乎互换了：经度 列是纬度")
    assert rows(rw.url) == []


def test_a_file_outside_the_deployment_is_refused_with_the_distance(
        rw, demo_town, small_chunks):
    data, _ = households_csv(demo_town, N, "FAR")
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    frame["经度"] = (frame["经度"].astype(float) + 3).round(9).astype(str)
    far = frame.to_csv(index=False).encode("utf-8")
    reports = []
    for stream in (False, True):
        execute(rw.url, "TRUNCATE households CASCADE")
        reports.append(run(rw.url, far, "far.csv", SMALL, stream, dry_run=True,
                           force=True)[0])
    whole, streamed = reports
    assert streamed["refusal"] == whole["refusal"]
    assert "km" in streamed["refusal"]
    assert streamed["counts"] == whole["counts"]
    assert streamed["rejected"] == whole["rejected"]


def test_the_file_is_read_whole_when_its_parts_cannot_answer_for_it(
        rw, demo_town, small_chunks):
    """Without a CRS, the first part in prefixed Gauss-Krüger eastings (zone 40)
    and the rest in degrees: the whole file's median says degrees, the first
    part's said metres. The streamed import is rolled back and the file read
    whole: the same answer as the file read whole at once. And a table holding
    rows takes the whole-file path (an upsert)."""
    hh = demo_town.households.iloc[:N]
    lon, lat = hh.geometry.x.to_numpy(), hh.geometry.y.to_numpy()
    x, y = pyproj.Transformer.from_crs("EPSG:4326", "EPSG:4528",
                                       always_xy=True).transform(lon, lat)
    head = np.arange(N) < 83
    frame = pd.DataFrame({
        "编号": [f"GK{i:05d}" for i in range(N)], "地址": hh.address.to_numpy(),
        "人口": hh["size"].to_numpy(),
        "经度": np.where(head, np.round(x, 3), np.round(lon, 9)),
        "纬度": np.where(head, np.round(y, 3), np.round(lat, 9))})
    data = frame.to_csv(index=False).encode("utf-8")
    reports, stored = [], []
    for stream in (False, True):
        execute(rw.url, "TRUNCATE households CASCADE")
        reports.append(run(rw.url, data, "gk.csv", SMALL, stream, crs=None,
                           force=True))
        stored.append(rows(rw.url))
    (whole, _), (streamed, phases) = reports
    assert phases.count("inserting") == 2  # streamed, rolled back, then whole
    for part in ("counts", "rejected", "warnings", "crs", "preview"):
        assert streamed[part] == whole[part], part
    assert stored[1] == stored[0]
    assert [r["row"] for r in streamed["rejected"]] == list(range(2, 85))
    assert streamed["counts"]["added"] == N - 83

    # into a table that holds rows: the whole file, upserted
    started = time.perf_counter()
    again, phases = run(rw.url, data, "gk-again.csv", SMALL, True, crs=None,
                        force=True)
    assert time.perf_counter() - started < 60
    assert "indexing" not in phases
    assert again["counts"] == {**whole["counts"], "added": 0,
                               "unchanged": N - 83}
