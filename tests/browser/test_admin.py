"""An administrator manages accounts in the browser; the audit log shows it.

The role and the jurisdiction of an account change on the users page, the grid
picked by its name (search as you type, within the administrator's subtree);
accounts left on a merged-away grid are listed there and reassigned.
"""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.db]


def _names(demo_town):
    return dict(zip(demo_town.grids.code, demo_town.grids.name, strict=True))


def pick_grid(box, name, chain=None):
    """Type a grid's ``name`` in the picker ``box`` and click the hit whose name
    chain is ``chain`` (default: the first hit, the exact name)."""
    box.locator("[data-query]").fill(name)
    hits = box.locator("[data-hits] button")
    hits.first.wait_for()
    (hits.filter(has_text=chain) if chain else hits).first.click()


def test_admin_creates_a_user_gives_a_token_and_sees_it_audited(
        page, live_server, login, artifacts, demo_town):
    login("admin")
    page.goto(live_server + "/admin/users", wait_until="networkidle")
    form = page.locator("form.filters")
    form.locator("[name=username]").fill("browser_worker")
    form.locator("[name=role]").select_option("field_worker")
    pick_grid(form, _names(demo_town)["320282105001"])
    assert form.locator("[name=grid]").input_value() == "320282105001"
    form.locator("[name=password]").fill("a-long-password-1")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "用户已创建" in page.inner_text("[role=status]")
    row = page.locator("tr", has_text="browser_worker")
    assert "网格员" in row.inner_text() and "320282105001" in row.inner_text()
    assert _names(demo_town)["320282105001"] in row.inner_text()  # its name chain
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
    form.locator("[name=username]").fill("two words")
    form.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "用户名须为" in page.inner_text("[role=status]")
    assert "two words" not in page.locator("table").first.inner_text()


def test_a_village_admin_sees_the_village_unlocks_and_cannot_go_global(
        page, databases, demo_town, artifacts):
    import psycopg

    from layers import users
    from layers.access import SYSTEM
    from tests.browser.conftest import log_in_page, served_copy

    password = "village-admin-pass-1"
    with served_copy(databases, demo_town) as srv:
        with psycopg.connect(srv.url) as c:
            village = users.get_user(c, "village1")["grid_code"]
            users.add_user(c, SYSTEM, "vadmin", "admin", village, password)
            c.execute("INSERT INTO login_attempts (username, address, ok)"
                      " SELECT 'village1', '10.9.0.' || i, false"
                      " FROM generate_series(1, 50) AS i")  # the ceiling: locked
        log_in_page(page, srv.base, "vadmin", password)
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


def test_the_new_user_form_starts_on_the_least_privileged_role(
        page, live_server, login):
    login("admin")
    page.goto(live_server + "/admin/users", wait_until="networkidle")
    role = page.locator("form.filters [name=role]")
    assert role.input_value() == "viewer"
    assert role.locator("option:checked").inner_text() == "访客"
    # the jurisdiction is picked by name: no box to type a code into
    assert page.locator("form.filters input[name=grid]").get_attribute(
        "type") == "hidden"


def test_an_admin_changes_role_and_jurisdiction_with_the_picker(
        page, databases, demo_town, artifacts):
    import psycopg

    from layers import users
    from tests.browser.conftest import log_in_page, served_copy

    names = _names(demo_town)
    with served_copy(databases, demo_town) as srv:
        village = "320282105002"  # the leader's town → village B, as a dispatcher
        log_in_page(page, srv.base, "admin", srv.passwords["admin"])
        page.goto(srv.base + "/admin/users", wait_until="networkidle")
        row = page.locator("table").first.locator("tr", has_text="演示账号·领导")
        row.locator("details.access summary").click()
        box = row.locator("form.access-form")
        box.locator("[name=role]").select_option("dispatcher")
        town = names[village[:9]]
        pick_grid(box, names[village], f"{town} › {names[village]}")
        assert box.locator("[data-chosen]").inner_text() == \
            f"{town} › {names[village]}"
        page.screenshot(path=str(artifacts / "admin-change-access.png"))
        box.locator("button[type=submit]").click()
        page.wait_for_load_state("networkidle")
        assert "用户已更新" in page.inner_text("[role=status]")
        row = page.locator("table").first.locator("tr", has_text="演示账号·领导")
        assert "指挥调度员" in row.inner_text()
        assert f"{town} › {names[village]}" in row.inner_text()
        with psycopg.connect(srv.url) as c:
            leader = users.get_user(c, "leader")
            assert (leader["role"], leader["grid_code"]) == ("dispatcher", village)
            assert c.execute("SELECT count(*) FROM sessions s JOIN users u"
                             " ON u.id = s.user_id WHERE u.username = 'leader'"
                             ).fetchone()[0] == 0


