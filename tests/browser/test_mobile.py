"""The grid workers' phone page /m/ in a real headless Chromium, as a phone
(375×812, touch, a GPS position granted): the app shell (manifest, icons, service
worker, offline start), login with a device token, a report made without network
that waits in the outbox and is sent exactly once when the network returns, the
tabs at 375 px without sideways scrolling, and logout wiping the phone."""

import io
import json

import psycopg
import pytest
import shapely
from PIL import Image

from layers import users
from tests.browser.conftest import served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]

PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "zh-CN",
         "user_agent": "Mozilla/5.0 (Linux; Android 14; Pixel 7) AppleWebKit/537.36"
                       " (KHTML, like Gecko) Chrome/126.0 Mobile Safari/537.36"}


@pytest.fixture(scope="module")
def phone_server(databases, demo_town):
    """A writable copy of the demo town: the tests log in devices and report."""
    with served_copy(databases, demo_town) as server:
        yield server


@pytest.fixture(scope="module")
def worker_spot(phone_server, demo_town):
    """A point well inside the field worker's first micro-grid, and its code."""
    micro = demo_town.grids[demo_town.grids.level == 4]
    mine = micro[micro.code.str.startswith(phone_server.worker_grid)].sort_values(
        "code").iloc[0]
    p = shapely.get_coordinates(
        shapely.maximum_inscribed_circle(mine.geometry, 1e-6))[0]
    return float(p[0]), float(p[1]), mine.code


@pytest.fixture()
def phone(browser, worker_spot):
    """A phone's browser context with GPS at the worker's spot (±8 m)."""
    lon, lat, _ = worker_spot
    context = browser.new_context(
        **PHONE, permissions=["geolocation"],
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 8})
    yield context
    context.close()


def _watch(page):
    seen = {"requests": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    return seen


def _backend(page, base):
    """Skip when the phone API (POST /api/v1/devices) is not there yet."""
    res = page.request.post(base + "/api/v1/devices", data={})
    if res.status == 404:
        pytest.skip("the phone API (POST /api/v1/devices, branch phoneapi) is absent")


def _login(page, base, username, password):
    page.goto(base + "/m/")
    page.wait_for_selector("#m[data-state=login]")
    page.fill("#m-username", username)
    page.fill("#m-password", password)
    page.click("#m-login-go")
    page.wait_for_selector("#m[data-state=ready]")


def _no_sideways_scroll(page):
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 375, f"the page is {width} px wide at 375 px"


def _idb_dump(page):
    """What the page keeps in IndexedDB: {store: [records]} (none: {})."""
    return page.evaluate("""async () => {
      const dbs = await indexedDB.databases();
      if (!dbs.some(d => d.name === 'gridgov-m')) { return {}; }
      const db = await new Promise((ok, ko) => {
        const r = indexedDB.open('gridgov-m'); r.onsuccess = () => ok(r.result);
        r.onerror = () => ko(r.error); });
      const out = {};
      for (const name of db.objectStoreNames) {
        out[name] = await new Promise(ok => {
          const r = db.transaction(name).objectStore(name).getAllKeys();
          r.onsuccess = () => ok(r.result); });
      }
      db.close();
      return out;
    }""")


def test_the_shell_is_an_installable_app_that_opens_offline(phone, phone_server,
                                                            artifacts):
    base = phone_server.base
    page = phone.new_page()
    seen = _watch(page)
    page.goto(base + "/m")  # the short address leads to the app's scope
    assert page.url == base + "/m/"
    page.wait_for_selector("#m[data-state=login]")

    # the manifest: valid JSON with what an install needs, icons that load
    href = page.get_attribute("link[rel=manifest]", "href")
    res = page.request.get(base + href)
    assert res.ok
    assert res.headers["content-type"].startswith("application/manifest+json")
    manifest = json.loads(res.text())
    assert manifest["name"] and manifest["short_name"]
    assert manifest["start_url"] == "/m/" and manifest["scope"] == "/m/"
    assert manifest["display"] == "standalone"
    sizes = set()
    for icon in manifest["icons"]:
        got = page.request.get(base + icon["src"])
        assert got.ok and got.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(got.body()))
        assert f"{image.width}x{image.height}" == icon["sizes"]
        sizes.add(image.width)
    assert {192, 512} <= sizes

    # the service worker: JavaScript, scope /m/, registered and activated
    sw = page.request.get(base + "/m/sw.js")
    assert sw.headers["content-type"].startswith("text/javascript")
    page.wait_for_selector("#m[data-sw=active]")
    state = page.evaluate("""async () => {
      const reg = await navigator.serviceWorker.getRegistration('/m/');
      return {scope: reg.scope, state: reg.active && reg.active.state};
    }""")
    assert state == {"scope": base + "/m/", "state": "activated"}

    # the shell opens without a server: the worker answers from its cache
    page.reload()
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    phone.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector("#m[data-state=login]")
        assert page.locator("#m-net").inner_text() == "离线"
        assert page.evaluate("() => typeof L") == "object"  # Leaflet from the cache
    finally:
        phone.set_offline(False)
    _no_sideways_scroll(page)
    page.screenshot(path=artifacts / "mobile-login.png")
    # nothing from outside gridgov, and no error (a CSP refusal is one)
    assert all(r.url.startswith(base) or r.url.startswith("data:")
               for r in seen["requests"]), [r.url for r in seen["requests"]]
    assert not seen["errors"], seen["errors"]


