"""The ``gridgov`` command line.

Expected failures (no PostGIS, port in use, unreachable database…) print one line
saying what and what to do, and exit 1; tracebacks are for bugs only.
"""

import datetime as dt
import ipaddress
import logging
import os
import socket
import ssl
import time

import click

from geo import catalogue
from layers import db
from layers import demo as demo_layer
from layers import replicas as replica_layer
from layers import stats as stats_layer
from layers.cluster import Cluster
from web.cli_check import check_command
from web.cli_common import (
    database_url,
    external_url,
    friendly,
    line,
    masked,
    secret_key,
)
from web.cli_import import import_command
from web.cli_jobs import jobs_group, start_worker, stop_worker
from web.cli_users import user_group
from web.cli_warnings import warnings_group

__all__ = ["main"]

DEMO_SEED = 1


def _migrate(url):
    with db.connect(url) as conn:
        return db.migrate(conn)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main():
    """gridgov: grid governance GIS (综治网格地理信息平台).

    Without GRIDGOV_DATABASE_URL, gridgov runs its own PostgreSQL + PostGIS cluster
    under $GRIDGOV_HOME (default: var/ in the checkout).
    """
    # The cluster says where its data lives or that it moved port, as warnings.
    logging.basicConfig(level=logging.WARNING, format="gridgov: %(message)s")


def _tls_options(command):
    """``--cert`` and ``--key`` (or GRIDGOV_TLS_CERT, GRIDGOV_TLS_KEY): serve HTTPS."""
    command = click.option(
        "--key", envvar="GRIDGOV_TLS_KEY", metavar="FILE",
        help="the certificate's private key, PEM  [env: GRIDGOV_TLS_KEY]")(command)
    return click.option(
        "--cert", envvar="GRIDGOV_TLS_CERT", metavar="FILE",
        help="serve HTTPS with this certificate (PEM, with its chain); phones need "
             "HTTPS for GPS, camera and offline use  [env: GRIDGOV_TLS_CERT]")(command)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@_tls_options
@friendly
def up(host, port, cert, key):
    """Start the database if needed, migrate, load the demo town if empty, serve
    (with a background-jobs worker, stopped with the server)."""
    _check_tls(cert, key)
    _check_port(host, port)
    url = database_url()
    _migrate(url)
    if not external_url():
        replica_layer.start_all(Cluster.default())
    with db.connect(url) as conn:
        empty = demo_layer.is_empty(conn)
        held = demo_layer.dataset(conn)
    if empty:
        _load_demo(url, "town", DEMO_SEED, stats_layer.today(), force=False)
    else:
        _warn_of_an_old_demo(held)
        if (held or {}).get("scale") == "town" and not _demo_basemap_file().exists():
            _write_demo_basemap(url, "town", held.get("seed", DEMO_SEED))
    worker = start_worker(url)
    try:
        _serve(url, host, port, cert=cert, key=key)
    finally:
        stop_worker(worker)


def _warn_of_an_old_demo(held):
    """A demo whose incidents end before this month leaves the pages' default
    month (the last complete one) empty or short: say how to renew it."""
    if (held or {}).get("kind") != "demo" or not held.get("as_of"):
        return
    as_of = dt.date.fromisoformat(held["as_of"])
    if as_of < stats_layer.today().replace(day=1):
        click.echo(line("cli_demo_old", last=as_of - dt.timedelta(days=1),
                        seed=held.get("seed", DEMO_SEED)), err=True)


@main.group("db")
def db_group():
    """The private database cluster and the schema."""


@db_group.command("start")
@friendly
def db_start():
    """Start the private cluster (a no-op when it runs already)."""
    if external_url():
        click.echo(line("cli_no_cluster_to_start"))
        return
    cluster = Cluster.default()
    url = cluster.start()
    click.echo(line("cli_db_running", url=url))
    for replica in replica_layer.start_all(cluster):
        click.echo(line("cli_replica_added", number=replica.number, url=replica.url))


@db_group.command("stop")
@friendly
def db_stop():
    """Stop the private cluster."""
    if external_url():
        click.echo(line("cli_no_cluster_to_stop"))
        return
    cluster = Cluster.default()
    for replica in replica_layer.added(cluster):  # before their primary
        replica.stop()
    was = cluster.is_running()
    cluster.stop()
    click.echo(line("cli_db_stopped" if was else "cli_db_not_running"))


@db_group.command("status")
@friendly
def db_status():
    """Say where the database is, whether it runs, and its migrations."""
    url = external_url()
    if url is None:
        status = Cluster.default().status()
        for key, value in status.items():
            click.echo(f"{key}: {value}")
        if not status.get("running"):
            return
        url = status["url"]
    else:
        click.echo(line("cli_db_url", url=masked(url)))
    with db.connect(url, connect_timeout=5) as conn:
        version = db.is_postgis(conn)
        click.echo(line("cli_db_postgis", version=version) if version
                   else line("cli_db_no_postgis"))
        pending = db.pending(conn)
        click.echo(line("cli_db_pending", names=", ".join(pending)) if pending
                   else line("cli_db_none_pending"))
        dataset = demo_layer.dataset(conn)
        click.echo(line("cli_db_dataset", dataset=dataset) if dataset
                   else line("cli_db_no_dataset"))


