"""The upload page /import with the other targets (issue 5): the administrator
imports a roster of grid staff (preview: counts and rows; then import; the staff
are in the database), and the targets offered follow the role's permissions
(a field worker's: tests/integration/test_import_permissions.py)."""

from urllib.parse import urlsplit

import psycopg
import pytest

from geo.crs import wgs84_to_gcj02
from tests.browser.conftest import open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture(scope="module")
def server(databases, demo_town):
    with served_copy(databases, demo_town) as served:
        yield served


def _roster(demo_town, worker_grid):
    """Two staff inside the worker's grid, one with an unknown role (row 4);
    returns (bytes, {external id: expected grid code})."""
    g = demo_town.grids
    x = g[(g.level == 4) & g.code.str.startswith(worker_grid)].sort_values(
        "code").iloc[0]
    p = x.geometry.representative_point()
    lon, lat = wgs84_to_gcj02(p.x, p.y)
    lines = ["编号,姓名,岗位,电话,经度,纬度",
             f"WEB1,陈联络,微网格联络员,13700000001,{lon:.9f},{lat:.9f}",
             f"WEB2,周兼职,兼职网格员,13700000002,{lon:.9f},{lat:.9f}",
             f"WEB3,吴某,组长,13700000003,{lon:.9f},{lat:.9f}"]
    return ("\n".join(lines) + "\n").encode("utf-8"), {
        "WEB1": x.code, "WEB2": x.code[:15]}


def _count(page, name):
    return int(page.inner_text(f"#import-counts [data-count={name}] dd"))


def test_import_a_staff_roster(page, server, demo_town, tmp_path, artifacts):
    # grid staff are the user administrators' (users:manage)
    seen = open_page(page, server.base, "/import", "admin",
                     server.passwords["admin"], "#import[data-state=ready]")
    offered = page.locator("#import-layer option").evaluate_all(
        "options => options.map(o => o.value)")
    assert offered == ["households", "cameras", "incidents", "staff", "tracks",
                       "grids"]
    data, expected = _roster(demo_town, server.worker_grid)
    path = tmp_path / "roster.csv"
    path.write_bytes(data)
    page.set_input_files("#import-file", str(path))
    page.select_option("#import-layer", "staff")
    page.select_option("#import-crs", "gcj02")
    assert page.is_hidden("#import-staff-field")
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    assert (_count(page, "read"), _count(page, "added"), _count(page, "rejected")) \
        == (3, 2, 1)
    rows = page.locator("#import-rows tr[data-row]")
    assert rows.count() == 2
    assert "陈联络" in rows.first.inner_text() and expected["WEB1"] in \
        rows.first.inner_text()
    assert "组长" in page.inner_text("#import-rejected")
    with psycopg.connect(server.url) as c:
        assert c.execute("SELECT count(*) FROM grid_staff WHERE external_id"
                         " LIKE 'WEB%%'").fetchone()[0] == 0
    page.screenshot(path=str(artifacts / "import-staff-preview.png"), full_page=True)
    page.click("#import-commit")
    page.wait_for_selector("#import[data-state=imported]")
    with psycopg.connect(server.url) as c:
        got = dict(c.execute("SELECT external_id, grid_code FROM grid_staff"
                             " WHERE external_id LIKE 'WEB%%'").fetchall())
    assert got == expected
    # the tracks target shows the worker picker
    page.select_option("#import-layer", "tracks")
    assert page.is_visible("#import-staff-field")
    assert page.locator("#import-staff option").count() > 1
    host = urlsplit(server.base).netloc
    assert [u for u in seen["requests"] if urlsplit(u).netloc != host] == []
    assert seen["errors"] == []


def test_a_planner_previews_grid_boundaries(page, server, demo_town, tmp_path):
    """A planner's GeoJSON of two sibling micro-grids with their shared edge moved:
    the preview lists them with their parent and 更新, the check is clean, and
    import is offered."""
    import shapely

    from tests.integration.test_import_targets import grids_geojson, siblings

    a, b, piece = siblings(demo_town)
    data = grids_geojson([(a.code, a["name"], shapely.union(a.geometry, piece)),
                          (b.code, b["name"], shapely.difference(b.geometry, piece))])
    path = tmp_path / "redraw.geojson"
    path.write_bytes(data)
    seen = open_page(page, server.base, "/import", "planner",
                     server.passwords["planner"], "#import[data-state=ready]")
    page.set_input_files("#import-file", str(path))
    page.select_option("#import-layer", "grids")
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    rows = page.locator("#import-rows tr[data-row]")
    assert rows.count() == 2
    text = page.inner_text("#import-rows")
    assert "上级网格" in text and a.code[:15] in text
    assert text.count("更新") == 2
    assert page.is_enabled("#import-commit")
    assert seen["errors"] == []
