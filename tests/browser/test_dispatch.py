"""The dispatchers' page in a real headless Chromium: locate by GCJ-02 coordinates,
see the grid chain and the sector of a camera that sees the spot, register an
incident, find it in the micro-grid's queue."""

from urllib.parse import urlsplit

import psycopg
import pytest
import shapely
from pyproj import Geod

from geo.crs import wgs84_to_gcj02
from tests.browser.conftest import open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture(scope="module")
def dispatch_server(databases, demo_town):
    """A writable copy of the demo town: the test registers an incident."""
    with served_copy(databases, demo_town) as server:
        yield server


def _spot_seen_by_a_fixed_camera(demo_town):
    """A fixed camera and the point 20 m ahead of it on its bearing (inside its
    sector whatever its angle), inside a micro-grid; with that micro-grid."""
    cams = demo_town.cameras
    micro = demo_town.grids[demo_town.grids.level == 4]
    for cam in cams[cams.kind == "fixed"].itertuples():
        lon, lat, _ = Geod(ellps="WGS84").fwd(cam.geometry.x, cam.geometry.y,
                                              cam.bearing, 20.0)
        inside = micro[micro.contains(shapely.Point(lon, lat))]
        if len(inside) == 1 and cam.range_m > 40:
            return cam, lon, lat, inside.iloc[0]
    raise AssertionError("the demo town has no fixed camera looking into a grid")


def test_a_dispatcher_locates_by_gcj02_and_registers_into_the_micro_queue(
        page, dispatch_server, demo_town, artifacts):
    cam, lon, lat, micro = _spot_seen_by_a_fixed_camera(demo_town)
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    seen = open_page(page, dispatch_server.base, "/dispatch", "dispatcher",
                     dispatch_server.passwords["dispatcher"],
                     "#dispatch[data-state=ready]")

    page.select_option("#dispatch-crs", "gcj02")
    page.fill("#dispatch-lon", f"{glon:.7f}")
    page.fill("#dispatch-lat", f"{glat:.7f}")
    page.click("#dispatch-go")
    page.wait_for_selector("#dispatch-chain li[data-level='4']")
    chain = page.eval_on_selector_all("#dispatch-chain li",
                                      "els => els.map(e => e.dataset.code)")
    assert chain == [micro.code[:9], micro.code[:12], micro.code[:15], micro.code]
    # the camera that sees the spot is listed and its sector drawn on the map
    assert cam.name in page.inner_text("#dispatch-seeing")
    assert page.locator(".leaflet-overlay-pane path.dispatch-sector").count() >= 1
    # the located point is the WGS-84 one, not the GCJ-02 typed (~500 m apart here)
    point = page.evaluate("() => window.gridgovDispatch.state.point")
    assert Geod(ellps="WGS84").inv(point["lon"], point["lat"], lon, lat)[2] < 0.5

    page.select_option("#dispatch-category", "environment")
    page.select_option("#dispatch-subtype", "dumping")
    page.fill("#dispatch-reporter", "王先生")
    page.fill("#dispatch-description", "路边有人倾倒建筑垃圾")
    page.click("#dispatch-check")
    page.wait_for_selector("#dispatch-confirm")
    page.click("#dispatch-confirm")
    page.wait_for_selector(".dispatch-msg.ok")
    with psycopg.connect(dispatch_server.url) as conn:
        code, grid, level, status = conn.execute(
            "SELECT code, grid_code, escalation_level, status FROM incidents"
            " WHERE description = %s", ("路边有人倾倒建筑垃圾",)).fetchone()
    assert (grid, level, status) == (micro.code, 4, "registered")
    assert code in page.inner_text(".dispatch-msg")
    # the page went to the micro-grid's queue "to triage", where the report waits
    queue = page.wait_for_selector(
        "#dispatch-list[data-level='4'][data-queue='to_triage']")
    assert code in queue.inner_text()
    assert micro["name"] in page.inner_text("#dispatch-scope")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] #dispatch-timeline")
    assert "受理登记" in page.inner_text("#dispatch-timeline")
    page.screenshot(path=str(artifacts / "dispatch.png"))

    own = urlsplit(dispatch_server.base).netloc
    foreign = [u for u in seen["requests"]
               if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != own]
    assert foreign == [], f"the page requested other hosts: {foreign}"
    assert seen["errors"] == []


