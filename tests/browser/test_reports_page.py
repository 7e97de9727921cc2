"""The leaders' page of monthly reports, in Chromium, on a desk and a phone: the
town and its villages listed for the month, the town's Word report downloaded."""

import io

import docx
import pytest

from tests.browser.conftest import open_page
from tests.browser.test_phone_layouts import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.db]

NOW = "2026-11-20T10:00:00+08:00"


def test_the_town_and_its_villages_each_have_their_report(page, served_at,
                                                          passwords):
    base = served_at(NOW)
    seen = open_page(page, base, "/reports", "leader", passwords["leader"],
                     "#reports-list")
    assert seen["errors"] == []
    # opens on the last complete month
    assert page.input_value("#reports-month") == "2026-10"
    codes = page.eval_on_selector_all("#reports-list tbody tr",
                                      "rows => rows.map(r => r.dataset.code)")
    assert len(codes) == 1 + 8  # the demo town and its eight villages
    assert all(len(c) in (9, 12) for c in codes)
    # the report is drawn on request: seconds, more on a loaded machine
    with page.expect_download(timeout=240_000) as download:
        page.click(f"#reports-list tr[data-code='{codes[0]}'] a[data-format=docx]")
    with open(download.value.path(), "rb") as fh:
        data = fh.read()
    text = "\n".join(p.text for p in docx.Document(io.BytesIO(data)).paragraphs)
    assert "安全稳定月报分析（2026年10月）" in text
    assert download.value.suggested_filename == f"月报-{codes[0]}-2026-10.docx"


def test_the_page_fits_a_phone(browser, served_at, passwords):
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        open_page(page, served_at(NOW), "/reports?month=2026-09", "leader",
                  passwords["leader"], "#reports-list")
        sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                              " inner: window.innerWidth})")
        assert sizes["scroll"] <= sizes["inner"], sizes
        link = page.locator("#reports-list a[data-format=pdf]").first
        box = link.bounding_box()
        assert box["x"] + box["width"] <= 375
    finally:
        context.close()
