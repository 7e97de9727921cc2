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


def test_a_village_admin_sees_the_village_unlocks_and_cannot_go_global(
        page, databases, demo_town, artifacts):
    import psycopg

    from layers import users
    from layers.access import SYSTEM
    from tests.browser.conftest import served_copy

    password = "village-admin-pass-1"
    with served_copy(databases, demo_town) as srv:
        with psycopg.connect(srv.url) as c:
            village = users.get_user(c, "village1")["grid_code"]
            users.add_user(c, SYSTEM, "vadmin", "admin", village, password)
            c.execute("INSERT INTO login_attempts (username, address, ok)"
                      " SELECT 'village1', '10.9.0.' || i, false"
                      " FROM generate_series(1, 50) AS i")  # the ceiling: locked
        page.goto(srv.base + "/login")
        page.fill("#username", "vadmin")
        page.fill("#password", password)
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(srv.base + "/admin/users", wait_until="networkidle")
        names = [n.split("\n")[0].strip() for n in
                 page.locator("table").first.locator("tbody tr td:first-child")
                 .all_inner_texts()]
        # the worker's and the liaison's grids are in the village; not admin, nor
        # the town's accounts
        assert sorted(names) == ["liaison", "vadmin", "village1", "worker"]
        users_table = page.locator("table").first
        row = users_table.locator("tr", has_text="village1")
        assert "已锁定" in row.inner_text()
        page.screenshot(path=str(artifacts / "admin-users-village.png"))
        row.locator("button", has_text="解锁").click()
        page.wait_for_load_state("networkidle")
        assert "已解锁" in page.inner_text("[role=status]")
        assert "已锁定" not in users_table.locator(
            "tr", has_text="village1").inner_text()
        form = page.locator("form.filters")
        form.locator("[name=username]").fill("escalated")
        form.locator("[name=role]").select_option("admin")
        form.locator("[name=password]").fill("a-long-password-1")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            form.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert answer.value.status == 403
        assert "管辖范围" in page.inner_text("[role=status]")
        assert "escalated" not in page.locator("table").first.inner_text()
