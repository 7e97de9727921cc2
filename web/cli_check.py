"""`gridgov check`: the hierarchy check, as a report or JSON; exit 1 on errors."""

import json

import click

from layers import check, db
from layers.access import SYSTEM
from web.cli_common import database_url, friendly

__all__ = ["check_command"]


@click.command("check")
@click.option("--root", help="Code of the subtree to check (default: everything).")
@click.option("--sliver-m2", "sliver_m2", type=click.FloatRange(0, 10_000),
              default=1.0, show_default=True,
              help="Overlaps, gaps and protrusions smaller than this (m²) are "
                   "slivers, not errors.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@friendly
def check_command(root, sliver_m2, as_json):
    """Check the grid hierarchy (网格层级检查): geometries, overlaps, gaps,
    children outside their parent, codes, households per micro-grid.

    Exits 0 when there is no error (slivers are not errors), 1 otherwise.
    """
    with db.connect(database_url()) as conn:
        report = check.check_subtree(conn, SYSTEM, root, sliver_m2)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        for label, problems in (("error", report["errors"]),
                                ("sliver", report["slivers"])):
            for p in problems:
                click.echo(f"{label:<6}  {p['kind']:<16} {p['message']}")
        where = f"under {report['root']}" if report["root"] else "(everything)"
        click.echo(f"{report['grids']:,} grids checked {where}: "
                   f"{len(report['errors'])} error(s), {len(report['slivers'])} "
                   f"sliver(s) under {sliver_m2:g} m²")
    if report["errors"]:
        raise SystemExit(1)
