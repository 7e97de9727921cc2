"""The import targets, one object each with one contract (:class:`Target`):
the table it writes, the columns it knows, the permissions it needs, the
geometry its rows must have, and its steps ``check``, ``assign``, ``write`` and
``preview``. :func:`layers.imports.run_import` screens the rows (geometry,
place), builds the job and hands it to the layer's target in :data:`TARGETS`;
the steps that are more than a plain upsert live in
:mod:`layers.import_targets`. A new target is a subclass and a line of
:data:`TARGETS`: the pipeline asks no layer's name.

Points are put in their micro-grids here (:func:`geo.assign.assign_codes`): a
point layer's rows in the user's micro-grids, grid staff in the grid given or
the ancestor at their role's level.
"""

import numpy as np
import pandas as pd
import shapely

from geo.assign import assign_codes
from layers import disputes, import_bulk, import_targets
from layers.errors import Invalid, NotFound
from layers.import_bulk import POINTS_SHOWN, PREVIEW_ROWS
from layers.import_checks import LAYERS, ROLE_LEVELS, field_label, plain
from layers.import_checks import check as _check
from layers.import_messages import say

CONCERN = ("household_id", "address", "parties")  # incidents: layers.disputes

__all__ = ["TARGETS", "PERMISSIONS", "Target", "Households", "Cameras",
           "Incidents", "Staff", "Tracks", "Grids", "mask_phone"]


