"""Committing an import: rows read by ``importers`` checked against a table's rules,
put in their micro-grids, and written all or nothing.

:func:`run_import` takes an ``importers.Result`` (duck-typed: ``frame``,
``rejected``, ``columns``, ``crs``, ``warnings``, ``format``, ``encoding``), maps its
columns onto the target table's (given, or guessed from Chinese and English
names), validates every row vectorised (vocabulary codes or their Chinese labels,
required fields, ranges, the user's jurisdiction), assigns each point with
``geo.assign.assign_codes`` and writes in one transaction: COPY into a temporary
table, then one ``INSERT … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM``,
so the report tells added / updated / unchanged / rejected (a large import goes
straight into an empty table, or by a plain INSERT into one that holds none of
its keys: ``layers.import_bulk``). A commit is recorded in
``imports`` (hash, options, user, counts, rejected rows) and in the audit log.
"""

import time

import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from geo.assign import assign_codes
from layers import audit, import_bulk, import_targets
from layers.errors import Conflict, Forbidden, Invalid, NotFound
from layers.import_bulk import copy_frame, filled_columns
from layers.import_checks import (
    LAYERS,
    ROLE_LEVELS,
    field_label,
    guess_columns,
    plain,
)
from layers.import_checks import check as _check
from layers.import_messages import LAYER_LABELS, say

__all__ = ["BULK_ROWS", "LAYERS", "PERMISSIONS", "run_import", "list_imports",
           "rejected_rows", "guess_columns", "mask_phone", "staff_choices"]

# the permissions an import into a layer needs
PERMISSIONS = {"households": ("imports:run", "households:edit"),
               "cameras": ("imports:run",), "incidents": ("imports:run",),
               "staff": ("imports:run",), "tracks": ("imports:run",),
               "grids": ("imports:run", "grids:edit")}

# From this many rows on, an import into an empty table is copied straight into
# it, and one into a table that holds none of its keys skips ON CONFLICT
# (layers/import_bulk.py).
BULK_ROWS = 50_000


def _micro_grids(conn, principal):
    """Level-4 grids of the user's jurisdiction (codes, polygons), its root's
    polygon (None for everywhere) and its name for messages, ``{where,
    where_zh}``."""
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM grids WHERE level = 4 AND code LIKE %s"
        " ORDER BY code", (principal.prefix,)).fetchall()
    codes = np.array([r[0] for r in rows], dtype=object)
    polygons = shapely.from_wkb([bytes(r[1]) for r in rows])
    if principal.grid_code is None:
        return codes, polygons, None, {"where": "the deployment",
                                       "where_zh": "本系统"}
    root = conn.execute("SELECT name, ST_AsBinary(geom) FROM grids WHERE code = %s",
                        (principal.grid_code,)).fetchone()
    if root is None:
        raise NotFound(say("jurisdiction_not_grid", code=principal.grid_code))
    outline = shapely.from_wkb(bytes(root[1]))
    shapely.prepare(outline)
    return codes, polygons, outline, {
        "where": f"{principal.grid_code} ({root[0]})",
        "where_zh": f"{principal.grid_code} {root[0]}"}


def _locate(conn, principal, checked, frame, grids=None):
    """Each point's micro-grid (``grids``: :func:`_micro_grids`'s answer, read
    here when not given); rejects the points outside the jurisdiction or in no
    micro-grid. Returns (codes, coordinates)."""
    codes, polygons, outline, where = grids or _micro_grids(conn, principal)
    points = np.asarray(frame.geometry.values, dtype=object)
    xy = shapely.get_coordinates(points)
    grid = np.full(len(points), None, dtype=object)
    if outline is not None:
        outside = ~shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
        checked.reject(outside, "geometry", say("outside_jurisdiction", **where))
    todo = np.flatnonzero(checked.ok)
    grid[todo] = assign_codes(points[todo], polygons, codes)
    checked.reject(pd.isna(grid), "geometry", say("no_micro_grid", **where))
    return grid, xy


def _previous(conn, sha256, layer):
    return conn.execute(
        "SELECT id, created_at, username FROM imports"
        " WHERE file_sha256 = %s AND layer = %s ORDER BY id DESC LIMIT 1",
        (sha256, layer)).fetchone()


