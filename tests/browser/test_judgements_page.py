"""The leaders' page of 研判 items, in Chromium, on a desk and a 375 px phone:
the item with an overdue task first, its age and deadlines in China time, a
task marked done from the page, an escalation the chain refuses said as text."""

import datetime as dt

import pytest

from tests.browser.conftest import db_rows, open_page, served_copy
from tests.browser.test_phone_layouts import PHONE

pytestmark = [pytest.mark.browser, pytest.mark.db]


@pytest.fixture(scope="module")
def server(databases, demo_town):
    """A served copy with two items of the town: one recorded nine days ago,
    one with a task two days overdue (owned by the leader)."""
    import psycopg

    from layers import judgements
    from layers.access import SYSTEM

    with served_copy(databases, demo_town) as srv:
        with psycopg.connect(srv.url) as c:
            codes = [r[0] for r in c.execute(
                "SELECT code FROM incidents ORDER BY id LIMIT 2")]
            old = judgements.create(c, SYSTEM, {
                "incidents": codes[:1], "title": "较早的研判事项",
                "meeting_on": None, "participants": "镇综治中心、派出所"})
            late = judgements.create(c, SYSTEM, {
                "incidents": codes[1:], "title": "有超期任务的研判事项",
                "assessment": "同一楼栋反复发生噪音纠纷"})
            deadline = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
            judgements.add_task(c, SYSTEM, late["id"], {
                "description": "约谈物业公司", "owner": "leader",
                "deadline": deadline})
            c.execute("UPDATE judgement_items SET created_at = now()"
                      " - interval '9 days' WHERE id = %s", (old["id"],))
            c.execute("UPDATE judgement_tasks SET deadline = now()"
                      " - interval '2 days' WHERE item_id = %s", (late["id"],))
        srv.old, srv.late = old["id"], late["id"]
        yield srv


def test_the_overdue_item_comes_first_and_its_task_is_done_here(page, server):
    seen = open_page(page, server.base, "/judgements", "leader",
                     server.passwords["leader"], "#jd-list")
    assert seen["errors"] == []
    order = page.eval_on_selector_all(
        "#jd-list .jd-item", "cards => cards.map(c => Number(c.dataset.item))")
    assert order.index(server.late) < order.index(server.old)
    first = page.locator(f".jd-item[data-item='{server.late}']")
    assert "jd-late" in first.get_attribute("class")
    assert "超期任务：1" in first.inner_text()
    assert "北京时间" in first.locator(".jd-task-facts").inner_text()
    assert "已超期" in first.inner_text()
    old = page.locator(f".jd-item[data-item='{server.old}'] .jd-age")
    assert old.get_attribute("data-age") == "9"
    # no level above the town here: the escalation is refused, said as text
    first.locator("input[name=reason]").fill("镇级无法化解")
    first.locator("form[data-escalate] button").click()
    said = page.locator("[data-said]")
    said.wait_for(state="visible")
    assert "最高研判层级" in said.inner_text()
    assert "error" in said.get_attribute("class")
    # the task, done from the page
    with page.expect_navigation():
        first.locator("[data-done]").click()
    page.wait_for_selector("#jd-list")
    assert db_rows(server, "SELECT status, done_by FROM judgement_tasks"
                           " WHERE item_id = %s", server.late) == [("done", "leader")]
    done = page.locator(f".jd-item[data-item='{server.late}'] .jd-task")
    assert "jd-task-done" in done.get_attribute("class")
    assert page.locator(f".jd-item[data-item='{server.late}'] [data-done]").count() == 0


def test_the_page_fits_a_phone(browser, server, artifacts):
    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        seen = open_page(page, server.base, "/judgements?status=all", "leader",
                         server.passwords["leader"], "#jd-list")
        assert seen["errors"] == []
        sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                              " inner: window.innerWidth})")
        assert sizes["scroll"] <= sizes["inner"], sizes
        for selector in (".jd-item", ".jd-facts span", ".jd-actions button",
                         ".jd-meeting dd", ".jd-task-facts"):
            for box in page.eval_on_selector_all(selector, "els => els.map(e => {"
                                                 " const r = e.getBoundingClientRect();"
                                                 " return [r.left, r.right]; })"):
                assert box[0] >= 0 and box[1] <= 375, (selector, box)
        page.screenshot(path=str(artifacts / "phone-judgements.png"), full_page=True)
    finally:
        context.close()
