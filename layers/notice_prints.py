"""网格公示牌 printed by the job queue: a town's notices in one PDF, and any PDF
of more pages than a request should wait for.

A town's ~116 pages take about a minute to draw (0.55 s a page measured on a
village), past what a request should hold a worker and a browser for. So
``GET /grids/<code>/notices.pdf`` draws a village's PDF at once as before, but
for a town, or past ``sync_max`` pages (``NOTICES_SYNC_PAGES``), it writes a
``notice_prints`` row (migration 0034) and defers ``gridgov.print_notices`` in
the same transaction (:func:`start`); the answer is 202 with the print's URL.
The job (:func:`run`) draws the pages as the requester may see them (their
name, role and jurisdiction are kept on the row), counting them as it goes
(``done``), and stores the PDF; the page polls the print and offers the file
when it is ready. A print is read and downloaded within the jurisdiction, as
the synchronous PDF is (a print of a grid outside it is unseen: 404, like the
grid); asking for it is an edit (the row and its job), audited as one.
A second request for the same grid while its print is still waiting or being
drawn gets that print, not a second job.
"""

import datetime as dt

from psycopg.rows import dict_row

from geo import workdays
from geo.catalogue import CATALOGUE, say
from layers import audit, jobs, notice_print, notices
from layers.access import Principal
from layers.errors import Conflict, NotFound

__all__ = ["SYNC_MAX", "plan", "start", "get_print", "pdf", "run"]

# pages drawn within the request (~0.55 s each: about 20 s); past it, a job
SYNC_MAX = 40
_TOWN = 1  # a town's notices are always a job

_PRINT = """
SELECT id, grid_code, requested_by, status, pages, done, error, job_id, created_at,
       finished_at
FROM notice_prints WHERE id = %s AND grid_code LIKE %s
"""


def plan(conn, principal, code, sync_max=SYNC_MAX):
    """The pages of grid ``code``'s notices (``notices.notice_codes``: NotFound,
    Unprocessable as there) and whether they are drawn by a job: ``(codes,
    as_job)``; a job for a town, or for more than ``sync_max`` pages."""
    codes = notices.notice_codes(conn, principal, code)
    level = conn.execute("SELECT level FROM grids WHERE code = %s",
                         (code,)).fetchone()[0]
    return codes, level <= _TOWN or len(codes) > sync_max


def start(conn, principal, code, pages, basemap_file=None, centre=None):
    """Start the print of grid ``code``'s ``pages`` notices as a job (or give
    the one of this grid still waiting or being drawn); returns the print
    (:func:`get_print`'s answer). ``basemap_file`` and ``centre`` are the
    deployment's, handed to the job."""
    with conn.transaction():
        running = conn.execute(
            "SELECT id FROM notice_prints WHERE grid_code = %s AND scope"
            " IS NOT DISTINCT FROM %s AND status IN ('pending', 'running')"
            " ORDER BY id DESC LIMIT 1 FOR UPDATE",
            (code, principal.grid_code)).fetchone()
        if running is not None:
            return get_print(conn, principal, running[0])
        print_id = conn.execute(
            "INSERT INTO notice_prints (grid_code, requested_by, role, scope, pages)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (code, principal.username, principal.role, principal.grid_code,
             pages)).fetchone()[0]
        job_id = jobs.defer(conn, jobs.PRINT_NOTICES, queue="prints",
                            print_id=print_id, basemap_file=basemap_file,
                            centre=centre)
        conn.execute("UPDATE notice_prints SET job_id = %s WHERE id = %s",
                     (job_id, print_id))
        audit.record(conn, principal, "create", "notice_prints", str(print_id),
                     after={"grid_code": code, "pages": pages}, grid_code=code)
        return get_print(conn, principal, print_id)


def _out(row):
    return {k: (v.astimezone(workdays.CHINA_TZ).isoformat()
                if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def get_print(conn, principal, print_id):
    """A print of a grid in the user's jurisdiction: ``{id, grid_code,
    requested_by, status (pending, running, ready, failed), pages, done, error,
    job_id, created_at, finished_at}``; NotFound otherwise."""
    row = conn.cursor(row_factory=dict_row).execute(
        _PRINT, (print_id, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_no_notice_print", print_id=print_id),
                       field="print_id")
    return _out(row)


def pdf(conn, principal, print_id):
    """``(grid code, the PDF's bytes)`` of a ready print in the jurisdiction;
    Conflict (409) naming its state while it is not ready."""
    found = get_print(conn, principal, print_id)
    if found["status"] != "ready":
        raise Conflict(say("err_notice_print_not_ready", print_id=print_id,
                           status=found["status"], done=found["done"],
                           pages=found["pages"]),
                       field="print_id", state=found["status"])
    body = conn.execute("SELECT pdf FROM notice_prints WHERE id = %s",
                        (print_id,)).fetchone()[0]
    return found["grid_code"], bytes(body)


def run(conn, print_id, basemap_file=None, centre=None):
    """The job's work, on an autocommit connection (each count seen at once):
    draw the print's notices, a page at a time, as its requester may see them,
    and store the PDF; the print 'failed' with the reason if it cannot be
    drawn (and the error raised again, the job failed too). A print already
    ready or failed is left as it is. Returns its status."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT grid_code, requested_by, role, scope, status FROM notice_prints"
        " WHERE id = %s", (print_id,)).fetchone()
    if row is None or row["status"] in ("ready", "failed"):
        return row and row["status"]
    principal = Principal(row["requested_by"], row["role"], row["scope"])
    code = row["grid_code"]
    try:
        codes = notices.notice_codes(conn, principal, code)
        conn.execute("UPDATE notice_prints SET status = 'running', pages = %s,"
                     " done = 0 WHERE id = %s", (len(codes), print_id))

        def pages():
            for done, page in enumerate(codes):
                if done:
                    conn.execute("UPDATE notice_prints SET done = %s WHERE id = %s",
                                 (done, print_id))
                found = notices.notice(conn, principal, page)
                yield found, notice_print.context(found, basemap_file)

        body = notice_print.render_many(
            pages(), f"{CATALOGUE['notice_title'][0]} {code}", centre=centre)
    except Exception as exc:
        conn.execute("UPDATE notice_prints SET status = 'failed', error = %s,"
                     " finished_at = now() WHERE id = %s",
                     (str(getattr(exc, "message", None) or exc)[:500], print_id))
        raise
    conn.execute("UPDATE notice_prints SET status = 'ready', done = pages,"
                 " pdf = %s, finished_at = now() WHERE id = %s", (body, print_id))
    return "ready"
