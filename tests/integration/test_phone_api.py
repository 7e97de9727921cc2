"""The phone's API (docs/phone-api.md): device tokens, the user's own view,
idempotent resends, photos. Real PostGIS, a writable copy of the demo town.

The demo's ``worker`` (网格员) is the full-time worker of village A's first
comprehensive grid; ``liaison`` (网格联络员) the liaison of its first micro-grid.
"""

import re
from types import SimpleNamespace

import psycopg
import pytest

from layers import users
from layers.access import SYSTEM
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

PASSWORD = "correct-horse-battery"


@pytest.fixture(scope="module")
def ph(databases, demo_town, tmp_path_factory):
    g = demo_town.grids
    village_a, village_b = sorted(g[g.level == 2].code)[:2]

    def setup(c):
        for name in ("dev1", "dev2", "dev3", "dev4", "dev5"):
            users.add_user(c, SYSTEM, name, "field_worker", village_a, PASSWORD)

    wd = writable_demo(databases, demo_town, setup)
    photo_dir = tmp_path_factory.mktemp("photos")
    wd.app.config["PHOTO_DIR"] = str(photo_dir)
    with psycopg.connect(wd.url) as c:
        staff = dict(c.execute("SELECT username, staff_id FROM users"
                               " WHERE staff_id IS NOT NULL").fetchall())
        grids = dict(c.execute("SELECT username, grid_code FROM users").fetchall())
    return SimpleNamespace(**vars(wd), staff=staff, grids=grids, village_a=village_a,
                           village_b=village_b, photo_dir=photo_dir)


def bearer(app, token):
    c = app.test_client()
    c.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return c


def device_login(ph, username, password=None, address="198.51.100.7"):
    c = ph.app.test_client()
    c.environ_base["REMOTE_ADDR"] = address
    return c.post("/api/v1/devices", json={
        "username": username, "password": password or ph.passwords.get(
            username, PASSWORD), "label": "测试手机"})


def q(ph, query, params=()):
    with psycopg.connect(ph.url) as c:
        return c.execute(query, params).fetchall()


def error_code(r):
    return (r.get_json(silent=True) or {}).get("error", {}).get("code")


# devices ---------------------------------------------------------------------------

def test_device_login_gives_a_30_day_token_and_me(ph):
    r = device_login(ph, "worker")
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["token"].startswith("ggv_")
    me = body["me"]
    assert me["username"] == "worker" and me["role"] == "field_worker"
    assert me["role_label"] == "网格员"
    assert me["staff"]["id"] == ph.staff["worker"]
    assert me["staff"]["role"] == "full_time"
    # the micro-grids of the worker's comprehensive grid, and only those
    assert me["grids"] and all(g["level"] == 4 and g["code"].startswith(
        ph.grids["worker"]) for g in me["grids"])
    assert "incidents:report" in me["permissions"]
    (kind, days), = q(ph, "SELECT kind, round(extract(epoch FROM expires_at"
                      " - created_at) / 86400) FROM api_tokens WHERE token_sha256"
                      " = %s", (users.digest(body["token"]),))
    assert (kind, days) == ("device", 30)
    again = bearer(ph.app, body["token"]).get("/api/v1/me")
    assert again.status_code == 200 and again.get_json() == me
    assert q(ph, "SELECT count(*) FROM audit WHERE username = 'worker'"
             " AND action = 'login' AND after->>'device' = '测试手机'")[0][0] >= 1


def test_device_login_with_a_wrong_password_is_refused_and_counted(ph):
    r = device_login(ph, "dev5", "wrong-password-here", address="203.0.113.9")
    assert r.status_code == 401 and error_code(r) == "unauthorized"
    assert r.get_json()["error"]["field"] == "password"
    # the pair now waits, as on the login form
    r = device_login(ph, "dev5", "wrong-password-here", address="203.0.113.9")
    assert r.status_code == 429, r.get_json()
    assert q(ph, "SELECT count(*) FROM login_attempts WHERE username = 'dev5'"
             " AND NOT ok")[0][0] == 1
    assert device_login(ph, "dev5", address="203.0.113.10").status_code == 201


