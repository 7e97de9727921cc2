"""Other systems: inbound cases registered once, outbound webhooks delivered
through the job queue. Real PostgreSQL, a real worker (`gridgov jobs worker` in a
subprocess), a real receiving HTTP server (http.server in a thread).

Done means (issue 17): a hotline system's retried POST makes one incident and its
URL receives the closing.
"""

import hashlib
import hmac
import io
import json
import os
import socket
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import SimpleNamespace

import psycopg
import pytest

from layers import incidents, jobs, users, webhooks
from layers.access import SYSTEM, Principal
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

PASSWORD = "correct-horse-battery"
SECRET = "s3cret-shared-with-the-hotline"
ATTEMPTS = 6  # the worker's GRIDGOV_JOBS_RETRY_ATTEMPTS here


class Receiver:
    """A webhook receiver on a free loopback port: DOWN (nothing listens:
    connection refused) until ``up(fail_first)``; then it answers 500 to the
    first ``fail_first`` requests and 204 to the rest, keeping every request."""

    def __init__(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}/hook"
        self.requests, self.taken = [], []
        self.server = None
        self.fail_first = 0

    def up(self, fail_first=0):
        receiver = self
        receiver.fail_first = fail_first

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"]))
                seen = SimpleNamespace(headers=dict(self.headers), body=body)
                receiver.requests.append(seen)
                if len(receiver.requests) <= receiver.fail_first:
                    self.send_response(500)
                else:
                    receiver.taken.append(seen)
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


