"""An administrator manages accounts in the browser; the audit log shows it."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]


def test_admin_creates_a_user_gives_a_token_and_sees_it_audited(
        page, live_server, login, artifacts):
    login("admin")
    page.goto(live_server + "/admin/users", wait_until="networkidle")
    form = page.locator("form.filters")
    form.locator("[name=username]").fill("browser_worker")
    form.locator("[name=role]").select_option("field_worker")
    form.locator("[name=grid]").fill("320282105001")
    form.locator("[name=password]").fill("a-long-password-1")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "用户已创建" in page.inner_text("[role=status]")
    row = page.locator("tr", has_text="browser_worker")
    assert "网格员" in row.inner_text() and "320282105001" in row.inner_text()
    row.locator("[name=label]").fill("手持终端")
    row.locator("button", has_text="生成令牌").click()
    page.wait_for_load_state("networkidle")
    notice = page.inner_text("[role=status]")
    token = notice.split()[-1]
    assert token.startswith("ggv_")
    page.screenshot(path=str(artifacts / "admin-users.png"))
    # the token works for the API, within the user's village
    r = page.request.get(live_server + "/api/v1/households?limit=5",
                         headers={"Authorization": f"Bearer {token}"})
    assert r.status == 200
    assert all(h["grid_code"].startswith("320282105001") for h in r.json()["items"])
    page.goto(live_server + "/admin/audit?user=admin&table=users",
              wait_until="networkidle")
    assert "browser_worker" in page.inner_text("table")


def test_a_bad_new_user_is_refused_with_the_reason(page, live_server, login):
    login("admin")
    page.goto(live_server + "/admin/users", wait_until="networkidle")
    form = page.locator("form.filters")
    form.locator("[name=username]").fill("someone")
    form.locator("[name=grid]").fill("999999999")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "no grid with code 999999999" in page.inner_text("[role=status]")
