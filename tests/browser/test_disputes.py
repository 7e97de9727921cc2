"""Recurring disputes in a real headless Chromium: the dispatcher registers an
incident concerning a household found in the gazetteer and two parties; the
grid worker's phone (375 px) lists the household of a recurring dispute as a
visit due, dials it, and the visit recorded clears the task; the desk's page
/disputes fits a phone."""

import datetime as dt
import time

import psycopg
import pytest

from layers import incidents
from layers.access import SYSTEM
from tests.browser.conftest import log_in_page, open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]

PHONE = {"viewport": {"width": 375, "height": 812}, "device_scale_factor": 2,
         "is_mobile": True, "has_touch": True, "locale": "zh-CN"}


@pytest.fixture(scope="module")
def server(databases, demo_town):
    with served_copy(databases, demo_town) as s:
        yield s


@pytest.fixture(scope="module")
def recurring(server, demo_town):
    """Three disputes of the last three days concerning a household (with a
    phone) of the worker's first micro-grid: a recurring dispute whose visit
    is due. Returns the household's (id, address, phone, lon, lat)."""
    micro = demo_town.grids[demo_town.grids.level == 4]
    code = micro[micro.code.str.startswith(server.worker_grid)].sort_values(
        "code").iloc[0].code
    with psycopg.connect(server.url, autocommit=True) as c:
        home = c.execute(
            "SELECT id, address, phone, ST_X(geom), ST_Y(geom) FROM households"
            " WHERE grid_code = %s AND phone IS NOT NULL ORDER BY id DESC LIMIT 1",
            (code,)).fetchone()
        now = dt.datetime.now(dt.UTC)
        for days in (3, 2, 1):
            incidents.register(
                c, SYSTEM, {"category": "dispute", "subtype": "neighbour",
                            "source": "walk_in", "description": "宅基地边界纠纷",
                            "household_id": home[0], "parties": ["甲某", "乙某"]},
                (home[3], home[4]), received_at=now - dt.timedelta(days=days))
    return home


def test_a_dispatcher_registers_an_incident_with_its_household_and_parties(
        page, server, demo_town, artifacts):
    with psycopg.connect(server.url) as c:
        home, address, lon, lat = c.execute(
            "SELECT id, address, ST_X(geom), ST_Y(geom) FROM households"
            " WHERE grid_code LIKE %s ORDER BY id LIMIT 1",
            (server.worker_grid + "%",)).fetchone()
    seen = open_page(page, server.base, "/dispatch", "dispatcher",
                     server.passwords["dispatcher"], "#dispatch[data-state=ready]")
    page.select_option("#dispatch-crs", "wgs84")
    page.fill("#dispatch-lon", f"{lon:.7f}")
    page.fill("#dispatch-lat", f"{lat:.7f}")
    page.click("#dispatch-go")
    page.wait_for_selector("#dispatch-chain li[data-level='4']")
    page.select_option("#dispatch-category", "dispute")
    page.select_option("#dispatch-subtype", "neighbour")
    page.fill("#dispatch-description", "两户因排水沟发生争执")
    # the household from the gazetteer, by its address
    page.fill("#dispatch-household-q", address)
    page.press("#dispatch-household-q", "Enter")
    page.click(f"#dispatch-household-list button[data-id='{home}']")
    assert address in page.inner_text("#dispatch-household")
    page.fill("#dispatch-parties", "张三丰\n李四")
    page.click("#dispatch-check")
    page.wait_for_selector("#dispatch-confirm")
    page.click("#dispatch-confirm")
    page.wait_for_selector(".dispatch-msg.ok")
    with psycopg.connect(server.url) as c:
        incident, household = c.execute(
            "SELECT i.id, s.household_id FROM incidents i"
            " JOIN incident_subjects s ON s.incident_id = i.id"
            " WHERE i.description = %s", ("两户因排水沟发生争执",)).fetchone()
        names = [r[0] for r in c.execute(
            "SELECT name FROM incident_parties WHERE incident_id = %s"
            " ORDER BY position", (incident,))]
    assert household == home and names == ["张三丰", "李四"]
    # the card shows whom it concerns (the dispatcher sees the names whole)
    page.wait_for_selector("#dispatch-facts tr[data-fact='parties']")
    assert "张三丰、李四" in page.inner_text("#dispatch-facts tr[data-fact='parties']")
    assert address in page.inner_text("#dispatch-facts tr[data-fact='household']")
    # the form starts afresh for the next one
    assert page.input_value("#dispatch-parties") == ""
    assert page.locator("#dispatch-household").is_hidden()
    page.screenshot(path=str(artifacts / "dispatch-concern.png"))
    assert seen["errors"] == []


def test_the_workers_phone_lists_the_visit_due_and_the_visit_clears_it(
        browser, server, recurring, artifacts):
    home, address, phone, lon, lat = recurring
    context = browser.new_context(**PHONE, permissions=["geolocation"],
                                  geolocation={"longitude": lon, "latitude": lat,
                                               "accuracy": 8})
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(server.base + "/m/")
        page.wait_for_selector("#m[data-state=login]")
        page.fill("#m-username", "worker")
        page.fill("#m-password", server.passwords["worker"])
        page.click("#m-login-go")
        page.wait_for_selector("#m[data-state=ready]")
        page.click("#m-tab-tasks")
        card = page.wait_for_selector(f"#m-tasks li.m-card-visit[data-key='h{home}']")
        text = card.inner_text()
        assert address in text and "甲某" in text
        assert page.get_attribute(f"li[data-key='h{home}'] a.m-phone",
                                  "href") == f"tel:{phone}"
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, width
        page.screenshot(path=str(artifacts / "phone-visit-due.png"))
        # the existing visit form, from the task
        page.click(f"li[data-key='h{home}'] .m-visit")
        page.fill(f"li[data-key='h{home}'] .m-note", "上门调解，双方同意协商")
        page.click(f"li[data-key='h{home}'] form button[type=submit]")
        deadline = time.monotonic() + 20
        with psycopg.connect(server.url, autocommit=True) as c:
            while not c.execute("SELECT 1 FROM visits WHERE household_id = %s",
                                (home,)).fetchone():
                assert time.monotonic() < deadline, "the visit was never sent"
                time.sleep(0.3)
        page.click("#m-tasks-refresh")
        page.wait_for_selector(f"li[data-key='h{home}']", state="detached")
        assert errors == []
    finally:
        context.close()


def test_the_desks_page_lists_the_history_and_fits_a_phone(browser, server,
                                                           recurring, artifacts):
    home = recurring[0]
    context = browser.new_context(**PHONE)
    page = context.new_page()
    try:
        log_in_page(page, server.base, "leader", server.passwords["leader"])
        page.goto(server.base + "/disputes", wait_until="networkidle")
        group = page.wait_for_selector(f"#group-h{home}")
        assert len(group.query_selector_all("tbody tr")) == 3
        # a leader reads the parties masked
        assert "甲*" in group.inner_text() and "甲某" not in group.inner_text()
        assert "北京时间" in group.inner_text()
        width = page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= 375, width
        page.screenshot(path=str(artifacts / "phone-disputes.png"), full_page=True)
    finally:
        context.close()