def test_a_dispatcher_triages_from_the_timeline(page, dispatch_server, demo_town):
    seen = open_page(page, dispatch_server.base, "/dispatch", "dispatcher",
                     dispatch_server.passwords["dispatcher"],
                     "#dispatch[data-state=ready]")
    page.click("button.count[data-level='4'][data-queue='to_triage']")
    page.wait_for_selector("#dispatch-queue-list .incident-code")
    code = page.inner_text("#dispatch-queue-list .incident-code >> nth=0")
    page.click("#dispatch-queue-list .incident-code >> nth=0")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           "button[data-action='triage']")
    page.fill("#dispatch-dept", "镇城管中队")
    page.fill("#dispatch-note", "交城管处理")
    page.click("button[data-action='triage']")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           "button[data-action='accept']")
    with psycopg.connect(dispatch_server.url) as conn:
        status, department = conn.execute(
            "SELECT status, department FROM incidents WHERE code = %s",
            (code,)).fetchone()
    assert (status, department) == ("dispatched", "镇城管中队")
    assert "审核分流" in page.inner_text("#dispatch-timeline")
    # an action the state does not allow is not offered
    assert page.locator("button[data-action='evaluate']").count() == 0
    assert seen["errors"] == []


def _count(page, level, queue):
    return int(page.inner_text(f"button.count[data-level='{level}']"
                               f"[data-queue='{queue}']").strip())


def test_a_dispatcher_escalates_into_the_parent_levels_queue(
        page, dispatch_server, demo_town):
    from layers import incidents
    from layers.access import SYSTEM

    spot = demo_town.households.geometry.iloc[7]
    with psycopg.connect(dispatch_server.url, autocommit=True) as conn:
        code = incidents.register(
            conn, SYSTEM, {"category": "dispute", "subtype": "land",
                           "source": "petition", "description": "两村争议林地边界"},
            (spot.x, spot.y))["code"]
    seen = open_page(page, dispatch_server.base, "/dispatch", "dispatcher",
                     dispatch_server.passwords["dispatcher"],
                     "#dispatch[data-state=ready]")
    before = _count(page, 3, "to_triage"), _count(page, 4, "to_triage")
    page.click("button.count[data-level='4'][data-queue='to_triage']")
    page.click(f"#dispatch-queue-list .incident-code:text-is('{code}')")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           "button[data-action='escalate']")
    page.fill("#dispatch-note", "涉及两个网格，提交综合网格处理")
    page.click("button[data-action='escalate']")
    page.wait_for_function(
        "code => !document.querySelector('#dispatch-list').innerText.includes(code)",
        arg=code)
    # the counts follow: one less to triage at level 4, one more at level 3
    page.wait_for_function(
        "n => Number(document.querySelector(\"button.count[data-level='3']"
        "[data-queue='to_triage']\").innerText) === n", arg=before[0] + 1)
    assert _count(page, 4, "to_triage") == before[1] - 1
    assert "提级" in page.inner_text("#dispatch-timeline")
    with psycopg.connect(dispatch_server.url) as conn:
        level, status = conn.execute(
            "SELECT escalation_level, status FROM incidents WHERE code = %s",
            (code,)).fetchone()
    assert (level, status) == (3, "registered")
    page.click("button.count[data-level='3'][data-queue='to_triage']")
    page.wait_for_selector(f"#dispatch-list[data-level='3'][data-queue='to_triage'] "
                           f".incident-code:text-is('{code}')")
    assert seen["errors"] == []