def _camera_photo(path):
    """A 3000×2000 camera JPEG carrying EXIF (a GPS position among it)."""
    image = Image.new("RGB", (3000, 2000), (120, 160, 90))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {1: "N", 2: (31.0, 34.0, 0.0), 3: "E", 4: (120.0, 16.0, 0.0)}
    image.save(path, "JPEG", exif=exif)
    return path


def test_a_report_made_offline_is_sent_once_when_the_network_returns(
        phone, phone_server, worker_spot, artifacts, tmp_path):
    base = phone_server.base
    lon, lat, micro = worker_spot
    description = "手机离线上报：桥下有人倾倒建筑垃圾"
    page = phone.new_page()
    seen = _watch(page)
    _backend(page, base)
    _login(page, base, "worker", phone_server.passwords["worker"])

    # the device token is kept on the phone and sent as a bearer token
    token = page.evaluate("() => window.gridgovMobile.store.get('token')")
    assert token.startswith("ggv_")
    page.wait_for_function("() => window.gridgovMobile.data.grids !== null")
    mine = [r for r in seen["requests"] if r.url.startswith(base + "/api/v1/me")]
    assert mine and all(r.all_headers().get("authorization") == f"Bearer {token}"
                        for r in mine)

    page.select_option("#m-category", "environment")
    page.select_option("#m-subtype", "dumping")
    page.fill("#m-description", description)
    page.set_input_files("#m-report-file", _camera_photo(tmp_path / "camera.jpg"))
    page.wait_for_selector("#m-report-photos img")
    page.wait_for_selector("#m-report-pos .m-good")  # ±8 m: no pin to drag
    assert page.locator("#m-report-map").is_hidden()

    # the network is cut: every API request fails
    phone.route("**/api/v1/**", lambda route: route.abort())
    page.click("#m-check")
    goes = page.wait_for_selector("#m-goes")  # the phone's own copy of the grids
    assert micro in goes.inner_text()
    page.click("#m-send")
    page.click("#m-tab-queue")
    page.wait_for_selector("#m-queue li[data-kind=report][data-state=waiting]")
    assert page.locator("#m-queue li[data-kind=photo]").count() == 1
    assert page.inner_text("#m-net") == "离线"  # no answer, whatever onLine says
    page.screenshot(path=artifacts / "mobile-queue-offline.png")
    with psycopg.connect(phone_server.url) as conn:
        assert conn.execute("SELECT count(*) FROM incidents WHERE description = %s",
                            (description,)).fetchone()[0] == 0

    # the network returns, but the first answer is lost on its way back: the
    # server registered the report, the phone did not hear it and sends again
    phone.unroute("**/api/v1/**")
    lost = []

    def lose_the_answer(route):
        if route.request.method == "POST" and not lost:
            lost.append(route.fetch().status)
            route.abort()
        else:
            route.continue_()

    phone.route("**/api/v1/incidents", lose_the_answer)
    page.click("#m-send-now")
    page.wait_for_function("() => window.gridgovMobile.sync.state.running === null")
    assert lost == [201]
    page.wait_for_selector("#m-queue li[data-kind=report][data-state=waiting]")
    phone.unroute("**/api/v1/incidents")
    page.click("#m-send-now")
    page.wait_for_selector("#m-queue li[data-kind=report][data-state=sent]")
    page.wait_for_selector("#m-queue li[data-kind=photo][data-state=sent]")
    page.screenshot(path=artifacts / "mobile-queue-sent.png")

    # one incident, not two, in the micro-grid of the position
    with psycopg.connect(phone_server.url) as conn:
        rows = conn.execute(
            "SELECT code, grid_code, source, ST_X(geom), ST_Y(geom) FROM incidents"
            " WHERE description = %s", (description,)).fetchall()
    assert len(rows) == 1
    code, grid, source, x, y = rows[0]
    assert (grid, source) == (micro, "grid_worker")
    assert abs(x - lon) < 1e-6 and abs(y - lat) < 1e-6
    # … as the API shows it, with its one photo: resized, re-encoded, no EXIF
    auth = {"Authorization": f"Bearer {token}"}
    listed = page.request.get(base + f"/api/v1/incidents?grid={micro}&limit=1000",
                              headers=auth).json()
    assert code in [i["code"] for i in listed["items"]]
    incident = page.request.get(base + f"/api/v1/incidents/{code}",
                                headers=auth).json()
    assert len(incident["photos"]) == 1
    jpeg = page.request.get(base + incident["photos"][0]["url"], headers=auth)
    picture = Image.open(io.BytesIO(jpeg.body()))
    assert picture.format == "JPEG" and max(picture.size) == 1600
    assert not picture.getexif()
    # no error but the requests cut on purpose
    errors = [e for e in seen["errors"] if "net::ERR_FAILED" not in e]
    assert not errors, errors