def _copy_rows(conn, layer, columns, data):
    """COPY the accepted rows (``data``: a DataFrame with ``src_row``, the
    ``columns``, ``lon`` and ``lat``) into a temporary table ``_import``
    (dropped at the end of the transaction)."""
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE _import ON COMMIT DROP AS"
        " SELECT 0 AS src_row, {cols}, 0.0::float8 AS lon, 0.0::float8 AS lat"
        " FROM {table} WITH NO DATA").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            table=sql.Identifier(layer)))
    copy_frame(conn, "_import",
               data[["src_row", *filled_columns(data, columns), "lon", "lat"]])
    # the planner's row counts for the key check and the INSERT's sort
    conn.execute("ANALYZE _import")


def _foreign_keys(conn, principal, layer, key):
    """Drop (and return) the rows whose key belongs to a row of another
    jurisdiction: an import may not overwrite what its user may not see."""
    if principal.grid_code is None:
        return []
    return conn.execute(sql.SQL(
        "DELETE FROM _import i USING {table} t WHERE t.{key} = i.{key}"
        " AND t.grid_code NOT LIKE %s RETURNING i.src_row, i.{key}").format(
            table=sql.Identifier(layer), key=sql.Identifier(key)),
        (principal.prefix,)).fetchall()


def _upsert(conn, layer, key, columns):
    """INSERT … ON CONFLICT DO UPDATE of the changed rows; (added, updated)."""
    targets = [*columns, "geom"]
    ident = sql.Identifier
    extra = sql.SQL(", updated_at = now()") if layer == "households" else sql.SQL("")
    query = sql.SQL("""
        WITH up AS (
            INSERT INTO {table} AS t ({targets})
            SELECT {cols}, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM _import
            ORDER BY grid_code, src_row  -- spatial locality for the GiST index
            ON CONFLICT ({key}) DO UPDATE SET {sets}{extra}
            WHERE ({old}) IS DISTINCT FROM ({new})
            RETURNING (xmax = 0) AS inserted)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
        FROM up
    """).format(
        table=ident(layer), key=ident(key), extra=extra,
        targets=sql.SQL(", ").join(map(ident, targets)),
        cols=sql.SQL(", ").join(map(ident, columns)),
        sets=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(ident(c))
                                for c in targets),
        old=sql.SQL(", ").join(sql.SQL("t.{}").format(ident(c)) for c in targets),
        new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(ident(c))
                               for c in targets))
    return conn.execute(query).fetchone()


def _check_permission(principal, layer):
    if layer not in LAYERS:
        raise Invalid(say("unknown_layer", layer=layer, choices=", ".join(LAYERS)),
                      field="layer")
    for permission in PERMISSIONS[layer]:
        if not principal.can(permission):
            raise Forbidden(say("not_allowed", role=principal.role, layer=layer,
                                layer_zh=LAYER_LABELS[layer], permission=permission))