def test_closing_offers_only_the_outcomes_of_the_category(page, dispatch_server):
    with psycopg.connect(dispatch_server.url) as conn:
        code = conn.execute(
            "SELECT code FROM incidents WHERE status = 'handling'"
            " AND category = 'environment' ORDER BY code LIMIT 1").fetchone()[0]
    open_page(page, dispatch_server.base, f"/dispatch?incident={code}", "dispatcher",
              dispatch_server.passwords["dispatcher"], "#dispatch[data-state=ready]")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] #dispatch-outcome")
    offered = page.eval_on_selector_all("#dispatch-outcome option",
                                        "els => els.map(e => e.value)")
    assert offered == ["handled", "transferred"]  # no 调解成功 for rubbish
    page.select_option("#dispatch-outcome", "handled")
    page.click("button[data-action='close']")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           "button[data-action='evaluate']")
    with psycopg.connect(dispatch_server.url) as conn:
        assert conn.execute("SELECT status, outcome FROM incidents WHERE code = %s",
                            (code,)).fetchone() == ("closed", "handled")


def test_the_dispatcher_sees_the_photos_of_an_incident(page, dispatch_server):
    """A grid worker's photo (sent from the phone) shows on the incident's card,
    loaded through gridgov with the dispatcher's own session."""
    import io

    from PIL import Image

    with psycopg.connect(dispatch_server.url) as conn:
        code = conn.execute("SELECT code FROM incidents WHERE status = 'handling'"
                            " ORDER BY code DESC LIMIT 1").fetchone()[0]
    open_page(page, dispatch_server.base, f"/dispatch?incident={code}", "dispatcher",
              dispatch_server.passwords["dispatcher"], "#dispatch[data-state=ready]")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}']")
    assert page.locator(".dispatch-photos img").count() == 0
    jpeg = io.BytesIO()
    Image.new("RGB", (640, 480), (200, 60, 40)).save(jpeg, "JPEG")
    csrf = page.get_attribute("input[name=csrf_token]", "value")
    sent = page.request.post(
        f"{dispatch_server.base}/api/v1/incidents/{code}/photos",
        headers={"X-CSRFToken": csrf},
        multipart={"file": {"name": "scene.jpg", "mimeType": "image/jpeg",
                            "buffer": jpeg.getvalue()}})
    assert sent.status == 201, sent.text()
    page.goto(f"{dispatch_server.base}/dispatch?incident={code}",
              wait_until="networkidle")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           ".dispatch-photos img")
    img = page.locator(".dispatch-photos img").first
    assert img.get_attribute("src") == sent.json()["url"]
    page.wait_for_function("() => document.querySelector('.dispatch-photos img')"
                           ".naturalWidth === 640")
    # … and in the timeline, at the time it came, with who sent it
    entry = page.locator("#dispatch-timeline li.dispatch-photo-event")
    assert entry.count() == 1
    assert entry.locator("img").get_attribute("src") == sent.json()["url"]
    assert "dispatcher" in entry.inner_text() and "北京时间" in entry.inner_text()


# --- issue 16, the dispatcher's items --------------------------------------------

def _register(server, spot, **fields):
    """An incident registered at ``spot`` (a shapely point) through the layer."""
    from layers import incidents
    from layers.access import SYSTEM

    body = {"category": "dispute", "subtype": "neighbour", "source": "hotline",
            "reporter": "李女士", "description": "楼上漏水引发邻里争执"} | fields
    with psycopg.connect(server.url, autocommit=True) as conn:
        return incidents.register(conn, SYSTEM, body, (spot.x, spot.y))


def _act(server, code, action, note=None, **extra):
    from layers import incidents
    from layers.access import SYSTEM

    with psycopg.connect(server.url, autocommit=True) as conn:
        return incidents.transition(conn, SYSTEM, code, action, note, **extra)


def _chain_staff(server, grid):
    """The active staff ids of the grid chain of ``grid``, nearest level first."""
    with psycopg.connect(server.url) as conn:
        rows = conn.execute(
            "SELECT id, length(grid_code) FROM grid_staff WHERE active"
            " AND left(%s, length(grid_code)) = grid_code", (grid,)).fetchall()
    return rows


