"""Committing imports: households, cameras and incidents from files, all or nothing,
by the API and the command line."""

import io

import psycopg
import pytest
from click.testing import CliRunner

import importers
from geo.crs import wgs84_to_gcj02
from layers import imports, users
from layers.access import SYSTEM, Principal
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

HEADER = "编号,地址,户主,电话,人口,经度,纬度"


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    """A writable copy of the demo town, with tokens, and a field worker whose
    jurisdiction is the first village (``vworker``)."""
    village = demo_town.grids[demo_town.grids.level == 2].code.min()

    def setup(c):
        users.add_user(c, SYSTEM, "vworker", "field_worker", village, None)

    rw = writable_demo(databases, demo_town, setup)
    with psycopg.connect(rw.url) as c:
        rw.worker_grid = users.get_user(c, "worker")["grid_code"]
    rw.village = village
    return rw


def households_csv(demo_town, prefix, start, n, id_prefix, changes=None):
    """``n`` demo households under grid ``prefix`` as a GCJ-02 CSV with Chinese
    headers and new external ids; returns (bytes, [expected grid codes])."""
    hh = demo_town.households
    hh = hh[hh.grid_code.str.startswith(prefix)].iloc[start:start + n]
    lon, lat = wgs84_to_gcj02(hh.geometry.x.to_numpy(), hh.geometry.y.to_numpy())
    lines = [HEADER]
    for i, (row, x, y) in enumerate(zip(hh.itertuples(), lon, lat, strict=True)):
        address = (changes or {}).get(i, row.address)
        lines.append(f"{id_prefix}{i:04d},{address},{row.head_name},{row.phone},"
                     f"{row.size},{x:.9f},{y:.9f}")
    return ("\n".join(lines) + "\n").encode("utf-8"), list(hh.grid_code)