class Target:
    """One import target and its contract: the table it writes, the columns it
    knows (:data:`layers.import_checks.LAYERS`: key and fields), the
    permissions an import into it needs, the geometry its rows must have, and
    the steps :meth:`run` strings together — :meth:`check` (the rows' values),
    :meth:`assign` (each row's grid), :meth:`write` (inside the import's
    transaction) and :meth:`preview` (the rows shown). A new target is a
    subclass and a line of :data:`TARGETS`: the pipeline asks no layer's name.
    """

    name = table = None
    # imports:run, and the permission editing the layer needs
    # (layers.access.ROLE_PERMISSIONS)
    permissions = ("imports:run",)
    geometry = "point"  # what its rows must be: "point" or "polygon"
    founds_deployment = False  # its import may create the deployment
    key_optional = False  # rows without the key column are keyed otherwise
    not_stored = ()  # fields read from the file that are no column of the table
    touches = False  # a changed row gets updated_at = now()
    # a large import into its empty table may go in chunks, the next checked and
    # assigned while the database takes the one before (import_bulk.run_empty):
    # only a target whose rows are written as they are, keyed by the file's key
    streamable = False

    @property
    def key(self):
        return LAYERS[self.name][0]

    @property
    def fields(self):
        return LAYERS[self.name][1]

    def prepare(self, job):
        """Check the target's own options, before any row is looked at."""

    def check(self, job):
        """The rows' values checked: (:class:`layers.import_checks.Checked`,
        values per field); refuses a file without the key column."""
        key, fields = self.key, self.fields
        if key is not None and key not in job.mapping and not self.key_optional:
            raise Invalid(say("no_key_column", field=key,
                              label=field_label(self.name, key),
                              names="、".join(fields[key][2][:3])), field="mapping")
        return _check(job.result, self.name, job.mapping)

    def assign(self, job, checked, values):
        """Each row's grid code and coordinates (rows outside rejected)."""
        return _locate(job.conn, job.principal, checked, job.result.frame)

    def write(self, job, columns, data, phase, bulk_rows):
        """Write the accepted rows; (added, updated, rows refused). A plain
        upsert by key (:meth:`layers.imports._Job.write`)."""
        return job.write(self.table, columns, data, phase, bulk_rows)

    def preview(self, job, rows):
        """The preview rows as the user may see them."""
        return rows

    def stored(self, job):
        """The fields written to the table's columns."""
        return [f for f in self.fields if f not in self.not_stored]

    def run(self, job, phase, bulk_rows):
        """Check, then :meth:`store`; a large import of a streamable target into
        its empty table in chunks instead (:meth:`stream`)."""
        if self.streams(job, len(job.result.frame), bulk_rows):
            report = self.stream(job, phase)
            if report is not None:
                return report
        phase("checking", len(job.result.frame))
        checked, values = self.check(job)
        return self.store(job, checked, values, phase, bulk_rows)

    def streams(self, job, rows, bulk_rows):
        """Whether an import of ``rows`` rows goes in chunks when its table is
        empty: a streamable target, keyed by the file's key, ``bulk_rows`` or
        more."""
        return self.streamable and self.key in job.mapping and rows >= bulk_rows

    def stream(self, job, phase, source=None):
        """The rows into the EMPTY table in chunks, checked and assigned while
        the database takes the one before (:func:`layers.import_bulk.run_empty`,
        from ``source``, by default the file read whole); the report, or None
        when the table holds rows."""
        conn, principal = job.conn, job.principal
        return import_bulk.run_empty(
            job, self.stored(job), phase,
            lambda: _micro_grids(conn, principal),
            lambda checked, part, grids: _locate(conn, principal, checked, part,
                                                 grids), source)

    def store(self, job, checked, values, phase, bulk_rows):
        """Assign, write (a dry run: rolled back), record and report."""
        conn, frame = job.conn, job.result.frame
        phase("assigning", int(checked.ok.sum()))
        grid, xy = self.assign(job, checked, values)
        rows = frame["row"].to_numpy()
        ok = checked.ok
        rejected = list(job.result.rejected) + job.rejections(checked)
        if not ok.any():
            return job.nothing(rejected)
        stored = self.stored(job)
        columns = [*stored, "grid_code"]
        data = pd.DataFrame({"src_row": rows[ok],
                             **{f: values[f][ok].reset_index(drop=True)
                                for f in stored},
                             "grid_code": grid[ok], "lon": xy[ok, 0],
                             "lat": xy[ok, 1]})
        phase("writing", len(data))
        with conn.transaction(force_rollback=job.dry_run):
            job.refuse_repeat()
            added, updated, refused = self.write(
                job, columns, data, lambda name: phase(name, len(data)), bulk_rows)
            rejected += refused
            accepted = len(data) - len(refused)
            rejected.sort(key=lambda r: r["row"])
            if accepted == 0:
                if not job.dry_run:  # rolls the transaction back
                    job.nothing(rejected)
                import_id = None
            else:
                counts = job.counts(added, updated, accepted - added - updated,
                                    rejected)
                import_id = job.record(counts, rejected)
        if accepted == 0:
            return job.nothing(rejected)
        phase("done", accepted)
        gone = {r["row"] for r in refused}
        keep = [i for i in np.flatnonzero(ok)[:POINTS_SHOWN + len(gone)]
                if int(rows[i]) not in gone]
        preview = [{"row": int(rows[i]),
                    **{f: plain(values[f].iloc[i]) for f in self.fields},
                    "grid_code": grid[i], "lon": xy[i, 0], "lat": xy[i, 1]}
                   for i in keep[:PREVIEW_ROWS]]
        for row in preview:  # e.g. 已有同址住户: a household at the same address
            if row["row"] in job.flagged:
                row["flag"] = job.flagged[row["row"]]
        points = [{"row": int(rows[i]), "lon": xy[i, 0], "lat": xy[i, 1],
                   "grid_code": grid[i]} for i in keep[:POINTS_SHOWN]]
        return job.report(counts, rejected, import_id, self.preview(job, preview),
                          points)


class Households(Target):
    """Keyed by their id, or without one by their normalised address within
    their micro-grid (:func:`layers.import_targets.write_households`)."""

    name = table = "households"
    permissions = ("imports:run", "households:edit")
    key_optional = True
    touches = True
    streamable = True  # with an id column: an empty table has no address to match

    def write(self, job, columns, data, phase, bulk_rows):
        return import_targets.write_households(job, self.table, columns, data,
                                               phase, bulk_rows)


class Cameras(Target):
    name = table = "cameras"
    permissions = ("imports:run", "cameras:edit")
    streamable = True


