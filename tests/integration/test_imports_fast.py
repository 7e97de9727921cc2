"""Large imports (issue 5): the plain-INSERT path for keys the table cannot hold,
the indexes of an empty table dropped and built again, all or nothing; and the
vectorised checks' messages."""

import hashlib
import io

import numpy as np
import pandas as pd
import psycopg
import pytest
from psycopg import sql

import importers
from geo.crs import wgs84_to_gcj02
from layers import import_bulk, imports
from layers.access import SYSTEM, Principal
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

N = 1200  # rows per file; the large path is forced with bulk_rows below it
SMALL = 500
NEVER = 10**9


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def households_csv(demo_town, n, id_prefix, start=0):
    """``n`` demo households as a GCJ-02 CSV with Chinese headers, labels for the
    tags and new external ids; returns (bytes, {external id: grid code})."""
    hh = demo_town.households.iloc[start:start + n]
    lon, lat = wgs84_to_gcj02(hh.geometry.x.to_numpy(), hh.geometry.y.to_numpy())
    from geo.vocab import HOUSEHOLD_TAGS

    frame = pd.DataFrame({
        "编号": [f"{id_prefix}{i:05d}" for i in range(len(hh))],
        "地址": hh.address.to_numpy(), "户主": hh.head_name.to_numpy(),
        "电话": hh.phone.to_numpy(), "人口": hh["size"].to_numpy(),
        "标签": ["、".join(HOUSEHOLD_TAGS[t][0] for t in tags) for tags in hh.tags],
        "经度": np.round(lon, 9), "纬度": np.round(lat, 9)})
    grids = dict(zip(frame["编号"], hh.grid_code, strict=True))
    return frame.to_csv(index=False).encode("utf-8"), grids


def run(url, data, name, bulk_rows, **kwargs):
    """Import ``data`` into households as the system; returns (report, phases)."""
    phases = []
    result = importers.read_any(data, name=name, crs="gcj02")
    with psycopg.connect(url, autocommit=True) as c:
        report = imports.run_import(
            c, SYSTEM, result, "households", name, hashlib.sha256(data).hexdigest(), {},
            progress=lambda phase, *_: phases.append(phase), bulk_rows=bulk_rows,
            **kwargs)
    return report, phases


def rows(url):
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT external_id, address, head_name, phone, id_number, size, tags,"
            " grid_code, ST_AsEWKB(geom), updated_at IS NOT NULL FROM households"
            " ORDER BY external_id").fetchall()


def indexes(url):
    """{name: (oid, definition, valid)} of the households indexes."""
    with psycopg.connect(url) as c:
        return {name: (oid, definition, valid) for name, oid, definition, valid in
                c.execute("SELECT c.relname, c.oid, pg_get_indexdef(c.oid),"
                          " x.indisvalid AND x.indisready FROM pg_index x"
                          " JOIN pg_class c ON c.oid = x.indexrelid"
                          " WHERE x.indrelid = 'households'::regclass")}


def execute(url, statement):
    with psycopg.connect(url, autocommit=True) as c:
        c.execute(statement)


def definitions(found):
    return {name: (definition, valid) for name, (_, definition, valid) in found.items()}


def test_a_large_import_into_an_empty_table_gives_what_the_normal_path_gives(
        rw, demo_town):
    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
    data, grids = households_csv(demo_town, N, "BIG")
    before = indexes(rw.url)
    normal, phases = run(rw.url, data, "normal.csv", bulk_rows=NEVER, force=True)
    assert "inserting" not in phases  # ON CONFLICT, as before
    expected = rows(rw.url)
    assert {r[0]: r[7] for r in expected} == grids  # the demo's own grid codes

    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
    large, phases = run(rw.url, data, "large.csv", bulk_rows=SMALL, force=True)
    assert phases[-3:] == ["inserting", "indexing", "done"]
    assert large["counts"] == normal["counts"] == {
        "read": N, "added": N, "updated": 0, "unchanged": 0, "rejected": 0}
    assert rows(rw.url) == expected
    assert large["preview"] == normal["preview"]
    after = indexes(rw.url)
    assert definitions(after) == definitions(before)
    assert all(valid for _, _, valid in after.values())
    # the plain indexes were built again (new relations), the constraints' kept
    rebuilt = {n for n in after if after[n][0] != before[n][0]}
    assert rebuilt == {"households_geom_gix", "households_grid_idx",
                       "households_address_trgm", "households_head_name_trgm"}
    with psycopg.connect(rw.url) as c:  # the rebuilt trigram index answers
        c.execute("SET enable_seqscan = off")
        found = c.execute("SELECT count(*) FROM households WHERE address LIKE %s",
                          (f"%{demo_town.households.address.iloc[7][2:]}%",)
                          ).fetchone()[0]
    assert found == (demo_town.households.address.iloc[:N].str.contains(
        demo_town.households.address.iloc[7][2:], regex=False)).sum()