def test_device_login_needs_no_csrf_but_a_body(ph):
    r = ph.app.test_client().post("/api/v1/devices", json={"username": "dev1"})
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "password"


@pytest.mark.parametrize("change", ["password", "disable", "role", "grid", "staff"])
def test_a_change_of_the_user_revokes_its_devices(ph, change):
    name = {"password": "dev1", "disable": "dev2", "role": "dev3", "grid": "dev4",
            "staff": "dev1"}[change]
    if change == "disable":
        with psycopg.connect(ph.url) as c:
            users.set_active(c, SYSTEM, name, True)
    token = device_login(ph, name).get_json()["token"]
    phone = bearer(ph.app, token)
    assert phone.get("/api/v1/me").status_code == 200
    with psycopg.connect(ph.url) as c:
        script = users.create_token(c, SYSTEM, name, "script")
    with psycopg.connect(ph.url) as c:
        if change == "password":
            users.set_password(c, SYSTEM, name, PASSWORD)  # even the same one
        elif change == "disable":
            users.set_active(c, SYSTEM, name, False)
        elif change == "role":
            c.execute("UPDATE users SET role = 'dispatcher' WHERE username = %s",
                      (name,))
        elif change == "grid":
            c.execute("UPDATE users SET grid_code = %s WHERE username = %s",
                      (ph.village_b, name))
        else:
            staff = c.execute("SELECT min(id) FROM grid_staff WHERE grid_code LIKE"
                              " %s", (ph.village_a + "%",)).fetchone()[0]
            users.link_staff(c, SYSTEM, name, staff)
    r = phone.get("/api/v1/me")
    assert r.status_code == 401 and error_code(r) == "device_revoked", r.get_json()
    # an ordinary token for scripts stays (documented), unless the user is disabled
    expected = 401 if change == "disable" else 200
    assert bearer(ph.app, script).get("/api/v1/grids?level=1").status_code == expected


def test_an_unknown_token_is_not_a_revoked_device(ph):
    r = bearer(ph.app, "ggv_" + "x" * 43).get("/api/v1/me")
    assert r.status_code == 401 and error_code(r) == "unauthorized"


def test_logout_revokes_the_calling_device_only(ph):
    first = device_login(ph, "worker").get_json()["token"]
    second = device_login(ph, "worker").get_json()["token"]
    assert bearer(ph.app, first).delete("/api/v1/devices/current").status_code == 204
    r = bearer(ph.app, first).get("/api/v1/me")
    assert r.status_code == 401 and error_code(r) == "device_revoked"
    assert bearer(ph.app, second).get("/api/v1/me").status_code == 200
    # a script's token is not a device: nothing to log out
    r = bearer(ph.app, ph.tokens["worker"]).delete("/api/v1/devices/current")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "Authorization"


def test_an_expired_device_token_is_revoked(ph):
    token = device_login(ph, "worker").get_json()["token"]
    with psycopg.connect(ph.url) as c:
        c.execute("UPDATE api_tokens SET expires_at = now() - interval '1 second'"
                  " WHERE token_sha256 = %s", (users.digest(token),))
    r = bearer(ph.app, token).get("/api/v1/me/tasks")
    assert r.status_code == 401 and error_code(r) == "device_revoked"


def _admin_session(ph):
    c = ph.app.test_client()
    page = c.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = c.post("/login", data={"username": "admin", "password": ph.passwords["admin"],
                               "csrf_token": csrf})
    assert r.status_code == 302
    return c


def test_an_admin_sees_and_revokes_a_device_under_its_user(ph):
    token = device_login(ph, "liaison").get_json()["token"]
    (token_id,), = q(ph, "SELECT id FROM api_tokens WHERE token_sha256 = %s",
                     (users.digest(token),))
    admin = _admin_session(ph)
    page = admin.get("/admin/users").get_data(as_text=True)
    row = page[page.index("<td>liaison"):]
    row = row[:row.index("</td>")]
    assert "测试手机" in row and f"/admin/tokens/{token_id}/revoke" in row
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = admin.post(f"/admin/tokens/{token_id}/revoke", data={"csrf_token": csrf})
    assert r.status_code == 302
    r = bearer(ph.app, token).get("/api/v1/me")
    assert r.status_code == 401 and error_code(r) == "device_revoked"
