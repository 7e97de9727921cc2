"""`gridgov warnings run`: the day's early warnings (预警), by hand or from a
scheduler (the job queue runs it daily)."""

import click

from geo.catalogue import say
from layers import db, early_warning
from web.cli_common import database_url, friendly

__all__ = ["warnings_group"]


@click.group("warnings")
def warnings_group():
    """Early warnings (预警): grids and places whose incidents are rising."""


@warnings_group.command("run")
@click.option("--day", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="The day to compute (China time; default today).")
@friendly
def run_command(day):
    """Compute the day's warnings and store them (a second run of a day updates
    the same warnings)."""
    with db.connect(database_url()) as conn:
        found = early_warning.run(conn, today=day.date() if day else None)
    click.echo(say("ew_cli_done", grids=found["grids"], clusters=found["clusters"]))
