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


# --- the month the page opens on (layers.stats.default_month) ---------------------
# The demo's incidents end on 31 October 2026. Seen on 20 November (a pinned
# clock: GRIDGOV_STATS_NOW), October is the last complete month and November the
# month still running, empty; seen on 7 December, November is complete and empty.
MID_NOVEMBER = "2026-11-20T10:00:00+08:00"
EARLY_DECEMBER = "2026-12-07T10:00:00+08:00"


def _cells(page, heading):
    """The texts of the table's column headed ``heading`` (e.g. 得分)."""
    headings = page.locator("#rank-table thead th").all_inner_texts()
    column = next(k for k, h in enumerate(headings, 1) if h.startswith(heading))
    return page.locator(f"#rank-table tbody tr td:nth-child({column})") \
        .all_inner_texts()


def test_the_ranking_opens_on_the_last_complete_month_with_figures(
        page, served_at, passwords):
    base = served_at(MID_NOVEMBER)
    seen = open_page(page, base, "/rankings?level=2", "leader", passwords["leader"],
                     "#rankings[data-state=ready]")
    assert seen["errors"] == []
    assert page.input_value("input[name=month]") == "2026-10"
    assert page.get_attribute("input[name=month]", "max") == "2026-11"
    assert "2026-10" in page.inner_text(".rank-subtitle")
    assert page.locator("#rank-month-label, #rank-no-data").count() == 0
    scores = [float(s) for s in _cells(page, "得分")]  # every village has a score
    assert len(scores) == 8 and scores == sorted(scores, reverse=True)
    assert page.locator(".rank-badge").count() == 3
    assert sum(int(n) for n in _cells(page, "受理数")) > 50  # October's incidents


def test_the_month_still_running_is_labelled_and_when_empty_flags_nobody(
        page, served_at, passwords, artifacts):
    base = served_at(MID_NOVEMBER)
    open_page(page, base, "/rankings?level=2", "leader", passwords["leader"],
              "#rankings[data-state=ready]")
    page.fill("input[name=month]", "2026-11")
    page.click("#rank-show")
    page.wait_for_selector("#rankings[data-state=ready]")
    label = page.inner_text("#rank-month-label")
    assert "本月截至 20 日" in label and "this month to the 20th" in label
    assert "本月无数据" in page.inner_text("#rank-no-data")
    assert page.locator(".rank-badge, .rank-flagged").count() == 0
    assert set(_cells(page, "排名")) == {"—"} and set(_cells(page, "得分")) == {"—"}
    # no 环比 / 同比 of −100 %: "—" (the total row's last two cells)
    assert page.locator("#rank-table tfoot td").all_inner_texts()[-2:] == ["—", "—"]
    assert "100" not in page.inner_text("#rank-table tfoot")
    page.screenshot(path=str(artifacts / "rankings-month-running.png"),
                    full_page=True)


def test_an_empty_complete_month_says_so_instead_of_minus_100_percent(
        page, served_at, passwords):
    # the defect as reported: the clock past the data, the page opening on an
    # empty month with 环比 −100 % and three villages 末位 on coverage alone
    base = served_at(EARLY_DECEMBER)
    open_page(page, base, "/rankings?level=2", "leader", passwords["leader"],
              "#rankings[data-state=ready]")
    assert page.input_value("input[name=month]") == "2026-11"
    assert page.locator("#rank-month-label").count() == 0  # November is over
    assert "本月无数据" in page.inner_text("#rank-no-data")
    assert page.locator(".rank-badge, .rank-flagged").count() == 0
    assert "-100" not in page.inner_text("#rank-table")


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
            # one grid worker's own visits: 3 households of their grid
            staff, grid, households = c.execute(
                "SELECT s.id, s.grid_code, (SELECT count(*) FROM households h"
                "  WHERE h.grid_code LIKE s.grid_code || '%%') FROM grid_staff s"
                " WHERE s.active ORDER BY 3 DESC, s.id LIMIT 1").fetchone()
            c.execute(
                "INSERT INTO visits (household_id, grid_code, username, staff_id,"
                " visited_at) SELECT id, grid_code, 'worker', %s,"
                " timestamptz '2026-10-20 10:00+08' FROM households"
                " WHERE grid_code LIKE %s ORDER BY id LIMIT 3", (staff, grid + "%"))
            site.worker = (staff, households)
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


def test_the_visit_rate_of_each_grid_worker_is_listed(page, visited):
    open_page(page, visited.base, URL, "leader", visited.passwords["leader"],
              "#rankings[data-state=ready]")
    staff, households = visited.worker
    row = page.locator(f"#rank-workers tr[data-staff='{staff}'] td")
    cells = row.all_inner_texts()
    assert cells[2:6] == [str(households), "3", "3", f"{300 / households:.1f}%"]
    # a worker whose visits carry no staff link counts nothing
    assert page.locator("#rank-workers tbody tr").count() > 10
    assert "不计入得分" in page.inner_text("#rank-workers + .rank-note")