def test_logout_wipes_the_phone(phone, phone_server):
    base = phone_server.base
    page = phone.new_page()
    _backend(page, base)
    _login(page, base, "worker", phone_server.passwords["worker"])
    page.wait_for_function("() => window.gridgovMobile.data.households !== null")
    token = page.evaluate("() => window.gridgovMobile.store.get('token')")
    kept = _idb_dump(page)
    assert {"token", "me", "households", "tasks", "grids"} <= set(kept["kv"])

    # without signal the page opens with what was synced last
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    shown = page.locator("#m-households li.m-card").count()
    assert shown > 0
    phone.set_offline(True)
    try:
        page.reload()
        page.wait_for_selector("#m[data-state=ready]")
        page.click("#m-tab-visits")
        assert page.locator("#m-households li.m-card").count() == shown
        page.click("#m-tab-tasks")
        assert page.locator("#m-tasks li.m-card").count() > 0
        assert page.inner_text("#m-net") == "离线"
    finally:
        phone.set_offline(False)

    page.on("dialog", lambda d: d.accept())
    page.click("#m-logout")
    page.wait_for_selector("#m[data-state=login]")
    assert not any(_idb_dump(page).values())  # not one record left
    assert page.evaluate("async () => (await caches.keys())"
                         ".filter(k => !k.startsWith('gg-m-shell-'))") == []
    # the token is revoked on the server, and the phone says so
    res = page.request.get(base + "/api/v1/me",
                           headers={"Authorization": f"Bearer {token}"})
    assert res.status == 401 and res.json()["error"]["code"] == "device_revoked"
    page.reload()
    page.wait_for_selector("#m[data-state=login]")