@db_group.group("replica")
def replica_group():
    """Streaming read replicas of the private cluster (maps, tiles, statistics,
    search and locate read there; `gridgov up` starts them)."""


def _private_cluster():
    if external_url():
        raise click.ClickException(line("cli_replica_external"))
    return Cluster.default()


@replica_group.command("add")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="its port  [default: the first free one after the primary's]")
@friendly
def replica_add(port):
    """Make and start a new replica (pg_basebackup of the running cluster)."""
    cluster = _private_cluster()
    cluster.start()
    replica = replica_layer.add(cluster, port)
    click.echo(line("cli_replica_added", number=replica.number, url=replica.url))


@replica_group.command("list")
@friendly
def replica_list():
    """The replicas added, whether each runs, and where."""
    found = replica_layer.added(_private_cluster())
    if not found:
        click.echo(line("cli_replica_none"))
    for replica in found:
        status = replica.status()
        click.echo(line("cli_replica_row", number=replica.number,
                        state=("运行中", "running") if status["running"]
                        else ("已停止", "stopped"), port=status["port"],
                        url=status["url"]))


@replica_group.command("remove")
@click.argument("number", type=int)
@friendly
def replica_remove(number):
    """Stop replica NUMBER, drop its replication slot and delete its data."""
    cluster = _private_cluster()
    cluster.start()
    replica_layer.remove(cluster, number)
    click.echo(line("cli_replica_removed", number=number))


@db_group.command("migrate")
@friendly
def db_migrate():
    """Apply pending migrations (nothing when the schema is up to date)."""
    applied = _migrate(database_url())
    click.echo(line("cli_migrated", names=", ".join(applied)) if applied
               else line("cli_up_to_date"))


@db_group.command("partitions")
@click.option("--settle", is_flag=True,
              help="Move rows waiting in DEFAULT partitions to their county's.")
@click.option("--months-ahead", type=click.IntRange(0, 24), default=None,
              help="Make track point months this many months ahead.")
@click.option("--drop-months-before", "before", type=click.DateTime(["%Y-%m-%d"]),
              default=None, help="Drop track point months (and their tracks) "
              "ending on or before this date's month.")
@click.option("--archive", "county", default=None,
              help="Detach a county's partitions (a county with no grids left).")
@friendly
def db_partitions(settle, months_ahead, before, county):
    """List the county partitions with their sizes; maintain them."""
    from layers import partitions

    with db.connect(database_url(), autocommit=True) as conn:
        if settle:
            made = partitions.settle(conn)
            click.echo(line("cli_partitions_settled", names=", ".join(made) or "-"))
        if months_ahead is not None:
            made = partitions.months_ahead(conn, months_ahead)
            click.echo(line("cli_partitions_months", n=made))
        if before is not None:
            dropped = partitions.drop_months(conn, before.date())
            click.echo(line("cli_partitions_dropped", names=", ".join(dropped) or "-"))
        if county is not None:
            kept = partitions.archive(conn, county)
            click.echo(line("cli_partitions_archived", names=", ".join(kept) or "-"))
        click.echo(line("cli_partitions_header"))
        for p in partitions.partitions(conn):
            click.echo("\t".join(map(str, (
                p["table"], p["name"], p["county"], p["rows"],
                f"{p['bytes'] / 1e6:.1f}", p["months"]))))


@db_group.command("reset")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@friendly
def db_reset(yes):
    """Drop every table and migrate again from empty (all data is lost)."""
    url = database_url()
    if not yes:
        click.confirm(line("cli_reset_confirm", url=masked(url)), abort=True)
    with db.connect(url) as conn:
        db.drop_schema(conn)
        applied = db.migrate(conn)
    click.echo(line("cli_reset_done", names=", ".join(applied)))


@main.command()
@click.option("--scale", type=click.Choice(["town", "city", "province"]),
              default="town", show_default=True,
              help="town: the demo town; city: the benchmark city; province: "
                   "counties of ~300,000 households each, loaded one at a time.")
@click.option("--counties", type=click.IntRange(min=1), default=None,
              show_default="the province's 100",
              help="With --scale province: how many counties. A re-run of the same "
                   "province (same --seed, --as-of) loads only the counties not "
                   "loaded yet.")
@click.option("--seed", default=DEMO_SEED, show_default=True, type=int)
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              default=None, show_default="today, China time",
              help="The generated year of incidents ends at midnight (China "
                   "time) starting this day. A province being loaded keeps its "
                   "own.")
