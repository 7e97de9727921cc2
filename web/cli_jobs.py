"""`gridgov jobs …`: the background job queue (procrastinate, in the database).

``worker`` runs the jobs (webhook deliveries, the daily purge) until stopped;
``gridgov up`` starts one beside the web server (:func:`start_worker`) and stops
it with the server. ``list`` shows the recent or failed jobs, ``retry ID`` puts
a failed one back in its queue.
"""

import ctypes
import os
import signal
import subprocess
import sys

import click

from geo import localtime
from geo.catalogue import say
from layers import db, jobs, webhooks
from layers.access import SYSTEM
from web.cli_common import database_url, friendly

__all__ = ["jobs_group", "start_worker", "stop_worker"]

_PR_SET_PDEATHSIG = 1


@click.group("jobs")
def jobs_group():
    """The background job queue: webhook deliveries, the daily purge."""


@jobs_group.command("worker")
@click.option("--polling", default=5.0, show_default=True,
              type=click.FloatRange(0.05, 600),
              help="seconds between looks at the queue besides its notifications "
                   "(retries scheduled for later are found this way)")
@click.option("--once", is_flag=True,
              help="run the jobs due now, then exit")
@friendly
def worker(polling, once):
    """Run the background jobs until stopped (Ctrl-C, SIGTERM)."""
    url = database_url()
    with db.connect(url) as conn:
        pending = db.pending(conn)
    if pending:
        raise click.ClickException(say("err_schema_pending",
                                       pending=", ".join(pending)))
    click.echo("gridgov jobs worker running (Ctrl-C to stop)", err=True)
    # the setting the web app reads as WEBHOOK_ALLOW_LOOPBACK: the same for the
    # deliveries, checked again when sent (layers/webhooks.py)
    allow = webhooks.loopback_allowed(os.environ.get("GRIDGOV_WEBHOOK_ALLOW_LOOPBACK"))
    jobs.run_worker(url, polling_interval=polling, wait=not once,
                    allow_loopback=allow)


@jobs_group.command("list")
@click.option("--status", type=click.Choice(jobs.STATUSES),
              help="only the jobs in this state (failed: those to retry)")
@click.option("--limit", default=30, show_default=True, type=click.IntRange(1, 1000))
@friendly
def list_jobs(status, limit):
    """The latest jobs, newest first, times in China time."""
    with db.connect(database_url(), autocommit=True) as conn:
        found = jobs.list_jobs(conn, SYSTEM, status=status, limit=limit)
    click.echo(f"{'id':>7}  {'task':<24} {'status':<10} {'runs':>4}  "
               f"{'last change (' + localtime.label('en') + ')':<26} detail")
    for j in found["items"]:
        when = localtime.shown(j["updated_at"], seconds=True, with_label=False,
                               lang="en") if j["updated_at"] else "-"
        detail = ""
        if j["delivery_id"] is not None:
            detail = (f"{j['event']} {j['incident_code']} → {j['webhook_url']}"
                      f" ({j['delivery_status']}"
                      f"{', ' + j['last_error'] if j['last_error'] else ''})")
        click.echo(f"{j['id']:>7}  {j['task_name'].removeprefix('gridgov.'):<24} "
                   f"{j['status']:<10} {j['attempts']:>4}  {when:<26} {detail}")
    click.echo(f"failed: {found['failed']}")


@jobs_group.command("retry")
@click.argument("job_id", type=int)
@friendly
def retry(job_id):
    """Put a failed job back in its queue, to run now."""
    with db.connect(database_url(), autocommit=True) as conn:
        job = jobs.retry_job(conn, SYSTEM, job_id)
    click.echo(f"job {job['id']} ({job['task_name']}) queued again")


def _die_with_parent():  # pragma: no cover - runs in the child
    """The worker ends with the process that started it, even on a SIGKILL."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):
        pass


def start_worker(url):
    """Start `gridgov jobs worker` on ``url`` as a child process."""
    env = os.environ | {"GRIDGOV_DATABASE_URL": url}
    return subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "-c", "from web.cli import main; main()", "jobs", "worker"],
        env=env, preexec_fn=_die_with_parent)  # noqa: PLW1509 - no threads yet


def stop_worker(process, timeout=15):
    """Stop the worker (SIGTERM: it finishes its current job), killing it past
    ``timeout`` seconds."""
    if process.poll() is not None:
        return process.returncode
    process.terminate()
    try:
        return process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        return process.wait()