def test_a_device_revoked_by_the_centre_is_wiped(phone, phone_server):
    base = phone_server.base
    page = phone.new_page()
    _backend(page, base)
    _login(page, base, "worker", phone_server.passwords["worker"])
    page.wait_for_function("() => window.gridgovMobile.data.tasks !== null")
    token = page.evaluate("() => window.gridgovMobile.store.get('token')")
    with psycopg.connect(phone_server.url) as conn:  # as /admin/users revokes it
        conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE kind = 'device'"
                     " AND token_sha256 = %s", (users.digest(token),))
    page.click("#m-tab-tasks")
    page.click("#m-tasks-refresh")
    page.wait_for_selector("#m[data-state=login]")
    assert "此设备已被注销" in page.inner_text("#m-msg")
    assert not _idb_dump(page).get("kv")  # nothing unsent: the database went too


def _route_exists(page, base, path):
    """An API route answers an anonymous POST with 401 (404 when it is absent)."""
    return page.request.post(base + "/api/v1" + path, data={}).status != 404


def _targets_are_thumb_sized(page):
    small = page.evaluate("""() => [...document.querySelectorAll(
        'button, select, input:not([type=file]), textarea, .m-file')]
      .filter(e => e.offsetParent !== null && !e.closest('.leaflet-container'))
      .map(e => [e.id || e.className || e.tagName, e.getBoundingClientRect().height])
      .filter(([, h]) => h < 44)""")
    assert not small, small


