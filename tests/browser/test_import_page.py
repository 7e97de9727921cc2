"""The upload page /import in a real headless Chromium: a field worker previews a
GCJ-02 CSV of households with Chinese headers (5 good rows, one bad latitude, one
outside the worker's jurisdiction), imports it, checks it in the database, and is
told when the same file comes again.

Imports change the database, so these tests run on a writable copy of the demo
town with a server of their own (the session's live server must stay as the demo
made it). The README's docs/import-preview.png is a copy of the artifact
import-preview.png.
"""

from urllib.parse import urlsplit

import pandas as pd
import psycopg
import pytest

from geo.crs import wgs84_to_gcj02
from tests.browser.conftest import open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]

HEADER = "编号,地址,户主,人口,经度,纬度"


@pytest.fixture(scope="module")
def import_server(databases, demo_town):
    """A writable copy of the demo town served by a server of its own."""
    with served_copy(databases, demo_town) as server:
        yield server


def _households_csv(demo_town, worker_grid):
    """5 demo households of the worker's grid in GCJ-02 with new ids, a row with a
    bad latitude (row 4) and one in another level-3 grid (row 7); returns (bytes,
    {external id: expected micro-grid})."""
    hh = demo_town.households
    mine = hh[hh.grid_code.str.startswith(worker_grid)].iloc[:5]
    other = hh[~hh.grid_code.str.startswith(worker_grid)].iloc[:1]
    picked = pd.concat([mine, other])
    lon, lat = wgs84_to_gcj02(picked.geometry.x.to_numpy(),
                              picked.geometry.y.to_numpy())
    lines = []
    expected = {}
    for i, (row, x, y) in enumerate(zip(picked.itertuples(), lon, lat, strict=True)):
        ident = f"WEB{i:04d}"
        lines.append(f"{ident},{row.address},{row.head_name},{row.size},"
                     f"{x:.9f},{y:.9f}")
        if i < 5:
            expected[ident] = row.grid_code
    good, outside = lines[:5], lines[5]
    bad_lat = f"WEB9999,坏纬度村1号,王五,3,{lon[0]:.9f},北纬三十一度"
    # rows: header 1, then 2, 3, [4 bad latitude], 5, 6, [7 outside], 8
    body = [HEADER, good[0], good[1], bad_lat, good[2], good[3], outside, good[4]]
    return ("\n".join(body) + "\n").encode("utf-8"), expected


def _db(server, query, *params):
    with psycopg.connect(server.url) as conn:
        return conn.execute(query, params).fetchall()


def _open(page, server, username="worker"):
    """Log in, open /import; return what the page requested and logged."""
    return open_page(page, server.base, "/import", username,
                     server.passwords[username], "#import[data-state=ready]")


def _choose(page, tmp_path, data, name="households-gcj02.csv"):
    path = tmp_path / name
    path.write_bytes(data)
    page.set_input_files("#import-file", str(path))
    page.select_option("#import-layer", "households")
    page.select_option("#import-crs", "gcj02")


def _count(page, name):
    return int(page.inner_text(f"#import-counts [data-count={name}] dd"))


