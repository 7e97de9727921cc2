"""A live gridgov server on the demo town, and Debian's Chromium driven by Playwright.

Playwright's own browser download cannot work on isolated networks (nor here): the
tests use the system's /usr/bin/chromium.
"""

import contextlib
import os
import shutil
import threading

import pytest

CHROMIUM = os.environ.get("GRIDGOV_CHROMIUM") or shutil.which("chromium") or \
    "/usr/bin/chromium"
# Without the background-networking flags Chromium keeps calling home, which a
# closed network refuses (and which would show up as foreign requests).
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
    "--no-first-run", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--disable-dev-shm-usage", "--lang=zh-CN",
]


@pytest.fixture(scope="session")
def live_server(app):
    with serve(app) as base:
        yield base


@contextlib.contextmanager
def serve(app):
    """Serve ``app`` on a free port of 127.0.0.1 in a thread (Werkzeug's threaded
    server: the application object itself, with the test's configuration, which
    ``gridgov serve`` would build again in its workers); yields its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture(scope="session")
def served_at(demo_url):
    """``served_at("2026-11-20T10:00:00+08:00")``: the base URL of a server of the
    demo town whose statistics take that moment as now (GRIDGOV_STATS_NOW), so
    that the month the pages open on never depends on today's date."""
    from web import create_app

    servers, started = {}, contextlib.ExitStack()

    def base(moment):
        if moment not in servers:
            app = create_app({"DATABASE_URL": demo_url, "TESTING": True,
                              "SECRET_KEY": "test-secret-key-not-for-production",
                              "LOCATE_INDEX_BACKGROUND": False,
                              "STATS_NOW": moment})
            servers[moment] = started.enter_context(serve(app))
        return servers[moment]

    with started:
        yield base


@contextlib.contextmanager
def served_copy(databases, demo_town):
    """A writable copy of the demo town served by a server of its own
    (for tests that change the database; the session's live server stays as the
    demo made it): ``base``, ``url``, ``passwords`` and the field worker's grid
    ``worker_grid``."""
    from types import SimpleNamespace

    import psycopg

    from layers import users
    from tests.conftest import writable_demo

    rw = writable_demo(databases, demo_town)
    with psycopg.connect(rw.url) as c:
        worker_grid = users.get_user(c, "worker")["grid_code"]
    with serve(rw.app) as base:
        yield SimpleNamespace(base=base, url=rw.url, passwords=rw.passwords,
                              worker_grid=worker_grid)


def log_in_page(page, base, username, password):
    """Log in through the /login form of the server at ``base``."""
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.fixture(scope="module")
def plan_server(databases, demo_town):
    """A writable copy of the demo town served by a second server, one per module
    of the planner's tests (they save grids)."""
    with served_copy(databases, demo_town) as server:
        yield server


def db_rows(server, query, *params):
    """The rows of ``query`` on a served copy's database."""
    import psycopg

    with psycopg.connect(server.url) as conn:
        return conn.execute(query, params).fetchall()


def open_plan(page, server, parent, username="planner"):
    """Log in, open /plan?parent=…; return what the page requested and logged."""
    return open_page(page, server.base, f"/plan?parent={parent}", username,
                     server.passwords[username], "#plan[data-state=ready]")


def plan_xy(page, lon, lat):
    """Page pixel of a point of the plan page's map (Leaflet's own projection)."""
    x, y = page.evaluate(
        "([lat, lon]) => { const p = window.gridgovPlan.map"
        ".latLngToContainerPoint([lat, lon]); return [p.x, p.y]; }", [lat, lon])
    box = page.locator("#plan-map").bounding_box()
    return box["x"] + x, box["y"] + y


def plan_state(page, name):
    """Wait for the plan page's state ``name`` (ready, preview, saved …)."""
    page.wait_for_selector(f"#plan[data-state={name}]")


def drag(page, start, end):
    """Drag with the mouse from one page pixel to another, in small steps."""
    page.mouse.move(*start)
    page.mouse.down()
    page.mouse.move(start[0] + 4, start[1] + 4, steps=2)
    page.mouse.move(*end, steps=12)
    page.mouse.up()


def open_page(page, base, path, username, password, ready):
    """Watch the page's requests and errors, log in through /login, open ``path``
    and wait for the selector ``ready``; returns what was seen."""
    seen = {"requests": [], "errors": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on("console", lambda m: m.type == "error" and seen["errors"].append(m.text))
    page.on("pageerror", lambda e: seen["errors"].append(str(e)))
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(base + path, wait_until="networkidle")
    page.wait_for_selector(ready)
    return seen


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make setup`")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 860},
                                  locale="zh-CN")
    pg = context.new_page()
    yield pg
    context.close()


@pytest.fixture()
def login(page, live_server, passwords):
    """``login("leader")``: log that demo account in through the login form."""

    def do(username, password=None):
        page.goto(live_server + "/login")
        page.fill("#username", username)
        page.fill("#password", password or passwords[username])
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")

    return do