@click.option("--force", is_flag=True, help="Replace data that is not a demo.")
@friendly
def demo(scale, counties, seed, as_of, force):
    """(Re)load generated data: the same seed and --as-of give the same data."""
    if counties is not None and scale != "province":
        raise click.UsageError(catalogue.say("err_counties_province_only"))
    if scale == "province":
        _load_province(counties, seed, as_of.date() if as_of else None, force)
        return
    url = database_url()
    _migrate(url)
    _load_demo(url, scale, seed, as_of.date() if as_of else stats_layer.today(),
               force)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Python threads per worker process")
@click.option("--processes", default=None, type=click.IntRange(1, 64),
              help="worker processes sharing the port  [default: one per core]")
@_tls_options
@friendly
def serve(host, port, threads, processes, cert, key):
    """Serve the web application with granian (a production HTTP server), in one
    worker process per core; over HTTPS with --cert and --key."""
    _check_tls(cert, key)
    _check_port(host, port)
    url = database_url()
    with db.connect(url) as conn:
        pending = db.pending(conn)
    if pending:
        raise click.ClickException(
            catalogue.say("err_schema_pending", pending=', '.join(pending)))
    _serve(url, host, port, threads, processes, cert=cert, key=key)


def _load_demo(url, scale, seed, as_of, force):
    from geo.demo import generate  # heavy: only when a demo is wanted

    started = time.perf_counter()
    click.echo(line("cli_demo_generating", scale=scale, seed=seed, as_of=as_of,
                    last=as_of - dt.timedelta(days=1)))
    data = generate(scale=scale, seed=seed, as_of=as_of)
    generated = time.perf_counter()
    with db.connect(url) as conn:
        demo_layer.load(conn, data, {"scale": scale, "seed": seed,
                                     "as_of": as_of.isoformat()}, force=force)
        accounts = demo_layer.ensure_demo_accounts(conn)
    counts = ", ".join(f"{k} {v:,}" for k, v in data.counts().items())
    click.echo(line("cli_demo_loaded", counts=counts,
                    generated=f"{generated - started:.1f}",
                    loaded=f"{time.perf_counter() - generated:.1f}"))
    _write_demo_basemap(url, scale, seed)
    if scale == "town":  # the demo opens with the warnings of its last day
        from layers import early_warning

        with db.connect(url) as conn:
            found = early_warning.run(conn, today=as_of - dt.timedelta(days=1))
        click.echo(catalogue.say("ew_cli_done", **found))
    _echo_accounts(accounts)


def _echo_accounts(accounts):
    if accounts:
        click.echo(line("cli_demo_accounts") + "：")
        for username, role, grid, password in accounts:
            click.echo(f"  {username:<11} {role:<13} {grid or '(everywhere)':<16} "
                       f"{password}")


def _load_province(counties, seed, as_of, force):
    """Stream the province (``layers.demo.load_province``), a line per county on
    stderr. Without --as-of, a province of this seed being loaded keeps its
    date (the re-run resumes it); else today."""
    import resource

    from geo.demo import SCALES, province  # heavy: only when a demo is wanted

    scale = SCALES["province"]
    counties = counties or scale.counties
    if counties > province.MAX_COUNTIES:
        raise click.BadParameter(
            catalogue.say("err_counties_max", max=province.MAX_COUNTIES),
            param_hint="--counties")
    url = database_url()
    _migrate(url)
    with db.connect(url, autocommit=True) as conn:
        if as_of is None:
            held = demo_layer.held_province(
                conn, demo_layer.province_description(scale, seed))
            as_of = (dt.date.fromisoformat(held["as_of"]) if held
                     else stats_layer.today())
        click.echo(line("cli_demo_province", counties=counties, seed=seed,
                        as_of=as_of, last=as_of - dt.timedelta(days=1)))
        started = time.perf_counter()

        def progress(k, code, name, counts, seconds):
            if counts is None:
                click.echo(line("cli_demo_county_skipped", n=k + 1, total=counties,
                                code=code, name=name), err=True)
                return
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            click.echo(line(
                "cli_demo_county", n=k + 1, total=counties, code=code, name=name,
                households=f"{counts['households']:,}",
                incidents=f"{counts['incidents']:,}",
                generated=f"{seconds[0]:.1f}", loaded=f"{seconds[1]:.1f}",
                peak=f"{peak:,.0f}"), err=True)

        loaded = demo_layer.load_province(conn, scale, seed, as_of, counties,
                                          force=force, progress=progress)
        accounts = demo_layer.ensure_demo_accounts(conn)
    click.echo(line("cli_demo_province_loaded", loaded=len(loaded),
                    skipped=counties - len(loaded),
                    seconds=f"{time.perf_counter() - started:.0f}"))
    _echo_accounts(accounts)