@pytest.mark.parametrize("where", ["insert", "after the index builds"])
def test_a_failing_large_import_leaves_the_table_and_its_indexes(
        rw, demo_town, monkeypatch, where):
    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
    data, _ = households_csv(demo_town, N, "FAIL")
    if where == "insert":
        # a CHECK that validation does not know: the database refuses row 1000
        bad = demo_town.households.address.iloc[998]
        execute(rw.url, sql.SQL("ALTER TABLE households ADD CONSTRAINT test_refuses"
                                " CHECK (address <> {})").format(sql.Literal(bad)))
    else:
        def broken(*args, **kwargs):
            raise RuntimeError("disk on fire")

        monkeypatch.setattr(imports.audit, "record", broken)
    before = indexes(rw.url)
    with psycopg.connect(rw.url) as c:
        imported = c.execute("SELECT count(*) FROM imports").fetchone()[0]
    try:
        with pytest.raises((psycopg.errors.CheckViolation, RuntimeError)):
            run(rw.url, data, f"fail-{where}.csv", bulk_rows=SMALL, force=True)
    finally:
        if where == "insert":
            execute(rw.url, "ALTER TABLE households DROP CONSTRAINT test_refuses")
    assert rows(rw.url) == []
    assert indexes(rw.url) == before  # the same relations, not rebuilt copies
    with psycopg.connect(rw.url) as c:
        assert c.execute("SELECT count(*) FROM imports").fetchone()[0] == imported


def test_new_keys_into_a_filled_table_skip_on_conflict_and_keep_the_indexes(
        rw, demo_town):
    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
    first, _ = households_csv(demo_town, 700, "OLD")
    run(rw.url, first, "old.csv", bulk_rows=NEVER)
    before = indexes(rw.url)
    data, grids = households_csv(demo_town, 600, "NEW", start=700)
    report, phases = run(rw.url, data, "new.csv", bulk_rows=SMALL)
    assert "inserting" in phases and "indexing" not in phases
    assert report["counts"]["added"] == 600 and len(rows(rw.url)) == 1300
    assert indexes(rw.url) == before
    got = {r[0]: r[7] for r in rows(rw.url) if r[0].startswith("NEW")}
    assert got == grids
    # one key already there: the upsert path, which tells the update
    lines = data.decode().splitlines()
    lines[1] = lines[1].replace("NEW00000", "OLD00000", 1)
    report, phases = run(rw.url, ("\n".join(lines) + "\n").encode(), "mixed.csv",
                         bulk_rows=SMALL, force=True)
    assert "inserting" not in phases
    assert report["counts"] == {"read": 600, "added": 0, "updated": 1,
                                "unchanged": 599, "rejected": 0}


ODD_ADDRESS = "东路\\N 1\t号\n2\r楼\\"


def chunked_csv(demo_town):
    """A file of N households with rows the checks refuse in later chunks (of
    up to 250 rows): a bad size, a point in no micro-grid, keys repeated across
    chunks (one of them first met on a row rejected for another reason)."""
    data, _ = households_csv(demo_town, N, "CH")
    frame = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    frame.loc[10, "人口"] = "99"  # rejected, its key still taken
    frame.loc[700, "人口"] = "0"
    frame.loc[800, "编号"] = frame.loc[10, "编号"]
    frame.loc[1100, "编号"] = frame.loc[5, "编号"]
    frame.loc[1101, "编号"] = frame.loc[1100 - 1, "编号"]  # within the chunk
    frame.loc[900, ["经度", "纬度"]] = ["116.404", "39.915"]  # Beijing: no grid
    frame.loc[20, "地址"] = ODD_ADDRESS  # what COPY's text format escapes
    return frame.to_csv(index=False).encode("utf-8")


