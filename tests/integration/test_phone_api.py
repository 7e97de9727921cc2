"""The phone's API (docs/phone-api.md): device tokens, the user's own view,
idempotent resends, photos. Real PostGIS, a writable copy of the demo town.

The demo's ``worker`` (网格员) is the full-time worker of village A's first
comprehensive grid; ``liaison`` (网格联络员) the liaison of its first micro-grid.
"""

import datetime as dt
import io
import re
import uuid
from types import SimpleNamespace

import psycopg
import pytest
from PIL import Image
from pyproj import Geod

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
    assert int(r.headers["Retry-After"]) >= 1
    assert r.get_json()["error"]["locked"] is False
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


# tasks, the liaison's limits, scoping ----------------------------------------------

def _micro(ph, username):
    """A point inside the first micro-grid of ``username`` and that grid's code."""
    (code, lon, lat), = q(ph, "SELECT code, ST_X(ST_PointOnSurface(geom)),"
                          " ST_Y(ST_PointOnSurface(geom)) FROM grids WHERE level = 4"
                          " AND code LIKE %s ORDER BY code LIMIT 1",
                          (ph.grids[username] + "%",))
    return code, lon, lat


def _report(ph, who, description, key=None, **extra):
    _, lon, lat = _micro(ph, "liaison")
    headers = {"Idempotency-Key": key} if key else {}
    return ph.client(who).post("/api/v1/incidents", headers=headers, json={
        "category": "environment", "source": "grid_worker", "description": description,
        "lon": lon, "lat": lat, **extra})


def _assign(ph, code, staff_id):
    r = ph.client("dispatcher").post(f"/api/v1/incidents/{code}/triage",
                                     json={"assignee_id": staff_id})
    assert r.status_code == 200, r.get_json()