def _demo_basemap_file():
    from web.basemap import default_file

    return default_file()


def _write_demo_basemap(url, scale, seed):
    """The demo town's offline basemap (roads, water, names: web/basemap.py) in
    the data directory; the benchmark city goes without (bounded size and time)."""
    if scale != "town":
        return
    from web.basemap import write_demo

    started = time.perf_counter()
    path = _demo_basemap_file()
    with db.connect(url) as conn:
        tiles, size = write_demo(conn, path, scale, seed)
    click.echo(f"basemap: {tiles:,} tiles, {size / 1e6:.2f} MB, "
               f"{time.perf_counter() - started:.1f} s -> {path}")


def _demo_uses_its_basemap(url):
    """The demo's configuration: with no basemap configured, a database holding
    the demo town and its basemap written, the pages draw that basemap."""
    if any(os.environ.get(k) for k in ("GRIDGOV_BASEMAP", "GRIDGOV_BASEMAP_URL")):
        return
    with db.connect(url) as conn:
        held = demo_layer.dataset(conn) or {}
    if held.get("kind") == "demo" and _demo_basemap_file().exists():
        os.environ["GRIDGOV_BASEMAP"] = "offline"
        os.environ["GRIDGOV_BASEMAP_FILE"] = str(_demo_basemap_file())
        click.echo(f"basemap: the demo's own, {_demo_basemap_file()} "
                   "(GRIDGOV_BASEMAP=none to go without)")


def _check_port(host, port):
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            raise click.ClickException(
                catalogue.say("err_cannot_listen", host=host, port=port,
                              strerror=exc.strerror)) from None


def _check_tls(cert, key):
    """Both files or neither, readable, and a key that is the certificate's: else
    one line and exit 1, before anything starts (granian would fail in each
    worker)."""
    if not cert and not key:
        return
    if not (cert and key):
        raise click.ClickException(
            catalogue.say("err_cert_key_pair", missing='--key' if cert else '--cert'))
    for option, path in (("--cert", cert), ("--key", key)):
        try:
            with open(path, "rb") as f:
                f.read(1)
        except OSError as exc:
            raise click.ClickException(
                catalogue.say("err_cannot_read_option", option=option, path=path,
                              error=exc.strerror or exc)) from None
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(cert, key)
    except (ssl.SSLError, ValueError) as exc:
        raise click.ClickException(
            catalogue.say("err_cert_key_bad", cert=cert, key=key,
                          error=getattr(exc, 'reason', None) or exc)) from None


def _loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name
        return False


def _warn_of_calendar_gaps():
    """The holiday calendar's gaps, said once here rather than by each worker
    (each builds the application): the configuration read as create_app reads
    it, then marked checked for the workers."""
    from flask import Config

    from web.app import calendar_gaps

    config = Config(os.getcwd())
    config.from_prefixed_env("GRIDGOV")
    gaps = calendar_gaps(config)
    if gaps:
        click.echo(f"gridgov: {gaps}", err=True)
    os.environ["GRIDGOV_CALENDAR_CHECKED"] = "true"


def _serve(url, host, port, threads=None, processes=None, cert=None, key=None):
    from web.serving import DEFAULT_THREADS, default_processes, serve

    processes = processes or default_processes()
    threads = threads or DEFAULT_THREADS
    private = not external_url()
    # read (or made) once, here: every worker builds the application from these
    os.environ["GRIDGOV_DATABASE_URL"] = url
    if private and not os.environ.get("GRIDGOV_READ_DATABASE_URL"):
        running = [r.url for r in replica_layer.added(Cluster.default())
                   if r.is_running()]
        if running:
            os.environ["GRIDGOV_READ_DATABASE_URL"] = ",".join(running)
    if os.environ.get("GRIDGOV_READ_DATABASE_URL"):
        click.echo(line("cli_replicas_reading", count=len(
            os.environ["GRIDGOV_READ_DATABASE_URL"].split(","))))
    os.environ["GRIDGOV_SECRET_KEY"] = secret_key()
    _demo_uses_its_basemap(url)
    if cert:
        # the session cookie goes over HTTPS only
        os.environ["GRIDGOV_SESSION_COOKIE_SECURE"] = "true"
    elif not _loopback(host):
        click.echo(line("cli_plain_http", host=host), err=True)
    _warn_of_calendar_gaps()
    scheme = "https" if cert else "http"
    click.echo(line("cli_serving", url=f"{scheme}://{host}:{port}",
                    processes=processes, threads=threads,
                    process_word="processes" if processes > 1 else "process"))
    serve("web:create_app", host, port, threads=threads, processes=processes,
          factory=True, cert=cert, key=key)


main.add_command(user_group)
main.add_command(check_command)
main.add_command(import_command)
main.add_command(warnings_group)
main.add_command(jobs_group)
