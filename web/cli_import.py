"""`gridgov import FILE --layer households`: read, check, assign and commit a file
(or only preview it with --dry-run), printing the report; exit 1 when refused."""

import hashlib
import time
from pathlib import Path

import click

import importers
from geo import catalogue
from layers import db, users
from layers import imports as imports_layer
from layers.access import SYSTEM, Principal
from layers.errors import LayerError
from web.cli_common import database_url, friendly, labelled, line

__all__ = ["import_command"]

SHOWN = 20


def _principal(conn, username):
    if not username:
        return SYSTEM
    user = users.get_user(conn, username)
    if not user["active"]:
        raise click.ClickException(catalogue.say("err_user_disabled",
                                                 username=username))
    return Principal(user["username"], user["role"], user["grid_code"], user["id"])


def _digest(file, data):
    """The SHA-256 of the file; a loose .shp's covers its sidecar files too."""
    digest = hashlib.sha256(data)
    if file.suffix.lower() == ".shp":
        for side in sorted(p for p in file.parent.iterdir()
                           if p.stem == file.stem and p != file):
            digest.update(side.suffix.lower().encode() + side.read_bytes())
    return digest.hexdigest()


def _progress(phase, count, seconds):
    click.echo(f"  {line('import_phase_' + phase)}  "
               f"{line('cli_rows', n=f'{count:,}', s=f'{seconds:.2f}')}", err=True)


@click.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False,
                                        path_type=Path))
@click.option("--layer", required=True, type=click.Choice(list(imports_layer.LAYERS)))
@click.option("--crs", help="CRS of the coordinates when the file does not say: "
                            "wgs84, cgcs2000, gcj02, bd09 or EPSG:45xx.")
@click.option("--map", "mapping", help="Column mapping, e.g. 'address=地址,size=人口'.")
@click.option("--swap", is_flag=True, help="Read longitude and latitude the other "
                                           "way round.")
@click.option("--dry-run", is_flag=True, help="Check and report; change nothing.")
@click.option("--force", is_flag=True, help="Import again a file imported before.")
@click.option("--staff", type=int, help="--layer tracks: the grid worker's id "
                                        "(grid_staff) whose patrol this is.")
@click.option("--on-address-match", "on_address_match",
              type=click.Choice(list(imports_layer.ADDRESS_MATCH)), default="add",
              help="--layer households: a row with a new id whose normalised "
                   "address is in its micro-grid already (已有同址住户): add it "
                   "(default, with a warning), update that household, or skip "
                   "the row. Rows without an id update the household of their "
                   "address.")
@click.option("--new-area", is_flag=True, help="--layer grids: accept level-1 grids "
                                               "more than 2 km from the deployment "
                                               "(a new area).")
@click.option("--user", "username", help="Act as this account (its role and "
                                         "jurisdiction); default: the system.")
@friendly
def import_command(file, layer, crs, mapping, swap, dry_run, force, staff,
                   on_address_match, new_area, username):
    """Import FILE (CSV, XLSX, GPX, GeoJSON, KML/KMZ, Shapefile: a .zip or the .shp
    with its sidecar files beside it, GeoPackage) into
    households, cameras, incidents, staff (grid staff), tracks (a worker's
    patrol: --staff) or grids (polygons, checked as a hierarchy) (导入): all rows
    or none.

    Exits 0 when committed (or when the dry run would commit), 1 when refused:
    also when nothing would be stored (every row rejected), and for a dry run
    that would store nothing or be refused. A refused import is not recorded.
    """
    options = {"crs": crs, "mapping": mapping, "swap": swap or None}
    options = {k: v for k, v in options.items() if v}
    with db.connect(database_url()) as conn:
        try:
            principal = _principal(conn, username)
            # the layer's own permission, before any row is read
            imports_layer.check_permission(principal, layer)
            result, digest = _read(file, options)
            if staff is not None:
                options["staff"] = staff  # not a reader's option: after reading
            report = imports_layer.run_import(
                conn, principal, result, layer, file.name, digest, options,
                dry_run=dry_run, force=force, progress=_progress,
                on_address_match=on_address_match, new_area=new_area)
        except LayerError as exc:
            _print_rejected(exc.details.get("rejected") or [],
                            (exc.details.get("counts") or {}).get("rejected", 0),
                            None)
            raise click.ClickException(labelled("cli_refused", exc.message)) \
                from None
    _print(report)
    if report.get("refusal"):  # a dry run that would store nothing, or be refused
        raise click.ClickException(labelled("cli_refused", report["refusal"]))