def test_each_tab_at_375_px_with_the_worker_s_data(browser, phone_server, worker_spot,
                                                  artifacts, tmp_path):
    """Every tab fits 375 px with thumb-sized targets; a fix worse than 30 m gives a
    pin to drag; a task accepted and reported back, a visit recorded, a short
    patrol, all sent."""
    base = phone_server.base
    lon, lat, micro = worker_spot
    context = browser.new_context(
        **PHONE, permissions=["geolocation"],
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 60})
    try:
        page = context.new_page()
        seen = _watch(page)
        _backend(page, base)
        with psycopg.connect(phone_server.url) as conn:  # a task to accept
            conn.execute(
                "UPDATE incidents SET status = 'dispatched', closed_at = NULL,"
                " deadline = now() - interval '1 day' WHERE id = (SELECT min(id)"
                " FROM incidents WHERE grid_code = %s AND closed_at IS NULL)",
                (micro,))
        _login(page, base, "worker", phone_server.passwords["worker"])
        page.wait_for_function("() => window.gridgovMobile.data.grids !== null"
                               " && window.gridgovMobile.data.tasks !== null")

        # 上报: ±60 m, so a pin to drag on a small map over the worker's grids
        page.wait_for_selector("#m-report-map .m-pin")
        assert page.locator("#m-pin-hint").is_visible()
        page.select_option("#m-category", "dispute")
        page.fill("#m-description", "两户因楼道堆放杂物发生争执")
        page.locator("#m-report-map").scroll_into_view_if_needed()
        box = page.locator("#m-report-map .m-pin").bounding_box()
        page.mouse.move(box["x"] + 14, box["y"] + 14)
        page.mouse.down()
        page.mouse.move(box["x"] + 40, box["y"] - 20, steps=5)
        page.mouse.up()
        page.wait_for_function("() => window.gridgovMobile.report.pinned === true")
        pin = page.locator("#m-report-map .m-pin").bounding_box()
        frame = page.locator("#m-report-map").bounding_box()
        assert frame["y"] < pin["y"] < frame["y"] + frame["height"]  # in sight
        page.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
        page.screenshot(path=artifacts / "mobile-report-pin.png")
        page.evaluate("() => window.scrollTo(0, 0)")
        _no_sideways_scroll(page)
        _targets_are_thumb_sized(page)
        page.screenshot(path=artifacts / "mobile-report.png")
        # the check before sending: the server's micro-grid (nothing is sent)
        page.click("#m-check")
        assert micro in page.wait_for_selector("#m-goes").inner_text()
        _no_sideways_scroll(page)
        _targets_are_thumb_sized(page)
        page.screenshot(path=artifacts / "mobile-report-preview.png")
        page.click("#m-back")

        # 待办: the overdue task marked, accepted through the outbox
        page.click("#m-tab-tasks")
        card = page.wait_for_selector("#m-tasks li.m-card-overdue:has(.m-accept)")
        assert "已超期" in card.inner_text()
        _no_sideways_scroll(page)
        _targets_are_thumb_sized(page)
        card.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "mobile-tasks.png")
        code = card.get_attribute("data-code")
        card.query_selector(".m-accept").click()
        page.wait_for_function(
            """code => (window.gridgovMobile.data.tasks.items.find(t => t.code === code)
                        || {}).status === 'handling'""", arg=code)
        with psycopg.connect(phone_server.url) as conn:
            assert conn.execute("SELECT status FROM incidents WHERE code = %s",
                                (code,)).fetchone()[0] == "handling"
        # … and reported back: a note, a proposed outcome, a photo
        card = page.locator(f"#m-tasks li[data-code='{code}']")
        card.locator(".m-feedback").click()
        card.locator("textarea.m-note").fill("已上门协调，双方同意清理楼道")
        card.locator("select.m-outcome").select_option(index=1)
        card.locator("input[type=file]").set_input_files(
            _camera_photo(tmp_path / "done.jpg"))
        card.locator(".m-photos img").wait_for()
        _targets_are_thumb_sized(page)
        card.scroll_into_view_if_needed()
        page.screenshot(path=artifacts / "mobile-feedback.png")
        card.locator("button[type=submit]").click()
        page.wait_for_function(
            """() => window.gridgovMobile.queued.some(
                 it => it.kind === 'photo' && it.state === 'sent')""")
        with psycopg.connect(phone_server.url) as conn:
            feedback = conn.execute(
                "SELECT e.note, e.details ->> 'outcome' FROM incident_events e"
                " JOIN incidents i ON i.id = e.incident_id"
                " WHERE i.code = %s AND e.action = 'feedback'", (code,)).fetchall()
            photos = conn.execute(
                "SELECT count(*) FROM incident_photos f JOIN incidents i"
                " ON i.id = f.incident_id WHERE i.code = %s", (code,)).fetchone()[0]
        # the proposed outcome is a field of the feedback, not words in its note
        assert len(feedback) == 1 and photos == 1
        assert feedback[0][0] == "已上门协调，双方同意清理楼道"
        assert feedback[0][1] in ("mediated", "handled")

        # 走访: the households kept on the phone; a visit recorded
        page.click("#m-tab-visits")
        page.wait_for_selector("#m-households li.m-card")
        _no_sideways_scroll(page)
        _targets_are_thumb_sized(page)
        page.screenshot(path=artifacts / "mobile-visits.png")
        first = page.locator("#m-households li.m-card").first
        first.locator(".m-visit").click()
        first.locator("textarea").fill("入户了解情况，老人身体尚好")
        first.locator(".m-size").fill("2")
        page.wait_for_timeout(300)  # the position for the distance
        _targets_are_thumb_sized(page)
        page.screenshot(path=artifacts / "mobile-visit-form.png")
        first.locator("button[type=submit]").click()

        # 巡查: a few seconds of positions, one batch when it stops
        page.click("#m-tab-patrol")
        page.click("#m-patrol-toggle")
        for i in range(3):
            context.set_geolocation({"longitude": lon + i * 1e-4, "latitude": lat,
                                     "accuracy": 5})
            page.wait_for_timeout(5200)
        page.wait_for_function("() => window.gridgovMobile.patrol.run.count >= 2")
        _no_sideways_scroll(page)
        page.screenshot(path=artifacts / "mobile-patrol.png")
        page.click("#m-patrol-toggle")
        page.wait_for_selector("#m-patrol-status:has-text('未在巡查')")

        # 待发送: every item sent (where the server has the route)
        page.click("#m-tab-queue")
        page.click("#m-send-now")
        page.wait_for_function("() => window.gridgovMobile.sync.state.running === null")
        page.wait_for_selector("#m-queue li[data-kind=accept][data-state=sent]")
        absent = []
        for kind, path in (("visit", "/visits"), ("patrol", "/patrols/points")):
            if _route_exists(page, base, path):
                page.wait_for_selector(
                    f"#m-queue li[data-kind={kind}][data-state=sent]")
            else:  # kept, marked failed with the server's answer
                absent.append(path)
                page.wait_for_selector(
                    f"#m-queue li[data-kind={kind}][data-state=failed]")
        _no_sideways_scroll(page)
        page.screenshot(path=artifacts / "mobile-queue.png")
        if not absent:  # as the server keeps them
            with psycopg.connect(phone_server.url) as conn:
                assert conn.execute(
                    "SELECT size_seen, distance_m IS NOT NULL FROM visits"
                    " WHERE note = %s", ("入户了解情况，老人身体尚好",)).fetchall() == [
                    (2, True)]
        errors = [e for e in seen["errors"] if not (absent and "404" in e)]
        assert not errors, errors
    finally:
        context.close()


