"""The job queue: procrastinate on gridgov's own database, its tasks and schedule.

Work outside a request runs here: webhook deliveries (``deliver_webhook``),
the daily purge (``purge_expired``), the daily warnings, and the notices' PDFs
too long for a request (``print_notices``). procrastinate keeps its jobs in
``procrastinate_*`` tables of the same database (schema applied by
``layers.db.migrate``), so a job is deferred in the transaction of the change
that needs it (``defer(conn, ...)``): a rolled-back change defers nothing, a
committed one is never lost.

The schedule lives in the database as procrastinate keeps it: the cron lines are
declared with the tasks below, and each run is claimed once in
``procrastinate_periodic_defers`` (task, timestamp) by whichever worker gets
there first, so two workers never purge twice (a tick missed by more than
ten minutes while no worker ran is skipped: the purge is idempotent, the next
day's catches up). A table of our own would only restate that; when schedules
become an admin's choice (the monthly reports' day) they go in a table read by
one periodic task.

Why the sender of a webhook sits in layers/ (layers/webhooks.py): the change
that writes the outbox row lives here and defers the job in its transaction, and
layers/ imports nothing above it; the HTTP POST is a dozen lines of the standard
library beside the SQL it records.

Scope of what an administrator sees (``list_jobs``, ``retry_job``): a global
administrator every job; an administrator scoped to a grid only the deliveries
of the webhooks registered for that grid's subtree (their URLs and errors), never
the deployment's own jobs (the purge).
"""

import datetime as dt
import os

import procrastinate
import psycopg
from procrastinate.retry import BaseRetryStrategy, RetryDecision
from procrastinate.sql import queries as procrastinate_queries
from psycopg import sql
from psycopg.rows import dict_row

from geo import workdays
from geo.catalogue import say
from layers import audit
from layers.errors import Conflict, Invalid, NotFound

__all__ = ["app", "DELIVER", "PURGE", "PRINT_NOTICES", "DAILY_PURGE_CRON",
           "MONTHLY_REPORTS", "MONTHLY_REPORTS_CRON", "PARTITIONS", "WEBHOOK_RETRY",
           "defer", "run_worker", "list_jobs", "retry_job", "purge", "STATUSES"]

# Built here, opened by the worker (run_worker) or never: an App holds no
# connection until opened, like a Blueprint; deferring goes through the
# caller's connection (``defer``).
app = procrastinate.App(connector=procrastinate.PsycopgConnector())

DELIVER = "gridgov.deliver_webhook"
PURGE = "gridgov.purge_expired"
WARNINGS = "gridgov.early_warnings"
PRINT_NOTICES = "gridgov.print_notices"
# 01:30 China time (17:30 UTC), the day just ended being complete
DAILY_WARNINGS_CRON = "30 17 * * *"
MONTHLY_REPORTS = "gridgov.monthly_reports"
# 02:00 China time on the 1st, after the month's last warnings (01:30): cron
# lines are UTC, where that moment is 18:00 on the month's last day, which cron
# cannot name -- so every 28th-31st, and the task does its work only when it is
# the 1st in China (monthly_reports below).
MONTHLY_REPORTS_CRON = "0 18 28-31 * *"
# 03:17 China time (19:17 UTC: procrastinate reads cron lines in UTC)
DAILY_PURGE_CRON = "17 19 * * *"
PARTITIONS = "gridgov.partitions"
# 03:47 China time: rows waiting in a DEFAULT partition moved to their county's,
# the track point months made ahead (layers/partitions.py)
DAILY_PARTITIONS_CRON = "47 19 * * *"
STATUSES = ("todo", "doing", "succeeded", "failed", "cancelled", "aborting",
            "aborted")
FINISHED_KEEP_DAYS = 30   # succeeded jobs and delivered deliveries kept this long
PRINTS_KEEP_DAYS = 7  # a printed PDF (a town's: megabytes) kept this long


class Backoff(BaseRetryStrategy):
    """Exponential backoff: ``base * 2 ** attempts`` seconds (capped at ``cap``),
    ``attempts`` runs in all; then the job is failed (an admin may retry it).

    Both are deployment settings of the worker's environment, read when a job
    fails: ``GRIDGOV_JOBS_RETRY_BASE_S`` (default 30 s: 30 s, 1 min, 2 min …
    about 1 h 4 min in all over the default) ``GRIDGOV_JOBS_RETRY_ATTEMPTS`` (8).
    """

    def __init__(self, attempts=8, base=30.0, cap=3600.0):
        self.attempts, self.base, self.cap = attempts, base, cap

    def wait(self, attempts):
        base = float(os.environ.get("GRIDGOV_JOBS_RETRY_BASE_S") or self.base)
        return min(self.cap, base * 2 ** attempts)

    def is_last(self, job):
        """The job's current run is its last (``job.attempts`` counts the runs
        before it)."""
        most = int(os.environ.get("GRIDGOV_JOBS_RETRY_ATTEMPTS") or self.attempts)
        return job.attempts + 1 >= most

    def get_retry_decision(self, *, exception, job):
        # an error that says retrying is useless (a webhook URL now refused)
        if self.is_last(job) or getattr(exception, "retry", True) is False:
            return None
        return RetryDecision(retry_in={"seconds": self.wait(job.attempts)})