def test_a_streamed_import_in_chunks_gives_what_the_normal_path_gives(
        rw, demo_town, monkeypatch):
    monkeypatch.setattr(import_bulk, "STREAM_ROWS", 250)
    data = chunked_csv(demo_town)
    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
    before = indexes(rw.url)
    normal, phases = run(rw.url, data, "whole.csv", bulk_rows=NEVER, force=True)
    assert "inserting" not in phases
    expected = rows(rw.url)
    assert normal["counts"] == {"read": N, "added": N - 6, "updated": 0,
                                "unchanged": 0, "rejected": 6}

    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits

    def no_text(frame):
        raise AssertionError("the chunks go in COPY's binary format")

    monkeypatch.setattr(import_bulk, "text_blocks", no_text)
    streamed, phases = run(rw.url, data, "chunks.csv", bulk_rows=SMALL, force=True)
    # checked and assigned chunk by chunk beside the COPY: no phase of their own
    assert phases == ["checking", "inserting", "indexing", "done"]
    for part in ("counts", "rejected", "preview", "points"):
        assert streamed[part] == normal[part], part
    assert rows(rw.url) == expected
    assert ODD_ADDRESS in {r[1] for r in expected}
    after = indexes(rw.url)
    assert definitions(after) == definitions(before)
    assert all(valid for _, _, valid in after.values())
    # a dry run writes nothing and tells the same
    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
    dry, _ = run(rw.url, data, "dry.csv", bulk_rows=SMALL, dry_run=True,
                 force=True)
    assert dry["counts"] == normal["counts"] and dry["import_id"] is None
    assert rows(rw.url) == [] and indexes(rw.url) == after


def test_a_streamed_import_keeps_to_the_users_jurisdiction(rw, demo_town,
                                                            monkeypatch):
    """A field worker of one street: the rows outside it are rejected chunk by
    chunk with the whole-file path's messages."""
    monkeypatch.setattr(import_bulk, "STREAM_ROWS", 250)
    street = demo_town.grids[demo_town.grids.level == 2].code.iloc[0]
    worker = Principal("w", "field_worker", street)
    data, grids = households_csv(demo_town, N, "JUR")
    result = importers.read_any(data, name="jur.csv", crs="gcj02")
    digest = hashlib.sha256(data).hexdigest()
    reports, stored, phases = [], [], []
    for bulk_rows in (NEVER, SMALL):
        execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
        with psycopg.connect(rw.url, autocommit=True) as c:
            reports.append(imports.run_import(
                c, worker, result, "households", "jur.csv", digest, {},
                progress=lambda p, *_: phases.append(p), bulk_rows=bulk_rows,
                force=True))
        stored.append(rows(rw.url))
    assert phases[-4:] == ["checking", "inserting", "indexing", "done"]
    normal, streamed = reports
    inside = sum(code.startswith(street) for code in grids.values())
    assert 0 < inside < N
    assert normal["counts"]["added"] == inside
    for part in ("counts", "rejected", "preview", "points"):
        assert streamed[part] == normal[part], part
    assert stored[0] == stored[1]


@pytest.mark.parametrize("where", ["check", "database"])
def test_a_failure_in_a_later_chunk_leaves_nothing(rw, demo_town, monkeypatch,
                                                   where):
    monkeypatch.setattr(import_bulk, "STREAM_ROWS", 250)
    execute(rw.url, "TRUNCATE households CASCADE")  # and the visits
    data, _ = households_csv(demo_town, N, "LATE")
    if where == "check":  # Python fails on the 4th chunk, the first 3 copied
        calls = []

        def failing(*args, **kwargs):
            calls.append(1)
            if len(calls) == 4:
                raise RuntimeError("disk on fire")
            return original(*args, **kwargs)

        original = import_bulk.check
        monkeypatch.setattr(import_bulk, "check", failing)
    else:  # the database refuses row 1000, in the 8th chunk (25, 37, 55 …)
        bad = demo_town.households.address.iloc[998]
        execute(rw.url, sql.SQL("ALTER TABLE households ADD CONSTRAINT test_refuses"
                                " CHECK (address <> {})").format(sql.Literal(bad)))
    before = indexes(rw.url)
    with psycopg.connect(rw.url) as c:
        imported = c.execute("SELECT count(*) FROM imports").fetchone()[0]
    phases = []
    try:
        with pytest.raises((psycopg.errors.CheckViolation, RuntimeError)):
            result = importers.read_any(data, name="late.csv", crs="gcj02")
            with psycopg.connect(rw.url, autocommit=True) as c:
                imports.run_import(c, SYSTEM, result, "households", "late.csv",
                                   hashlib.sha256(data).hexdigest(), {},
                                   progress=lambda p, *_: phases.append(p),
                                   bulk_rows=SMALL, force=True)
    finally:
        if where == "database":
            execute(rw.url, "ALTER TABLE households DROP CONSTRAINT test_refuses")
    assert "inserting" in phases  # the first chunks had gone to the server
    assert rows(rw.url) == []
    assert indexes(rw.url) == before  # the same relations, not rebuilt copies
    with psycopg.connect(rw.url) as c:
        assert c.execute("SELECT count(*) FROM imports").fetchone()[0] == imported
        # the connection's transaction is over: nothing holds the table
        assert c.execute("SELECT count(*) FROM pg_locks l JOIN pg_class t"
                         " ON t.oid = l.relation WHERE t.relname = 'households'"
                         " AND l.pid <> pg_backend_pid()").fetchone()[0] == 0