def test_a_liaison_reports_accepts_and_reports_back_but_never_triages_or_closes(ph):
    r = _report(ph, "liaison", "楼道堆放杂物")
    assert r.status_code == 201, r.get_json()
    code = r.get_json()["code"]
    liaison = ph.client("liaison")
    for action in ("triage", "escalate", "close", "remind"):
        r = liaison.post(f"/api/v1/incidents/{code}/{action}",
                         json={"outcome": "handled"} if action == "close" else {})
        assert r.status_code == 403 and error_code(r) == "forbidden", (action, r.json)
    # not assigned to them yet: not theirs to accept
    r = liaison.post(f"/api/v1/incidents/{code}/accept")
    assert r.status_code == 403 and r.get_json()["error"]["field"] == "code"
    _assign(ph, code, ph.staff["liaison"])
    task = next(t for t in liaison.get("/api/v1/me/tasks").get_json()["items"]
                if t["code"] == code)
    assert task["actions"] == ["accept"] and task["assigned_to_me"]
    assert task["status_label"] == "审核分流" and task["category_label"]
    assert liaison.post(f"/api/v1/incidents/{code}/accept").status_code == 200
    r = liaison.post(f"/api/v1/incidents/{code}/feedback",
                     json={"note": "已清理", "outcome": "mediated"})
    # a proposed outcome is checked as at closing: no 调解成功 for rubbish
    assert (r.status_code, r.get_json()["error"]["field"]) == (400, "outcome")
    r = liaison.post(f"/api/v1/incidents/{code}/feedback",
                     json={"note": "已清理", "outcome": "handled"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["proposed_outcome"] == "handled"
    r = liaison.post(f"/api/v1/incidents/{code}/transitions",
                     json={"action": "close", "outcome": "handled"})
    assert r.status_code == 403
    assert q(ph, "SELECT status FROM incidents WHERE code = %s", (code,))[0][0] \
        == "handling"
    # the desk closes
    r = ph.client("dispatcher").post(f"/api/v1/incidents/{code}/close",
                                     json={"outcome": "handled"})
    assert r.status_code == 200


def test_tasks_of_a_worker_are_its_assigned_and_its_grids_open_incidents(ph):
    r = _report(ph, "worker", "路灯损坏")
    code = r.get_json()["code"]
    worker = ph.client("worker")
    items = {t["code"]: t for t in worker.get("/api/v1/me/tasks").get_json()["items"]}
    assert code in items  # open in the worker's micro-grids
    assert items[code]["actions"][:1] == ["triage"]  # a field_worker keeps the loop
    for t in items.values():
        assert t["grid_code"].startswith(ph.grids["worker"])
        assert set(t) >= {"code", "category", "category_label", "subtype",
                          "description", "status", "status_label", "deadline",
                          "overdue", "grid_code", "grid_name", "lon", "lat",
                          "created_at", "photos", "actions"}
        assert t["status"] not in ("closed", "evaluated") or t["assigned_to_me"]
    # the liaison sees only its own micro-grid's
    for t in ph.client("liaison").get("/api/v1/me/tasks").get_json()["items"]:
        assert t["grid_code"] == ph.grids["liaison"] or t["assigned_to_me"]


def test_a_worker_cannot_read_another_villages_incidents_households_photos(ph):
    (incident,), = q(ph, "SELECT code FROM incidents WHERE grid_code LIKE %s"
                     " ORDER BY id LIMIT 1", (ph.village_b + "%",))
    (household,), = q(ph, "SELECT id FROM households WHERE grid_code LIKE %s"
                      " ORDER BY id LIMIT 1", (ph.village_b + "%",))
    with psycopg.connect(ph.url) as c:
        photo = c.execute(
            "INSERT INTO incident_photos (incident_id, sha256, width, height, bytes)"
            " SELECT id, repeat('a', 64), 1, 1, 1 FROM incidents WHERE code = %s"
            " RETURNING id", (incident,)).fetchone()[0]
    for who in ("worker", "liaison"):
        c = ph.client(who)
        for url in (f"/api/v1/incidents/{incident}", f"/api/v1/households/{household}",
                    f"/api/v1/photos/{photo}"):
            r = c.get(url)
            assert r.status_code in (403, 404), (who, url, r.status_code)
            if who == "worker" or "households" not in url:
                assert r.status_code == 404, (who, url)
        r = c.post(f"/api/v1/incidents/{incident}/photos",
                   data={"file": (io.BytesIO(_jpeg()), "a.jpg")})
        assert r.status_code == 404
        codes = {t["code"] for t in c.get("/api/v1/me/tasks").get_json()["items"]}
        assert incident not in codes


def test_a_liaisons_households_are_masked_without_tags_and_audited(ph):
    before = q(ph, "SELECT count(*) FROM audit WHERE username = 'liaison'"
               " AND table_name = 'households' AND action = 'read'")[0][0]
    r = ph.client("liaison").get("/api/v1/me/households")
    items = r.get_json()["items"]
    assert items and all(h["grid_code"] == ph.grids["liaison"] for h in items)
    assert all("tags" not in h and "phone" not in h for h in items)
    named = [h for h in items if h["head_name"]]
    assert named and all(h["head_name"].endswith("*") for h in named)
    assert set(items[0]) == {"id", "address", "head_name", "size", "grid_code",
                             "lon", "lat", "last_visit_at"}
    (after, records), = q(ph, "SELECT count(*), max(records) FILTER (WHERE id ="
                          " (SELECT max(id) FROM audit)) FROM audit WHERE username ="
                          " 'liaison' AND table_name = 'households'"
                          " AND action = 'read'")
    assert after == before + 1
    # the liaison's household reads elsewhere mask and hide the tags too
    one = ph.client("liaison").get(f"/api/v1/households/{items[0]['id']}").get_json()
    assert one["tags"] is None and "*" in (one["head_name"] or "*")
    # a worker sees the names
    names = [h["head_name"] for h in
             ph.client("worker").get("/api/v1/me/households").get_json()["items"]]
    assert any(n and "*" not in n for n in names)


# idempotency -----------------------------------------------------------------------

def test_a_resent_report_makes_one_incident(ph):
    key = str(uuid.uuid4())
    first = _report(ph, "liaison", "重发测试：井盖缺失", key=key)
    assert first.status_code == 201
    again = _report(ph, "liaison", "重发测试：井盖缺失", key=key)
    assert again.status_code == 201
    assert again.get_data() == first.get_data()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert q(ph, "SELECT count(*) FROM incidents WHERE description = %s",
             ("重发测试：井盖缺失",))[0][0] == 1
    # the same key with another body: refused, nothing made
    other = _report(ph, "liaison", "重发测试：另一件事", key=key)
    assert other.status_code == 422 and error_code(other) == "idempotency_mismatch"
    assert other.get_json()["error"]["field"] == "Idempotency-Key"
    assert q(ph, "SELECT count(*) FROM incidents WHERE description = %s",
             ("重发测试：另一件事",))[0][0] == 0
    # the key is the user's: another user's same key is another request
    assert _report(ph, "worker", "重发测试：井盖缺失", key=key).status_code == 201


def test_a_resent_transition_acts_once_and_a_failed_request_keeps_no_answer(ph):
    code = _report(ph, "worker", "重发测试：积水").get_json()["code"]
    _assign(ph, code, ph.staff["worker"])
    worker, key = ph.client("worker"), str(uuid.uuid4())
    # a refused request (feedback before accept) keeps nothing under its key
    r = worker.post(f"/api/v1/incidents/{code}/feedback", json={"note": "x"},
                    headers={"Idempotency-Key": key})
    assert r.status_code == 409
    key = str(uuid.uuid4())
    first = worker.post(f"/api/v1/incidents/{code}/accept",
                        headers={"Idempotency-Key": key})
    again = worker.post(f"/api/v1/incidents/{code}/accept",
                        headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 200
    assert first.get_json() == again.get_json()
    assert q(ph, "SELECT count(*) FROM incident_events e JOIN incidents i"
             " ON i.id = e.incident_id WHERE i.code = %s AND e.action = 'accept'",
             (code,))[0][0] == 1
    bad = worker.post(f"/api/v1/incidents/{code}/accept",
                      headers={"Idempotency-Key": "x" * 201})
    assert bad.status_code == 400 and bad.get_json()["error"]["field"] \
        == "Idempotency-Key"


def test_reported_at_is_the_time_received(ph):
    r = _report(ph, "liaison", "离线上报", reported_at="2026-11-30T09:15:00+08:00")
    assert r.status_code == 201
    assert r.get_json()["created_at"] == "2026-11-30T09:15:00+08:00"


# photos ----------------------------------------------------------------------------

def _jpeg(size=(64, 48), color="red", exif=True):
    out = io.BytesIO()
    image = Image.new("RGB", size, color)
    info = Image.Exif()
    if exif:
        info[0x010F] = "PhoneMaker"   # Make
        info[0x0112] = 6              # Orientation: rotate 90° clockwise to view
    image.save(out, "JPEG", exif=info.tobytes())
    return out.getvalue()


def _png():
    out = io.BytesIO()
    Image.new("RGBA", (30, 20), (0, 128, 0, 128)).save(out, "PNG")
    return out.getvalue()


def _upload(ph, who, code, data, name="photo.jpg", key=None):
    return ph.client(who).post(
        f"/api/v1/incidents/{code}/photos",
        data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data",
        headers={"Idempotency-Key": key} if key else {})


def test_photos_are_re_encoded_without_exif_stored_once_and_listed(ph):
    code = _report(ph, "liaison", "照片测试").get_json()["code"]
    photo = _jpeg()
    assert Image.open(io.BytesIO(photo)).getexif()[0x010F] == "PhoneMaker"
    r = _upload(ph, "liaison", code, photo)
    assert r.status_code == 201, r.get_json()
    first = r.get_json()
    assert first["url"] == f"/api/v1/photos/{first['id']}"
    got = ph.client("worker").get(first["url"])
    assert got.status_code == 200 and got.content_type == "image/jpeg"
    assert got.headers["Cache-Control"].startswith("private")
    stored = Image.open(io.BytesIO(got.get_data()))
    assert stored.format == "JPEG" and not dict(stored.getexif())
    assert stored.size == (48, 64)  # turned upright by its orientation, then dropped
    files = sorted(p for p in ph.photo_dir.rglob("*.jpg"))
    # a resend (a new multipart boundary, the same key) and a plain resend
    key = str(uuid.uuid4())
    assert _upload(ph, "liaison", code, photo, key=key).get_json() == first
    assert _upload(ph, "liaison", code, photo, key=key).get_json() == first
    assert _upload(ph, "liaison", code, photo, "again.jpg").get_json() == first
    assert sorted(p for p in ph.photo_dir.rglob("*.jpg")) == files
    assert q(ph, "SELECT count(*) FROM incident_photos p JOIN incidents i"
             " ON i.id = p.incident_id WHERE i.code = %s", (code,))[0][0] == 1
    # a PNG with transparency becomes a JPEG too
    second = _upload(ph, "liaison", code, _png(), "shot.png")
    assert second.status_code == 201
    assert second.get_json()["id"] != first["id"]
    incident = ph.client("dispatcher").get(f"/api/v1/incidents/{code}").get_json()
    listed = [{"id": p["id"], "url": p["url"]} for p in incident["photos"]]
    assert listed == [first, second.get_json()]
    # each with when it came and who sent it (the dispatcher's timeline)
    assert [p["created_by"] for p in incident["photos"]] == ["liaison", "liaison"]
    assert all(p["created_at"].endswith("+08:00") for p in incident["photos"])
    tasks = {t["code"]: t for t in
             ph.client("liaison").get("/api/v1/me/tasks").get_json()["items"]}
    assert [{"id": p["id"], "url": p["url"]} for p in tasks[code]["photos"]] == [
        first, second.get_json()]
    # the preview's duplicates name their first photo
    _, lon, lat = _micro(ph, "liaison")
    dupes = ph.client("liaison").post("/api/v1/incidents/preview", json={
        "category": "environment", "source": "grid_worker", "description": "x",
        "lon": lon, "lat": lat}).get_json()["duplicates"]
    assert next(d for d in dupes if d["code"] == code)["photo_url"] == first["url"]


@pytest.mark.parametrize(("data", "status", "needle"), [
    (b"this is a text file, not a picture\n", 400, "not a readable image"),
    (b"", 400, "no photo"),
    (b"GIF89a" + b"\0" * 40, 400, "not a readable image"),
])
def test_a_file_that_is_not_a_photo_is_refused(ph, data, status, needle):
    code = _report(ph, "liaison", "照片拒收").get_json()["code"]
    r = _upload(ph, "liaison", code, data, "photo.jpg")
    assert r.status_code == status, r.get_json()
    error = r.get_json()["error"]
    assert error["field"] == "file" and needle in error["message"]
    assert q(ph, "SELECT count(*) FROM incident_photos p JOIN incidents i"
             " ON i.id = p.incident_id WHERE i.code = %s", (code,))[0][0] == 0


def test_a_photo_of_too_many_pixels_is_refused(ph):
    code = _report(ph, "liaison", "照片过大").get_json()["code"]
    out = io.BytesIO()
    Image.new("L", (8000, 6000)).save(out, "PNG")  # 48 MP, a few KB
    r = _upload(ph, "liaison", code, out.getvalue(), "big.png")
    assert r.status_code == 422 and "40 MP" in r.get_json()["error"]["message"]


# visits ----------------------------------------------------------------------------

def _household(ph, username):
    (hid, lon, lat, tags), = q(ph, "SELECT id, ST_X(geom), ST_Y(geom), tags"
                               " FROM households WHERE grid_code LIKE %s"
                               " AND NOT 'elderly_alone' = ANY(tags)"
                               " ORDER BY id LIMIT 1", (ph.grids[username] + "%",))
    return hid, lon, lat, tags


def test_a_visit_100_m_east_of_the_household_is_100_m_away(ph):
    hid, lon, lat, _ = _household(ph, "liaison")
    # known answer: 100 m due east on the WGS-84 ellipsoid (pyproj's Geod)
    east_lon, east_lat, _ = Geod(ellps="WGS84").fwd(lon, lat, 90, 100)
    key = str(uuid.uuid4())
    body = {"household_id": hid, "note": "家中无异常", "size_seen": 3,
            "lon": east_lon, "lat": east_lat, "accuracy_m": 8,
            "visited_at": "2026-12-01T10:00:00+08:00"}
    r = ph.client("liaison").post("/api/v1/visits", json=body,
                                  headers={"Idempotency-Key": key})
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["distance_m"] == pytest.approx(100, abs=0.2)
    again = ph.client("liaison").post("/api/v1/visits", json=body,
                                      headers={"Idempotency-Key": key})
    assert again.get_json() == r.get_json()
    assert q(ph, "SELECT count(*) FROM visits WHERE household_id = %s",
             (hid,))[0][0] == 1
    # the household list shows the visit
    items = ph.client("liaison").get("/api/v1/me/households").get_json()["items"]
    assert next(h for h in items if h["id"] == hid)["last_visit_at"] \
        == "2026-12-01T10:00:00+08:00"
    # without a position: no distance
    r = ph.client("liaison").post("/api/v1/visits", json={"household_id": hid})
    assert r.status_code == 201 and r.get_json()["distance_m"] is None


@pytest.mark.parametrize(("body", "field"), [
    ({"household_id": None}, "household_id"),
    ({"household_id": "12"}, "household_id"),
    ({"size_seen": 99}, "size_seen"),
    ({"tag_proposed": "no_such_tag"}, "tag_proposed"),
    ({"lon": "east"}, "lon"),
    ({"visited_at": "2999-01-01T00:00:00+08:00"}, "visited_at"),
    ({"visited_at": "yesterday"}, "visited_at"),
    ({"accuracy_m": -1}, "accuracy_m"),
])
def test_a_bad_visit_names_its_field(ph, body, field):
    hid = _household(ph, "liaison")[0]
    body = {"household_id": hid, "lon": 119.7, "lat": 31.3} | body
    r = ph.client("liaison").post("/api/v1/visits", json=body)
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["field"] == field


def test_a_proposed_tag_waits_for_a_dispatcher(ph):
    hid, lon, lat, tags = _household(ph, "liaison")
    r = ph.client("liaison").post("/api/v1/visits", json={
        "household_id": hid, "tag_proposed": "elderly_alone", "lon": lon, "lat": lat})
    visit = r.get_json()["id"]
    assert q(ph, "SELECT tags FROM households WHERE id = %s", (hid,))[0][0] == tags
    assert q(ph, "SELECT tag_state FROM visits WHERE id = %s", (visit,))[0][0] \
        == "pending"
    pending = ph.client("dispatcher").get("/api/v1/visits/pending-tags").get_json()
    mine = next(v for v in pending["items"] if v["id"] == visit)
    assert (mine["household_id"], mine["tag"], mine["tag_label"], mine["username"]) \
        == (hid, "elderly_alone", "独居老人", "liaison")
    assert ph.client("liaison").get("/api/v1/visits/pending-tags").status_code == 403
    url = f"/api/v1/visits/{visit}/confirm-tag"
    for who in ("liaison", "worker", "leader"):
        assert ph.client(who).post(url).status_code == 403, who
    r = ph.client("dispatcher").post(url)
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["tags"] == [*tags, "elderly_alone"]
    assert q(ph, "SELECT tags FROM households WHERE id = %s", (hid,))[0][0] \
        == [*tags, "elderly_alone"]
    r = ph.client("dispatcher").post(url)
    assert r.status_code == 409
    assert visit not in {v["id"] for v in ph.client("dispatcher").get(
        "/api/v1/visits/pending-tags").get_json()["items"]}
    # a dispatcher of another village does not see it
    with psycopg.connect(ph.url) as c:
        if not c.execute("SELECT 1 FROM users WHERE username = 'bdisp'").fetchone():
            users.add_user(c, SYSTEM, "bdisp", "dispatcher", ph.village_b, PASSWORD)
            token = users.create_token(c, SYSTEM, "bdisp", "t")
    assert bearer(ph.app, token).post(url).status_code == 404


def test_a_visit_of_another_villages_household_is_not_found(ph):
    (hid,), = q(ph, "SELECT min(id) FROM households WHERE grid_code LIKE %s",
                (ph.village_b + "%",))
    for who in ("liaison", "worker"):
        r = ph.client(who).post("/api/v1/visits", json={"household_id": hid})
        assert r.status_code == 404 and r.get_json()["error"]["field"] \
            == "household_id"


# patrols ---------------------------------------------------------------------------

def _walk(lon, lat, n, start, step_m=10, step_s=5):
    """``n`` fixes walking east ``step_m`` metres every ``step_s`` seconds."""
    geod, points = Geod(ellps="WGS84"), []
    for i in range(n):
        points.append({"lon": lon, "lat": lat, "accuracy_m": 5, "time": (
            start + dt.timedelta(seconds=step_s * i)).isoformat()})
        lon, lat, _ = geod.fwd(lon, lat, 90, step_m)
    return points


def test_patrol_batches_become_the_days_track_of_the_staff_person(ph):
    _, lon, lat = _micro(ph, "worker")
    start = dt.datetime(2026, 12, 3, 9, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))
    points = _walk(lon, lat, 120, start)
    patrol, worker = str(uuid.uuid4()), ph.client("worker")
    stored = []
    for batch in (points[:50], points[50:]):
        key = str(uuid.uuid4())
        r = worker.post("/api/v1/patrols/points", json={
            "patrol_id": patrol, "points": batch}, headers={"Idempotency-Key": key})
        assert r.status_code == 201, r.get_json()
        stored.append(r.get_json())
        again = worker.post("/api/v1/patrols/points", json={
            "patrol_id": patrol, "points": batch}, headers={"Idempotency-Key": key})
        assert again.get_json() == r.get_json()  # a resend stores nothing
    assert [s["stored"] for s in stored] == [50, 70]
    assert stored[0]["track_id"] == stored[1]["track_id"]
    (staff, day, n, length, seqs), = q(
        ph, "SELECT t.staff_id, t.day, ST_NPoints(t.geom),"
        " ST_Length(t.geom::geography), (SELECT array_agg(seq ORDER BY seq)"
        "  FROM track_points WHERE track_id = t.id) FROM tracks t WHERE t.id = %s",
        (stored[0]["track_id"],))
    assert staff == ph.staff["worker"] and day == dt.date(2026, 12, 3)
    assert n == 120 and seqs == list(range(120))
    expected = Geod(ellps="WGS84").line_length(
        [p["lon"] for p in points], [p["lat"] for p in points])
    assert expected == pytest.approx(1190, abs=0.5)  # 119 steps of 10 m
    assert length == pytest.approx(expected, rel=1e-3)
    # the tracks API reads it like an imported track
    r = ph.client("dispatcher").get(
        f"/api/v1/tracks/summary?staff={staff}&since=2026-12-03&until=2026-12-03")
    assert r.status_code == 200, r.get_json()
    (summary,) = r.get_json()["days"]
    assert summary["distance_m"] == pytest.approx(expected, rel=0.01)


def test_a_patrol_past_midnight_makes_two_days_and_a_late_batch_falls_in_place(ph):
    _, lon, lat = _micro(ph, "liaison")
    start = dt.datetime(2026, 12, 4, 23, 59, 30,
                        tzinfo=dt.timezone(dt.timedelta(hours=8)))
    points = _walk(lon, lat, 12, start)
    patrol, liaison = str(uuid.uuid4()), ph.client("liaison")
    late, early = points[6:], points[:6]
    for batch in (late, early):  # the earlier batch arrives last
        r = liaison.post("/api/v1/patrols/points",
                         json={"patrol_id": patrol, "points": batch})
        assert r.status_code == 201, r.get_json()
    rows = q(ph, "SELECT day, ST_NPoints(geom), ST_X(ST_StartPoint(ST_GeometryN("
             "geom, 1))) FROM tracks WHERE patrol_id = %s ORDER BY day", (patrol,))
    assert [(d.isoformat(), n) for d, n, _ in rows] == [
        ("2026-12-04", 6), ("2026-12-05", 6)]
    assert rows[0][2] == pytest.approx(points[0]["lon"])


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"points": []}, 400, "points"),
    ({"patrol_id": "not-a-uuid"}, 400, "patrol_id"),
    ({"points": [{"lon": 119.7, "lat": 31.3}]}, 400, "points[0].time"),
    ({"points": [{"lon": 119.7, "lat": 131.3, "time": "2026-12-01T10:00:00+08:00"}]},
     400, "points[0].lat"),
    ({"points": [{"lon": 119.7, "lat": 31.3, "time": "2026-12-01T10:00:00+08:00"}]
      * 5001}, 400, "points"),
])
def test_a_bad_patrol_batch_names_its_field(ph, body, status, field):
    body = {"patrol_id": str(uuid.uuid4())} | body
    r = ph.client("worker").post("/api/v1/patrols/points", json=body)
    assert r.status_code == status and r.get_json()["error"]["field"] == field