def _read(file, options):
    """The file read with ``options``; (importers.Result, its SHA-256)."""
    started = time.perf_counter()
    click.echo(f"  {line('import_phase_reading')}  {file.name}", err=True)
    try:
        data = file.read_bytes()
        importers.result.check_file(file)
        # a loose .shp is read from its path: its .dbf, .shx, .prj lie beside it
        loose = file.suffix.lower() == ".shp"
        # a large CSV is handed over part by part: its first rows are stored
        # while the next are read (layers.imports.run_import)
        result = importers.read_any(file if loose else data, name=file.name,
                                    stream=True, **options)
    except importers.ImportRefused as exc:
        raise click.ClickException(labelled("cli_refused", exc.message)) from None
    _progress("reading", result.rows if hasattr(result, "parts")
              else len(result.frame) + len(result.rejected),
              time.perf_counter() - started)
    return result, _digest(file, data)


def _print(report):
    c = report["counts"]
    what = (line("cli_dry_run") if report["dry_run"]
            else line("cli_import_no", id=report["import_id"]))
    encoding = f" ({report['encoding']})" if report["encoding"] else ""
    click.echo(what + "：" + line("cli_file", format=report["format"],
                                 encoding=encoding, crs=report["crs"]["name"],
                                 source=report["crs"]["source"]))
    click.echo(labelled("cli_columns", ", ".join(
        f"{k}={v}" for k, v in report["columns"].items() if v)))
    for warning in report["warnings"]:
        click.echo(labelled("cli_warning", warning))
    click.echo(line("cli_counts", **{k: f"{c[k]:,}" for k in (
        "read", "added", "updated", "unchanged", "rejected")}))
    if report.get("moved"):
        click.echo(labelled("cli_moved", ", ".join(
            f"{k} {v:,}" for k, v in report["moved"].items())))
    if report.get("tracks"):
        t = report["tracks"]
        click.echo(line("cli_tracks", staff=t["staff"], stored=t["stored"]) + "："
                   + ", ".join(f"{d} ({line('cli_day', n=n)})"
                               for d, n in t["days"].items()))
    for p in (report.get("check") or {}).get("errors", []):
        click.echo("  " + labelled("cli_check", p["message"]))
    for a in report.get("new_areas") or []:
        click.echo("  " + line("cli_new_area", code=a["code"], name=a["name"],
                               km=a["km"], dir_zh=a["direction_zh"],
                               dir=a["direction"]))
    _print_rejected(report["rejected"], len(report["rejected"]),
                    report["import_id"])


def _print_rejected(rejected, total, import_id):
    """The first rejected rows: row, the field by its Chinese name, the
    position when known, the reason."""
    for r in rejected[:SHOWN]:
        label = r.get("label") or r.get("field")
        field = f" [{label}]" if label else ""
        at = (f" ({r['lon']:.6f}, {r['lat']:.6f})" if r.get("lon") is not None
              else "")
        click.echo(f"  {line('row_n', row=r['row'])}{field}{at}：{r['reason']}")
    more = total - min(len(rejected), SHOWN)
    if more > 0:
        where = (f" (GET /api/v1/imports/{import_id}/rejected.csv)"
                 if import_id else "")
        click.echo(f"  … {line('cli_more', n=f'{more:,}')}{where}")
