"""Accounts, roles and jurisdiction, as a user (or an attacker) meets them.

Real PostGIS, no mocks. The shared demo database is only read (reads append audit
rows); everything that writes runs on a database of this module (``rw``).
"""

import ast
import re
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest
from click.testing import CliRunner

from layers import users
from layers.access import PERMISSIONS, SYSTEM
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct-horse-battery"  # the throwaway accounts' password (≥ 10 chars)

# Expected status per role, written out by hand from ROLE_PERMISSIONS:
# grids/grid/map need map:view (everyone); locate needs locate, households need
# households:read (all but viewer); /plan needs grids:edit (admin, planner);
# /admin/audit needs audit:read (admin only). Anonymous: API 401, pages 302.
ROUTES = ("grids", "grid", "locate", "households", "household", "map", "plan",
          "audit")
MATRIX = {
    #             grids grid  loc   hhs   hh    map   plan  audit
    "admin":      (200, 200, 200, 200, 200, 200, 200, 200),
    "planner":    (200, 200, 200, 200, 200, 200, 200, 403),
    "dispatcher": (200, 200, 200, 200, 200, 200, 403, 403),
    "leader":     (200, 200, 200, 200, 200, 200, 403, 403),
    "worker":     (200, 200, 200, 200, 200, 200, 403, 403),  # field_worker
    "viewer":     (200, 200, 403, 403, 403, 200, 403, 403),
    None:         (401, 401, 401, 401, 401, 302, 302, 302),  # anonymous
}
CASES = [(role, route, status) for role, row in MATRIX.items()
         for route, status in zip(ROUTES, row, strict=True)]


@pytest.fixture(scope="module")
def town(demo_town, demo_url):
    """Known codes of the demo: town 320282105, village A = 320282105001 (village1's
    jurisdiction), the first level-3 grid (the worker's) and its first micro-grid."""
    g = demo_town.grids
    villages = sorted(g[g.level == 2].code)
    micro = g[g.level == 4].sort_values("code").iloc[0]
    with psycopg.connect(demo_url) as c:
        first_id = c.execute("SELECT min(id) FROM households WHERE grid_code = %s",
                             (micro.code,)).fetchone()[0]
        other_id = c.execute("SELECT min(id) FROM households WHERE grid_code LIKE %s",
                             (villages[1] + "%",)).fetchone()[0]
    point = micro.geometry.representative_point()
    return SimpleNamespace(
        code=g[g.level == 1].code.iloc[0], village=villages[0], others=villages[1:],
        micro=micro, point=(point.x, point.y), first_id=first_id, other_id=other_id)


def url_of(route, town):
    lon, lat = town.point
    return {
        "grids": "/api/v1/grids?level=1", "grid": f"/api/v1/grids/{town.code}",
        "locate": f"/api/v1/locate?lon={lon}&lat={lat}",
        "households": "/api/v1/households?limit=5",
        "household": f"/api/v1/households/{town.first_id}",
        "map": "/", "plan": "/plan", "audit": "/admin/audit",
    }[route]


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    """A writable copy of the demo, its app, and throwaway accounts (PASSWORD)."""

    def setup(c):
        for name in ("alice", "bob", "carol", "throttled", "gone", "cliuser"):
            users.add_user(c, SYSTEM, name, "dispatcher", None, PASSWORD)

    return writable_demo(databases, demo_town, setup)