def test_triage_from_a_queue_offers_the_incident_s_chain_staff(
        page, dispatch_server, demo_town):
    """No locating first: the card of an incident opened from the queue offers
    the staff of its own grid chain, the micro-grid's first; choosing one
    assigns it; and the map went to the incident."""
    incident = _register(dispatch_server, demo_town.households.geometry.iloc[23])
    code, grid = incident["code"], incident["grid_code"]
    staff = _chain_staff(dispatch_server, grid)
    assert any(n == 18 for _, n in staff)  # the micro-grid has its own
    seen = open_page(page, dispatch_server.base, "/dispatch", "dispatcher",
                     dispatch_server.passwords["dispatcher"],
                     "#dispatch[data-state=ready]")
    page.click("button.count[data-level='4'][data-queue='to_triage']")
    page.click(f"#dispatch-queue-list .incident-code:text-is('{code}')")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           "#dispatch-assignee")
    options = page.eval_on_selector_all(
        "#dispatch-assignee option",
        "els => els.map(e => [e.value, Number(e.dataset.level || 0), e.innerText])")
    offered = [o for o in options if o[0]]
    assert sorted(int(v) for v, _, _ in offered) == sorted(i for i, _ in staff)
    levels = [lv for _, lv, _ in offered]
    assert levels == sorted(levels, reverse=True) and levels[0] == 4
    # the map went to the incident, close
    view = page.evaluate("""() => { const m = window.gridgovDispatch.map;
        const c = m.getCenter(); return {lon: c.lng, lat: c.lat, z: m.getZoom()}; }""")
    assert view["z"] >= 17
    assert Geod(ellps="WGS84").inv(view["lon"], view["lat"], incident["lon"],
                                   incident["lat"])[2] < 5
    first = offered[0][0]
    page.select_option("#dispatch-assignee", first)
    page.click("button[data-action='triage']")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           "button[data-action='accept']")
    with psycopg.connect(dispatch_server.url) as conn:
        assert conn.execute("SELECT status, assignee_id FROM incidents WHERE code = %s",
                            (code,)).fetchone() == ("dispatched", int(first))
    assert seen["errors"] == []


def _fact(page, name):
    return page.inner_text(f"#dispatch-facts tr[data-fact='{name}'] td >> nth=1")


def test_the_card_names_the_grids_reporter_source_outcome_and_satisfaction(
        page, dispatch_server):
    from geo import vocab

    with psycopg.connect(dispatch_server.url) as conn:
        code, grid, source, reporter, outcome, stars = conn.execute(
            "SELECT code, grid_code, source, reporter, outcome, satisfaction"
            " FROM incidents WHERE status = 'evaluated' AND reporter IS NOT NULL"
            " AND satisfaction < 5 ORDER BY code LIMIT 1").fetchone()
        names = [r[0] for r in conn.execute(
            "SELECT name FROM grids WHERE left(%s, length(code)) = code"
            " ORDER BY level", (grid,))]
    seen = open_page(page, dispatch_server.base, f"/dispatch?incident={code}",
                     "dispatcher", dispatch_server.passwords["dispatcher"],
                     "#dispatch[data-state=ready]")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] #dispatch-facts")
    assert len(names) == 4
    assert _fact(page, "grid").startswith(" › ".join(names))
    assert _fact(page, "source").startswith(vocab.INCIDENT_SOURCES[source][0])
    assert _fact(page, "reporter") == reporter
    assert _fact(page, "outcome").startswith(vocab.INCIDENT_OUTCOMES[outcome][0])
    words = _fact(page, "satisfaction")
    assert words.startswith(vocab.INCIDENT_SATISFACTION[stars][0]), words
    assert str(stars) not in words
    assert " 北京时间" in _fact(page, "received")
    assert seen["errors"] == []


