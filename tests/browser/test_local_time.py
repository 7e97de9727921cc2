"""Times on the pages are China time and say so, whatever the browser's zone.

A dispatcher's browser may run in UTC (a server's kiosk) or abroad: the pages'
scripts format every time with ``gg.time`` in the deployment's zone, which
``base.html`` writes from ``geo/localtime.py``, never in the browser's own.
"""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]

UTC_MOMENT = "2026-12-07T11:30:05Z"


@pytest.fixture()
def abroad(browser):
    """A page in a browser set to New York time (UTC−5 in December)."""
    context = browser.new_context(viewport={"width": 1280, "height": 860},
                                  locale="zh-CN", timezone_id="America/New_York")
    yield context.new_page()
    context.close()


def _log_in(page, base, username, password):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_gg_time_is_china_time_with_its_label(abroad, live_server, passwords):
    _log_in(abroad, live_server, "admin", passwords["admin"])
    abroad.goto(live_server + "/admin/users", wait_until="networkidle")

    def time(opts):
        return abroad.evaluate(f"t => gg.time(t, {opts})", UTC_MOMENT)

    assert time("{}") == "2026-12-07 19:30 北京时间"
    assert time("{seconds: true, lang: 'en'}") == "2026-12-07 19:30:05 China time"
    assert time("{label: false}") == "2026-12-07 19:30"
    assert abroad.evaluate("gg.time(null)") == ""


def test_the_import_list_shows_china_time_in_a_browser_abroad(
        abroad, databases, demo_town):
    import psycopg

    from tests.browser.conftest import served_copy

    with served_copy(databases, demo_town) as srv:
        with psycopg.connect(srv.url) as c:
            c.execute("INSERT INTO imports (file_name, file_sha256, layer, username,"
                      " created_at) VALUES ('clock-probe.csv', repeat('c', 64),"
                      " 'households', 'admin', %s)", (UTC_MOMENT,))
        _log_in(abroad, srv.base, "admin", srv.passwords["admin"])
        abroad.goto(srv.base + "/import", wait_until="networkidle")
        row = abroad.locator("#import-list tr[data-id]", has_text="clock-probe.csv")
        row.wait_for()
        assert "2026-12-07 19:30 北京时间" in row.inner_text()