def csrf_from(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def session_login(app, username, password=PASSWORD):
    """A browser-like client: GET /login for the CSRF token, then POST the form."""
    c = app.test_client()
    token = csrf_from(c.get("/login").get_data(as_text=True))
    r = c.post("/login", data={"username": username, "password": password,
                               "csrf_token": token})
    return c, r


# 1. role × route ------------------------------------------------------------------

@pytest.mark.parametrize(("role", "route", "status"), CASES)
def test_role_matrix(as_user, anonymous, town, role, route, status):
    c = anonymous if role is None else as_user(role)
    r = c.get(url_of(route, town))
    assert r.status_code == status, r.get_data(as_text=True)[:300]
    if status == 401:
        assert r.get_json()["error"]["code"] == "unauthorized"
    elif status == 302:
        location = urlsplit(r.headers["Location"])
        assert location.path == "/login"
        assert parse_qs(location.query)["next"][0].startswith(url_of(route, town))
    elif status == 403 and route in ("map", "plan", "audit"):
        assert "无权访问" in r.get_data(as_text=True)
    elif status == 403:
        assert r.get_json()["error"]["code"] == "forbidden"


# 2. every route declares its permission -------------------------------------------

PUBLIC = {"auth.login", "auth.logout", "assets.vendor", "health.health",
          "openapi.openapi", "openapi.docs", "static", "devices.create_device",
          # the phone page's shell, the same for everyone (its login is inside)
          "mobile.page", "mobile.manifest", "mobile.service_worker"}


def test_every_route_declares_a_known_permission(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert PUBLIC - {"static"} <= endpoints  # the allow-list is not stale
    problems = []
    for endpoint in sorted(endpoints):
        view = app.view_functions[endpoint]
        if endpoint == "static":
            continue  # Flask's own, public by nature
        if not hasattr(view, "permission"):
            problems.append(f"{endpoint}: declares nothing")
        elif endpoint in PUBLIC:
            if view.permission is not None:
                problems.append(f"{endpoint}: public, yet {view.permission}")
        elif view.permission not in PERMISSIONS:
            problems.append(f"{endpoint}: unknown permission {view.permission!r}")
    assert not problems, problems


# 3. jurisdiction: village1 dispatches village A (320282105001) only --------------

def test_household_of_another_village_is_not_found(as_user, town):
    c = as_user("village1")
    elsewhere = c.get(f"/api/v1/households/{town.other_id}")
    missing = c.get("/api/v1/households/999999999")
    assert elsewhere.status_code == missing.status_code == 404
    a, b = elsewhere.get_json()["error"], missing.get_json()["error"]
    assert a["message"].replace(str(town.other_id), "N") == b["message"].replace(
        "999999999", "N")
    assert (a["code"], a["field"]) == (b["code"], b["field"]) == ("not_found", "id")
    assert c.get(f"/api/v1/households/{town.first_id}").status_code == 200


def test_household_list_is_the_village(as_user, town, demo_town):
    expected = demo_town.households.grid_code.str.startswith(town.village).sum()
    c, codes, offset = as_user("village1"), [], 0
    while True:
        page = c.get(f"/api/v1/households?limit=1000&offset={offset}").get_json()
        codes += [h["grid_code"] for h in page["items"]]
        offset += 1000
        if offset >= page["total"]:
            break
    assert page["total"] == len(codes) == expected > 0
    assert all(code.startswith(town.village) for code in codes)


def test_grids_are_the_village_and_the_town_outline(as_user, town, demo_town):
    c, g = as_user("village1"), demo_town.grids
    micro = c.get("/api/v1/grids?level=4").get_json()["features"]
    own = g[(g.level == 4) & g.code.str.startswith(town.village)]
    assert sorted(f["properties"]["code"] for f in micro) == sorted(own.code)
    other = c.get(f"/api/v1/grids/{town.others[0]}")
    assert other.status_code == 404
    assert other.get_json()["error"]["code"] == "not_found"
    assert c.get("/api/v1/grids/320282105999").get_json() == {"error": {
        "code": "not_found",
        "message": "没有编码为 320282105999 的网格（no grid with code 320282105999）",
        "field": "code"}}  # the same answer as for a village that exists
    towns = c.get("/api/v1/grids?level=1").get_json()["features"]
    assert [f["properties"]["code"] for f in towns] == [town.code]


def test_locate_stops_at_the_town_outside_the_village(as_user, town, demo_town):
    g = demo_town.grids
    metres = g.to_crs(32650).geometry  # UTM 50N; cameras see at most 2,000 m
    home = metres[g.code == town.village].iloc[0]
    away = (g.level == 4) & ~g.code.str.startswith(town.village)
    far = metres[away].distance(home).idxmax()
    assert metres[far].distance(home) > 2500
    p = g.geometry[far].representative_point()
    found = as_user("village1").get(f"/api/v1/locate?lon={p.x}&lat={p.y}").get_json()
    assert [x["code"] for x in found["grids"]] == [town.code]
    assert found["cameras"] == []
    assert len(as_user("admin").get(
        f"/api/v1/locate?lon={p.x}&lat={p.y}").get_json()["grids"]) == 4
    lon, lat = town.point  # inside village A's first micro-grid: the full chain
    chain = as_user("village1").get(f"/api/v1/locate?lon={lon}&lat={lat}").get_json()
    m = town.micro.code  # 18 digits: town 9, village 12, grid 15, micro 18
    assert [x["code"] for x in chain["grids"]] == [m[:9], m[:12], m[:15], m]


def test_map_page_shows_no_other_village(as_user, town):
    html = as_user("village1").get("/").get_data(as_text=True)
    assert town.village in html
    assert [code for code in town.others if code in html] == []


# 4. masking -----------------------------------------------------------------------

def test_leader_sees_masked_households(as_user, demo_town):
    known = demo_town.households.set_index("external_id")
    items = as_user("leader").get("/api/v1/households?limit=200").get_json()["items"]
    assert len(items) == 200
    for h in items:
        name, phone = known.loc[h["external_id"], ["head_name", "phone"]]
        assert h["head_name"] == name[0] + "*" * (len(name) - 1)  # 张三丰 → 张**
        assert h["phone"] == phone[:3] + "****" + phone[-4:]  # 138****5678
        assert h["tags"] is None


def test_dispatcher_sees_names_phones_and_tags(as_user, demo_town):
    known = demo_town.households.set_index("external_id")
    items = as_user("dispatcher").get(
        "/api/v1/households?limit=200").get_json()["items"]
    assert any(h["tags"] for h in items)  # about one household in ten has tags
    for h in items:
        row = known.loc[h["external_id"]]
        assert (h["head_name"], h["phone"]) == (row.head_name, row.phone)
        assert h["tags"] == list(row.tags)


# 5. reads of a full record are audited --------------------------------------------

def test_reading_a_household_is_audited(as_user, town, demo_url):
    query = ("SELECT count(*) FROM audit WHERE table_name = 'households'"
             " AND action = 'read' AND row_key = %s AND username = 'dispatcher'")
    with psycopg.connect(demo_url) as c:
        before = c.execute(query, (str(town.first_id),)).fetchone()[0]
    r = as_user("dispatcher").get(f"/api/v1/households/{town.first_id}")
    assert r.status_code == 200
    with psycopg.connect(demo_url) as c:
        assert c.execute(query, (str(town.first_id),)).fetchone()[0] == before + 1


# 6. login -------------------------------------------------------------------------

def test_login_then_the_map(rw):
    c, r = session_login(rw.app, "alice")
    assert r.status_code == 302
    assert urlsplit(r.headers["Location"]).path == "/"
    assert c.get("/").status_code == 200


def test_wrong_password(rw):
    _, r = session_login(rw.app, "bob", "not-the-password")
    assert r.status_code == 401
    assert "用户名或密码错误" in r.get_data(as_text=True)


def test_a_failure_makes_that_address_wait_even_for_the_right_password(rw):
    # the growing delay, the ceiling and unlocking: test_accounts_security.py
    assert session_login(rw.app, "throttled", "guess-guess")[1].status_code == 401
    _, r = session_login(rw.app, "throttled")
    assert r.status_code == 429
    assert "登录失败次数过多" in r.get_data(as_text=True)
    assert int(r.headers["Retry-After"]) >= 1


# ?next= must stay on this site. Known answers today: "/<TAB>/evil.com" passes the
# check and leaves as "Location: //evil.com" (Werkzeug drops the tab, as browsers
# would); "/<LF>/evil.com" passes it too and Werkzeug refuses the header (500).
# '/\t/evil.com': Werkzeug drops the tab and would send the user to //evil.com;
# '/\n/evil.com' would make an invalid header (500).
@pytest.mark.parametrize("target", [
    "//evil.com", "/%5Cevil.com", "https://evil.com", "/%09/evil.com",
    "/%0A/evil.com", "/%0D/evil.com",
])
def test_login_never_sends_elsewhere(as_user, target):
    c = as_user("viewer")  # logged in: GET /login redirects to ?next= at once
    assert c.get("/login?next=/plan").headers["Location"] == "/plan"
    r = c.get(f"/login?next={target}")
    assert (r.status_code, r.headers.get("Location")) == (302, "/")


def test_disabling_a_user_ends_its_session_at_once(rw):
    c, r = session_login(rw.app, "carol")
    assert r.status_code == 302
    assert c.get("/").status_code == 200
    with psycopg.connect(rw.url) as conn:
        users.set_active(conn, SYSTEM, "carol", False)
    assert urlsplit(c.get("/").headers["Location"]).path == "/login"
    assert c.get("/api/v1/grids?level=1").status_code == 401
    assert session_login(rw.app, "carol")[1].status_code == 401  # and no new login


# 7. CSRF --------------------------------------------------------------------------

def test_logout_needs_the_csrf_token_with_a_session(rw):
    c, r = session_login(rw.app, "alice")
    assert r.status_code == 302
    refused = c.post("/logout")
    assert refused.status_code == 400
    assert refused.get_json()["error"]["code"] == "csrf"
    token = csrf_from(c.get("/").get_data(as_text=True))  # the map's logout form
    assert c.post("/logout", data={"csrf_token": token}).status_code == 302
    assert c.get("/").status_code == 302  # logged out: back to /login


def test_a_bearer_token_needs_no_csrf_token(as_user):
    r = as_user("viewer").post("/logout")
    assert r.status_code == 302


# 8. tokens ------------------------------------------------------------------------

def test_an_invalid_token(app):
    c = app.test_client()
    r = c.get("/api/v1/grids?level=1", headers={"Authorization": "Bearer ggv_nope"})
    assert r.status_code == 401
    assert r.get_json()["error"] == {
        "code": "unauthorized",
        "message": "API 令牌无效或已吊销（invalid or revoked API token）"}


def test_disabling_a_user_stops_its_token_at_once(rw):
    with psycopg.connect(rw.url) as conn:
        token = users.create_token(conn, SYSTEM, "gone", "phone")
    headers = {"Authorization": f"Bearer {token}"}
    c = rw.app.test_client()
    assert c.get("/api/v1/grids?level=1", headers=headers).status_code == 200
    with psycopg.connect(rw.url) as conn:
        users.set_active(conn, SYSTEM, "gone", False)
    r = c.get("/api/v1/grids?level=1", headers=headers)
    assert r.status_code == 401
    assert r.get_json()["error"]["message"] == (
        "API 令牌无效或已吊销（invalid or revoked API token）")


def test_cli_token_works_with_the_api(rw):
    from web.cli import main

    result = CliRunner().invoke(main, ["user", "token", "cliuser"],
                                env={"GRIDGOV_DATABASE_URL": rw.url})
    assert result.exit_code == 0, result.output
    token = result.output.split()[-1]
    assert token.startswith("ggv_")
    r = rw.app.test_client().get("/api/v1/households?limit=1",
                                 headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200
    assert r.get_json()["total"] > 0


# 9. the audit log is append-only --------------------------------------------------

def test_audit_rows_cannot_be_changed(demo_url):
    with psycopg.connect(demo_url) as c:
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("UPDATE audit SET username = 'nobody'")
        c.rollback()


# 10. security headers, request size -----------------------------------------------

def test_security_headers_and_script_nonces(client):
    page = client.get("/")
    assert page.status_code == 200
    csp = page.headers["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp).group(1)
    assert "'unsafe-inline'" not in script_src
    nonce = re.search(r"'nonce-([^']+)'", script_src).group(1)
    tags = re.findall(r"<script\b[^>]*>", page.get_data(as_text=True))
    assert tags
    assert [t for t in tags if f'nonce="{nonce}"' not in t] == []
    api = client.get("/api/v1/grids?level=1")
    # an answer that needed no script allows no inline script at all
    assert "script-src 'self';" in api.headers["Content-Security-Policy"]
    for r in (page, api):
        assert r.headers["X-Frame-Options"] == "DENY"
        assert r.headers["X-Content-Type-Options"] == "nosniff"
        assert r.headers["Server"] == "gridgov"  # no software, no version
    assert nonce not in client.get("/").headers["Content-Security-Policy"]  # fresh


def test_too_large_a_request_is_refused(demo_url):
    from web import create_app

    small = create_app({"DATABASE_URL": demo_url, "TESTING": True,
                        "SECRET_KEY": "x" * 32, "MAX_CONTENT_LENGTH": 1000})
    r = small.test_client().post(
        "/login", data=b"username=" + b"x" * 1991,
        content_type="application/x-www-form-urlencoded")
    assert r.status_code == 413


# 11. no SQL built by string formatting --------------------------------------------

SQL_WORD = re.compile(
    r"\b(SELECT|INSERT|UPDATE|DELETE|COPY|TRUNCATE|CREATE|DROP|ALTER|WHERE)\b")


def _sqlish(node):
    return (isinstance(node, ast.Constant) and isinstance(node.value, str)
            and SQL_WORD.search(node.value) is not None)


def _formats_sql(node):
    if isinstance(node, ast.JoinedStr):
        return any(_sqlish(part) for part in node.values)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Mod):
        return _sqlish(node.left)
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        return _sqlish(node.left) or _sqlish(node.right)
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr == "format" and _sqlish(node.func.value))


def test_no_sql_is_built_by_string_formatting():
    offenders = []
    for folder in ("layers", "api", "web"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
            offenders += [f"{path.relative_to(ROOT)}:{node.lineno}"
                          for node in ast.walk(tree) if _formats_sql(node)]
    assert not offenders, ("SQL text built by string formatting (pass values as "
                           "parameters, identifiers through psycopg.sql): "
                           + ", ".join(offenders))
