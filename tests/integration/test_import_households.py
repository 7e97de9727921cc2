"""The most common household file: a worker's ``经度,纬度,地址,人口`` without an id
column (the import issue, item 8). Without an id the normalised address within
its micro-grid is the key; with one, a new id at a known address is flagged
已有同址住户 and on_address_match decides."""

import io

import psycopg
import pytest
from click.testing import CliRunner

from geo.address import normalize_address
from layers import users
from tests.conftest import writable_demo

pytestmark = pytest.mark.db


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    with psycopg.connect(rw.url) as c:
        rw.worker_grid = users.get_user(c, "worker")["grid_code"]
    g = demo_town.grids
    rw.micro = g[(g.level == 4) & g.code.str.startswith(rw.worker_grid)].sort_values(
        "code").iloc[:3]
    return rw


def post(client, data, name, **args):
    return client.post("/api/v1/imports",
                       query_string={"layer": "households", "crs": "wgs84", **args},
                       data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data")


def households(url, like):
    with psycopg.connect(url) as c:
        return c.execute(
            "SELECT id, external_id, address, size, head_name, grid_code"
            " FROM households WHERE address LIKE %s ORDER BY id", (like,)).fetchall()


def spot(rw, k, dx=0.0):
    p = rw.micro.geometry.iloc[k].representative_point()
    return p.x + dx, p.y


def test_a_plain_household_csv_imports_and_updates_by_address(rw):
    (x0, y0), (x1, y1) = spot(rw, 0), spot(rw, 1)
    data = (f"经度,纬度,地址,人口\n{x0},{y0},春风路 12 号,3\n"
            f"{x0 + 1e-5},{y0},春风路14号,2\n{x1},{y1},春风路 12 号,4\n").encode()
    r = post(rw.client("worker"), data, "homes.csv")
    body = r.get_json()
    assert r.status_code == 200, body
    # the same address in two micro-grids: two households
    assert body["counts"] == {"read": 3, "added": 3, "updated": 0, "unchanged": 0,
                              "rejected": 0}
    stored = households(rw.url, "春风路%")
    assert [(h[1], h[3]) for h in stored] == [(None, 3), (None, 2), (None, 4)]
    # again, typed differently (full-width digits, no spaces, 号 as #) with a
    # new size: the same households, updated, none added
    again = (f"经度,纬度,地址,人口\n{x0},{y0},春风路１２#,5\n"
             f"{x0 + 1e-5},{y0},春风路14号,2\n").encode()
    body = post(rw.client("worker"), again, "homes2.csv").get_json()
    assert body["counts"] == {"read": 2, "added": 0, "updated": 1, "unchanged": 1,
                              "rejected": 0}
    after = households(rw.url, "春风路%")
    assert len(after) == 3
    assert after[0][0] == stored[0][0] and after[0][3] == 5
    # the fields the file does not have are left as they were
    with psycopg.connect(rw.url) as c:
        c.execute("UPDATE households SET head_name = '王某' WHERE id = %s",
                  (stored[1][0],))
    body = post(rw.client("worker"), (f"经度,纬度,地址,人口\n{x0 + 1e-5},{y0},"
                                      "春风路14号,6\n").encode(), "h3.csv").get_json()
    assert body["counts"]["updated"] == 1
    assert households(rw.url, "春风路14号")[0][3:5] == (6, "王某")


def test_two_rows_of_one_address_without_ids_are_one_household(rw):
    x, y = spot(rw, 2)
    data = (f"经度,纬度,地址,人口\n{x},{y},秋实路1号,3\n"
            f"{x},{y},秋实路 1 号,4\n").encode()
    body = post(rw.client("worker"), data, "dup.csv").get_json()
    assert body["counts"]["added"] == 1 and body["counts"]["rejected"] == 1
    [why] = body["rejected"]
    assert why["row"] == 3 and why["label"] == "地址"
    assert "同一微网格内重复" in why["reason"]


@pytest.mark.parametrize(("choice", "added", "updated", "rejected"), [
    ("add", 1, 0, 0), ("update", 0, 1, 0), ("skip", 0, 0, 1)])
def test_a_new_id_at_a_known_address_is_flagged_and_decided(rw, choice, added,
                                                            updated, rejected):
    x, y = spot(rw, 1, dx=2e-5)
    address = f"夏荷路{choice}号"
    first = post(rw.client("worker"), f"经度,纬度,地址,人口\n{x},{y},{address},3\n"
                 .encode(), f"{choice}0.csv").get_json()
    assert first["counts"]["added"] == 1
    data = f"编号,经度,纬度,地址,人口\nNEW-{choice},{x},{y},{address},2\n".encode()
    preview = post(rw.client("worker"), data, f"{choice}.csv", dry_run="1",
                   on_address_match=choice).get_json()
    assert preview["counts"]["added"] == added
    if choice != "skip":
        assert preview["preview"]["rows"][0]["flag"].startswith("已有同址住户")
    assert preview["address_matches"][0]["action"] == choice
    assert any("已有同址住户" in w for w in preview["warnings"])
    r = post(rw.client("worker"), data, f"{choice}.csv", on_address_match=choice)
    if choice == "skip":  # nothing stored: refused, not recorded
        assert r.status_code == 422
        assert "已有同址住户" in r.get_json()["error"]["message"]
    else:
        body = r.get_json()
        assert r.status_code == 200, body
        assert (body["counts"]["added"], body["counts"]["updated"],
                body["counts"]["rejected"]) == (added, updated, rejected)
    stored = households(rw.url, address)
    assert len(stored) == 1 + added
    if choice == "update":  # the household had no id: it takes the row's
        assert stored[0][1:4] == ("NEW-update", address, 2)


def test_bad_on_address_match_is_a_400_naming_it(rw):
    r = post(rw.client("worker"), b"x", "x.csv", on_address_match="merge")
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == "on_address_match"


def test_the_command_line_takes_a_plain_household_csv(rw, tmp_path):
    from web.cli import main

    x, y = spot(rw, 2, dx=-2e-5)
    path = tmp_path / "plain.csv"
    path.write_text(f"经度,纬度,地址,人口\n{x},{y},冬雪路8号,2\n", encoding="utf-8")
    env = {"GRIDGOV_DATABASE_URL": rw.url}
    out = CliRunner().invoke(main, ["import", str(path), "--layer", "households",
                                    "--user", "worker", "--crs", "wgs84"], env=env)
    assert out.exit_code == 0, out.output
    assert "added 1" in out.output
    path.write_text(f"编号,经度,纬度,地址,人口\nW-8,{x},{y},冬雪路８号,2\n",
                    encoding="utf-8")
    out = CliRunner().invoke(main, ["import", str(path), "--layer", "households",
                                    "--user", "worker", "--crs", "wgs84",
                                    "--on-address-match", "update"], env=env)
    assert out.exit_code == 0, out.output
    assert "updated 1" in out.output
    assert [h[1] for h in households(rw.url, "冬雪路%")] == ["W-8"]


def test_normalised_addresses():
    # by hand, rule by rule (geo/address.py)
    assert normalize_address(["春风路１２号", "春风路 12 号", "春风路12#",
                              "Ａ座３０１室", "12—3号", "5弄,3号", "", None]) == [
        "春风路12号", "春风路12号", "春风路12号", "a座301室", "12-3号", "5弄3号",
        None, None]