def _queue_states(page):
    """[(kind, state, owner)] of the phone's outbox, oldest first."""
    return page.evaluate("""async () => (await window.gridgovMobile.store.queue())
        .map(it => [it.kind, it.state, it.owner])""")


def _report_offline(phone, page, description):
    """A report made with every API request failing: it waits in the outbox."""
    phone.route("**/api/v1/**", lambda route: route.abort())
    page.click("#m-tab-report")
    page.select_option("#m-category", "environment")
    page.fill("#m-description", description)
    page.wait_for_selector("#m-report-pos .m-good")
    page.click("#m-check")
    page.wait_for_selector("#m-goes")
    page.click("#m-send")
    page.click("#m-tab-queue")
    page.wait_for_selector("#m-queue li[data-kind=report][data-state=waiting]")
    phone.unroute("**/api/v1/**")


def _login_as(page, base, username, password):
    """Fill and send the login form (the page may then ask before going on)."""
    page.wait_for_selector("#m[data-state=login]")
    page.fill("#m-username", username)
    page.fill("#m-password", password)
    page.click("#m-login-go")


def _incidents(server, description):
    with psycopg.connect(server.url) as conn:
        return conn.execute("SELECT count(*) FROM incidents WHERE description = %s",
                            (description,)).fetchone()[0]


