"""`gridgov check`: the hierarchy check, as a report or JSON; exit 1 on errors."""

import json

import click

from geo.catalogue import pair
from layers import check, db
from layers.access import SYSTEM
from web.cli_common import database_url, friendly, line
from web.i18n import both

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
        for label, problems in (("cli_check_error", report["errors"]),
                                ("cli_check_sliver", report["slivers"])):
            for p in problems:
                click.echo(f"{both(label):<9}  {p['kind']:<16} {p['message']}")
        where = (pair("cli_check_under", root=report["root"]) if report["root"]
                 else pair("cli_check_everything"))
        click.echo(line("cli_check_summary", where=where, grids=f"{report['grids']:,}",
                        errors=len(report["errors"]), slivers=len(report["slivers"]),
                        m2=f"{sliver_m2:g}"))
    if report["errors"]:
        raise SystemExit(1)