class _Read:
    """A stand-in for ``importers.Result``: the frame only."""

    def __init__(self, columns):
        import geopandas
        import shapely

        n = len(next(iter(columns.values())))
        frame = pd.DataFrame(columns)
        frame.insert(0, "row", np.arange(2, n + 2))
        self.frame = geopandas.GeoDataFrame(
            frame, geometry=shapely.points(np.full(n, 119.8), np.full(n, 31.3)))


def test_binary_rows_store_what_the_text_format_stores(conn):
    """COPY's binary format as :func:`import_bulk.binary_rows` writes it stores
    row for row what the text format stores: NULLs, empty and escaped strings,
    characters of 2 to 4 bytes, every number type, tag arrays, points."""
    conn.execute("CREATE TEMP TABLE t (a text, b smallint, c real,"
                 " d double precision, e text[] NOT NULL, f integer,"
                 " g geometry(Point, 4326), h bigint, i varchar)")
    names = list("abcdefghi")
    types = import_bulk.binary_columns(import_bulk.column_types(conn, "t"), names)
    assert types == ["text", "int2", "float4", "float8", "_text", "int4",
                     "geometry", "int8", "varchar"]
    frame = pd.DataFrame({
        "a": ["x", None, "", ODD_ADDRESS, "é€𝄞"],
        "b": pd.array([1, None, 3, -4, 50], dtype="Int64"),
        "c": [1.5, np.nan, 0.0, -2.25, 0.125],
        "d": [1.0000001, 2.5, np.nan, 1e-300, -0.0],
        "e": [(), ("elderly",), ("a", "bé"), (), ()],
        "f": pd.array([None, 2, 3, 4, 5], dtype="Int64"),
        "h": np.array([1, 2, 3, 2**40, -1]),
        "i": ["v", "w", None, "某", ""]})
    xy = np.array([[120.1, 30.1], [120.2, 30.2], [120.3, 30.3], [120.4, 30.4],
                   [-0.5, 1e-9]])
    values = [xy if n == "g" else frame[n] for n in names]
    with conn.cursor() as cur, cur.copy(
            "COPY t FROM STDIN (FORMAT BINARY)") as copy:
        copy.write(import_bulk.COPY_SIGNATURE)
        copy.write(import_bulk.binary_rows(list(zip(types, values, strict=True))))
        copy.write(import_bulk.COPY_TRAILER)
    read = ("SELECT a, b, c, d, e, f, ST_AsEWKT(g), h, i FROM t"
            " ORDER BY h")
    binary = conn.execute(read).fetchall()
    conn.execute("TRUNCATE t")
    text = frame.assign(e=["{" + ",".join(v) + "}" for v in frame["e"]],
                        g=import_bulk.ewkb_points(xy[:, 0], xy[:, 1]))[names]
    with conn.cursor() as cur, cur.copy("COPY t FROM STDIN") as copy:
        for block in import_bulk.text_blocks(text):
            copy.write(block)
    assert binary == conn.execute(read).fetchall()
    assert binary[0] == ("é€𝄞", 50, 0.125, -0.0, [], 5,
                         "SRID=4326;POINT(-0.5 1e-9)", -1, "")
    assert binary[1][:2] == ("x", 1) and binary[2][1:3] == (None, None)
    # an integer its column cannot hold is refused as the server refuses it
    with pytest.raises(psycopg.errors.NumericValueOutOfRange):
        import_bulk.binary_rows([("int2", pd.Series([1, 40000]))])


