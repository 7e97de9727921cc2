"""The upload page shows the rejected rows where they are (the import issue, item
9): a field worker's plain ``经度,纬度,地址,人口`` CSV with a bad 人口 previews its
good rows as points and the bad one as a red point naming 人口; a file from the
wrong city is refused with the distance; the address choice reaches the API."""

import psycopg
import pytest
import shapely

from tests.browser.conftest import open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]

BANGKOK = (100.5018, 13.7563)


@pytest.fixture(scope="module")
def server(databases, demo_town):
    with served_copy(databases, demo_town) as server:
        with psycopg.connect(server.url) as c:
            server.outline = shapely.from_wkb(bytes(c.execute(
                "SELECT ST_AsBinary(geom) FROM grids WHERE code = %s",
                (server.worker_grid,)).fetchone()[0]))
        yield server


def _open(page, server):
    open_page(page, server.base, "/import", "worker", server.passwords["worker"],
              "#import[data-state=ready]")


def _choose(page, tmp_path, text, name):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.set_input_files("#import-file", str(path))
    page.select_option("#import-layer", "households")
    page.select_option("#import-crs", "wgs84")


def test_rejected_rows_are_red_points_naming_their_field(page, server, tmp_path,
                                                         artifacts):
    p = server.outline.representative_point()
    _open(page, server)
    _choose(page, tmp_path, f"经度,纬度,地址,人口\n{p.x},{p.y},红点路1号,3\n"
            f"{p.x + 2e-4},{p.y},红点路3号,2\n{p.x},{p.y + 2e-4},红点路5号,很多\n",
            "plain.csv")
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    assert page.locator("#import-map path.import-point").count() == 2
    red = page.locator("#import-map path.import-rejected-point")
    assert red.count() == 1
    assert page.evaluate("window.gridgovImport.rejected.getLayers().length") == 1
    assert red.first.get_attribute("stroke") in ("#cc0000", "#CC0000")
    red.first.hover()
    tip = page.wait_for_selector(".leaflet-tooltip.import-tip").inner_text()
    assert "人口" in tip and "4" in tip
    page.mouse.move(5, 5)
    page.screenshot(path=str(artifacts / "import-rejected.png"), full_page=True)


def test_a_file_from_the_wrong_city_says_how_far(page, server, tmp_path):
    _open(page, server)
    x, y = BANGKOK
    _choose(page, tmp_path, f"经度,纬度,地址,人口\n{x},{y},曼谷1号,3\n"
            f"{x + 1e-3},{y},曼谷2号,3\n", "bangkok.csv")
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    message = page.inner_text("#import-msg")
    assert "全部 2 个点位于辖区以西南约" in message
    assert page.is_disabled("#import-commit")


def test_the_address_choice_reaches_the_import(page, server, tmp_path):
    p = server.outline.representative_point()
    with psycopg.connect(server.url) as c:
        c.execute("INSERT INTO households (address, size, geom, grid_code, county)"
                  " SELECT '选择路7号', 2, ST_SetSRID(ST_MakePoint(%s, %s), 4326),"
                  " code, county_of(code) FROM grids WHERE level = 4"
                  " AND ST_Contains(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))",
                  (p.x, p.y, p.x, p.y))
    _open(page, server)
    _choose(page, tmp_path,
            f"编号,经度,纬度,地址,人口\nSEL-1,{p.x},{p.y},选择路7号,4\n", "choice.csv")
    page.select_option("#import-address-match", "skip")
    page.click("#import-preview")
    page.wait_for_selector("#import[data-state=previewed]")
    assert "已有同址住户" in page.inner_text("#import-rejected")
