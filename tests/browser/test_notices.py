"""网格公示牌 in the pages: on /plan a planner sets a micro-grid's service hours
and a person's 公示电话 and prints its notice (the button yields the PDF, which
says both); on /rankings a leader prints a comprehensive grid's notice from its
row. On a writable copy of the demo town (the test saves)."""

import io

import pypdf
import pytest
import shapely

from tests.browser.conftest import db_rows, open_page, plan_state, served_copy
from tests.browser.test_plan import _click_grid

pytestmark = [pytest.mark.browser, pytest.mark.db]

LEVEL3 = "320282105001001"
MICRO = f"{LEVEL3}002"
HOURS = "周一至周五 8:30-17:30"
OTHER = "0510-66668888"


@pytest.fixture(scope="module")
def server(databases, demo_town):
    with served_copy(databases, demo_town) as s:
        yield s


def _pdf_text(path):
    reader = pypdf.PdfReader(io.BytesIO(path.read_bytes()))
    return "\n".join(p.extract_text() for p in reader.pages)


# a page is drawn in a second or two of CPU; on a shared, loaded machine far more
SLOW = 240_000


def test_the_plan_panel_sets_the_fields_and_prints_the_notice(page, server):
    page.set_default_timeout(SLOW)
    (wkb,) = db_rows(server, "SELECT ST_AsBinary(geom) FROM grids WHERE code = %s",
                 MICRO)[0]
    seen = open_page(page, server.base, f"/plan?parent={LEVEL3}", "planner",
                     server.passwords["planner"], "#plan[data-state=ready]")
    _click_grid(page, shapely.from_wkb(bytes(wkb)))
    page.wait_for_selector("#plan-notice-people tr")
    page.fill("#plan-hours", HOURS)
    page.click("#plan-hours-save")
    page.wait_for_selector("#plan-msg.notice")
    plan_state(page, "ready")
    assert db_rows(server, "SELECT service_hours FROM grids WHERE code = %s",
               MICRO) == [(HOURS,)]
    # the liaison: another number
    (liaison, work), = db_rows(server, "SELECT id, phone FROM grid_staff WHERE"
                                   " grid_code = %s AND role = 'liaison'", MICRO)
    page.wait_for_selector(f"#plan-notice-people tr[data-staff='{liaison}']")
    row = page.locator(f"#plan-notice-people tr[data-staff='{liaison}']")
    row.locator("select").select_option("other")
    row.locator("input").fill(OTHER)
    row.locator("input").dispatch_event("change")
    for _ in range(50):  # saved when the field changes
        saved = db_rows(server, "SELECT notice_phone_choice, notice_phone FROM"
                            " grid_staff WHERE id = %s", liaison)
        if saved == [("other", OTHER)]:
            break
        page.wait_for_timeout(100)
    assert saved == [("other", OTHER)]
    with page.expect_download(timeout=SLOW) as download:
        page.click("#plan-notice-print")
    assert download.value.suggested_filename == f"notice-{MICRO}.pdf"
    text = _pdf_text(download.value.path())
    assert "网格公示牌" in text and MICRO in text
    assert HOURS.replace(" ", "") in text.replace(" ", "")
    assert OTHER in text and work not in text
    assert not seen["errors"], seen["errors"]


def test_the_rankings_row_prints_a_comprehensive_grids_notice(page, server):
    page.set_default_timeout(SLOW)
    url = "/rankings?grid=320282105001&level=3&month=2026-10"
    open_page(page, server.base, url, "leader", server.passwords["leader"],
              "#rankings[data-state=ready]")
    link = page.locator(f"tr[data-code='{LEVEL3}'] a.rank-notice")
    with page.expect_download(timeout=SLOW) as download:
        link.click()
    assert download.value.suggested_filename == f"notice-{LEVEL3}.pdf"
    text = _pdf_text(download.value.path())
    assert "网格公示牌" in text and LEVEL3 in text
    # the village's notices, one link above the table
    assert page.locator("#rank-notices").get_attribute("href").endswith(
        "/api/v1/grids/320282105001/notices.pdf")