def wait_for(condition, timeout=30, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


@pytest.fixture(scope="module")
def wh(databases, demo_town, tmp_path_factory):
    g = demo_town.grids
    village_a, village_b = sorted(g[g.level == 2].code)[:2]

    def setup(c):
        # the hotline's system account: a dispatcher (registers incidents)
        users.add_user(c, SYSTEM, "hotline12345", "dispatcher", None, PASSWORD)
        users.add_user(c, SYSTEM, "wh-vadmin", "admin", village_a, PASSWORD)

    wd = writable_demo(databases, demo_town, setup)
    wd.app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    with psycopg.connect(wd.url) as c:
        points = {v: c.execute(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
            " FROM grids WHERE level = 4 AND code LIKE %s ORDER BY code LIMIT 1",
            (v + "%",)).fetchone() for v in (village_a, village_b)}
    env = os.environ | {"GRIDGOV_DATABASE_URL": wd.url,
                        "GRIDGOV_HOME": str(tmp_path_factory.mktemp("home")),
                        # the receivers here are on loopback: allowed when
                        # registered (the app's config above) and when sent
                        "GRIDGOV_WEBHOOK_ALLOW_LOOPBACK": "true",
                        "GRIDGOV_JOBS_RETRY_BASE_S": "0.3",
                        "GRIDGOV_JOBS_RETRY_ATTEMPTS": str(ATTEMPTS)}
    worker = subprocess.Popen(
        [sys.executable, "-c", "from web.cli import main; main()", "jobs", "worker",
         "--polling", "0.2"], env=env, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT)
    try:
        with psycopg.connect(wd.url, autocommit=True) as c:  # importing takes a while
            wait_for(lambda: c.execute("SELECT count(*) FROM procrastinate_workers"
                                       ).fetchone()[0] or worker.poll() is not None,
                     timeout=180, what="the worker to start")
        assert worker.poll() is None, worker.stdout.read().decode()
        yield SimpleNamespace(**vars(wd), village_a=village_a, village_b=village_b,
                              points=points, worker=worker)
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        finally:
            if worker.poll() is None:
                worker.kill()
            worker.stdout.close()


@pytest.fixture()
def receiver(wh):
    r = Receiver()
    yield r
    r.close()
    with psycopg.connect(wh.url) as c:  # the next test starts without receivers
        c.execute("DELETE FROM webhooks")


def register_hook(wh, url, events, grid_code=None, who="admin", **extra):
    r = wh.client(who).post("/api/v1/webhooks", json={
        "name": "12345 热线", "url": url, "secret": SECRET, "events": events,
        "grid_code": grid_code} | extra)
    assert r.status_code == 201, r.get_json()
    return r.get_json()


def case(wh, ref, village=None, **extra):
    code, lon, lat = wh.points[village or wh.village_a]
    return {"category": "dispute", "subtype": None, "source": "hotline",
            "reporter": "热线来电 138****0000", "description": f"邻里噪音纠纷 {ref}",
            "lon": lon, "lat": lat, "external_system": "12345",
            "external_ref": ref} | extra


def deliveries(wh, webhook_id):
    with psycopg.connect(wh.url) as c:
        return c.execute("SELECT id, event, incident_code, status, attempts,"
                         " job_id FROM webhook_deliveries WHERE webhook_id = %s"
                         " ORDER BY id", (webhook_id,)).fetchall()


def verify(seen, secret=SECRET):
    expected = "sha256=" + hmac.new(secret.encode(), seen.body,
                                    hashlib.sha256).hexdigest()
    assert hmac.compare_digest(seen.headers["X-Gridgov-Signature"], expected)
    return json.loads(seen.body)


# -- inbound cases ----------------------------------------------------------------

def test_a_retried_hotline_case_makes_one_incident(wh):
    hotline = wh.client("hotline12345")
    first = hotline.post("/api/v1/incidents", json=case(wh, "GD20261207001"))
    assert first.status_code == 201, first.get_json()
    code = first.get_json()["code"]
    assert first.get_json()["external_ref"] == "GD20261207001"
    assert first.get_json()["existing"] is False
    # the same delivery again, without a key: the incident it made
    again = hotline.post("/api/v1/incidents", json=case(wh, "GD20261207001"))
    assert again.status_code == 200, again.get_json()
    assert again.get_json()["code"] == code and again.get_json()["existing"] is True
    # and with an Idempotency-Key (a new key each time, as a resend days later)
    for key in ("k-1", "k-1", "k-2"):
        keyed = hotline.post("/api/v1/incidents", json=case(wh, "GD20261207001"),
                             headers={"Idempotency-Key": key})
        assert keyed.status_code == 200, keyed.get_json()
        assert keyed.get_json()["code"] == code
    with psycopg.connect(wh.url) as c:
        assert c.execute("SELECT count(*) FROM incidents WHERE external_system ="
                         " '12345' AND external_ref = 'GD20261207001'"
                         ).fetchone()[0] == 1


def test_another_case_under_the_same_reference_is_409_naming_it(wh):
    hotline = wh.client("hotline12345")
    assert hotline.post("/api/v1/incidents",
                        json=case(wh, "GD20261207002")).status_code == 201
    other = hotline.post("/api/v1/incidents", json=case(
        wh, "GD20261207002", description="另一件事：占道经营"))
    assert other.status_code == 409
    error = other.get_json()["error"]
    assert error["field"] == "external_ref"
    assert "GD20261207002" in error["message"] and "（" in error["message"]
    # the same reference from another system is another case
    assert hotline.post("/api/v1/incidents", json=case(
        wh, "GD20261207002", external_system="xinfang")).status_code == 201


@pytest.mark.parametrize(("extra", "field"), [
    ({"external_ref": None}, "external_ref"),
    ({"external_system": ""}, "external_system"),
    ({"external_ref": 12345}, "external_ref"),
    ({"external_ref": "x" * 101}, "external_ref"),
    ({"link_to": "SJ202611010001"}, "link_to"),
])
def test_bad_external_references_are_400_naming_the_field(wh, extra, field):
    r = wh.client("hotline12345").post("/api/v1/incidents",
                                       json=case(wh, "GD-BAD", **extra))
    assert r.status_code == 400, r.get_json()
    assert r.get_json()["error"]["field"] == field


# -- outbound webhooks ------------------------------------------------------------

def test_a_delivery_survives_the_receiver_being_down_and_arrives_once(wh, receiver):
    hook = register_hook(wh, receiver.url, ["registered"], wh.village_a)
    r = wh.client("hotline12345").post("/api/v1/incidents",
                                       json=case(wh, "GD20261207003"))
    assert r.status_code == 201
    code = r.get_json()["code"]
    # down: refused, retried with backoff
    wait_for(lambda: (deliveries(wh, hook["id"]) or [(0,) * 5])[0][4] >= 1,
             what="a first refused attempt")
    assert deliveries(wh, hook["id"])[0][3] == "retrying"
    receiver.up(fail_first=1)  # then a 500 once, then up
    wait_for(lambda: deliveries(wh, hook["id"])[0][3] == "delivered",
             what="the delivery")
    (_, event, incident_code, status, attempts, _), = deliveries(wh, hook["id"])
    assert (event, incident_code, status) == ("registered", code, "delivered")
    # refused (once, or more on a slow machine), 500, 204
    assert attempts >= 3
    assert len(receiver.requests) == 2 and len(receiver.taken) == 1
    seen = receiver.taken[0]
    body = verify(seen)
    assert body["event"] == "registered" and body["incident"] == code
    assert body["external_system"] == "12345"
    assert body["external_ref"] == "GD20261207003"
    assert body["status"] == "registered"
    assert body["at"].endswith("+08:00")
    assert seen.headers["X-Gridgov-Delivery"] == str(body["delivery_id"])
    # the same bytes each time: the 500'd attempt carried the same signed body
    assert receiver.requests[0].body == seen.body
    time.sleep(1)  # nothing more arrives
    assert len(receiver.taken) == 1


def test_the_closing_of_a_hotline_case_reaches_its_url(wh, receiver):
    receiver.up()
    register_hook(wh, receiver.url, ["closed"], None)
    hotline = wh.client("hotline12345")
    first = hotline.post("/api/v1/incidents", json=case(wh, "GD20261207004"))
    again = hotline.post("/api/v1/incidents", json=case(wh, "GD20261207004"),
                         headers={"Idempotency-Key": "resend-1"})
    code = first.get_json()["code"]
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["code"] == code
    desk = wh.client("dispatcher")
    for action, body in (("triage", {}), ("accept", {}),
                         ("close", {"outcome": "mediated"})):
        r = desk.post(f"/api/v1/incidents/{code}/{action}", json=body)
        assert r.status_code == 200, r.get_json()
    wait_for(lambda: receiver.taken, what="the closing")
    bodies = [verify(s) for s in receiver.taken]
    assert [(b["event"], b["incident"], b["status"], b["external_ref"])
            for b in bodies] == [("closed", code, "closed", "GD20261207004")]


def test_a_rolled_back_change_sends_nothing(wh, receiver):
    hook = register_hook(wh, receiver.url, ["registered", "escalated"], None)
    code, lon, lat = wh.points[wh.village_a]
    with psycopg.connect(wh.url) as c:
        before_jobs = c.execute("SELECT count(*) FROM procrastinate_jobs").fetchone()[0]
        with c.transaction(force_rollback=True):
            made = incidents.register(c, Principal("dispatcher", "dispatcher"), {
                "category": "environment", "source": "hotline",
                "description": "回滚的登记"}, (lon, lat))
            # inside the change, the outbox row and its job are there
            assert c.execute("SELECT count(*) FROM webhook_deliveries WHERE"
                             " incident_code = %s", (made["code"],)).fetchone()[0] == 1
        assert c.execute("SELECT count(*) FROM webhook_deliveries WHERE"
                         " webhook_id = %s", (hook["id"],)).fetchone()[0] == 0
        assert c.execute("SELECT count(*) FROM procrastinate_jobs"
                         ).fetchone()[0] == before_jobs
    receiver.up()
    time.sleep(1)
    assert receiver.requests == []


def test_a_failed_delivery_is_shown_to_admins_and_retried(wh, receiver):
    # village B's webhook: the village A admin sees neither it nor its jobs
    hook = register_hook(wh, receiver.url, ["escalated"], wh.village_b)
    r = wh.client("hotline12345").post("/api/v1/incidents", json=case(
        wh, "GD20261207005", village=wh.village_b))
    code = r.get_json()["code"]
    assert wh.client("dispatcher").post(
        f"/api/v1/incidents/{code}/escalate", json={}).status_code == 200
    wait_for(lambda: deliveries(wh, hook["id"])[0][3] == "failed", timeout=60,
             what="the delivery to fail")
    assert deliveries(wh, hook["id"])[0][4] == ATTEMPTS
    job_id = deliveries(wh, hook["id"])[0][5]
    listed = wh.client("admin").get("/api/v1/admin/jobs?status=failed").get_json()
    mine = [j for j in listed["items"] if j["id"] == job_id]
    assert mine and mine[0]["delivery_status"] == "failed"
    assert mine[0]["webhook_url"] == receiver.url and mine[0]["last_error"]
    assert listed["failed"] >= 1
    scoped = wh.client("wh-vadmin")
    assert job_id not in [j["id"] for j in scoped.get(
        "/api/v1/admin/jobs").get_json()["items"]]
    assert scoped.post(f"/api/v1/admin/jobs/{job_id}/retry").status_code == 404
    assert scoped.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    # the receiver comes back; the admin retries
    receiver.up()
    again = wh.client("admin").post(f"/api/v1/admin/jobs/{job_id}/retry")
    assert again.status_code == 200, again.get_json()
    wait_for(lambda: deliveries(wh, hook["id"])[0][3] == "delivered",
             what="the retried delivery")
    assert [verify(s)["event"] for s in receiver.taken] == ["escalated"]
    # a job that has not failed cannot be retried
    r = wh.client("admin").post(f"/api/v1/admin/jobs/{job_id}/retry")
    assert r.status_code == 409 and r.get_json()["error"]["field"] == "job_id"


# -- checked again when sent, and sent to the address checked --------------------

def _resolver(answers):
    """A resolver (socket.getaddrinfo's signature) answering ``answers[host]``,
    counting its calls: the test's DNS, the production code path unchanged."""
    calls = []

    def resolve(host, port, *args, **kwargs):
        calls.append(host)
        if host not in answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    resolve.calls = calls
    return resolve


def _outbox_row(wh, url, code="SJ-PIN-1"):
    """A webhook for ``url`` and one outbox row for it, with no job (the module's
    worker must not send it: the test calls ``webhooks.deliver`` itself)."""
    with psycopg.connect(wh.url) as c:
        hook = c.execute(
            "INSERT INTO webhooks (name, url, secret, events, grid_code, active,"
            " created_by) VALUES ('pin', %s, %s, '{registered}', NULL, true,"
            " 'admin') RETURNING id", (url, SECRET)).fetchone()[0]
        delivery = c.execute(
            "INSERT INTO webhook_deliveries (webhook_id, event, incident_code,"
            " body) VALUES (%s, 'registered', %s, %s) RETURNING id",
            (hook, code, json.dumps({"incident": code}))).fetchone()[0]
    return hook, delivery


def _autocommit(wh):
    """A connection as the worker's (each statement kept, as a raise leaves it)."""
    return psycopg.connect(wh.url, autocommit=True)


def _delivery(wh, delivery):
    with psycopg.connect(wh.url) as c:
        return c.execute("SELECT status, attempts, last_error FROM"
                         " webhook_deliveries WHERE id = %s", (delivery,)).fetchone()


def test_a_name_that_now_resolves_to_loopback_is_refused_when_sending(wh, receiver):
    receiver.up()
    # registered when hooks.example.test resolved to a public address …
    public = _resolver({"hooks.example.test": "192.0.2.10"})
    url = f"http://hooks.example.test:{receiver.port}/hook"
    assert webhooks.check_url(url, resolve=public) == url
    _, delivery = _outbox_row(wh, url)
    # … and now to this machine (DNS rebinding): refused, failed with the reason
    rebound = _resolver({"hooks.example.test": "127.0.0.1"})
    with _autocommit(wh) as c, pytest.raises(webhooks.DeliveryRefused):
        webhooks.deliver(c, delivery, resolve=rebound)
    status, attempts, error = _delivery(wh, delivery)
    assert (status, attempts) == ("failed", 1)
    assert "127.0.0.1" in error and "hooks.example.test" in error and "（" in error
    assert receiver.requests == []
    # a name of the system's resolver too (localhost), and the queue does not
    # retry such a job (an administrator may)
    _, again = _outbox_row(wh, f"http://localhost:{receiver.port}/hook", "SJ-PIN-2")
    with _autocommit(wh) as c, pytest.raises(webhooks.DeliveryRefused) as e:
        webhooks.deliver(c, again)
    assert _delivery(wh, again)[0] == "failed" and receiver.requests == []
    job = SimpleNamespace(attempts=0)
    assert jobs.WEBHOOK_RETRY.get_retry_decision(exception=e.value, job=job) is None
    assert jobs.WEBHOOK_RETRY.get_retry_decision(
        exception=webhooks.DeliveryFailed("x"), job=job) is not None


def test_the_post_goes_to_the_address_checked(wh, receiver):
    """Resolved once, at the check; the connection goes to that address (a name
    no real resolver knows), the name in the Host header."""
    receiver.up()
    resolve = _resolver({"receiver.gridgov.test": "127.0.0.1"})
    _, delivery = _outbox_row(wh, f"http://receiver.gridgov.test:{receiver.port}"
                                  "/hook?from=gridgov")
    with _autocommit(wh) as c:
        assert webhooks.deliver(c, delivery, allow_loopback=True,
                                resolve=resolve) == "delivered"
    assert resolve.calls == ["receiver.gridgov.test"]
    (seen,) = receiver.taken
    assert seen.headers["Host"] == f"receiver.gridgov.test:{receiver.port}"
    assert verify(seen) == {"incident": "SJ-PIN-1"}
    assert _delivery(wh, delivery)[:2] == ("delivered", 1)
    # a name that does not resolve now: retried later, as a receiver down
    _, later = _outbox_row(wh, "http://gone.gridgov.test/hook", "SJ-PIN-3")
    with _autocommit(wh) as c, pytest.raises(webhooks.DeliveryFailed) as e:
        webhooks.deliver(c, later, allow_loopback=True, resolve=resolve)
    assert not isinstance(e.value, webhooks.DeliveryRefused)
    status, _, error = _delivery(wh, later)
    assert status == "retrying" and "gone.gridgov.test" in error


def test_the_worker_reads_the_loopback_setting():
    assert webhooks.loopback_allowed("true") and webhooks.loopback_allowed(True)
    assert webhooks.loopback_allowed(1) and webhooks.loopback_allowed("yes")
    assert not any(webhooks.loopback_allowed(v)
                   for v in (None, "", "false", "0", False, "no"))


# -- a bulk import tells the webhooks as a single registration does --------------

def test_an_incident_import_sends_one_delivery_per_registered_incident(wh,
                                                                       receiver):
    receiver.up()
    hook = register_hook(wh, receiver.url, ["registered", "dispatched"])
    code, lon, lat = wh.points[wh.village_a]
    rows = ["事件编号,类别,来源,描述,状态,lon,lat",
            f"IMP-W1,矛盾纠纷,热线,导入一,,{lon},{lat}",
            f"IMP-W2,环境,热线,导入二,,{lon},{lat}",
            f"IMP-W3,矛盾纠纷,热线,导入三,dispatched,{lon},{lat}"]
    data = ("\n".join(rows) + "\n").encode()

    def send(**args):
        return wh.client("admin").post(
            "/api/v1/imports", query_string={"layer": "incidents", **args},
            data={"file": (io.BytesIO(data), "incidents.csv")},
            content_type="multipart/form-data")

    preview = send(dry_run="true")
    assert preview.status_code == 200, preview.get_json()
    assert deliveries(wh, hook["id"]) == []  # a preview tells nobody
    done = send()
    assert done.status_code in (200, 201), done.get_json()
    assert done.get_json()["counts"]["added"] == 3
    told = [(event, code) for _, event, code, *_ in deliveries(wh, hook["id"])]
    # one registration each, and W3's dispatch after its registration
    assert sorted(told) == sorted([("registered", "IMP-W1"), ("registered", "IMP-W2"),
                                   ("registered", "IMP-W3"),
                                   ("dispatched", "IMP-W3")])
    assert [e for e, c in told if c == "IMP-W3"] == ["registered", "dispatched"]
    wait_for(lambda: len(receiver.taken) == 4, what="the four deliveries")
    bodies = sorted((b["incident"], b["event"], b["status"])
                    for b in map(verify, receiver.taken))
    assert bodies == [("IMP-W1", "registered", "registered"),
                      ("IMP-W2", "registered", "registered"),
                      ("IMP-W3", "dispatched", "dispatched"),
                      ("IMP-W3", "registered", "registered")]


# -- registering webhooks ---------------------------------------------------------

@pytest.mark.parametrize(("body", "field"), [
    ({"url": "ftp://example.org/hook"}, "url"),
    ({"url": "not a url"}, "url"),
    ({"url": "http://user:pw@example.org/hook"}, "url"),
    ({"url": "http://169.254.169.254/latest/meta-data"}, "url"),
    ({"url": "http://[::1]:8080/hook"}, "url"),
    ({"url": "http://127.0.0.1:9/hook"}, "url"),
    ({"url": "http://metadata.google.internal/"}, "url"),
    ({"events": ["opened"]}, "events"),
    ({"events": []}, "events"),
    ({"events": "closed"}, "events"),
    ({"secret": "short"}, "secret"),
    ({"name": ""}, "name"),
    ({"active": "yes"}, "active"),
    ({"grid_code": "999999999"}, "grid_code"),
])
def test_bad_webhooks_are_400_naming_the_field(wh, body, field):
    wh.app.config["WEBHOOK_ALLOW_LOOPBACK"] = False
    try:
        r = wh.client("admin").post("/api/v1/webhooks", json={
            "name": "x", "url": "http://192.0.2.10/hook", "events": ["closed"]} | body)
    finally:
        wh.app.config["WEBHOOK_ALLOW_LOOPBACK"] = True
    assert r.status_code == 400, r.get_json()
    error = r.get_json()["error"]
    assert error["field"] == field and "（" in error["message"]


def test_webhooks_crud_and_jurisdiction(wh):
    scoped = wh.client("wh-vadmin")
    made = scoped.post("/api/v1/webhooks", json={
        "name": "村 A", "url": "http://192.0.2.10/hook", "events": ["closed"]})
    assert made.status_code == 201
    hook = made.get_json()
    # the scoped admin's hook covers its jurisdiction; the secret is made, shown once
    assert hook["grid_code"] == wh.village_a and len(hook["secret"]) == 64
    assert "secret" not in scoped.get(f"/api/v1/webhooks/{hook['id']}").get_json()
    outside = scoped.post("/api/v1/webhooks", json={
        "name": "村 B", "url": "http://192.0.2.10/hook", "events": ["closed"],
        "grid_code": wh.village_b})
    assert outside.status_code == 403
    assert outside.get_json()["error"]["field"] == "grid_code"
    changed = scoped.put(f"/api/v1/webhooks/{hook['id']}",
                         json={"events": ["closed", "evaluated"], "active": False})
    assert changed.status_code == 200
    assert changed.get_json()["events"] == ["closed", "evaluated"]
    assert changed.get_json()["active"] is False
    assert scoped.put(f"/api/v1/webhooks/{hook['id']}",
                      json={"colour": "red"}).status_code == 400
    ids = [h["id"] for h in scoped.get("/api/v1/webhooks").get_json()["items"]]
    assert hook["id"] in ids
    assert all(h["grid_code"].startswith(wh.village_a) for h in
               scoped.get("/api/v1/webhooks").get_json()["items"])
    assert scoped.delete(f"/api/v1/webhooks/{hook['id']}").status_code == 204
    assert scoped.get(f"/api/v1/webhooks/{hook['id']}").status_code == 404
    # not for a dispatcher
    assert wh.client("dispatcher").get("/api/v1/webhooks").status_code == 403


# -- the queue's own jobs -----------------------------------------------------------

def test_the_daily_purge_is_scheduled_in_the_database_and_purges(wh):
    periodic = {t.task.name: t
                for t in jobs.app.periodic_registry.periodic_tasks.values()}
    assert periodic[jobs.PURGE].cron == jobs.DAILY_PURGE_CRON
    with psycopg.connect(wh.url, autocommit=True) as c:
        user_id = c.execute("SELECT id FROM users WHERE username = 'admin'"
                            ).fetchone()[0]
        with c.transaction(force_rollback=True):
            c.execute("INSERT INTO sessions (id_sha256, user_id, idle, expires_at)"
                      " VALUES (%s, %s, '1 hour', now() - interval '1 minute'),"
                      " (%s, %s, '1 hour', now() + interval '1 hour')",
                      ("a" * 64, user_id, "b" * 64, user_id))
            c.execute("INSERT INTO idempotency_keys (user_id, key, request_sha256,"
                      " created_at) VALUES (%s, 'old', %s, now() - interval '31 days'),"
                      " (%s, 'new', %s, now())", (user_id, "c" * 64, user_id, "d" * 64))
            done = jobs.purge(c)
            assert done["sessions"] >= 1 and done["idempotency_keys"] >= 1
            assert c.execute("SELECT count(*) FROM sessions WHERE id_sha256 = %s",
                             ("b" * 64,)).fetchone()[0] == 1
            assert c.execute("SELECT key FROM idempotency_keys WHERE user_id = %s",
                             (user_id,)).fetchall() == [("new",)]
        # the real worker runs it (as the schedule defers it, every day)
        with c.transaction():
            job_id = jobs.defer(c, jobs.PURGE, queue="maintenance", timestamp=0)
        wait_for(lambda: c.execute(
            "SELECT status::text FROM procrastinate_jobs WHERE id = %s",
            (job_id,)).fetchone()[0] == "succeeded", what="the purge job")


def test_the_queue_schema_is_applied_idempotently_by_an_ordinary_role(
        wh, server_url):
    """procrastinate's schema needs no superuser: a role owning its database
    applies it once, and migrate after that applies nothing."""
    from psycopg import sql
    from psycopg.conninfo import make_conninfo

    from layers import db

    role, name = "gg_plain_owner", "gridgov_test_plain_queue"
    with psycopg.connect(server_url, autocommit=True) as c:
        c.execute(sql.SQL("DROP DATABASE IF EXISTS {}").format(sql.Identifier(name)))
        c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
        c.execute(sql.SQL("CREATE ROLE {} LOGIN NOSUPERUSER").format(
            sql.Identifier(role)))
        c.execute(sql.SQL("CREATE DATABASE {} OWNER {}").format(
            sql.Identifier(name), sql.Identifier(role)))
    try:
        url = make_conninfo(server_url, dbname=name, user=role)
        with db.connect(url) as c:
            assert not c.execute("SELECT rolsuper FROM pg_roles"
                                 " WHERE rolname = current_user").fetchone()[0]
            c.execute("SET search_path = public")  # PG 15+: the owner's schema
            with c.transaction():
                db._ensure_table(c)
            assert db._queue_schema(c) is True
            assert db._queue_schema(c) is False
            assert c.execute("SELECT count(*) FROM schema_migrations WHERE version"
                             " = 'procrastinate'").fetchone()[0] == 1
    finally:
        with psycopg.connect(server_url, autocommit=True) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                sql.Identifier(name)))
            c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(role)))
    with db.connect(wh.url) as c:  # the demo copy: migrated, nothing left to apply
        assert db.migrate(c) == []