def test_preview_import_and_the_same_file_again(page, import_server, demo_town,
                                                artifacts, tmp_path):
    server = import_server
    data, expected = _households_csv(demo_town, server.worker_grid)
    seen = _open(page, server)
    assert page.locator("header a", has_text="数据导入").count() == 1
    _choose(page, tmp_path, data)
    assert page.is_disabled("#import-commit")

    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    assert _count(page, "read") == 7
    assert _count(page, "added") == 5
    assert _count(page, "updated") == 0
    assert _count(page, "rejected") == 2
    rejected = page.locator("#import-rejected tr[data-row]")
    assert [int(r) for r in rejected.evaluate_all(
        "rows => rows.map(r => r.dataset.row)")] == [4, 7]
    reasons = page.inner_text("#import-rejected")
    assert "纬度" in reasons and "outside your jurisdiction" in reasons
    assert "不在您的管辖范围" in reasons  # the reason's Chinese part comes first
    detected = page.inner_text("#import-detected")
    assert "csv" in detected.lower() and "gcj02" in detected
    assert "address ← 地址" in detected and "size ← 人口" in detected
    assert page.locator("#import-rows tr[data-row]").count() == 5
    assert page.locator("#import-map path.import-point").count() == 5
    assert page.evaluate("window.gridgovImport.points.getLayers().length") == 5
    # a point's tooltip names its micro-grid
    first = sorted(expected)[0]
    page.locator("#import-map path.import-point").first.hover()
    tip = page.wait_for_selector(".leaflet-tooltip.import-tip").inner_text()
    assert "微网格" in tip and expected[first] in tip
    assert _db(server, "SELECT count(*) FROM households WHERE external_id LIKE "
                       "'WEB%%'") == [(0,)]  # a preview writes nothing
    page.mouse.move(5, 5)
    page.screenshot(path=str(artifacts / "import-preview.png"), full_page=True)

    assert page.is_enabled("#import-commit")
    page.click("#import-commit")
    page.wait_for_selector("#import[data-state=imported]")
    assert "导入完成" in page.inner_text("#import-msg")
    assert _count(page, "added") == 5 and _count(page, "rejected") == 2
    link = page.locator("#import-msg a.import-download")
    href = link.get_attribute("href")
    assert href.endswith("/rejected.csv")
    csv_text = page.evaluate("url => fetch(url).then(r => r.text())", href)
    assert "outside your jurisdiction" in csv_text
    got = dict(_db(server, "SELECT external_id, grid_code FROM households"
                           " WHERE external_id LIKE 'WEB%%'"))
    assert got == expected
    listed = page.locator("#import-list tr[data-id]")
    assert listed.count() == 1
    assert "households-gcj02.csv" in listed.first.inner_text()
    assert "worker" in listed.first.inner_text()
    page.screenshot(path=str(artifacts / "import-done.png"), full_page=True)

    # the same file again: refused with the earlier import named, force offered
    page.reload(wait_until="networkidle")
    page.wait_for_selector("#import[data-state=ready]")
    _choose(page, tmp_path, data)
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=conflict]")
    message = page.inner_text("#import-msg")
    assert "此文件已导入过" in message and "already" in message
    assert page.locator("#import-force").count() == 1
    assert page.is_disabled("#import-commit")
    page.screenshot(path=str(artifacts / "import-conflict.png"), full_page=True)
    page.click("#import-force")
    page.wait_for_selector("#import[data-state=previewed]")
    assert _count(page, "added") == 0 and _count(page, "unchanged") == 5

    host = urlsplit(server.base).netloc
    assert [u for u in seen["requests"] if urlsplit(u).netloc != host] == []
    assert [e for e in seen["errors"] if "409 (CONFLICT)" not in e] == []


def test_the_page_needs_the_import_permission(page, import_server):
    seen = _open(page, import_server, "worker")
    assert seen["errors"] == []
    # /login while logged in lands on the map, whose requests refresh the
    # worker's session cookie: let them finish before the cookies go
    page.goto(import_server.base + "/login", wait_until="networkidle")
    page.context.clear_cookies()
    page.goto(import_server.base + "/login")
    page.fill("#username", "leader")
    page.fill("#password", import_server.passwords["leader"])
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    response = page.goto(import_server.base + "/import")
    assert response.status == 403
    assert page.locator("header a", has_text="数据导入").count() == 0


def test_the_page_shows_the_servers_phases_while_it_works(
        page, import_server, demo_town, tmp_path, monkeypatch):
    """A slow import (each phase held half a second here) shows its phase, in
    Chinese first, while the request is still open."""
    import time

    import api.imports

    original = api.imports.imports_layer.run_import

    def slow(*args, progress=None, **kwargs):
        def held(phase, rows, seconds):
            progress(phase, rows, seconds)
            time.sleep(0.6)
        return original(*args, progress=held, **kwargs)

    monkeypatch.setattr(api.imports.imports_layer, "run_import", slow)
    data, _ = _households_csv(demo_town, import_server.worker_grid)
    data = data.replace(b"WEB", b"SLO")  # not the file the other test imported
    seen = _open(page, import_server)
    _choose(page, tmp_path, data, name="slow.csv")
    page.click("#import-preview")
    page.wait_for_function(
        "() => document.querySelector('#import-msg').innerText"
        ".includes('正在分配网格')")
    page.wait_for_selector("#import[data-state=previewed]")
    assert seen["errors"] == []
