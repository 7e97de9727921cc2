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

Each layer is a :class:`layers.import_kinds.Target` (``TARGETS``): its table,
columns, permissions and geometry, and its ``check``, ``assign``, ``write`` and
``preview`` steps; the pipeline asks no layer's name. Before any target sees
them, rows of the wrong geometry and points outside the deployment or the
user's jurisdiction (:mod:`layers.import_places`, :mod:`geo.deployment`) are
rejected; an import that would store nothing is refused, why first.
"""

import copy
import time

import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from geo import localtime
from layers import audit, import_bulk, import_places
from layers.errors import Conflict, Forbidden, Invalid, NotFound, Unprocessable
from layers.import_bulk import copy_frame, filled_columns
from layers.import_checks import LAYERS, field_label, guess_columns, plain
from layers.import_checks import check as _check  # noqa: F401 (tests call it here)
from layers.import_kinds import (
    PERMISSIONS,
    POINTS_SHOWN,
    PREVIEW_ROWS,
    TARGETS,
    Target,
    mask_phone,
)
from layers.import_messages import LAYER_LABELS, say, summarise

__all__ = ["ADDRESS_MATCH", "BULK_ROWS", "LAYERS", "PERMISSIONS", "TARGETS",
           "Target",
           "address_match", "check_permission", "run_import", "list_imports",
           "rejected_rows", "guess_columns", "mask_phone", "staff_choices"]

# What a household row with a new id does when its normalised address is in its
# micro-grid already (run_import's on_address_match); the first is the default.
ADDRESS_MATCH = ("add", "update", "skip")

# From this many rows on, an import into an empty table is copied straight into
# it, and one into a table that holds none of its keys skips ON CONFLICT
# (layers/import_bulk.py).
BULK_ROWS = 50_000


def _previous(conn, sha256, layer):
    return conn.execute(
        "SELECT id, created_at, username FROM imports"
        " WHERE file_sha256 = %s AND layer = %s ORDER BY id DESC LIMIT 1",
        (sha256, layer)).fetchone()


def _copy_rows(conn, layer, columns, data, extra=()):
    """COPY the accepted rows (``data``: a DataFrame with ``src_row``, the
    ``columns``, ``lon`` and ``lat``, and the ``extra`` columns, ``(name,
    type)``, that the table has not) into a temporary table ``_import``
    (dropped at the end of the transaction)."""
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE _import ON COMMIT DROP AS"
        " SELECT 0 AS src_row, {cols}, 0.0::float8 AS lon, 0.0::float8 AS lat"
        " FROM {table} WITH NO DATA").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            table=sql.Identifier(layer)))
    for name, kind in extra:
        conn.execute(sql.SQL("ALTER TABLE _import ADD COLUMN {} {}").format(
            sql.Identifier(name), sql.SQL(kind)))
    names = [*columns, *(name for name, _ in extra)]
    copy_frame(conn, "_import",
               data[["src_row", *filled_columns(data, names), "lon", "lat"]])
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


def _upsert(conn, layer, key, columns, where=None, touch=False):
    """INSERT … ON CONFLICT DO UPDATE of the changed rows (those of ``_import``
    that ``where``, an SQL condition, selects; ``touch``: they get updated_at =
    now()); (added, updated).

    A table partitioned by county (0035) is unique on (key, county): a staged
    row whose key a row of another county holds updates that row first, which
    moves it to its new county (the household moved), so that a key stays
    unique across counties."""
    targets = [*columns, "geom"]
    ident = sql.Identifier
    extra = sql.SQL(", updated_at = now()" if touch else "")
    moved = new = 0
    if "county" in columns:
        moved = conn.execute(sql.SQL("""
            UPDATE {table} t SET {sets}{extra},
                geom = ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)
            FROM _import i WHERE t.{key} = i.{key} AND t.county <> i.county
              AND {where}
        """).format(
            table=ident(layer), key=ident(key), extra=extra,
            where=sql.SQL(where or "true"),
            sets=sql.SQL(", ").join(sql.SQL("{0} = i.{0}").format(ident(c))
                                    for c in columns))).rowcount
        # PostgreSQL gives no xmax from a partitioned table's RETURNING: the
        # new rows are counted before (a staged key is unique, a NULL one new)
        new = conn.execute(sql.SQL(
            "SELECT count(*) FROM _import i WHERE ({where}) AND NOT EXISTS"
            " (SELECT FROM {table} t WHERE t.{key} = i.{key} AND t.county = i.county)"
        ).format(table=ident(layer), key=ident(key),
                 where=sql.SQL(where or "true"))).fetchone()[0]
        key = sql.SQL("{}, county").format(ident(key))
        inserted = sql.SQL("true")
    else:
        key = ident(key)
        inserted = sql.SQL("(xmax = 0)")
    query = sql.SQL("""
        WITH up AS (
            INSERT INTO {table} AS t ({targets})
            SELECT {cols}, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM _import
            WHERE {where}
            ORDER BY grid_code, src_row  -- spatial locality for the GiST index
            ON CONFLICT ({key}) DO UPDATE SET {sets}{extra}
            WHERE ({old}) IS DISTINCT FROM ({new})
            RETURNING {inserted} AS inserted)
        SELECT count(*) FILTER (WHERE inserted), count(*) FILTER (WHERE NOT inserted)
        FROM up
    """).format(
        table=ident(layer), key=key, extra=extra, inserted=inserted,
        where=sql.SQL(where or "true"),
        targets=sql.SQL(", ").join(map(ident, targets)),
        cols=sql.SQL(", ").join(map(ident, columns)),
        sets=sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(ident(c))
                                for c in targets),
        old=sql.SQL(", ").join(sql.SQL("t.{}").format(ident(c)) for c in targets),
        new=sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(ident(c))
                               for c in targets))
    added, updated = conn.execute(query).fetchone()
    if "county" in columns:  # every row returned counted as inserted above
        added, updated = new, added - new
    return added, updated + moved


def address_match(value):
    """``value`` if it is one of :data:`ADDRESS_MATCH`, else Invalid naming
    ``on_address_match``."""
    if value not in ADDRESS_MATCH:
        raise Invalid(say("bad_address_match", value=value,
                          choices=", ".join(ADDRESS_MATCH)), field="on_address_match")
    return value


def check_permission(principal, layer):
    """The :class:`Target` of ``layer``; Invalid for an unknown layer, Forbidden
    when ``principal`` may not import into it (its ``permissions``). The API and
    the command line call it before they read the file; :func:`run_import`
    again."""
    if layer not in TARGETS:
        raise Invalid(say("unknown_layer", layer=layer, choices=", ".join(TARGETS)),
                      field="layer")
    target = TARGETS[layer]
    for permission in target.permissions:
        if not principal.can(permission):
            raise Forbidden(say("not_allowed", role=principal.role, layer=layer,
                                layer_zh=LAYER_LABELS[layer], permission=permission))
    return target


def run_import(conn, principal, result, layer, file_name, file_bytes_sha256,
               options=None, dry_run=False, force=False, progress=None,
               bulk_rows=BULK_ROWS, on_address_match="add", new_area=False):
    """Check, assign and (unless ``dry_run``) write the rows of ``result``.

    Parameters
    ----------
    conn : psycopg connection (autocommit or not: the work is one transaction)
    principal : layers.access.Principal
    result : importers.Result, or a file its reader hands over part by part
        (``importers.read_any(…, stream=True)``: a CSV), streamed into an empty
        table when large enough, else read whole here
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
    bulk_rows : from this many accepted rows on, an import into an empty table
        is copied straight into it (its plain indexes built again at the end;
        a streamable target's rows in chunks, checked and assigned while the
        one before is copied), and one whose keys are all new is written by a
        plain INSERT (``layers.import_bulk``); tests lower it
    on_address_match : households: what a row with a new id does when a
        household of the same normalised address is in its micro-grid already:
        "add" (the default: added, and a warning counts them), "update" (that
        household is updated) or "skip" (the row is rejected)
    new_area : grids: accept level-1 grids more than
        :data:`geo.deployment.MARGIN_M` from the deployment (a new area)

    Every row must lie in the deployment (the level-1 grids) or the user's
    jurisdiction, with that margin; a point layer takes points only (other
    geometries are rejected row by row). An import that would store nothing is
    refused, the commonest reason first (:func:`layers.import_messages.summarise`),
    and is not recorded; a dry run reports it as ``refusal``.

    Returns
    -------
    dict: import_id (None for a dry run), format, encoding, crs, columns, counts
    {read, added, updated, unchanged, rejected}, rejected (every row: ``row,
    field, label`` (the field's Chinese name), ``value, reason`` and, when
    known, ``lon, lat``), warnings, refusal (a dry run that would store nothing
    or be refused: why; else None), preview (the first 20 accepted rows) and
    points (up to 2,000 accepted: ``{row, lon, lat, grid_code}``); tracks add
    ``tracks`` (stored per day), grids add ``check`` (the hierarchy check),
    ``moved``, ``shapes`` and ``new_areas``.

    Raises
    ------
    Forbidden, Invalid, Conflict (the same file imported before, without force),
    Unprocessable (nothing to store; grids that fail the hierarchy check, on
    commit)
    """
    target = check_permission(principal, layer)
    address_match(on_address_match)
    options = dict(options or {})
    started = time.perf_counter()

    def phase(name, count):
        if progress is not None:
            progress(name, count, time.perf_counter() - started)

    area, where = import_places.area_of(conn, principal, target.founds_deployment)

    def job_of(result, columns):
        given = {k: v for k, v in result.columns.items() if k not in ("lon", "lat")}
        mapping = guess_columns(layer, [c for c in columns
                                        if c not in ("row", "geometry")], given)
        job = _Job(conn, principal, result, target, file_name, file_bytes_sha256,
                   options, mapping, dry_run, force)
        job.area, job.where, job.new_area = area, where, bool(new_area)
        job.on_address_match = on_address_match
        target.prepare(job)
        return job

    if hasattr(result, "parts"):  # a file its reader hands over part by part
        job = job_of(result, result.frame_columns)
        if (area is not None and target.streams(job, result.rows, bulk_rows)
                and not job.seen_before()):
            try:
                report = target.stream(job, phase,
                                       _Screened(result, target, area, where))
            except import_bulk.ReadWhole:
                report = None
            if report is not None:
                return report
        # a small file, a table with rows, a repeated file …: read whole
        result = result.whole(_file_refused)
    result, refusal = _screen(result, target, area, where)
    frame = result.frame
    job = job_of(result, frame.columns)
    if frame.empty:  # why every row was rejected comes before missing columns
        return job.nothing(list(result.rejected), refusal)
    return target.run(job, phase, bulk_rows)


def _file_refused(message):
    """A reader's refusal of the file met while its rows are read (a large CSV
    streamed: a quote left open on a late line)."""
    return Invalid(message, field="file")


class _Screened:
    """A file its reader hands over part by part (importers' ``Streamed``), each
    part screened as :func:`_screen` screens a whole file (the rows of another
    geometry, or outside ``area``, rejected), as the chunks of
    :func:`layers.import_bulk.run_empty`. After the last part, :meth:`finish`
    gives the reader's Result with those rejected rows too, ``read`` (the rows
    read) and ``refusal`` (what ``_screen`` says when no row is left)."""

    def __init__(self, streamed, target, area, where):
        self.streamed, self.target, self.area, self.where = (streamed, target,
                                                             area, where)
        self.rows = streamed.rows
        self.read = self.kept = 0
        self.rejected, self.away, self.off = [], [], False
        self.refusal = None

    def parts(self, sizes):
        target = self.target
        for part in self.streamed.parts(sizes, _file_refused):
            self.read += len(part)
            off, kept = import_places.wrong_kind(part, target.geometry, target.name,
                                                 LAYER_LABELS[target.name])
            if off:
                part, self.off = part[kept], True
            away = []
            if len(part) and target.geometry == "point":
                away, inside, _ = import_places.check_points(self.area, self.where,
                                                             part)
                if away:
                    self.away.append(part[~inside])
                    part = part[inside]
            self.rejected += off + away
            self.kept += len(part)
            yield part

    def finish(self):
        result = self.streamed.finish()
        if result is None:
            return None
        self.read += len(result.rejected)
        if not (self.kept or self.off or result.rejected) and self.away:
            self.refusal = import_places.check_points(
                self.area, self.where, pd.concat(self.away))[2]
        result.rejected = sorted([*result.rejected, *self.rejected],
                                 key=lambda r: r["row"])
        return result


def _screen(result, target, area, where):
    """The rows of the geometry the layer takes (points; polygons for grids)
    and, for points, in ``area`` (with its margin; grids are placed by
    :mod:`layers.import_targets`): a copy of ``result`` without the others,
    which join its rejected rows; and the refusal to give when no row is left
    for that reason (the distance and direction of the file's points), else
    None."""
    frame = result.frame
    points = target.geometry == "point"
    if frame.empty:
        return result, None if area is not None or not points else say(
            "no_deployment")
    if area is None and points:  # no level-1 grid yet
        screened = copy.copy(result)
        screened.frame = frame.iloc[:0]
        screened.rejected = sorted([*result.rejected,
                                    *import_places.no_area(frame)],
                                   key=lambda r: r["row"])
        return screened, say("no_deployment")
    off, kept = import_places.wrong_kind(frame, target.geometry, target.name,
                                         LAYER_LABELS[target.name])
    if off:  # (a million rows are not copied for nothing)
        frame = frame[kept]
    away, inside, refusal = (import_places.check_points(area, where, frame)
                             if len(frame) and points
                             else ([], None, None))
    if away:
        frame = frame[inside]
    if not (off or away):
        return result, None
    screened = copy.copy(result)
    screened.frame = frame.reset_index(drop=True)
    screened.rejected = sorted([*result.rejected, *off, *away],
                               key=lambda r: r["row"])
    return screened, None if off or result.rejected else refusal


def _write(job, table, columns, data, phase, bulk_rows):
    """Write the accepted rows of a plain target (``data``: ``src_row``, the
    ``columns``, ``lon``, ``lat``): insert the new keys, update the changed rows;
    returns (added, updated, rows refused while writing)."""
    conn, key = job.conn, job.target.key
    bulk = len(data) >= bulk_rows
    if bulk:
        import_bulk.lock_for_bulk(conn, table)
    if bulk and import_bulk.is_empty(conn, table):
        # an empty table holds no row of another jurisdiction
        return (*import_bulk.load_empty(conn, table, columns, data, phase), [])
    job.stage(table, columns, data)
    refused = job.outside(table)
    # a large import that no existing row can conflict with skips the ON
    # CONFLICT test of every row
    if bulk and not import_bulk.has_clash(conn, table, key):
        return (*import_bulk.insert_new(conn, table, columns, phase), refused)
    return (*_upsert(conn, table, key, columns, touch=job.target.touches), refused)


class _Job:
    """One import's context and the steps all targets share: the same-file
    refusal, the ``imports`` row with its audit record, the report."""

    def __init__(self, conn, principal, result, target, file_name, sha256, options,
                 mapping, dry_run, force):
        self.conn, self.principal, self.result = conn, principal, result
        self.target, self.layer = target, target.name
        self.file_name, self.sha256 = file_name, sha256
        self.options, self.mapping = options, mapping
        self.dry_run, self.force = dry_run, force
        # what a target adds to the report: warnings, fields, rows to flag
        self.notes, self.extra, self.flagged = [], {}, {}
        self.read = None  # the rows read, when the result has no frame to count

    def seen_before(self):
        """Whether this file went into this layer before (and not forced)."""
        return not self.force and _previous(self.conn, self.sha256,
                                            self.layer) is not None

    def stage(self, table, columns, data, extra=()):
        """COPY the accepted rows into the temporary table ``_import``."""
        _copy_rows(self.conn, table, columns, data, extra)

    def write(self, table, columns, data, phase, bulk_rows):
        """The plain write of a target: insert the new keys, update the
        changed rows (:func:`_write`)."""
        return _write(self, table, columns, data, phase, bulk_rows)

    def upsert(self, table, columns, where=None):
        """Insert the staged rows (those ``where`` selects), updating the
        changed ones of the same key; (added, updated)."""
        return _upsert(self.conn, table, self.target.key, columns, where,
                       self.target.touches)

    def outside(self, table):
        """Drop from ``_import`` the rows whose key belongs to a row of another
        jurisdiction; returns them as report entries."""
        key = self.target.key
        label = field_label(self.layer, key)
        return [{"row": r, "field": key, "reason": say(
            "key_outside", field=key, label=label, value=k)}
            for r, k in _foreign_keys(self.conn, self.principal, table, key)]

    def rejections(self, checked, frame=None):
        """The rows ``checked`` rejected, as report entries with the position of
        each (``lon``, ``lat``: a point on its geometry)."""
        frame = self.result.frame if frame is None else frame
        out = checked.rejected(frame["row"].to_numpy())
        bad = np.flatnonzero(~checked.ok)
        if bad.size:
            at = shapely.get_coordinates(shapely.point_on_surface(
                np.asarray(frame.geometry.values, dtype=object)[bad]))
            for entry, (lon, lat) in zip(out, at, strict=True):
                entry["lon"], entry["lat"] = float(lon), float(lat)
        return out

    def labelled(self, rejected):
        """Each entry with its field's Chinese name (``label``: 地址, 人口, 位置)."""
        fields = self.target.fields
        for entry in rejected:
            field = entry.get("field")
            entry["label"] = (field_label(self.layer, field)
                              if field in (None, "geometry") or field in fields
                              else field)
        return rejected

    def counts(self, added, updated, unchanged, rejected):
        read = self.read
        if read is None:
            read = len(self.result.frame) + len(self.result.rejected)
        return {"read": read,
                "added": added, "updated": updated, "unchanged": unchanged,
                "rejected": len(rejected)}

    def nothing(self, rejected, refusal=None):
        """An import that would store nothing: refused (Unprocessable, with the
        counts and the first rejected rows), or for a dry run the report with
        its ``refusal``. Why comes first, with the count."""
        rejected = sorted(rejected, key=lambda r: r["row"])
        self.labelled(rejected)
        message = refusal or summarise(
            rejected, lambda f: next(e["label"] for e in rejected
                                     if e.get("field") == f))
        counts = self.counts(0, 0, 0, rejected)
        if not self.dry_run:
            raise Unprocessable(message, field="file", counts=counts,
                                rejected=rejected[:100])
        return self.report(counts, rejected, None, [], [], refusal=message)

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
                    when=localtime.shown(before[1]),
                    when_en=localtime.shown(before[1], lang="en"), user=before[2]),
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
        self.labelled(rejected)
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

    def samples(self, ok, values, grid, xy, gone=frozenset(), rows=None):
        """The report's preview (the first rows accepted, every field) and points
        (up to :data:`POINTS_SHOWN` accepted), leaving out the file rows of
        ``gone``; ``rows``: the file rows (default: the result's)."""
        if rows is None:
            rows = self.result.frame["row"].to_numpy()
        fields = self.target.fields
        keep = [i for i in np.flatnonzero(ok)[:POINTS_SHOWN + len(gone)]
                if int(rows[i]) not in gone]
        preview = [{"row": int(rows[i]),
                    **{f: plain(values[f].iloc[i]) for f in fields},
                    "grid_code": grid[i], "lon": xy[i, 0], "lat": xy[i, 1]}
                   for i in keep[:PREVIEW_ROWS]]
        points = [{"row": int(rows[i]), "lon": xy[i, 0], "lat": xy[i, 1],
                   "grid_code": grid[i]} for i in keep[:POINTS_SHOWN]]
        return preview, points

    def report(self, counts, rejected, import_id, preview, points, **extra):
        result = self.result
        extra.setdefault("refusal", None)
        self.labelled(rejected)
        return {"import_id": import_id, "dry_run": bool(self.dry_run),
                "layer": self.layer, "format": result.format,
                "encoding": result.encoding,
                "crs": {"name": result.crs.name, "source": result.crs.source,
                        "note": result.crs.note},
                "columns": {**self.mapping, "lon": result.columns.get("lon"),
                            "lat": result.columns.get("lat")},
                "counts": counts, "rejected": rejected,
                "warnings": [*result.warnings, *self.notes], "preview": preview,
                "points": points, **self.extra, **extra}


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
