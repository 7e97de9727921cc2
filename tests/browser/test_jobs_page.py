"""/admin/jobs on a phone (375 px): an administrator registers a webhook and sees
its secret once, sees a failed delivery with its time in China time (labelled)
and retries it; no sideways scroll, no CSP violation, no script error."""

import psycopg
import pytest

from tests.browser.conftest import open_page, served_copy

pytestmark = [pytest.mark.browser, pytest.mark.db]

PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True,
         "has_touch": True, "device_scale_factor": 2, "locale": "zh-CN"}
_WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', function (e) {
    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI);
});
"""


def _no_sideways_scroll(page):
    sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                          " width: window.innerWidth})")
    assert sizes["scroll"] <= sizes["width"], sizes


def test_an_admin_registers_a_webhook_and_retries_a_failed_delivery_on_a_phone(
        browser, databases, demo_town, artifacts):
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.add_init_script(_WATCH_CSP)
    try:
        with served_copy(databases, demo_town) as srv:
            seen = open_page(page, srv.base, "/admin/jobs", "admin",
                             srv.passwords["admin"], "[data-webhook-form]")
            form = page.locator("[data-webhook-form]")
            form.locator("[name=name]").fill("12345 热线")
            form.locator("[name=url]").fill(
                "http://192.0.2.10/a/very/long/path/of/the/hotline/system/receiver")
            form.locator("[name=events][value=escalated]").check()
            with page.expect_response(lambda r: r.request.method == "POST") as ans:
                form.locator("button[type=submit]").click()
            assert ans.value.status == 201
            notice = page.locator("[data-said]")
            notice.wait_for()
            secret = notice.inner_text().split()[-1]
            assert "只显示这一次" in notice.inner_text() and len(secret) == 64
            # a failed delivery of that webhook, as the worker leaves one
            with psycopg.connect(srv.url, autocommit=True) as c:
                hook = c.execute("SELECT id FROM webhooks").fetchone()[0]
                job = c.execute(
                    "INSERT INTO procrastinate_jobs (queue_name, task_name, args,"
                    " status, attempts) VALUES ('webhooks', 'gridgov.deliver_webhook',"
                    " '{}', 'failed', 8) RETURNING id").fetchone()[0]
                c.execute("INSERT INTO procrastinate_events (job_id, type, at)"
                          " VALUES (%s, 'failed', '2026-12-07T11:30:05Z')", (job,))
                c.execute(
                    "INSERT INTO webhook_deliveries (webhook_id, event, incident_code,"
                    " body, status, attempts, last_error, job_id) VALUES (%s,"
                    " 'closed', 'SJ202612070001', '{}', 'failed', 8,"
                    " 'Connection refused', %s)", (hook, job))
            page.reload(wait_until="networkidle")
            table = page.locator("table").first
            text = table.inner_text()
            assert "北京时间" in text  # the column says its zone
            assert "2026-12-07 19:30:05" in text  # 11:30:05 UTC, China time
            assert "SJ202612070001" in text and "Connection refused" in text
            assert "12345 热线" in page.locator("table").last.inner_text()
            _no_sideways_scroll(page)
            page.screenshot(path=str(artifacts / "phone-admin-jobs.png"),
                            full_page=True)
            table.locator(f"button[data-retry$='/{job}/retry']").click()
            page.wait_for_load_state("networkidle")
            page.wait_for_function("() => !document.querySelector("
                                   f"\"button[data-retry$='/{job}/retry']\")")
            with psycopg.connect(srv.url) as c:
                assert c.execute("SELECT status::text FROM procrastinate_jobs"
                                 " WHERE id = %s", (job,)).fetchone()[0] == "todo"
            assert page.evaluate("window.__csp") == []
            assert seen["errors"] == []
    finally:
        context.close()