def run_import(conn, principal, result, layer, file_name, file_bytes_sha256,
               options=None, dry_run=False, force=False, progress=None,
               bulk_rows=BULK_ROWS):
    """Check, assign and (unless ``dry_run``) write the rows of ``result``.

    Parameters
    ----------
    conn : psycopg connection (autocommit or not: the work is one transaction)
    principal : layers.access.Principal
    result : importers.Result
    layer : a key of :data:`LAYERS`: "households", "cameras", "incidents",
        "staff" (grid_staff), "tracks" (a worker's patrol: ``options["staff"]``
        is the worker's id) or "grids" (polygons, upserted by code, the
        hierarchy checked before commit: see :mod:`layers.import_targets`)
    file_name, file_bytes_sha256 : what is recorded in ``imports``
    options : dict, the options the file was read with (recorded; ``mapping`` is
        also used for the column mapping)
    dry_run : check everything, write in a transaction rolled back, record nothing
    force : import again a file (same hash, same layer) that was imported before
    progress : callable(phase, count, seconds) or None
    bulk_rows : from this many rows on, an import into an empty table is
        copied straight into it (its plain indexes built again at the end;
        households, cameras and incidents streamed in chunks, checked and
        assigned while the one before is copied), and one whose keys are all
        new is written by a plain INSERT (``layers.import_bulk``); tests lower it

    Returns
    -------
    dict: import_id (None for a dry run), format, encoding, crs, columns, counts
    {read, added, updated, unchanged, rejected}, rejected (every row), warnings,
    preview (the first 20 accepted rows) and points (up to 2,000 accepted:
    ``{row, lon, lat, grid_code}``); tracks add ``tracks`` (stored per day),
    grids add ``check`` (the hierarchy check), ``moved`` and ``shapes``.

    Raises
    ------
    Forbidden, Invalid, Conflict (the same file imported before, without force),
    Unprocessable (grids that fail the hierarchy check, on commit)
    """
    _check_permission(principal, layer)
    options = dict(options or {})
    started = time.perf_counter()

    def phase(name, count):
        if progress is not None:
            progress(name, count, time.perf_counter() - started)

    frame = result.frame
    given = {k: v for k, v in result.columns.items() if k not in ("lon", "lat")}
    mapping = guess_columns(layer, [c for c in frame.columns
                                    if c not in ("row", "geometry")], given)
    key, fields = LAYERS[layer]
    if key is not None and key not in mapping:
        names = "、".join(fields[key][2][:3])
        raise Invalid(say("no_key_column", field=key, label=field_label(layer, key),
                          names=names), field="mapping")
    job = _Job(conn, principal, result, layer, file_name, file_bytes_sha256,
               options, mapping, dry_run, force)
    if layer == "tracks":
        return import_targets.run_tracks(job, _staff_option(options))
    if layer in import_bulk.STREAMED and len(frame) >= bulk_rows:
        # a large import into an empty table: checked, assigned and copied in
        # chunks, each prepared while the database takes the one before
        # (layers/import_bulk.py); None when the table is not empty
        report = import_bulk.run_empty(
            job, [f for f in fields if f not in _NOT_STORED], phase,
            lambda: _micro_grids(conn, principal),
            lambda checked, part, grids: _locate(conn, principal, checked, part,
                                                 grids))
        if report is not None:
            return report
    phase("checking", len(frame))
    checked, values = _check(result, layer, mapping)
    if layer == "grids":
        return import_targets.run_grids(job, checked, values)
    phase("assigning", int(checked.ok.sum()))
    if layer == "staff":
        grid, xy = _staff_grids(conn, principal, checked, frame, values)
    else:
        grid, xy = _locate(conn, principal, checked, frame)
    rows = frame["row"].to_numpy()
    ok = checked.ok
    rejected = list(result.rejected) + job.rejections(checked)
    stored = [f for f in fields if f not in _NOT_STORED]
    columns = [*stored, "grid_code"]
    table = _TABLES.get(layer, layer)
    data = pd.DataFrame({"src_row": rows[ok],
                         **{f: values[f][ok].reset_index(drop=True) for f in stored},
                         "grid_code": grid[ok], "lon": xy[ok, 0], "lat": xy[ok, 1]})
    phase("writing", len(data))
    with conn.transaction(force_rollback=dry_run):
        job.refuse_repeat()
        bulk = len(data) >= bulk_rows
        if bulk:
            import_bulk.lock_for_bulk(conn, table)
        if bulk and import_bulk.is_empty(conn, table):
            taken = []  # an empty table holds no row of another jurisdiction
            added, updated = import_bulk.load_empty(
                conn, table, columns, data, lambda name: phase(name, len(data)))
        else:
            _copy_rows(conn, table, columns, data)
            taken = _foreign_keys(conn, principal, table, key)
            # a large import that no existing row can conflict with skips the
            # ON CONFLICT test of every row
            if bulk and not import_bulk.has_clash(conn, table, key):
                added, updated = import_bulk.insert_new(
                    conn, table, columns, lambda name: phase(name, len(data)))
            else:
                added, updated = _upsert(conn, table, key, columns)
        label = field_label(layer, key)
        rejected += [{"row": r, "field": key, "reason": say(
            "key_outside", field=key, label=label, value=k)} for r, k in taken]
        accepted = len(data) - len(taken)
        rejected.sort(key=lambda r: r["row"])
        counts = {"read": len(frame) + len(result.rejected), "added": added,
                  "updated": updated, "unchanged": accepted - added - updated,
                  "rejected": len(rejected)}
        import_id = job.record(counts, rejected)
    phase("done", accepted)
    preview, points = job.samples(ok, values, grid, xy, {r for r, _ in taken})
    if layer == "staff" and not principal.can("staff:contact"):
        for row in preview:
            row["phone"] = mask_phone(row["phone"])
    return job.report(counts, rejected, import_id, preview, points)