def check(layer, columns):
    read = _Read(columns)
    mapping = imports.guess_columns(layer, list(columns))
    checked, values = imports._check(read, layer, mapping)
    return list(checked.reason), list(checked.field), values


def test_household_checks_name_the_field_and_value():
    reasons, fields, values = check("households", {
        "编号": ["A1", " A2 ", "A3", "A1", "A5", "A6", "A7", "A8"],
        "地址": ["1号", "2号", " ", "4号", "5号", "6号", "7号", "8号"],
        "电话": ["138 0000 0000", "abc", None, None, "", None, None, None],
        "身份证号": [None, "11010519491231002x", None, None, "1101051949123100",
                 None, None, None],
        "人口": ["3", " 4 ", "x", "3", "3", "2.5", "51", None],
        "标签": ["独居老人、留守儿童;独居老人", None, "", "残疾人", "x", "低保户 foo",
               "", " "]})
    labels = "独居老人、留守儿童、残疾人、社区矫正、吸毒人员、精神障碍、低保户"
    # Chinese first (the fields by their column names), the English words after
    assert reasons == [
        None,
        "“abc”不是有效的电话号码（'abc' is not a phone number）",
        "地址为必填项（address is required）",
        "编号“A1”与前面的行重复（external_id 'A1' repeats an earlier row）",
        "“1101051949123100”不是有效的身份证号（'1101051949123100' is not a "
        "Chinese ID number）",
        "人口应为整数，实为“2.5”（size must be a whole number, got '2.5'）",
        "人口应在 [1, 50] 范围内，实为“51”（size must be in [1, 50], got '51'）",
        None]
    assert fields == [None, "phone", "address", "external_id", "id_number", "size",
                      "size", None]
    assert values["tags"][0] == ("elderly_alone", "left_behind_child")
    assert values["tags"][7] == () and values["tags"][1] == ()
    assert values["size"].tolist()[:2] == [3, 4]
    assert values["external_id"][1] == "A2"
    # tags are checked after the fields before them (rows 5 and 6 above):
    reasons, fields, _ = check("households", {
        "编号": ["B1", "B2"], "地址": ["1号", "2号"], "标签": ["x", "低保户 foo"]})
    assert reasons == [f"标签“x”不是可选值，可选：{labels}（tag 'x' is not one of "
                       f"{labels}）",
                       f"标签“foo”不是可选值，可选：{labels}（tag 'foo' is not one "
                       f"of {labels}）"]
    assert fields == ["tags", "tags"]


def test_vocabulary_and_time_checks_allow_blanks_and_mixed_offsets():
    reasons, _, values = check("cameras", {
        "编号": ["C1", "C2", "C3"], "名称": ["东门", "西门", "北门"],
        "类型": ["球机", "PTZ", "枪机"], "朝向": [None, "", None],
        "视场角": ["360", "360", "60"], "可视距离": ["50", "50", "50"],
        "归属": ["公安", "social", "公安"], "状态": [None, "离线", "坏了"]})
    choices = "在线/online、离线/offline、故障/fault"
    assert reasons == [None, None, f"状态“坏了”不是可选值，可选：{choices}（status "
                       f"'坏了' is not one of {choices}）"]
    assert values["status"].tolist()[:2] == ["online", "offline"]
    reasons, _, values = check("incidents", {
        "编号": ["I1", "I2", "I3"], "类别": ["矛盾纠纷", "矛盾纠纷", "治安"],
        "小类": ["邻里纠纷", None, "邻里纠纷"], "来源": ["热线", "热线", "热线"],
        "时间": ["2026-10-01 08:00", "2026-10-01T00:00:00Z", None]})
    assert reasons == [None, None,
                       "小类“邻里纠纷”不属于治安/public_order的小类（subtype "
                       "'邻里纠纷' is not one of the category's subtypes）"]
    assert values["subtype"].tolist()[:2] == ["neighbour", None]
    # a local time is China's; 00:00 UTC is 08:00 in China: the same instant
    first, second = values["created_at"].tolist()[:2]
    assert first == second
    assert first.isoformat() == "2026-10-01T08:00:00+08:00"
