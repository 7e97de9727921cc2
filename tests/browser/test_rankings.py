"""The leaders' ranking page /rankings in a real headless Chromium, on the demo town:
the table of the villages with the bottom three flagged, the score map, the print
layout, and nothing loaded from outside gridgov."""

from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from tests.browser.conftest import open_page

pytestmark = [pytest.mark.browser, pytest.mark.db]

# the demo's year ends on 2026-11-01: October 2026 is its last full month
URL = "/rankings?level=2&month=2026-10"


def test_the_ranking_shows_the_villages_and_flags_the_last_three(
        page, live_server, passwords, artifacts):
    seen = open_page(page, live_server, URL, "leader", passwords["leader"],
                     "#rankings[data-state=ready]")
    own = urlsplit(live_server).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https")
               and urlsplit(u).netloc != own]
    assert foreign == [], f"the page requested other hosts: {foreign}"
    assert seen["errors"] == []

    rows = page.locator("#rank-table tbody tr")
    assert rows.count() == 8  # the demo town's villages
    scores, flagged = [], []
    for i in range(rows.count()):
        row = rows.nth(i)
        cells = row.locator("td")
        scores.append(float(cells.nth(2).inner_text()))
        flagged.append("rank-flagged" in (row.get_attribute("class") or ""))
    # in rank order, and the three lowest scores are the ones flagged 末位
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores[-4:])) == 4, "a tie at the boundary: the demo changed"
    assert flagged == [False] * 5 + [True] * 3
    assert page.locator(".rank-badge").all_inner_texts() == ["末位"] * 3
    assert "化解率" in page.inner_text("#rank-table thead")

    # the score map: one coloured polygon per village, and its legend
    assert page.locator("#rank-map path.leaflet-interactive").count() == 8
    assert "≥ 90" in page.inner_text(".rank-legend")
    # the export link is the API's XLSX of the same ranking
    href = page.get_attribute("#rank-xlsx", "href")
    assert "/api/v1/rankings?" in href and "format=xlsx" in href
    # and the printable page, drawn on the server, with the same parameters
    starts = {"pdf": b"%PDF", "png": b"\x89PNG"}
    for fmt, start in starts.items():
        href = page.get_attribute(f"#rank-{fmt}", "href")
        assert href == href_of_format(page, fmt)
        assert f"下载 {fmt.upper()}" in page.inner_text(f"#rank-{fmt}")
        answer = page.request.get(urljoin(live_server, href))  # the page's cookie
        assert answer.ok and answer.body().startswith(start)
        assert f"filename=ranking-320282105-2026-10-level2.{fmt}" in \
            answer.headers["content-disposition"]
    page.screenshot(path=str(artifacts / "rankings.png"), full_page=True)

    # printed: the header and the form go, the table and the map stay
    page.emulate_media(media="print")
    assert not page.is_visible("header")
    assert not page.is_visible(".rank-filters")
    assert page.is_visible("#rank-table") and page.is_visible("#rank-map")
    page.pdf(path=str(artifacts / "rankings-print.pdf"))


def href_of_format(page, fmt):
    """The XLSX link with another format: the same route and parameters."""
    xlsx = urlsplit(page.get_attribute("#rank-xlsx", "href"))
    query = parse_qs(xlsx.query)
    assert query["format"] == ["xlsx"] and query["month"] == ["2026-10"]
    return xlsx._replace(query=xlsx.query.replace("format=xlsx",
                                                  f"format={fmt}")).geturl()