def test_unsent_work_stays_locked_for_its_maker_and_another_user_is_asked(
        phone, phone_server):
    """Revocation and logout wipe the cached households and tasks at once; the
    worker's unsent report stays, locked: another user who logs in is told how
    many items of whom would be discarded and asked (cancel keeps them and undoes
    that login); the same worker's next login sends it, once."""
    base, pw = phone_server.base, phone_server.passwords
    page = phone.new_page()
    seen = _watch(page)
    _backend(page, base)
    _login(page, base, "worker", pw["worker"])
    page.wait_for_function("() => window.gridgovMobile.data.households !== null"
                           " && window.gridgovMobile.data.tasks !== null")
    page.click("#m-tab-visits")
    assert page.locator("#m-households li.m-card").count() > 0
    first = "离线上报：路灯损坏（注销后保留）"
    _report_offline(phone, page, first)

    # the centre revokes the device; the next request learns it
    token = page.evaluate("() => window.gridgovMobile.store.get('token')")
    with psycopg.connect(phone_server.url) as conn:
        conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE kind = 'device'"
                     " AND token_sha256 = %s", (users.digest(token),))
    page.click("#m-tab-tasks")
    page.click("#m-tasks-refresh")
    page.wait_for_selector("#m[data-state=login]")
    assert "此设备已被注销" in page.inner_text("#m-msg")
    # cached personal data gone from storage, memory and the page
    kept = _idb_dump(page)
    assert kept["kv"] == [] and len(kept["queue"]) == 1
    assert page.evaluate("""() => [window.gridgovMobile.data.tasks,
        window.gridgovMobile.data.households, window.gridgovMobile.me]""") == [
        None, None, None]
    assert page.locator("#m-households li.m-card, #m-tasks li.m-card").count() == 0
    assert _queue_states(page) == [["report", "login", "worker"]]
    assert "worker 的 1 条记录未发送" in page.inner_text("#m-login-pending")
    assert _incidents(phone_server, first) == 0

    # another user: told how many items of whom, asked; cancel keeps them
    _login_as(page, base, "liaison", pw["liaison"])
    box = page.wait_for_selector("#m-other")
    assert "worker 的 1 条记录未发送" in box.inner_text()
    assert "以 liaison 登录将丢弃这 1 条记录" in box.inner_text()
    page.click("#m-other-keep")
    page.wait_for_selector("#m-msg:has-text('已取消登录')")
    assert page.get_attribute("#m", "data-state") == "login"
    assert _queue_states(page) == [["report", "login", "worker"]]
    with psycopg.connect(phone_server.url) as conn:  # that login was undone
        assert conn.execute(
            "SELECT count(*) FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE u.username = 'liaison' AND t.kind = 'device'"
            " AND t.revoked_at IS NULL").fetchone()[0] == 0
    assert _incidents(phone_server, first) == 0

    # the same worker logs in again: the locked report goes, once
    _login_as(page, base, "worker", pw["worker"])
    page.wait_for_selector("#m[data-state=ready]")
    page.click("#m-tab-queue")
    page.wait_for_selector("#m-queue li[data-kind=report][data-state=sent]")
    assert _incidents(phone_server, first) == 1

    # logout with an unsent report: asked, kept locked, the cache wiped
    second = "离线上报：井盖缺失（退出后由他人丢弃）"
    _report_offline(phone, page, second)
    dialogs = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    page.click("#m-logout")
    page.wait_for_selector("#m[data-state=login]")
    assert "还有 1 条记录未发送" in dialogs[0]
    kept = _idb_dump(page)
    assert kept["kv"] == [] and len(kept["queue"]) == 1  # the sent one dropped
    assert _queue_states(page) == [["report", "login", "worker"]]
    # … and discarded by another user who says so
    _login_as(page, base, "liaison", pw["liaison"])
    page.wait_for_selector("#m-other")
    page.click("#m-other-discard")
    page.wait_for_selector("#m[data-state=ready]")
    assert page.evaluate("() => window.gridgovMobile.me.username") == "liaison"
    assert _queue_states(page) == []
    page.wait_for_function("() => window.gridgovMobile.sync.state.running === null")
    assert _incidents(phone_server, second) == 0
    _no_sideways_scroll(page)
    errors = [e for e in seen["errors"] if "net::ERR_FAILED" not in e
              and "401" not in e]
    assert not errors, errors


def test_times_on_the_phone_are_the_deployment_s_labelled(browser, phone_server,
                                                         worker_spot):
    """A phone set to another time zone shows China time, labelled 北京时间."""
    import datetime as dt
    import re

    lon, lat, _ = worker_spot
    context = browser.new_context(
        **PHONE, timezone_id="America/New_York", permissions=["geolocation"],
        geolocation={"longitude": lon, "latitude": lat, "accuracy": 8})
    try:
        page = context.new_page()
        _backend(page, phone_server.base)
        _login(page, phone_server.base, "worker", phone_server.passwords["worker"])
        page.wait_for_selector("#m-report-pos .m-good")
        shown = page.inner_text("#m-report-time")
        assert re.fullmatch(r"\d\d-\d\d \d\d:\d\d 北京时间", shown), shown
        china = dt.datetime.now(dt.timezone(dt.timedelta(hours=8)))
        near = {(china + dt.timedelta(minutes=m)).strftime("%m-%d %H:%M")
                for m in (-2, -1, 0, 1)}
        assert shown[:11] in near, (shown, near)
        page.click("#m-tab-tasks")
        page.wait_for_function("() => window.gridgovMobile.data.tasks !== null")
        assert page.inner_text("#m-tasks-synced").endswith("北京时间")
        due = page.locator("#m-tasks li.m-card .m-due").first
        if due.count():
            assert "北京时间" in due.inner_text()
    finally:
        context.close()