def test_a_scoped_admin_cannot_pick_outside(page, databases, demo_town):
    import psycopg

    from layers import users
    from layers.access import SYSTEM
    from tests.browser.conftest import log_in_page, served_copy

    names = _names(demo_town)
    mine, other = "320282105001", "320282105002"
    password = "village-admin-pass-2"
    with served_copy(databases, demo_town) as srv:
        with psycopg.connect(srv.url) as c:
            users.add_user(c, SYSTEM, "vadmin2", "admin", mine, password)
        log_in_page(page, srv.base, "vadmin2", password)
        page.goto(srv.base + "/admin/users", wait_until="networkidle")
        form = page.locator("form.filters")
        # no "whole deployment" for a scoped admin, and nothing picked yet
        assert form.locator("[data-everywhere-button]").count() == 0
        assert "请" in form.locator("[data-chosen]").inner_text()
        for outside in (names[other], names[mine[:9]]):  # a neighbour, the town
            form.locator("[data-query]").fill(outside)
            form.locator("[data-hits] li.none").wait_for()
            assert form.locator("[data-hits] button").count() == 0
            assert "没有这个名称" in form.locator("[data-hits]").inner_text()
        form.locator("[data-query]").fill(names[mine])
        form.locator("[data-hits] button").first.wait_for()
        codes = form.locator("[data-hits] button").evaluate_all(
            "bs => bs.map(b => b.dataset.code)")
        assert codes and all(c.startswith(mine) for c in codes)


def test_accounts_on_a_merged_grid_are_listed_and_reassigning_clears_them(
        page, databases, demo_town, artifacts):
    import psycopg

    from layers import grid_edit, users
    from layers.access import SYSTEM
    from tests.browser.conftest import log_in_page, served_copy

    names = _names(demo_town)
    with served_copy(databases, demo_town) as srv:
        with psycopg.connect(srv.url) as c:
            keep, gone, v_keep, v_gone = c.execute(
                "SELECT a.code, b.code, a.version, b.version FROM grids a"
                " JOIN grids b ON a.parent_code = b.parent_code AND a.code < b.code"
                " AND ST_Length(ST_Intersection(ST_Boundary(a.geom),"
                "  ST_Boundary(b.geom))) > 0.0005"
                " WHERE a.level = 4 ORDER BY a.code DESC LIMIT 1").fetchone()
            users.add_user(c, SYSTEM, "left_behind", "field_worker", gone,
                           "a-long-password-1")
            grid_edit.merge(c, SYSTEM, [keep, gone], {keep: v_keep, gone: v_gone})
        log_in_page(page, srv.base, "admin", srv.passwords["admin"])
        page.goto(srv.base + "/admin/users", wait_until="networkidle")
        section = page.locator("#orphaned")
        row = section.locator("tr[data-orphan=left_behind]")
        assert gone in row.inner_text() and names[gone] in row.inner_text()
        assert names[keep] in row.inner_text()  # what the lineage says it became
        page.screenshot(path=str(artifacts / "admin-orphaned.png"), full_page=True)
        row.locator("button", has_text=names[keep]).click()
        page.wait_for_load_state("networkidle")
        assert "用户已更新" in page.inner_text("[role=status]")
        assert page.locator("tr[data-orphan=left_behind]").count() == 0
        with psycopg.connect(srv.url) as c:
            moved = users.get_user(c, "left_behind")
            assert (moved["role"], moved["grid_code"]) == ("field_worker", keep)


def test_the_users_page_and_its_picker_fit_a_phone(browser, live_server, passwords,
                                                   demo_town, artifacts):
    from tests.browser.test_phone_layouts import _WATCH_CSP, PHONE

    context = browser.new_context(**PHONE)
    try:
        page = context.new_page()
        page.add_init_script(_WATCH_CSP)
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(live_server + "/login")
        page.fill("#username", "admin")
        page.fill("#password", passwords["admin"])
        page.click("button[type=submit]")
        page.wait_for_load_state("networkidle")
        page.goto(live_server + "/admin/users", wait_until="networkidle")
        form = page.locator("form.filters")
        form.locator("[data-query]").fill(_names(demo_town)["320282105001"])
        form.locator("[data-hits] button").first.wait_for()
        sizes = page.evaluate("() => ({scroll: document.documentElement.scrollWidth,"
                              " inner: window.innerWidth})")
        assert sizes["scroll"] <= sizes["inner"], sizes
        box = form.locator("[data-hits] button").first.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375
        form.scroll_into_view_if_needed()
        page.screenshot(path=str(artifacts / "phone-admin-users.png"))
        assert page.evaluate("window.__csp") == [] and errors == []
    finally:
        context.close()
