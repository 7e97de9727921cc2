"""网格公示牌 of a town, or past NOTICES_SYNC_PAGES pages, drawn by the job queue
(issue 17): the request answers 202 with the print, the job draws it (its
function run here, then once through a real ``gridgov jobs worker --once``), and
the PDF is downloaded within the jurisdiction. A village's stays synchronous
(tests/integration/test_notices.py)."""

import io
import os
import re
import subprocess
import sys

import psycopg
import pypdf
import pytest

from layers import notice_prints
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

TOWN = "320282105"
VILLAGE = f"{TOWN}001"
NEIGHBOUR = f"{TOWN}002"
LEVEL3 = f"{VILLAGE}001"
LEVEL3_B = f"{VILLAGE}002"
ACCOUNTS = {"vleader": ("leader", VILLAGE), "nleader": ("leader", NEIGHBOUR)}


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    from layers import users
    from layers.access import SYSTEM

    def setup(conn):
        for name, (role, root) in ACCOUNTS.items():
            users.add_user(conn, SYSTEM, name, role, grid_code=root)

    return writable_demo(databases, demo_town, setup)


def _db(rw, query, *params):
    with psycopg.connect(rw.url) as c:
        return c.execute(query, params).fetchall()


def _pages_under(rw, code):
    return [c for (c,) in _db(rw, "SELECT code FROM grids WHERE code LIKE %s"
                                  " AND level IN (3, 4) ORDER BY code", code + "%")]


def _page_codes(body):
    reader = pypdf.PdfReader(io.BytesIO(body))
    return [re.search(r"编码 ([0-9]+)", p.extract_text()).group(1)
            for p in reader.pages]


def _asked(rw, who, code, monkeypatch, sync_max=2):
    monkeypatch.setitem(rw.app.config, "NOTICES_SYNC_PAGES", sync_max)
    r = rw.client(who).get(f"/api/v1/grids/{code}/notices.pdf")
    assert r.status_code == 202, r.get_data(as_text=True)[:300]
    return r


def test_past_the_threshold_the_pdf_is_a_job_its_function_draws(rw, monkeypatch):
    leader = rw.client("vleader")
    r = _asked(rw, "vleader", LEVEL3, monkeypatch)
    job = r.get_json()
    expected = _pages_under(rw, LEVEL3)
    assert len(expected) > 2
    assert r.headers["Location"] == job["url"] == f"/api/v1/notice-prints/{job['id']}"
    assert (job["status"], job["pages"], job["done"], job["download"]) == (
        "pending", len(expected), 0, None)
    assert job["created_at"].endswith("+08:00")
    # asked again while it waits: the same print, no second job
    again = leader.get(f"/api/v1/grids/{LEVEL3}/notices.pdf")
    assert again.status_code == 202 and again.get_json()["id"] == job["id"]
    # the job was deferred with the request's change; asking for it is audited
    (task, args), = _db(rw, "SELECT task_name, args FROM procrastinate_jobs"
                            " WHERE id = %s", job["job_id"])
    assert task == "gridgov.print_notices" and args["print_id"] == job["id"]
    assert _db(rw, "SELECT username, action FROM audit WHERE table_name ="
                   " 'notice_prints' AND row_key = %s", str(job["id"])) == [
        ("vleader", "create")]
    # not ready yet: 409 naming the print
    early = leader.get(f"{job['url']}/notices.pdf")
    assert early.status_code == 409
    assert early.get_json()["error"]["field"] == "print_id"
    # the job's work, run here
    with psycopg.connect(rw.url, autocommit=True) as c:
        assert notice_prints.run(c, job["id"]) == "ready"
    state = leader.get(job["url"]).get_json()
    assert (state["status"], state["done"], state["pages"]) == (
        "ready", len(expected), len(expected))
    assert state["download"] == f"{job['url']}/notices.pdf"
    pdf = leader.get(state["download"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert pdf.headers["Content-Disposition"] == \
        f"attachment; filename=notices-{LEVEL3}.pdf"
    assert _page_codes(pdf.get_data()) == expected
    # within the jurisdiction only, and for the roles that print
    for who, status in (("nleader", 404), ("worker", 403), ("leader", 200)):
        assert rw.client(who).get(job["url"]).status_code == status, who
        assert rw.client(who).get(state["download"]).status_code == status, who


def test_the_real_worker_draws_a_print(rw, monkeypatch, tmp_path):
    job = _asked(rw, "vleader", LEVEL3_B, monkeypatch).get_json()
    env = os.environ | {"GRIDGOV_DATABASE_URL": rw.url,
                        "GRIDGOV_HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", "from web.cli import main; main()", "jobs", "worker",
         "--once", "--polling", "0.2"], env=env, capture_output=True, text=True,
        timeout=900, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    state = rw.client("vleader").get(job["url"]).get_json()
    assert state["status"] == "ready", state
    pdf = rw.client("vleader").get(state["download"])
    assert _page_codes(pdf.get_data()) == _pages_under(rw, LEVEL3_B)


def test_a_towns_notices_are_always_a_job(rw):
    r = rw.client("leader").get(f"/api/v1/grids/{TOWN}/notices.pdf")
    try:
        assert r.status_code == 202, r.get_data(as_text=True)[:300]
        job = r.get_json()
        assert job["pages"] == len(_pages_under(rw, TOWN)) > 100
        assert job["status"] == "pending"
        # the village's leader does not see the town's print
        assert rw.client("vleader").get(job["url"]).status_code == 404
    finally:  # not drawn here (about a minute): the job leaves the queue
        with psycopg.connect(rw.url) as c:
            c.execute("DELETE FROM procrastinate_jobs WHERE task_name ="
                      " 'gridgov.print_notices' AND status = 'todo'")


def test_a_failed_print_says_why(rw, monkeypatch):
    job = _asked(rw, "vleader", f"{VILLAGE}003", monkeypatch).get_json()
    with psycopg.connect(rw.url, autocommit=True) as c:
        # its grid gone before the job ran (another helper's recode, a delete)
        c.execute("UPDATE notice_prints SET grid_code = '320282105001999'"
                  " WHERE id = %s", (job["id"],))
        with pytest.raises(Exception, match="320282105001999"):
            notice_prints.run(c, job["id"])
        c.execute("DELETE FROM procrastinate_jobs WHERE id = %s", (job["job_id"],))
    state = rw.client("vleader").get(job["url"]).get_json()
    assert state["status"] == "failed" and "320282105001999" in state["error"]