def test_the_duplicate_list_shows_what_and_when(page, dispatch_server, demo_town):
    spot = demo_town.households.geometry.iloc[41]
    first = _register(dispatch_server, spot, category="environment",
                      subtype="dumping", description="小区东门外堆了一车装修垃圾")
    open_page(page, dispatch_server.base, "/dispatch", "dispatcher",
              dispatch_server.passwords["dispatcher"], "#dispatch[data-state=ready]")
    page.fill("#dispatch-lon", f"{spot.x:.7f}")
    page.fill("#dispatch-lat", f"{spot.y:.7f}")
    page.click("#dispatch-go")
    page.wait_for_selector("#dispatch-chain li[data-level='4']")
    page.select_option("#dispatch-category", "environment")
    page.fill("#dispatch-description", "东门有建筑垃圾")
    page.click("#dispatch-check")
    row = page.wait_for_selector(
        f"#dispatch-duplicates li[data-code='{first['code']}']")
    shown = row.inner_text()
    assert "小区东门外堆了一车装修垃圾" in shown
    received = first["created_at"].replace("T", " ")[:16]  # China time (+08:00)
    assert first["created_at"].endswith("+08:00")
    assert f"{received} 北京时间" in shown


def test_a_click_outside_the_jurisdiction_says_so(page, dispatch_server, demo_town):
    g = demo_town.grids
    villages = sorted(g[g.level == 2].code)
    micro = g[g.level == 4].sort_values("code")
    inside = micro[micro.code.str.startswith(villages[0])].iloc[0]
    other = micro[micro.code.str.startswith(villages[1])].iloc[0]
    seen = open_page(page, dispatch_server.base, "/dispatch", "village1",
                     dispatch_server.passwords["village1"],
                     "#dispatch[data-state=ready]")

    def click(grid):
        p = grid.geometry.representative_point()
        page.evaluate("""([lat, lon]) => { const m = window.gridgovDispatch.map;
            m.setView([lat, lon], 17, {animate: false}); }""", [p.y, p.x])
        page.click("#dispatch-map", position=page.evaluate(
            """([lat, lon]) => { const q = window.gridgovDispatch.map
                .latLngToContainerPoint([lat, lon]); return {x: q.x, y: q.y}; }""",
            [p.y, p.x]))
        page.wait_for_function(
            "lon => { const s = window.gridgovDispatch.state.point;"
            " return s && Math.abs(s.lon - lon) < 1e-4; }", arg=p.x)
        page.wait_for_selector("#dispatch-chain")

    click(other)
    assert "不在您的管辖范围" in page.inner_text("#dispatch-outside")
    assert "Outside your jurisdiction" in page.inner_text("#dispatch-outside")
    assert page.eval_on_selector_all("#dispatch-chain li",
                                     "els => els.map(e => e.dataset.level)") == ["1"]
    assert page.locator("#dispatch-register").is_hidden()
    click(inside)
    page.wait_for_selector("#dispatch-chain li[data-level='4']")
    assert page.locator("#dispatch-outside").count() == 0
    assert seen["errors"] == []


def test_the_card_shows_the_proposed_outcome_and_closes_with_it(
        page, dispatch_server, demo_town):
    """The grid worker's 处置反馈 proposed 移交职能部门: the card says 建议结果
    and the close form starts from it."""
    incident = _register(dispatch_server, demo_town.households.geometry.iloc[57],
                         category="environment", subtype="burning",
                         description="田间焚烧秸秆")
    code = incident["code"]
    _act(dispatch_server, code, "triage", department="镇环保所")
    _act(dispatch_server, code, "accept")
    _act(dispatch_server, code, "feedback", "需环保所执法", outcome="transferred")
    open_page(page, dispatch_server.base, f"/dispatch?incident={code}", "dispatcher",
              dispatch_server.passwords["dispatcher"], "#dispatch[data-state=ready]")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] #dispatch-outcome")
    row = page.inner_text("#dispatch-facts tr[data-fact='proposed_outcome']")
    assert "建议结果" in row and "proposed outcome" in row.lower()
    assert "移交职能部门" in row
    assert page.input_value("#dispatch-outcome") == "transferred"  # not the first
    timeline = page.inner_text("#dispatch-timeline")
    assert "需环保所执法（建议结果：移交职能部门）" in timeline
    page.click("button[data-action='close']")
    page.wait_for_selector(f"#dispatch-incident[data-code='{code}'] "
                           "button[data-action='evaluate']")
    with psycopg.connect(dispatch_server.url) as conn:
        assert conn.execute("SELECT outcome FROM incidents WHERE code = %s",
                            (code,)).fetchone()[0] == "transferred"
    # the evaluation offers the words of the scale, 满意 first
    offered = page.eval_on_selector_all("#dispatch-satisfaction option",
                                        "els => els.map(e => e.innerText)")
    assert [o.split(" ")[0] for o in offered] == [
        "满意", "基本满意", "一般", "不满意", "很不满意"]