WEBHOOK_RETRY = Backoff()


def defer(conn, task_name, queue="default", **kwargs):
    """Defer ``task_name(**kwargs)`` on ``conn``, inside its transaction; the
    job's id."""
    return app.configure_task(name=task_name, queue=queue,
                              connection=conn).defer(**kwargs)


def _connect(context):
    return psycopg.connect(context.additional_context["database_url"],
                           autocommit=True, application_name="gridgov-jobs")


@app.task(name=DELIVER, queue="webhooks", retry=WEBHOOK_RETRY, pass_context=True)
def deliver_webhook(context, delivery_id):
    """POST one outbox row to its webhook; raise (to be retried) unless 2xx."""
    from layers import webhooks

    with _connect(context) as conn:
        webhooks.deliver(conn, delivery_id, last=WEBHOOK_RETRY.is_last(context.job),
                         allow_loopback=context.additional_context.get(
                             "webhook_allow_loopback", False))


@app.task(name=PRINT_NOTICES, queue="prints", pass_context=True)
def print_notices(context, print_id, basemap_file=None, centre=None):
    """A town's notices, or a PDF of many pages (layers/notice_prints.py)."""
    from layers import notice_prints

    with _connect(context) as conn:
        return notice_prints.run(conn, print_id, basemap_file, centre)


@app.periodic(cron=DAILY_PURGE_CRON, periodic_id="daily")
@app.task(name=PURGE, queue="maintenance", pass_context=True)
def purge_expired(context, timestamp):
    with _connect(context) as conn:
        return purge(conn)


@app.periodic(cron=DAILY_WARNINGS_CRON, periodic_id="daily-warnings")
@app.task(name=WARNINGS, queue="maintenance", pass_context=True)
def early_warnings(context, timestamp):
    """The early warnings of the day that just ended (layers/early_warning.py)."""
    import datetime as dt

    from geo.localtime import CHINA_TZ
    from layers import early_warning

    day = dt.datetime.fromtimestamp(timestamp, CHINA_TZ).date() - dt.timedelta(days=1)
    with _connect(context) as conn:
        return early_warning.run(conn, today=day)


@app.periodic(cron=MONTHLY_REPORTS_CRON, periodic_id="monthly-reports")
@app.task(name=MONTHLY_REPORTS, queue="maintenance", pass_context=True)
def monthly_reports(context, timestamp):
    """On the 1st (China time): the month just ended's report of every town and
    village, stored (``layers.monthly_report.generate_month``); on the other
    days of the cron line nothing. Returns ``{"month", "reports"}`` or None."""
    from geo.localtime import CHINA_TZ
    from layers import monthly_report
    from layers.access import SYSTEM

    now = dt.datetime.fromtimestamp(timestamp, CHINA_TZ)
    if now.day != 1:
        return None
    month = f"{now.date() - dt.timedelta(days=1):%Y-%m}"
    with _connect(context) as conn:
        done = monthly_report.generate_month(conn, SYSTEM, month, now)
    return {"month": month, "reports": len(done)}


@app.periodic(cron=DAILY_PARTITIONS_CRON, periodic_id="daily-partitions")
@app.task(name=PARTITIONS, queue="maintenance", pass_context=True)
def county_partitions(context, timestamp):
    """The county partitions' daily care (layers.partitions.daily)."""
    from layers import partitions

    with _connect(context) as conn:
        return partitions.daily(conn)


def purge(conn, now=None):
    """Delete what has expired: sessions past their end, Idempotency-Key answers
    past their keeping (``layers.idempotency.KEEP_DAYS``), succeeded jobs and
    delivered webhook deliveries older than FINISHED_KEEP_DAYS. Returns the
    counts per table."""
    from layers.idempotency import KEEP_DAYS

    now = now or dt.datetime.now(dt.UTC)
    done = {}
    with conn.transaction():
        for name, query, params in (
                ("sessions", "DELETE FROM sessions WHERE expires_at < %s", (now,)),
                ("idempotency_keys", "DELETE FROM idempotency_keys"
                 " WHERE created_at < %s", (now - dt.timedelta(days=KEEP_DAYS),)),
                ("notice_prints", "DELETE FROM notice_prints"
                 " WHERE finished_at < %s",
                 (now - dt.timedelta(days=PRINTS_KEEP_DAYS),)),
                ("webhook_deliveries", "DELETE FROM webhook_deliveries"
                 " WHERE status = 'delivered' AND delivered_at < %s",
                 (now - dt.timedelta(days=FINISHED_KEEP_DAYS),)),
                ("procrastinate_jobs", "DELETE FROM procrastinate_jobs j"
                 " WHERE j.status = 'succeeded' AND NOT EXISTS ("
                 "  SELECT 1 FROM procrastinate_events e WHERE e.job_id = j.id"
                 "  AND e.at >= %s)",
                 (now - dt.timedelta(days=FINISHED_KEEP_DAYS),))):
            done[name] = conn.execute(query, params).rowcount
    return done