class Incidents(Target):
    """Through the incident loop (:func:`layers.import_targets.write_incidents`).
    Whom and where a new incident concerns (household_id, address, parties:
    one cell, names separated by 、 , ; or new lines) is checked as a
    registration checks it (:func:`layers.disputes.clean`) and stored beside
    it; an existing incident's is left as registered."""

    name = table = "incidents"
    permissions = ("imports:run", "incidents:edit")
    not_stored = CONCERN

    def check(self, job):
        checked, values = super().check(job)
        job.concerns = _concerns(checked, values, job.result.frame["row"])
        return checked, values

    def write(self, job, columns, data, phase, bulk_rows):
        return import_targets.write_incidents(job, self.table, columns, data,
                                              phase, bulk_rows)


class Staff(Target):
    """Grid staff: who they are decides where incidents go (triage picks the
    staff of the grid), so they are the user administrators' (no editing route
    of their own). Their grid is the one given, else the ancestor at the role's
    level of the micro-grid holding the position; phones masked in the preview
    without staff:contact. A roster may give each person's 公示电话 (work, other
    with its number, none: layers.import_checks), else their choice stays."""

    name, table = "staff", "grid_staff"
    permissions = ("imports:run", "users:manage")
    not_stored = ("grid",)  # the given grid becomes grid_code

    def assign(self, job, checked, values):
        return _staff_grids(job.conn, job.principal, checked, job.result.frame,
                            values)

    def preview(self, job, rows):
        if not job.principal.can("staff:contact"):
            for row in rows:
                row["phone"] = mask_phone(row["phone"])
                row["notice_phone"] = mask_phone(row["notice_phone"])
        return rows

    def stored(self, job):
        """Without a 公示电话 column in the file, the people's choices (made on
        /plan, or by an earlier roster) stay as they are."""
        stored = super().stored(job)
        if not {"notice_phone_choice", "notice_phone"} & set(job.mapping):
            stored = [f for f in stored if f not in ("notice_phone_choice",
                                                     "notice_phone")]
        return stored


class Tracks(Target):
    """A worker's patrol (``options["staff"]``): the worker's own record of
    where they walked (imports:run only); cleaned and stored per day
    (:func:`layers.import_targets.run_tracks`)."""

    name = "tracks"

    def prepare(self, job):
        job.staff = _staff_option(job.options)

    def run(self, job, phase, bulk_rows):
        return import_targets.run_tracks(job, job.staff)


class Grids(Target):
    """Polygons upserted by code, the hierarchy checked before commit
    (:func:`layers.import_targets.run_grids`); an administrator's grids found
    the deployment."""

    name = table = "grids"
    permissions = ("imports:run", "grids:edit")
    geometry = "polygon"
    founds_deployment = True

    def store(self, job, checked, values, phase, bulk_rows):
        return import_targets.run_grids(job, checked, values)



def _concerns(checked, values, rows):
    """``{file row: concern}`` of the rows naming whom or where they concern,
    each checked by :func:`layers.disputes.clean`; a row it refuses is
    rejected naming the field."""
    found = {}
    cells = {f: values[f].to_numpy(dtype=object, na_value=None) for f in CONCERN}
    given = np.zeros(checked.n, dtype=bool)
    for f in CONCERN:
        given |= cells[f] != None  # noqa: E711
    for i in np.flatnonzero(checked.ok & given):
        try:
            found[int(rows.iloc[i])] = disputes.clean(
                {f: plain(cells[f][i]) for f in CONCERN})
        except Invalid as exc:
            one = np.zeros(checked.n, dtype=bool)
            one[i] = True
            checked.reject(one, exc.field, exc.message, cells[exc.field])
    return found


# layer -> its target, in the order the page offers them
TARGETS = {t.name: t for t in (Households(), Cameras(), Incidents(), Staff(),
                               Tracks(), Grids())}
# layer -> the permissions an import into it needs
PERMISSIONS = {name: t.permissions for name, t in TARGETS.items()}


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