def test_signature_helper_matches_hmac():
    # the documented header: sha256=<hex HMAC-SHA256 of the body with the secret>
    assert webhooks.sign("key", b"{}") == "sha256=" + hmac.new(
        b"key", b"{}", hashlib.sha256).hexdigest()


def test_jobs_list_and_retry_from_the_command_line(wh, tmp_path):
    from click.testing import CliRunner

    from web.cli import main

    with psycopg.connect(wh.url, autocommit=True) as c:
        job = c.execute(  # a failed purge (retried, the worker runs it)
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status,"
            " attempts) VALUES ('maintenance', 'gridgov.purge_expired',"
            " '{\"timestamp\": 0}', 'failed', 1) RETURNING id").fetchone()[0]
        c.execute("INSERT INTO procrastinate_events (job_id, type, at)"
                  " VALUES (%s, 'failed', '2026-12-07T11:30:05Z')", (job,))
    env = {"GRIDGOV_DATABASE_URL": wh.url, "GRIDGOV_HOME": str(tmp_path)}
    listed = CliRunner().invoke(main, ["jobs", "list", "--status", "failed"], env=env)
    assert listed.exit_code == 0, listed.output
    line = next(x for x in listed.output.splitlines() if x.split()[:1] == [str(job)])
    assert "failed" in line and "2026-12-07 19:30:05" in line  # China time
    assert "(China time)" in listed.output.splitlines()[0]
    done = CliRunner().invoke(main, ["jobs", "retry", str(job)], env=env)
    assert done.exit_code == 0 and f"job {job}" in done.output
    again = CliRunner().invoke(main, ["jobs", "retry", str(job)], env=env)
    assert again.exit_code == 1 and "只有失败的任务" in again.output
    missing = CliRunner().invoke(main, ["jobs", "retry", "999999"], env=env)
    assert missing.exit_code == 1 and "999999" in missing.output