def test_a_patrol_needs_a_staff_link_and_the_role(ph):
    body = {"patrol_id": str(uuid.uuid4()), "points": _walk(
        119.7, 31.3, 2, dt.datetime(2026, 12, 1, 9, tzinfo=dt.UTC))}
    r = ph.client("dev5").post("/api/v1/patrols/points", json=body)
    assert r.status_code == 409 and "gridgov user link" in r.get_json()["error"][
        "message"]
    assert ph.client("dispatcher").post("/api/v1/patrols/points",
                                        json=body).status_code == 403


# linking accounts to staff on the command line --------------------------------------

def run_cli(ph, *args):
    from click.testing import CliRunner

    from web.cli import main

    return CliRunner().invoke(main, list(args), env={"GRIDGOV_DATABASE_URL": ph.url})


def test_the_command_line_links_accounts_to_staff(ph):
    (free,), = q(ph, "SELECT min(s.id) FROM grid_staff s WHERE s.grid_code LIKE %s"
                 " AND NOT EXISTS (SELECT 1 FROM users u WHERE u.staff_id = s.id)",
                 (ph.village_a + "%",))
    r = run_cli(ph, "user", "add", "cli-liaison", "--role", "grid_liaison", "--grid",
                ph.village_a, "--password", PASSWORD, "--staff", str(free))
    assert r.exit_code == 0, r.output
    assert q(ph, "SELECT role, staff_id FROM users WHERE username = 'cli-liaison'"
             ) == [("grid_liaison", free)]
    # one person, one account
    r = run_cli(ph, "user", "link", "dev5", "--staff", str(free))
    assert r.exit_code == 1 and "cli-liaison" in r.output
    r = run_cli(ph, "user", "link", "dev5", "--staff", "999999")
    assert r.exit_code == 1 and "999999" in r.output
    r = run_cli(ph, "user", "link", "cli-liaison", "--unlink")
    assert r.exit_code == 0, r.output
    assert q(ph, "SELECT staff_id FROM users WHERE username = 'cli-liaison'"
             ) == [(None,)]
    assert run_cli(ph, "user", "link", "cli-liaison").exit_code == 2
    # the database refuses a link to nobody, whatever path makes it
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        q(ph, "UPDATE users SET staff_id = 999999 WHERE username = 'cli-liaison'")


