"""Every time a person reads is China time and says so (issue 16, Everywhere → Time).

The database stores instants (timestamptz), handed over in the database
session's zone (UTC on the test cluster, whatever a server's is): a known
instant, 2026-12-07 11:30:05 UTC, must read 2026-12-07 19:30(:05) with 北京时间
on the audit log, the users page, an import's "已于 …" refusal and the CSV and
XLSX exports; the API keeps ISO 8601 with its offset.
"""

import csv
import hashlib
import io
import re
from html import unescape

import psycopg
import pytest

from layers import users
from layers.access import SYSTEM
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

UTC_MOMENT = "2026-12-07 11:30:05+00"
CHINA_SHOWN = "2026-12-07 19:30"


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    def setup(c):
        users.add_user(c, SYSTEM, "clocked", "viewer", None, "a-long-password-1")

    return writable_demo(databases, demo_town, setup)


def _row_of(html, marker):
    """The text of the table row of ``html`` holding ``marker``."""
    for row in re.findall(r"<tr.*?</tr>", html, flags=re.S):
        if marker in row:
            return unescape(re.sub(r"<[^>]+>", " ", row))
    raise AssertionError(f"no row with {marker}")


def _header(html, first):
    """The header row of the table whose header holds ``first``."""
    return _row_of(html, first)


def test_the_audit_log_shows_china_time_and_says_so(rw):
    with psycopg.connect(rw.url) as c:
        c.execute("INSERT INTO audit (at, username, action, table_name, row_key)"
                  " VALUES (%s, 'system', 'update', 'grids', 'clock-probe')",
                  (UTC_MOMENT,))
    html = rw.client("admin").get("/admin/audit?table=grids").get_data(as_text=True)
    assert f"{CHINA_SHOWN}:05" in _row_of(html, "clock-probe")
    assert "11:30" not in _row_of(html, "clock-probe")
    assert "时间（北京时间）" in _header(html, "<th>")


def test_the_audit_filter_takes_china_days(rw):
    """17:00 UTC on 7 December is 01:00 on 8 December in China."""
    with psycopg.connect(rw.url) as c:
        c.execute("INSERT INTO audit (at, username, action, table_name, row_key)"
                  " VALUES ('2026-12-07 17:00+00', 'system', 'update', 'grids',"
                  " 'late-probe')")
    admin = rw.client("admin")
    day8 = admin.get("/admin/audit?table=grids&since=2026-12-08&until=2026-12-08")
    day7 = admin.get("/admin/audit?table=grids&since=2026-12-07&until=2026-12-07")
    assert "late-probe" in day8.get_data(as_text=True)
    assert "late-probe" not in day7.get_data(as_text=True)


def test_the_users_page_shows_last_login_in_china_time(rw):
    with psycopg.connect(rw.url) as c:
        c.execute("UPDATE users SET last_login_at = %s WHERE username = 'clocked'",
                  (UTC_MOMENT,))
    html = rw.client("admin").get("/admin/users").get_data(as_text=True)
    row = _row_of(html, "<td>clocked")
    assert CHINA_SHOWN in row and "11:30" not in row
    assert "最近登录（北京时间）" in _header(html, "<th>")


def test_an_import_already_done_says_when_in_china_time(rw, demo_town):
    from tests.integration.test_imports import households_csv, post

    village = demo_town.grids[demo_town.grids.level == 2].code.min()
    data, _ = households_csv(demo_town, village, 0, 3, "CLOCK")
    with psycopg.connect(rw.url) as c:
        c.execute("INSERT INTO imports (file_name, file_sha256, layer, username,"
                  " created_at) VALUES ('households.csv', %s, 'households',"
                  " 'admin', %s)", (hashlib.sha256(data).hexdigest(), UTC_MOMENT))
    r = post(rw.client("admin"), data)
    assert r.status_code == 409, r.get_json()
    message = r.get_json()["error"]["message"]
    assert f"已于 {CHINA_SHOWN} 北京时间 由 admin 导入" in message
    assert f"on {CHINA_SHOWN} China time by admin" in message


def test_the_incidents_csv_export_has_china_time_and_says_so(rw):
    with psycopg.connect(rw.url) as c:
        code, lon, lat = c.execute(
            "SELECT code, ST_X(geom), ST_Y(geom) FROM incidents ORDER BY id LIMIT 1"
        ).fetchone()
        c.execute("UPDATE incidents SET created_at = %s WHERE code = %s",
                  (UTC_MOMENT, code))
    r = rw.client("admin").get(f"/api/v1/search?layer=incidents&lon={lon}&lat={lat}"
                               "&k=1&format=csv")
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True)[1:])))
    header, row = rows[0], dict(zip(rows[0], rows[1], strict=True))
    assert "created_at（北京时间）" in header and "deadline（北京时间）" in header
    assert row["code"] == code
    assert row["created_at（北京时间）"] == f"{CHINA_SHOWN}:05"
    # the API itself keeps ISO 8601 with the offset
    js = rw.client("admin").get(f"/api/v1/search?layer=incidents&lon={lon}"
                                f"&lat={lat}&k=1").get_json()
    assert js["features"][0]["properties"]["created_at"] == \
        "2026-12-07T19:30:05+08:00"


def test_the_ranking_workbook_says_its_time_is_china_time(rw):
    from openpyxl import load_workbook

    r = rw.client("admin").get("/api/v1/rankings?format=xlsx&month=2026-10")
    assert r.status_code == 200
    title = load_workbook(io.BytesIO(r.data)).active["A1"].value
    assert re.search(r"截至 as of \d{4}-\d\d-\d\d \d\d:\d\d 北京时间（China time）",
                     title), title
