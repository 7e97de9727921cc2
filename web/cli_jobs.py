"""`gridgov jobs …`: the background job queue (procrastinate, in the database),
and the batch jobs on Dask.

``worker`` runs the jobs (webhook deliveries, the daily purge) until stopped;
``gridgov up`` starts one beside the web server (:func:`start_worker`) and stops
it with the server. ``list`` shows the recent or failed jobs, ``retry ID`` puts
a failed one back in its queue. ``run NAME`` runs one batch job
(``layers.batch``) on a Dask cluster: a LocalCluster of worker processes
started for it (:func:`dask_client`), or the scheduler named.
"""

import contextlib
import ctypes
import datetime as dt
import importlib.util
import logging
import os
import re
import signal
import subprocess
import sys

import click

from geo import localtime
from geo.catalogue import CATALOGUE, say
from layers import batch, db, jobs, stats, webhooks
from layers.access import SYSTEM
from layers.errors import Invalid
from web.cli_common import database_url, friendly, line

__all__ = ["jobs_group", "start_worker", "stop_worker", "dask_client",
           "default_workers"]

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


def default_workers():
    """Worker processes of a LocalCluster when not told: one per core, up to 4."""
    return min(os.cpu_count() or 1, 4)


def _has_dashboard():
    """Dask's dashboard needs bokeh (not a dependency of gridgov)."""
    return importlib.util.find_spec("bokeh") is not None


@contextlib.contextmanager
def dask_client(scheduler=None, workers=None):
    """A ``distributed.Client`` on the scheduler at ``scheduler``
    (``tcp://host:8786``), else on a LocalCluster of ``workers`` processes of one
    thread each (the work holds the interpreter lock: processes, not threads),
    closed at the end. Yields ``(client, workers)``."""
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler) as client:
            yield client, max(1, len(client.scheduler_info()["workers"]))
        return
    n = workers or default_workers()
    # the scheduler's HTTP server (the dashboard, with bokeh) on a free port:
    # its default, 8787, is another cluster's on a shared machine
    with LocalCluster(n_workers=n, threads_per_worker=1, processes=True,
                      dashboard_address=":0", silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        yield client, n


def _county(ctx, param, values):
    for value in values:
        if not re.fullmatch(r"[0-9]{6}", value):
            raise click.BadParameter(say("err_batch_county", value=value))
    return tuple(dict.fromkeys(values))


def _month(ctx, param, value):
    """``(first, last)`` days of "YYYY-MM" (China time), or None."""
    if value is None:
        return None
    try:
        period = stats.month_period(value, field="--month")
    except Invalid as exc:
        raise click.BadParameter(exc.message) from None
    return period.start.date(), (period.end - dt.timedelta(days=1)).date()


def _how(plan):
    """``(中文, English)``: how many partitions at each cut level."""
    zh, en = CATALOGUE["batch_by"]
    by = [(CATALOGUE[f"batch_level_{k}"], k, n) for k, n in plan.counts()]
    return ("，".join(zh.format(level=level[0], k=k, n=n) for level, k, n in by),
            ", ".join(en.format(level=level[1], k=k, n=n) for level, k, n in by))


@jobs_group.command("run")
@click.argument("name", type=click.Choice(batch.JOBS))
@click.option("--scheduler", metavar="tcp://HOST:8786",
              help="a running Dask scheduler (default: a LocalCluster started "
                   "for this run)")
@click.option("--workers", type=click.IntRange(1, 256),
              help="worker processes of the LocalCluster  [default: the cores, "
                   "at most 4]")
@click.option("--county", "counties", multiple=True, metavar="CODE",
              callback=_county,
              help="only this county (6 digits); may be repeated")
@click.option("--month", metavar="YYYY-MM", callback=_month,
              help="patrol-coverage: the month (required); assign-points: only "
                   "the tracks of that month")
@click.option("--output", type=click.Path(dir_okay=True, file_okay=True),
              help="patrol-coverage: the CSV file; assign-points: the folder of "
                   "Parquet files  [default: in the current folder]")
@friendly
def run(name, scheduler, workers, counties, month, output):
    """Run the batch job NAME on Dask, partitioned by county."""
    if name == "patrol-coverage" and month is None:
        raise click.UsageError(say("err_batch_month_required"))
    suffix = f"-{month[0]:%Y-%m}" if month else ""
    if output is None and name == "patrol-coverage":
        output = f"patrol-coverage{suffix}.csv"
    elif output is None and name == "assign-points":
        output = f"assign-points{suffix}"
    url = database_url()
    with db.connect(url) as conn:
        pending = db.pending(conn)
    if pending:
        raise click.ClickException(say("err_schema_pending",
                                       pending=", ".join(pending)))
    from tqdm import tqdm

    with dask_client(scheduler, workers) as (client, n):
        click.echo(line("batch_cluster_remote", address=scheduler, n=n) if scheduler
                   else line("batch_cluster_local", n=n), err=True)
        if _has_dashboard():
            click.echo(line("batch_dashboard", link=client.dashboard_link), err=True)
        bar = None

        def done(figures):
            bar.update(1)
            bar.set_postfix_str(figures["partition"])

        def started(plan, parts):
            nonlocal bar
            click.echo(line("batch_cut", n=len(parts), how=_how(plan)), err=True)
            bar = tqdm(total=len(parts), unit="partition", file=sys.stderr)

        try:
            report = batch.run(client, url, name, n, counties=counties or None,
                               month=month, output=output, on_done=done,
                               on_start=started)
        finally:
            if bar is not None:
                bar.close()
    click.echo(line("batch_done", job=name, parts=len(report.partitions),
                    rows=report.total("rows"), written=report.total("written"),
                    seconds=f"{report.seconds:.1f}"))
    if report.output:
        click.echo(line("batch_output", path=report.output))


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
