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
    assert res.ok and res.headers["content-type"].startswith("application/manifest+json")
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