# the table of a layer, where the names differ
_TABLES = {"staff": "grid_staff"}
# fields read from the file that are no column of the table (staff's given grid
# becomes grid_code)
_NOT_STORED = {"grid"}


class _Job:
    """One import's context and the steps all targets share: the same-file
    refusal, the ``imports`` row with its audit record, the report."""

    def __init__(self, conn, principal, result, layer, file_name, sha256, options,
                 mapping, dry_run, force):
        self.conn, self.principal, self.result = conn, principal, result
        self.layer, self.file_name, self.sha256 = layer, file_name, sha256
        self.options, self.mapping = options, mapping
        self.dry_run, self.force = dry_run, force

    def rejections(self, checked):
        """The rows ``checked`` rejected, as report entries."""
        return checked.rejected(self.result.frame["row"].to_numpy())

    def refuse_repeat(self):
        """Inside the transaction: raise Conflict when the same file went into
        the same layer before (unless forced)."""
        self.conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                          (self.sha256,))
        before = _previous(self.conn, self.sha256, self.layer)
        if before is not None and not self.force:
            raise Conflict(
                say("imported_before", file=self.file_name, layer=self.layer,
                    layer_zh=LAYER_LABELS[self.layer], id=before[0],
                    when=f"{before[1]:%Y-%m-%d %H:%M}", user=before[2]),
                field="file", import_id=before[0])

    def record(self, counts, rejected, import_id=None):
        """Record the import (not a dry run) in ``imports`` and the audit log;
        with ``import_id``, complete the row :meth:`reserve` made. Returns the
        import's id (None for a dry run)."""
        if self.dry_run:
            return None
        options = self.options | {"mapping": self.mapping}
        if import_id is None:
            import_id = self.reserve()
        self.conn.execute(
            "UPDATE imports SET options = %s, counts = %s, errors = %s"
            " WHERE id = %s", (Jsonb(options), Jsonb(counts), Jsonb(rejected),
                               import_id))
        audit.record(self.conn, self.principal, "import", self.layer, import_id,
                     after={"file_name": self.file_name, "counts": counts})
        return import_id

    def reserve(self):
        """The ``imports`` row, before what refers to it (tracks) is written."""
        return self.conn.execute(
            "INSERT INTO imports (file_name, file_sha256, layer, username)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (self.file_name, self.sha256, self.layer,
             self.principal.username)).fetchone()[0]

    def samples(self, ok, values, grid, xy, gone=frozenset()):
        """The report's preview (the first 20 accepted rows, every field) and
        points (up to 2,000 accepted), leaving out the file rows of ``gone``."""
        rows = self.result.frame["row"].to_numpy()
        fields = LAYERS[self.layer][1]
        keep = [i for i in np.flatnonzero(ok)[:2000 + len(gone)]
                if int(rows[i]) not in gone]
        preview = [{"row": int(rows[i]),
                    **{f: plain(values[f].iloc[i]) for f in fields},
                    "grid_code": grid[i], "lon": xy[i, 0], "lat": xy[i, 1]}
                   for i in keep[:20]]
        points = [{"row": int(rows[i]), "lon": xy[i, 0], "lat": xy[i, 1],
                   "grid_code": grid[i]} for i in keep[:2000]]
        return preview, points

    def report(self, counts, rejected, import_id, preview, points, **extra):
        result = self.result
        return {"import_id": import_id, "dry_run": bool(self.dry_run),
                "layer": self.layer, "format": result.format,
                "encoding": result.encoding,
                "crs": {"name": result.crs.name, "source": result.crs.source,
                        "note": result.crs.note},
                "columns": {**self.mapping, "lon": result.columns.get("lon"),
                            "lat": result.columns.get("lat")},
                "counts": counts, "rejected": rejected,
                "warnings": list(result.warnings), "preview": preview,
                "points": points, **extra}