def test_a_demo_reload_relinks_the_demo_accounts(ph, databases, demo_town):
    from layers import demo

    url = databases.new()
    with psycopg.connect(url) as c:
        description = {"scale": "town", "seed": 1, "as_of": "2026-11-01"}
        demo.load(c, demo_town, description)
        demo.ensure_demo_accounts(c)
        before = dict(c.execute("SELECT username, staff_id FROM users"
                                " WHERE staff_id IS NOT NULL").fetchall())
        assert set(before) == {"worker", "liaison"}
        demo.load(c, demo_town, description)  # TRUNCATE of the staff: unlinked
        assert c.execute("SELECT count(*) FROM users WHERE staff_id IS NOT NULL"
                         ).fetchone()[0] == 0
        assert demo.ensure_demo_accounts(c) == []
        after = dict(c.execute("SELECT username, staff_id FROM users"
                               " WHERE staff_id IS NOT NULL").fetchall())
        assert after == before
        roles = dict(c.execute("SELECT u.username, s.role FROM users u JOIN"
                               " grid_staff s ON s.id = u.staff_id").fetchall())
        assert roles == {"worker": "full_time", "liaison": "liaison"}


# 走访率 ----------------------------------------------------------------------------

def test_the_visit_rate_is_the_share_of_households_visited_in_the_month(ph):
    micro = ph.grids["liaison"]
    homes = q(ph, "SELECT id FROM households WHERE grid_code = %s ORDER BY id"
              " LIMIT 2", (micro,))
    (total,), = q(ph, "SELECT count(*) FROM households WHERE grid_code = %s",
                  (micro,))
    liaison = ph.client("liaison")
    for (hid,), day in ((homes[0], "2026-11-03"), (homes[0], "2026-11-20"),
                        (homes[1], "2026-11-30"), (homes[1], "2026-10-31")):
        r = liaison.post("/api/v1/visits", json={
            "household_id": hid, "visited_at": f"{day}T15:00:00+08:00"})
        assert r.status_code == 201
    r = ph.client("dispatcher").get(
        f"/api/v1/stats?grid={micro[:-3]}&level=4&month=2026-11")
    assert r.status_code == 200, r.get_json()
    grid = next(g for g in r.get_json()["grids"] if g["code"] == micro)
    # two households seen in November (one of them twice), of `total`
    assert grid["visited_households"] == 2
    assert grid["visit_rate"] == pytest.approx(2 / total)
    others = [g for g in r.get_json()["grids"] if g["code"] != micro]
    assert all(g["visited_households"] == 0 for g in others)
    assert r.get_json()["total"]["visited_households"] == 2


def test_a_liaison_neither_imports_nor_reads_tracks_nor_edits_households(ph):
    liaison = ph.client("liaison")
    staff = ph.staff["worker"]
    for method, url in (("GET", f"/api/v1/tracks?worker={staff}"),
                        ("GET", f"/api/v1/tracks/summary?staff={staff}"),
                        ("GET", "/api/v1/tracks/workers"),
                        ("GET", "/api/v1/imports"),
                        ("POST", "/api/v1/imports?layer=tracks&dry_run=1")):
        r = liaison.open(url, method=method)
        assert r.status_code == 403 and error_code(r) == "forbidden", (url, r.json)
    me = liaison.get("/api/v1/me").get_json()
    assert me["role_label"] == "网格联络员" and me["staff"]["role"] == "liaison"
    assert [g["code"] for g in me["grids"]] == [ph.grids["liaison"]]
    assert not {"households:personal", "households:tags", "households:edit",
                "imports:run", "tracks:read", "incidents:edit"} & set(
                    me["permissions"])