def post(client, data, name="households.csv", **args):
    query = {"layer": "households", "crs": "gcj02", **args}
    return client.post("/api/v1/imports", query_string=query,
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def count(url, table="households"):
    with psycopg.connect(url) as c:
        return c.execute(f"SELECT count(*) FROM {table}").fetchone()[0]  # noqa: S608


def grid_codes(url, prefix):
    with psycopg.connect(url) as c:
        return [r[0] for r in c.execute(
            "SELECT grid_code FROM households WHERE external_id LIKE %s"
            " ORDER BY external_id", (prefix + "%",))]


def test_households_in_gcj02_land_in_their_micro_grids(rw, demo_town):
    data, expected = households_csv(demo_town, rw.worker_grid, 0, 40, "GCJ")
    r = post(rw.client("worker"), data)
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert report["counts"] == {"read": 40, "added": 40, "updated": 0,
                                "unchanged": 0, "rejected": 0}
    assert report["crs"]["name"] == "gcj02"
    assert report["columns"]["address"] == "地址"
    assert report["columns"]["size"] == "人口"
    assert isinstance(report["import_id"], int)
    assert grid_codes(rw.url, "GCJ") == expected
    assert len(report["preview"]["rows"]) == 20
    features = report["preview"]["points"]["features"]
    assert [f["properties"]["grid_code"] for f in features] == expected


def test_mixed_rows_keep_the_valid_ones_and_say_why_for_the_others(rw, demo_town):
    data, _ = households_csv(demo_town, rw.worker_grid, 40, 6, "MIX")
    lines = data.decode().splitlines()
    lines[2] = _set(lines[2], 4, "x")
    lines[3] = _set(lines[3], 4, "99")
    lines[4] = _set(lines[4], 1, "")
    lines[5] = _set(lines[5], 5, "abc")
    lines[6] = _set(lines[6], 0, "MIX0000")  # repeats row 2's id
    before = count(rw.url)
    report = post(rw.client("worker"), ("\n".join(lines) + "\n").encode()).get_json()
    assert report["counts"]["added"] == 1 and report["counts"]["rejected"] == 5
    assert count(rw.url) == before + 1
    by_row = {r["row"]: r for r in report["rejected"]}
    assert set(by_row) == {3, 4, 5, 6, 7}
    assert "whole number" in by_row[3]["reason"] and by_row[3]["field"] == "size"
    assert "[1, 50]" in by_row[4]["reason"]
    # Chinese first, the field by its column name (地址), then the English words
    assert by_row[5]["reason"] == "地址为必填项（address is required）"
    assert by_row[6]["row"] == 6  # the reader's: unreadable longitude
    assert "repeats" in by_row[7]["reason"]


def _set(line, index, value):
    cells = line.split(",")
    cells[index] = value
    return ",".join(cells)


def test_swapped_columns_import_nothing(rw, demo_town):
    data, _ = households_csv(demo_town, rw.worker_grid, 50, 5, "SWP")
    lines = data.decode().splitlines()
    swapped = [lines[0]] + [",".join(c[:5] + [c[6], c[5]])
                            for c in (line.split(",") for line in lines[1:])]
    before = count(rw.url)
    report = post(rw.client("worker"), ("\n".join(swapped) + "\n").encode(),
                  dry_run="1").get_json()
    assert report["counts"]["added"] == 0 and report["counts"]["rejected"] == 5
    # why nothing would be stored, first and with the count
    assert report["refusal"].startswith("5 行全部经纬度似乎互换（all 5 rows have "
                                        "latitude and longitude swapped）")
    assert all("swapped" in r["reason"] for r in report["rejected"])
    assert all(r["reason"].startswith("各列似乎互换了：经度 列是纬度，纬度 列是经度")
               for r in report["rejected"])
    assert any(w.startswith("整个文件的经度和纬度似乎互换了")
               for w in report["warnings"])
    assert count(rw.url) == before


def test_reimport_is_refused_unless_forced_and_changes_are_updates(rw, demo_town):
    data, _ = households_csv(demo_town, rw.worker_grid, 60, 10, "RE")
    first = post(rw.client("worker"), data).get_json()
    assert first["counts"]["added"] == 10
    again = post(rw.client("worker"), data)
    assert again.status_code == 409
    message = again.get_json()["error"]["message"]
    assert f"#{first['import_id']}" in message and "worker" in message
    assert "由 worker 导入到住户" in message and "imported into households" in message
    forced = post(rw.client("worker"), data, force="1").get_json()
    assert forced["counts"] == {"read": 10, "added": 0, "updated": 0,
                                "unchanged": 10, "rejected": 0}
    changed, _ = households_csv(demo_town, rw.worker_grid, 60, 10, "RE",
                                changes={3: "新地址1号"})
    report = post(rw.client("worker"), changed).get_json()
    assert report["counts"] == {"read": 10, "added": 0, "updated": 1,
                                "unchanged": 9, "rejected": 0}
    with psycopg.connect(rw.url) as c:
        assert c.execute("SELECT address FROM households WHERE external_id"
                         " = 'RE0003'").fetchone()[0] == "新地址1号"


def test_a_failing_import_leaves_the_database_as_it_was(rw, demo_town, monkeypatch):
    data, _ = households_csv(demo_town, rw.worker_grid, 80, 10, "FAIL")
    result = importers.read_any(data, name="f.csv", crs="gcj02")
    before = (count(rw.url), count(rw.url, "imports"), count(rw.url, "audit"))

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(imports.audit, "record", broken)
    with psycopg.connect(rw.url, autocommit=True) as c, pytest.raises(RuntimeError):
        imports.run_import(c, SYSTEM, result, "households", "f.csv", "a" * 64, {},
                           dry_run=False)
    assert (count(rw.url), count(rw.url, "imports"), count(rw.url, "audit")) == before


def test_dry_run_changes_nothing_and_reports_the_same(rw, demo_town):
    data, _ = households_csv(demo_town, rw.worker_grid, 100, 12, "DRY")
    before = (count(rw.url), count(rw.url, "imports"))
    dry = post(rw.client("worker"), data, dry_run="1").get_json()
    assert dry["import_id"] is None and dry["counts"]["added"] == 12
    assert (count(rw.url), count(rw.url, "imports")) == before
    real = post(rw.client("worker"), data).get_json()
    assert real["counts"] == dry["counts"]


def test_points_of_another_village_are_outside_the_jurisdiction(rw, demo_town):
    hh = demo_town.households
    other = hh[~hh.grid_code.str.startswith(rw.village)].grid_code.iloc[0][:12]
    mine, _ = households_csv(demo_town, rw.village, 0, 3, "VIL")
    theirs, _ = households_csv(demo_town, other, 0, 3, "OTH")
    data = mine + b"\n".join(theirs.splitlines()[1:]) + b"\n"
    report = post(rw.client("vworker"), data).get_json()
    assert report["counts"]["added"] == 3
    assert [r["row"] for r in report["rejected"]] == [5, 6, 7]
    assert all(r["reason"].startswith(f"不在您的管辖范围 {rw.village} ")
               and f"（outside your jurisdiction {rw.village} (" in r["reason"]
               for r in report["rejected"])


def test_rejected_csv_has_a_bom_and_no_formulas(rw, demo_town):
    data, _ = households_csv(demo_town, rw.worker_grid, 120, 3, "CSV")
    lines = data.decode().splitlines()
    lines[1] = _set(lines[1], 3, "=HYPERLINK(1)")
    report = post(rw.client("worker"), ("\n".join(lines) + "\n").encode()).get_json()
    assert report["counts"]["rejected"] == 1
    r = rw.client("worker").get(f"/api/v1/imports/{report['import_id']}/rejected.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeffrow,field,value,reason")
    assert "'=HYPERLINK(1)" in text and ",=HYPERLINK" not in text
    # the reason in both languages, as the report gave it
    assert "不是有效的电话号码（'=HYPERLINK(1)' is not a phone number）" in text
    listed = rw.client("worker").get("/api/v1/imports").get_json()["items"]
    assert report["import_id"] in [i["id"] for i in listed]


def test_cli_imports_cameras_and_incidents_with_chinese_labels(rw, demo_town,
                                                                tmp_path):
    from web.cli import main

    cams = demo_town.cameras.iloc[:3]
    lines = ["设备编号,名称,类型,朝向,视场角,可视距离,归属,lon,lat"]
    for i, (c, kind) in enumerate(zip(cams.itertuples(), ["枪机", "球机", "卡口"],
                                      strict=True)):
        bearing = "" if kind == "球机" else "90"
        lines.append(f"CLI-C{i},{c.name},{kind},{bearing},60,80,公安,"
                     f"{c.geometry.x},{c.geometry.y}")
    lines.append(f"CLI-C9,坏的,枪机,,60,80,公安,{c.geometry.x},{c.geometry.y}")
    path = tmp_path / "cameras.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    runner = CliRunner()
    env = {"GRIDGOV_DATABASE_URL": rw.url}
    dry = runner.invoke(main, ["import", str(path), "--layer", "cameras",
                               "--dry-run"], env=env)
    assert dry.exit_code == 0, dry.output
    assert "added 3" in dry.output and "rejected 1" in dry.output
    # Chinese first: the report's lines and the phases on stderr
    assert "试运行，未写入任何数据" in dry.output and "新增 3" in dry.output
    assert "拒绝 1" in dry.output and "正在检查各行（Checking the rows）" in dry.output
    assert "needs a bearing" in dry.output
    done = runner.invoke(main, ["import", str(path), "--layer", "cameras"], env=env)
    assert done.exit_code == 0, done.output
    with psycopg.connect(rw.url) as c:
        kinds = c.execute("SELECT kind, grid_code FROM cameras WHERE code LIKE"
                          " 'CLI-C%%' ORDER BY code").fetchall()
    assert [k for k, _ in kinds] == ["fixed", "ptz", "checkpoint"]
    assert [g for _, g in kinds] == list(cams.grid_code)
    refused = runner.invoke(main, ["import", str(path), "--layer", "cameras"],
                            env=env)
    assert refused.exit_code == 1 and "imported into cameras already" in refused.output
    assert "拒绝导入（refused）：" in refused.output

    inc = demo_town.incidents.iloc[0]
    path = tmp_path / "incidents.csv"
    path.write_text("事件编号,类别,小类,来源,上报时间,lng,lat\n"
                    f"CLI-I1,矛盾纠纷,邻里纠纷,网格员上报,2026-10-01 08:00,"
                    f"{inc.geometry.x},{inc.geometry.y}\n"
                    f"CLI-I2,矛盾纠纷,盗窃,热线,,{inc.geometry.x},{inc.geometry.y}\n",
                    encoding="utf-8")
    done = runner.invoke(main, ["import", str(path), "--layer", "incidents",
                                "--user", "worker"], env=env)
    assert done.exit_code == 0, done.output
    assert "added 1" in done.output and "subtype" in done.output
    with psycopg.connect(rw.url) as c:
        row = c.execute("SELECT category, subtype, source, status FROM incidents"
                        " WHERE code = 'CLI-I1'").fetchone()
    assert row == ("dispute", "neighbour", "grid_worker", "registered")


def test_who_may_import(rw, demo_town):
    data, _ = households_csv(demo_town, rw.worker_grid, 130, 2, "WHO")
    anonymous = post(rw.client(), data)
    assert anonymous.status_code == 401
    assert anonymous.get_json()["error"]["code"] == "unauthorized"
    assert post(rw.client("leader"), data).status_code == 403
    refused = post(rw.client("planner"), data)  # imports:run, not households:edit
    assert refused.status_code == 403
    assert "households:edit" in refused.get_json()["error"]["message"]
    assert rw.client().get("/api/v1/imports").status_code == 401
    assert rw.client("leader").get("/api/v1/imports").status_code == 403


def test_an_unreadable_file_is_a_400(rw):
    r = post(rw.client("worker"), b"name,foo\nA,1\n")
    assert r.status_code == 400
    message = r.get_json()["error"]["message"]
    assert message.startswith("在各列中找不到经度和纬度列：name、foo；")
    assert "no longitude and latitude column" in message


def test_principal_is_checked_in_the_layer(rw, demo_town):
    data, _ = households_csv(demo_town, rw.worker_grid, 140, 2, "LAY")
    result = importers.read_any(data, name="x.csv", crs="gcj02")
    leader = Principal("leader", "leader", None)
    with psycopg.connect(rw.url, autocommit=True) as c:
        with pytest.raises(imports.Forbidden):
            imports.run_import(c, leader, result, "households", "x.csv", "b" * 64)


def test_the_page_can_follow_an_import_while_it_runs(rw, demo_town, monkeypatch):
    """The phases recorded under the page's token are visible to another
    connection while the import's own transaction is still open, to its user
    only."""
    import api.imports

    seen = []
    original = api.imports.imports_layer.run_import

    def watched(*args, progress=None, **kwargs):
        def spy(phase, rows, seconds):
            progress(phase, rows, seconds)
            with psycopg.connect(rw.url) as other:  # what a poll would read now
                seen.append(other.execute(
                    "SELECT phase, rows FROM import_progress WHERE token = %s",
                    ("tok-follow-1",)).fetchone())
        return original(*args, progress=spy, **kwargs)

    monkeypatch.setattr(api.imports.imports_layer, "run_import", watched)
    data, _ = households_csv(demo_town, rw.worker_grid, 200, 12, "PRG")
    r = post(rw.client("worker"), data, progress="tok-follow-1")
    assert r.status_code == 200, r.get_json()
    phases = [s[0] for s in seen]
    assert phases[:3] == ["checking", "assigning", "writing"]
    assert seen[0] == ("checking", 12)
    done = rw.client("worker").get("/api/v1/imports/progress/tok-follow-1")
    assert done.get_json()["phase"] == "done" and done.get_json()["rows"] == 12
    # another user does not see it; a bad token is refused
    other = rw.client("planner").get("/api/v1/imports/progress/tok-follow-1")
    assert other.get_json()["phase"] == "waiting"
    bad = post(rw.client("worker"), data, progress="x y")
    assert (bad.status_code, bad.get_json()["error"]["field"]) == (400, "progress")