def _staff_option(options):
    raw = options.get("staff")
    try:
        staff = int(raw)
    except (TypeError, ValueError):
        staff = 0
    if staff < 1:
        raise Invalid(say("track_needs_staff", raw=raw), field="staff")
    options["staff"] = staff
    return staff


def mask_phone(phone):
    """13812345678 → 138****5678, as the households layer masks (in SQL)."""
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:]


def _staff_grids(conn, principal, checked, frame, values):
    """Each staff member's grid: the given one (a code or a name unique in the
    jurisdiction), else the ancestor at the role's level (ROLE_LEVELS) of the
    micro-grid holding the position."""
    codes, polygons, _, where = _micro_grids(conn, principal)
    points = np.asarray(frame.geometry.values, dtype=object)
    xy = shapely.get_coordinates(points)
    given = values["grid"].to_numpy(dtype=object, na_value=None)
    chosen = _given_grids(conn, principal, checked, given, where)
    micro = np.full(len(points), None, dtype=object)
    todo = np.flatnonzero(checked.ok & (given == None))  # noqa: E711
    micro[todo] = assign_codes(points[todo], polygons, codes)
    level = values["role"].map(ROLE_LEVELS).to_numpy(dtype=object, na_value=None)
    grid = chosen.copy()
    for i in todo:
        if micro[i] is not None and level[i] is not None:
            grid[i] = micro[i][:6 + 3 * int(level[i])]
    checked.reject(pd.isna(grid), "geometry", say("no_micro_grid_no_grid", **where))
    return grid, xy


def _given_grids(conn, principal, checked, given, where):
    """The codes of the given grids (codes or names); rows naming a grid that is
    unknown, ambiguous or outside the jurisdiction are rejected."""
    out = np.full(len(given), None, dtype=object)
    asked = sorted({v for v in given[checked.ok] if v is not None})
    if not asked:
        return out
    rows = conn.execute(
        "SELECT code, name, code LIKE %s FROM grids"
        " WHERE code = ANY(%s) OR name = ANY(%s) ORDER BY code",
        (principal.prefix, asked, asked)).fetchall()
    answer, reason = {}, {}
    for value in asked:
        by_code = [r for r in rows if r[0] == value]
        found = by_code or [r for r in rows if r[1] == value]
        mine = [r[0] for r in found if r[2]]
        if len(mine) == 1:
            answer[value] = mine[0]
        elif len(mine) > 1:
            reason[value] = say("grid_name_ambiguous", value=value, **where,
                                codes="、".join(mine[:5]))
        elif found:
            reason[value] = say("grid_outside", value=value, **where)
        else:
            reason[value] = say("no_such_grid", value=value)
    for i in np.flatnonzero(checked.ok):
        if given[i] is not None:
            out[i] = answer.get(given[i])
    bad = np.array([v in reason for v in given], dtype=bool) & checked.ok
    checked.reject(bad, "grid", lambda v: reason[v], given)
    return out


def staff_choices(conn, principal, limit=5000):
    """The active grid staff of the jurisdiction (``id, name, role, grid_code``),
    for the page's choice of whose patrol track is imported."""
    return conn.cursor(row_factory=dict_row).execute(
        "SELECT id, name, role, grid_code FROM grid_staff"
        " WHERE active AND grid_code LIKE %s ORDER BY grid_code, role, id LIMIT %s",
        (principal.prefix, limit)).fetchall()


def list_imports(conn, principal, limit=100, offset=0):
    """The imports, newest first (without their rejected rows); a user with a
    jurisdiction sees their own imports only, an administrator all."""
    mine = principal.grid_code is not None
    return conn.cursor(row_factory=dict_row).execute(
        "SELECT id, file_name, file_sha256, layer, options, username, created_at,"
        " counts FROM imports WHERE NOT %s OR username = %s"
        " ORDER BY id DESC LIMIT %s OFFSET %s",
        (mine, principal.username, limit, offset)).fetchall()


def rejected_rows(conn, principal, import_id):
    """The rejected rows of one import, ``[{row, field, reason}]``."""
    row = conn.execute("SELECT username, errors FROM imports WHERE id = %s",
                       (import_id,)).fetchone()
    if row is None or (principal.grid_code is not None
                       and row[0] != principal.username):
        raise NotFound(say("no_import", id=import_id), field="id")
    return row[1]
