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


@pytest.fixture(scope="module")
def visited(databases, demo_town):
    """A copy of the demo town whose grid workers visited households: in
    October 2026, 10 households of the first village, 20 of the second … (one of
    them twice), and some in September, which October does not count."""
    import psycopg

    from tests.browser.conftest import served_copy

    with served_copy(databases, demo_town) as site:
        with psycopg.connect(site.url) as c:
            villages = sorted(demo_town.grids[demo_town.grids.level == 2].code)
            for i, code in enumerate(villages):
                c.execute(
                    "INSERT INTO visits (household_id, grid_code, username,"
                    " visited_at) SELECT id, grid_code, 'worker', t FROM"
                    " (SELECT id, grid_code FROM households WHERE grid_code LIKE %s"
                    "  ORDER BY id LIMIT %s) h, unnest(ARRAY["
                    "  timestamptz '2026-10-15 10:00+08',"
                    "  timestamptz '2026-10-31 23:30+08',"
                    "  timestamptz '2026-09-30 10:00+08']) t",
                    (code + "%", 10 * (i + 1)))
            site.rates = dict(c.execute(
                "SELECT left(h.grid_code, 12), count(DISTINCT v.household_id)::float8"
                " / count(DISTINCT h.id) FROM households h LEFT JOIN visits v"
                " ON v.household_id = h.id AND v.visited_at >= '2026-10-01 00:00+08'"
                " AND v.visited_at < '2026-11-01 00:00+08' GROUP BY 1").fetchall())
        yield site


def _column(page, header):
    heads = page.locator("#rank-table thead th").all_inner_texts()
    col = next(i for i, h in enumerate(heads) if h.startswith(header))
    rows = page.locator("#rank-table tbody tr")
    return {rows.nth(i).get_attribute("data-code"):
            rows.nth(i).locator("td").nth(col).inner_text()
            for i in range(rows.count())}


def test_the_visit_rate_is_a_column_of_the_table_and_exports_but_not_scored(
        page, live_server, passwords, visited, artifacts):
    import io

    import openpyxl
    import pypdf

    open_page(page, visited.base, URL, "leader", visited.passwords["leader"],
              "#rankings[data-state=ready]")
    shown = _column(page, "走访率")
    assert len(shown) == 8
    for code, text in shown.items():
        assert text == f"{100 * visited.rates[code]:.1f}%", code
    assert len(set(shown.values())) == 8  # every village its own rate
    total = page.locator("#rank-table tfoot td.rank-visit").inner_text()
    assert total.endswith("%") and total != "0.0%"
    assert "不计入得分" in page.inner_text(".rank-table-box")
    page.screenshot(path=str(artifacts / "rankings-visit-rate.png"), full_page=True)
    # the score and the order are those of the same month without any visit
    scores = _column(page, "得分")
    order = list(scores)
    plain = page.context.browser.new_context(locale="zh-CN").new_page()
    open_page(plain, live_server, URL, "leader", passwords["leader"],
              "#rankings[data-state=ready]")
    assert _column(plain, "得分") == scores and list(_column(plain, "得分")) == order
    assert set(_column(plain, "走访率").values()) == {"0.0%"}
    plain.context.close()

    # the XLSX has the column with the same figures; the PDF prints it
    answer = page.request.get(urljoin(visited.base,
                                      page.get_attribute("#rank-xlsx", "href")))
    rows = list(openpyxl.load_workbook(io.BytesIO(answer.body())).active
                .iter_rows(values_only=True))
    col = rows[1].index("走访率 Visit rate %")
    code = rows[1].index("网格编码 Code")
    exported = {r[code]: r[col] for r in rows[2:10]}
    assert exported == {c: round(100 * r, 1) for c, r in visited.rates.items()
                        if c in exported} and len(exported) == 8
    pdf = page.request.get(urljoin(visited.base,
                                   page.get_attribute("#rank-pdf", "href")))
    assert pdf.ok
    text = "\n".join(p.extract_text()
                     for p in pypdf.PdfReader(io.BytesIO(pdf.body())).pages)
    assert "走访率" in text
    for rate in visited.rates.values():
        assert f"{100 * rate:.1f}%" in text


def test_an_export_shows_a_spinner_while_the_server_draws_it(
        page, live_server, passwords):
    """The PDF takes a second or two: past 300 ms its button spins and says so;
    then the file is saved under the server's name."""
    open_page(page, live_server, URL, "leader", passwords["leader"],
              "#rankings[data-state=ready]")
    held = []
    page.route("**/api/v1/rankings?*format=pdf*", lambda route: held.append(route))
    assert page.locator(".rank-busy").count() == 0
    page.click("#rank-pdf")
    page.wait_for_selector("#rank-pdf.rank-busy")
    assert "生成中" in page.inner_text("#rank-pdf")
    assert page.get_attribute("#rank-pdf", "aria-busy") == "true"
    assert len(held) == 1
    with page.expect_download() as download:
        held[0].continue_()
    assert download.value.suggested_filename == \
        "ranking-320282105-2026-10-level2.pdf"
    page.wait_for_selector("#rank-pdf:not(.rank-busy)")
    assert "生成中" not in page.inner_text("#rank-pdf")