def test_the_card_and_the_duplicates_fit_a_phone(browser, dispatch_server, demo_town,
                                                 artifacts):
    from tests.browser.test_phone_layouts import PHONE

    spot = demo_town.households.geometry.iloc[73]
    first = _register(dispatch_server, spot, description="广场舞音响声音过大，"
                      "附近居民多次投诉，要求调整时间并降低音量" * 2)
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        seen = open_page(page, dispatch_server.base,
                         f"/dispatch?incident={first['code']}", "dispatcher",
                         dispatch_server.passwords["dispatcher"],
                         "#dispatch[data-state=ready]")
        page.wait_for_selector("#dispatch-facts tr[data-fact='grid']")

        def fits():
            width = page.evaluate("() => document.documentElement.scrollWidth")
            assert width <= 375, width
            for sel in ("#dispatch-facts", "#dispatch-duplicates"):
                if page.locator(sel).count():
                    box = page.locator(sel).bounding_box()
                    assert box["x"] >= 0 and box["x"] + box["width"] <= 375, (sel, box)

        page.locator("#dispatch-facts").scroll_into_view_if_needed()
        fits()
        page.screenshot(path=str(artifacts / "phone-dispatch-card.png"))
        page.fill("#dispatch-lon", f"{spot.x:.7f}")
        page.fill("#dispatch-lat", f"{spot.y:.7f}")
        page.locator("#dispatch-go").tap()
        page.wait_for_selector("#dispatch-chain li[data-level='4']")
        page.select_option("#dispatch-category", "dispute")
        page.fill("#dispatch-description", "广场舞扰民")
        page.locator("#dispatch-check").tap()
        page.wait_for_selector(f"#dispatch-duplicates li[data-code='{first['code']}']")
        page.locator("#dispatch-duplicates").scroll_into_view_if_needed()
        fits()
        page.screenshot(path=str(artifacts / "phone-dispatch-duplicates.png"))
        assert seen["errors"] == []
    finally:
        context.close()


def test_a_spot_in_a_warming_grid_shows_its_early_warning(page, dispatch_server,
                                                          demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4].iloc[5]
    spot = micro.geometry.representative_point()
    with psycopg.connect(dispatch_server.url) as conn:
        conn.execute(
            "INSERT INTO early_warnings (kind, grid_code, category, first_day,"
            " last_day, since, window_days, observed, expected, p, q)"
            " VALUES ('grid', %s, 'dispute', '2026-10-31', '2026-10-31', '2026-10-27',"
            " 7, 6, 0.8, 0.00001, 0.002)", (micro.code[:15],))
    open_page(page, dispatch_server.base, "/dispatch", "dispatcher",
              dispatch_server.passwords["dispatcher"], "#dispatch[data-state=ready]")
    page.fill("#dispatch-lon", f"{spot.x:.7f}")
    page.fill("#dispatch-lat", f"{spot.y:.7f}")
    page.click("#dispatch-go")
    line = page.wait_for_selector("#dispatch-warnings li")
    text = line.inner_text()
    # the warning of the comprehensive grid above the spot, in words
    assert "矛盾纠纷近 7 天 6 起（预期 0.8），自 2026-10-27 起" in text, text
