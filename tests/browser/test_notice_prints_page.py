"""A long notices PDF drawn by the job queue, followed on /rankings in a real
Chromium: the button's answer is 202, the page says the print is being drawn,
and when the job has drawn it (its function run here, as the worker would) the
page offers the file and saves it. The threshold is lowered to two pages so that
a village's PDF goes the way a town's does."""

import io

import psycopg
import pypdf
import pytest

from layers import notice_prints
from tests.browser.conftest import open_page, serve
from tests.conftest import writable_demo

pytestmark = [pytest.mark.browser, pytest.mark.db]

VILLAGE = "320282105001"
SLOW = 240_000  # pages are drawn in a second or two each; the machine is shared


@pytest.fixture(scope="module")
def server(databases, demo_town):
    wd = writable_demo(databases, demo_town)
    wd.app.config["NOTICES_SYNC_PAGES"] = 2
    with serve(wd.app) as base:
        yield wd, base


def test_the_rankings_page_follows_a_print_to_its_download(page, server):
    wd, base = server
    page.set_default_timeout(SLOW)
    seen = open_page(page, base, f"/rankings?grid={VILLAGE}&level=3&month=2026-10",
                     "leader", wd.passwords["leader"], "#rankings[data-state=ready]")
    with page.expect_response(lambda r: r.url.endswith(
            f"/grids/{VILLAGE}/notices.pdf")) as answer:
        page.click("#rank-notices")
    assert answer.value.status == 202
    page.wait_for_selector("#rank-download-msg:has-text('正在后台生成')")
    with psycopg.connect(wd.url, autocommit=True) as c:
        (print_id, pages), = c.execute(
            "SELECT id, pages FROM notice_prints WHERE grid_code = %s", (VILLAGE,))
        with page.expect_download(timeout=SLOW) as download:
            assert notice_prints.run(c, print_id) == "ready"  # the worker's part
    page.wait_for_selector("#rank-notices-ready")
    assert download.value.suggested_filename == f"notices-{VILLAGE}.pdf"
    reader = pypdf.PdfReader(io.BytesIO(download.value.path().read_bytes()))
    assert len(reader.pages) == pages > 2
    assert not seen["errors"], seen["errors"]