def run_worker(url, polling_interval=5.0, wait=True, name="gridgov",
               allow_loopback=False):
    """Run a worker on every queue until stopped (SIGINT/SIGTERM end it
    gracefully), or until the queues are empty when ``wait`` is False.
    ``allow_loopback``: the deployment's WEBHOOK_ALLOW_LOOPBACK, which the
    deliveries check again when sending (``layers.webhooks.deliver``)."""
    connector = procrastinate.PsycopgConnector(
        conninfo=url, min_size=1, max_size=4,
        kwargs={"application_name": "gridgov-jobs"})
    with app.replace_connector(connector):
        app.run_worker(name=name, wait=wait,
                       fetch_job_polling_interval=polling_interval,
                       additional_context={"database_url": url,
                                           "webhook_allow_loopback": allow_loopback})


_JOBS = """
    SELECT j.id, j.task_name, j.queue_name, j.status::text AS status, j.attempts,
           j.scheduled_at, ev.created_at, ev.updated_at,
           d.id AS delivery_id, d.event, d.incident_code, d.status AS delivery_status,
           d.attempts AS delivery_attempts, d.last_status, d.last_error,
           w.id AS webhook_id, w.name AS webhook_name, w.url AS webhook_url,
           w.grid_code AS webhook_grid
    FROM procrastinate_jobs j
    LEFT JOIN webhook_deliveries d ON d.job_id = j.id
    LEFT JOIN webhooks w ON w.id = d.webhook_id
    LEFT JOIN LATERAL (
        SELECT min(e.at) AS created_at, max(e.at) AS updated_at
        FROM procrastinate_events e WHERE e.job_id = j.id) ev ON true
    WHERE (NOT %(scoped)s OR w.grid_code LIKE %(scope)s)
"""


def _out(row):
    return {k: (v.astimezone(workdays.CHINA_TZ).isoformat()
                if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def list_jobs(conn, principal, status=None, limit=100):
    """The jobs ``principal`` may see (see the module's scope rule), newest
    first: ``{"items": [...], "failed": n}``; ``status`` one of STATUSES."""
    if status is not None and status not in STATUSES:
        raise Invalid(say("err_unknown_choice", field="status", value=status,
                          choices=", ".join(STATUSES)), field="status")
    params = {"scope": principal.prefix, "scoped": principal.grid_code is not None,
              "status": status, "limit": limit}
    base = _JOBS
    cur = conn.cursor(row_factory=dict_row)
    items = cur.execute(sql.SQL(" ").join([sql.SQL(base), sql.SQL(
        "AND (%(status)s::text IS NULL OR j.status::text = %(status)s)"
        " ORDER BY j.id DESC LIMIT %(limit)s")]), params).fetchall()
    failed = cur.execute(sql.SQL(" ").join([
        sql.SQL("SELECT count(*) AS n FROM ("), sql.SQL(base),
        sql.SQL("AND j.status = 'failed') f")]), params).fetchone()["n"]
    return {"items": [_out(r) for r in items], "failed": failed}


def retry_job(conn, principal, job_id):
    """Put a failed job back in its queue, to run now (one more attempt); a
    webhook delivery goes back to 'pending'. Returns the job as listed."""
    params = {"scope": principal.prefix, "scoped": principal.grid_code is not None,
              "id": job_id}
    base = _JOBS
    with conn.transaction():
        row = conn.cursor(row_factory=dict_row).execute(
            base + " AND j.id = %(id)s", params).fetchone()
        if row is None:
            raise NotFound(say("err_no_job", job_id=job_id), field="job_id")
        if row["status"] != "failed":
            raise Conflict(say("err_job_not_failed", job_id=job_id,
                               status=row["status"]),
                           field="job_id", state=row["status"])
        conn.execute(procrastinate_queries["retry_job"],
                     {"job_id": job_id, "retry_at": dt.datetime.now(dt.UTC),
                      "new_priority": None, "new_queue_name": None,
                      "new_lock": None})
        if row["delivery_id"] is not None:
            conn.execute("UPDATE webhook_deliveries SET status = 'pending'"
                         " WHERE id = %s", (row["delivery_id"],))
        audit.record(conn, principal, "update", "procrastinate_jobs", str(job_id),
                     before={"status": "failed"}, after={"status": "todo"},
                     grid_code=row["webhook_grid"])
        return _out(conn.cursor(row_factory=dict_row).execute(
            base + " AND j.id = %(id)s", params).fetchone())
