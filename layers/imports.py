"""Committing an import: rows read by ``importers`` checked against a table's rules,
put in their micro-grids, and written all or nothing.

:func:`run_import` takes an ``importers.Result`` (duck-typed: ``frame``,
``rejected``, ``columns``, ``crs``, ``warnings``, ``format``, ``encoding``), maps its
columns onto the target table's (given, or guessed from Chinese and English
names), validates every row vectorised (vocabulary codes or their Chinese labels,
required fields, ranges, the user's jurisdiction), assigns each point with
``geo.assign.assign_codes`` and writes in one transaction: COPY into a temporary
table, then one ``INSERT … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM``,
so the report tells added / updated / unchanged / rejected. A commit is recorded in
``imports`` (hash, options, user, counts, rejected rows) and in the audit log.
"""

import re
import time

import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from geo import vocab
from geo.assign import assign_codes
from layers import audit
from layers.errors import Conflict, Forbidden, Invalid, NotFound

__all__ = ["LAYERS", "PERMISSIONS", "run_import", "list_imports", "rejected_rows",
           "guess_columns"]

# field -> (kind, required, synonyms). Kinds: text, int, float, vocab, tags, time.
_HOUSEHOLDS = {
    "external_id": ("text", True, ("编号", "户编号", "户号", "外部编号", "id")),
    "address": ("text", True, ("地址", "住址", "门牌地址", "门牌")),
    "head_name": ("text", False, ("户主", "户主姓名", "姓名", "name", "head")),
    "phone": ("phone", False, ("电话", "手机", "手机号", "联系电话", "tel", "mobile")),
    "id_number": ("id_number", False, ("身份证号", "身份证", "身份证号码", "证件号码")),
    "size": ("int", False, ("人口", "人数", "户人口", "家庭人口", "population")),
    "tags": ("tags", False, ("标签", "人员类别", "重点人群")),
}
_CAMERAS = {
    "code": ("text", True, ("编号", "编码", "设备编号", "设备编码")),
    "name": ("text", True, ("名称", "设备名称", "点位名称", "点位")),
    "kind": ("vocab", True, ("类型", "种类", "设备类型", "type")),
    "bearing": ("float", False, ("朝向", "方向角", "方位角", "方向")),
    "fov_deg": ("float", True, ("视场角", "视角", "fov")),
    "range_m": ("float", True, ("可视距离", "距离", "范围", "range")),
    "owner": ("vocab", True, ("归属", "权属", "所属")),
    "status": ("vocab", False, ("状态",)),
}
_INCIDENTS = {
    "code": ("text", True, ("编号", "事件编号")),
    "category": ("vocab", True, ("类别", "事件类别", "大类")),
    "subtype": ("subtype", False, ("小类", "子类", "事件小类")),
    "source": ("vocab", True, ("来源", "事件来源")),
    "reporter": ("text", False, ("上报人", "报告人")),
    "description": ("text", False, ("描述", "事件描述", "内容")),
    "created_at": ("time", False, ("时间", "上报时间", "发生时间", "time")),
    "status": ("vocab", False, ("状态",)),
}
# layer -> (key column, fields)
LAYERS = {"households": ("external_id", _HOUSEHOLDS),
          "cameras": ("code", _CAMERAS),
          "incidents": ("code", _INCIDENTS)}
# the permissions an import into a layer needs
PERMISSIONS = {"households": ("imports:run", "households:edit"),
               "cameras": ("imports:run",), "incidents": ("imports:run",)}

# Imported incidents are open ones: a closed one needs its closing (closed_at).
_OPEN = {k: v for k, v in vocab.INCIDENT_STATUSES.items()
         if k in ("registered", "dispatched", "handling")}
_VOCABS = {("cameras", "kind"): vocab.CAMERA_KINDS,
           ("cameras", "owner"): vocab.CAMERA_OWNERS,
           ("cameras", "status"): vocab.CAMERA_STATUSES,
           ("incidents", "category"): vocab.INCIDENT_CATEGORIES,
           ("incidents", "source"): vocab.INCIDENT_SOURCES,
           ("incidents", "status"): _OPEN}
_DEFAULTS = {("cameras", "status"): "online", ("incidents", "status"): "registered"}
# (low, high, low inclusive, high inclusive), the schema's CHECKs
_RANGES = {"size": (1, 50, True, True), "bearing": (0, 360, True, False),
           "fov_deg": (0, 360, False, True), "range_m": (0, 2000, False, True)}
_PHONE = r"^[0-9+\- ]{5,20}$"
_ID_NUMBER = r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$"
_TAG_SPLIT = re.compile(r"[,，、;；|\s]+")
_MAX_TEXT = 500


class _Checked:
    """Rows being checked: values per field, and the first reason per bad row."""

    def __init__(self, frame):
        self.n = len(frame)
        self.reason = np.full(self.n, None, dtype=object)
        self.field = np.full(self.n, None, dtype=object)
        self.value = np.full(self.n, None, dtype=object)

    def reject(self, mask, field, reasons, values=None):
        """Reject the rows of ``mask`` not rejected yet; ``reasons``: a str, or an
        array of str aligned with the rows; ``values``: the offending values."""
        mask = np.asarray(mask, dtype=bool) & (self.reason == None)  # noqa: E711
        if mask.any():
            self.reason[mask] = (reasons if isinstance(reasons, str)
                                 else np.asarray(reasons, dtype=object)[mask])
            self.field[mask] = field
            if values is not None:
                self.value[mask] = np.asarray(values, dtype=object)[mask]

    @property
    def ok(self):
        return self.reason == None  # noqa: E711


def guess_columns(layer, source_columns, given=None):
    """The mapping target field → source column: ``given`` first, then a column
    named like the field (its own name, or a Chinese or English synonym)."""
    fields = LAYERS[layer][1]
    given = {k: v for k, v in (given or {}).items() if k in fields}
    taken = set(given.values())
    by_name = {str(c).strip().lower(): c for c in source_columns}
    mapping = dict(given)
    for field, (_, _, synonyms) in fields.items():
        if field in mapping:
            continue
        for name in (field, *synonyms):
            column = by_name.get(name.lower())
            if column is not None and column not in taken:
                mapping[field] = column
                taken.add(column)
                break
    return mapping


def _text(series):
    """Stripped strings, None for blanks (numbers from a spreadsheet as text)."""
    values = series.astype(object).where(series.notna(), None)
    text = values.map(lambda v: None if v is None else _as_text(v))
    return text.where(text != "", None)


def _as_text(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _check_field(checked, layer, field, kind, required, raw):
    text = _text(raw)
    blank = text.isna().to_numpy()
    shown = text.to_numpy(dtype=object)

    def reject(mask, reasons):
        checked.reject(mask, field, reasons, shown)

    if required:
        reject(blank, f"{field} is required")
    if kind in ("text", "phone", "id_number"):
        long = text.str.len().to_numpy(na_value=0) > _MAX_TEXT
        reject(long, f"{field} is longer than {_MAX_TEXT} characters")
        pattern = {"phone": _PHONE, "id_number": _ID_NUMBER}.get(kind)
        if pattern:
            bad = ~blank & ~text.str.match(pattern).fillna(False).to_numpy(dtype=bool)
            reject(bad, ("'" + text.fillna("") + "' is not a "
                         + ("phone number" if kind == "phone"
                            else "Chinese ID number")).to_numpy())
        return text
    if kind in ("int", "float"):
        numbers = pd.to_numeric(text, errors="coerce").astype(float).to_numpy()
        what = "a whole number" if kind == "int" else "a number"
        bad = ~blank & ~np.isfinite(numbers)
        if kind == "int":
            bad |= ~blank & np.isfinite(numbers) & (np.mod(numbers, 1) != 0)
        got = ("got '" + text.fillna("") + "'").to_numpy()
        reject(bad, f"{field} must be {what}, " + got)
        if field in _RANGES:
            lo, hi, lo_in, hi_in = _RANGES[field]
            with np.errstate(invalid="ignore"):
                out = ((numbers < lo) if lo_in else (numbers <= lo)) | (
                    (numbers > hi) if hi_in else (numbers >= hi))
            span = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
            reject(~blank & out, f"{field} must be in {span}, " + got)
        numbers = pd.Series(numbers, index=raw.index, dtype=float)
        return numbers.astype("Int64") if kind == "int" else numbers
    if kind == "vocab":
        table = _VOCABS[(layer, field)]
        names = _lookup(table)
        codes = text.map(lambda v: None if v is None else names.get(v.lower()))
        default = _DEFAULTS.get((layer, field))
        bad = ~blank & codes.isna().to_numpy()
        choices = "、".join(f"{v[0]}/{k}" for k, v in table.items())
        reject(bad, (field + " '" + text.fillna("")
                     + f"' is not one of {choices}").to_numpy())
        return codes.fillna(default) if default else codes
    if kind == "subtype":
        return text  # checked against the category in _check_rules
    if kind == "tags":
        lookup = _lookup(vocab.HOUSEHOLD_TAGS)
        parts = text.map(lambda t: [] if t is None else
                         [p for p in _TAG_SPLIT.split(t) if p])
        codes = parts.map(lambda ps: [lookup.get(p.lower(), p) for p in ps])
        unknown = codes.map(lambda cs: next(
            (c for c in cs if c not in vocab.HOUSEHOLD_TAGS), None))
        reject(unknown.notna().to_numpy(),
               ("tag '" + unknown.fillna("") + "' is not one of "
                + "、".join(v[0] for v in vocab.HOUSEHOLD_TAGS.values())).to_numpy())
        return codes.map(lambda cs: list(dict.fromkeys(cs)))
    if kind == "time":
        times = pd.to_datetime(text, errors="coerce", format="mixed")
        if times.dt.tz is None:  # local times are China's
            times = times.dt.tz_localize("Asia/Shanghai")
        reject(~blank & times.isna().to_numpy(),
               (field + " '" + text.fillna("") + "' is not a date and time").to_numpy())
        return times
    raise ValueError(kind)


def _lookup(table):
    """code, Chinese label or English label (any case) → code."""
    found = {}
    for code, entry in table.items():
        for name in (code, entry[0], entry[1]):
            found[str(name).lower()] = code
    return found


def _check_rules(checked, layer, values):
    """The rules that span fields: a camera's bearing, an incident's subtype."""
    if layer == "cameras":
        needs = (values["kind"].isin(["fixed", "checkpoint"])
                 & values["bearing"].isna()).to_numpy()
        checked.reject(needs, "bearing", "a fixed camera or checkpoint needs a "
                       "bearing (0–360°)")
    if layer == "incidents":
        pairs = {}
        for cat, (_, _, subs) in vocab.INCIDENT_CATEGORIES.items():
            for sub, (zh, en) in subs.items():
                for name in (sub, zh, en):
                    pairs[(cat, name.lower())] = sub
        sub = values["subtype"]
        codes = [None if s is None or c is None else pairs.get((c, s.lower()))
                 for c, s in zip(values["category"], sub, strict=True)]
        codes = pd.Series(codes, index=sub.index, dtype=object)
        bad = (sub.notna() & codes.isna()).to_numpy()
        checked.reject(bad, "subtype", ("subtype '" + sub.fillna("")
                                        + "' is not one of the category's "
                                        "subtypes").to_numpy())
        values["subtype"] = codes
    key = LAYERS[layer][0]
    keys = values[key]
    repeat = (keys.duplicated(keep="first") & keys.notna()).to_numpy() & checked.ok
    checked.reject(repeat, key, (key + " '" + keys.fillna("")
                                 + "' repeats an earlier row").to_numpy())


def _check(result, layer, mapping):
    frame = result.frame
    fields = LAYERS[layer][1]
    checked = _Checked(frame)
    values = {}
    empty = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for field, (kind, required, _) in fields.items():
        raw = frame[mapping[field]] if field in mapping else empty
        values[field] = _check_field(checked, layer, field, kind, required, raw)
    _check_rules(checked, layer, values)
    return checked, values


def _micro_grids(conn, principal):
    """Level-4 grids of the user's jurisdiction (codes, polygons), its root's
    polygon (None for everywhere) and a name for messages."""
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM grids WHERE level = 4 AND code LIKE %s"
        " ORDER BY code", (principal.prefix,)).fetchall()
    codes = np.array([r[0] for r in rows], dtype=object)
    polygons = shapely.from_wkb([bytes(r[1]) for r in rows])
    if principal.grid_code is None:
        return codes, polygons, None, "the deployment"
    root = conn.execute("SELECT name, ST_AsBinary(geom) FROM grids WHERE code = %s",
                        (principal.grid_code,)).fetchone()
    if root is None:
        raise NotFound(f"your jurisdiction {principal.grid_code} is not a grid")
    outline = shapely.from_wkb(bytes(root[1]))
    shapely.prepare(outline)
    return codes, polygons, outline, f"{principal.grid_code} ({root[0]})"


def _locate(conn, principal, checked, frame):
    codes, polygons, outline, where = _micro_grids(conn, principal)
    points = np.asarray(frame.geometry.values, dtype=object)
    xy = shapely.get_coordinates(points)
    grid = np.full(len(points), None, dtype=object)
    if outline is not None:
        outside = ~shapely.contains_xy(outline, xy[:, 0], xy[:, 1])
        checked.reject(outside, "geometry", "outside your jurisdiction "
                       f"{where}")
    todo = np.flatnonzero(checked.ok)
    grid[todo] = assign_codes(points[todo], polygons, codes)
    checked.reject(pd.isna(grid), "geometry",
                   f"not inside any micro-grid of {where}")
    return grid, xy


def _previous(conn, sha256, layer):
    return conn.execute(
        "SELECT id, created_at, username FROM imports"
        " WHERE file_sha256 = %s AND layer = %s ORDER BY id DESC LIMIT 1",
        (sha256, layer)).fetchone()


def _copy_rows(conn, layer, columns, data):
    """COPY the accepted rows into a temporary table ``_import`` (dropped at the
    end of the transaction)."""
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE _import ON COMMIT DROP AS"
        " SELECT 0 AS src_row, {cols}, 0.0::float8 AS lon, 0.0::float8 AS lat"
        " FROM {table} WITH NO DATA").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            table=sql.Identifier(layer)))
    names = ["src_row", *columns, "lon", "lat"]
    statement = sql.SQL("COPY _import ({}) FROM STDIN (FORMAT csv)").format(
        sql.SQL(", ").join(map(sql.Identifier, names)))
    # One CSV text written by pandas, not a million write_row calls: COPY's own
    # format parsed by the server, ~10× faster from Python. None → empty field →
    # NULL; lists (tags) → array literals.
    frame = pd.DataFrame({c: [_array(v) for v in data[c]] if c == "tags"
                          else data[c] for c in names})
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(frame.to_csv(index=False, header=False))


def _array(value):
    """A text[] literal for COPY (tags are vocabulary codes: no quoting needed)."""
    if value is None:
        return None
    return "{" + ",".join(value) + "}"


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


def _column_values(series):
    if pd.api.types.is_datetime64_any_dtype(series):
        return [None if pd.isna(v) else v.isoformat() for v in series]
    if isinstance(series.dtype, pd.Int64Dtype):
        return [None if v is pd.NA else int(v) for v in series]
    if series.dtype == float:
        return [None if v != v else v for v in series.tolist()]
    return series.tolist()


def _check_permission(principal, layer):
    if layer not in LAYERS:
        raise Invalid(f"cannot import into {layer!r}: choose one of "
                      f"{', '.join(LAYERS)}", field="layer")
    for permission in PERMISSIONS[layer]:
        if not principal.can(permission):
            raise Forbidden(f"your role ({principal.role}) may not import "
                            f"{layer} ({permission})")


def run_import(conn, principal, result, layer, file_name, file_bytes_sha256,
               options=None, dry_run=False, force=False, progress=None):
    """Check, assign and (unless ``dry_run``) write the rows of ``result``.

    Parameters
    ----------
    conn : psycopg connection (autocommit or not: the work is one transaction)
    principal : layers.access.Principal
    result : importers.Result
    layer : "households", "cameras" or "incidents"
    file_name, file_bytes_sha256 : what is recorded in ``imports``
    options : dict, the options the file was read with (recorded; ``mapping`` is
        also used for the column mapping)
    dry_run : check everything, write in a transaction rolled back, record nothing
    force : import again a file (same hash, same layer) that was imported before
    progress : callable(phase, count, seconds) or None

    Returns
    -------
    dict: import_id (None for a dry run), format, encoding, crs, columns, counts
    {read, added, updated, unchanged, rejected}, rejected (every row), warnings,
    preview (the first 20 accepted rows) and points (up to 2,000 accepted:
    ``{row, lon, lat, grid_code}``).

    Raises
    ------
    Forbidden, Invalid, Conflict (the same file imported before, without force)
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
    if key not in mapping:
        names = "、".join(fields[key][2][:3])
        raise Invalid(f"no column for {key} (named {key} or {names}); map one with "
                      f"{key}=<column>", field="mapping")
    phase("checking", len(frame))
    checked, values = _check(result, layer, mapping)
    phase("assigning", int(checked.ok.sum()))
    grid, xy = _locate(conn, principal, checked, frame)
    rows = frame["row"].to_numpy()
    ok = checked.ok
    bad = np.flatnonzero(~ok)
    rejected = list(result.rejected) + [
        {"row": int(rows[i]), "field": checked.field[i],
         "value": _plain(checked.value[i]), "reason": checked.reason[i]}
        for i in bad]
    columns = [*fields, "grid_code"]
    data = {f: _column_values(values[f][ok]) for f in fields}
    data.update(grid_code=grid[ok].tolist(), src_row=rows[ok].tolist(),
                lon=xy[ok, 0].tolist(), lat=xy[ok, 1].tolist())
    phase("writing", len(data["src_row"]))
    with conn.transaction(force_rollback=dry_run):
        conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                     (file_bytes_sha256,))
        before = _previous(conn, file_bytes_sha256, layer)
        if before is not None and not force:
            raise Conflict(
                f"{file_name} was imported into {layer} already: import "
                f"#{before[0]} on {before[1]:%Y-%m-%d %H:%M} by {before[2]}; "
                "use force to import it again", field="file",
                import_id=before[0])
        _copy_rows(conn, layer, columns, data)
        taken = _foreign_keys(conn, principal, layer, key)
        rejected += [{"row": r, "field": key, "reason": f"{key} {k} belongs to a "
                      "record outside your jurisdiction"} for r, k in taken]
        added, updated = _upsert(conn, layer, key, columns)
        rejected.sort(key=lambda r: r["row"])
        accepted = len(data["src_row"]) - len(taken)
        counts = {"read": len(frame) + len(result.rejected), "added": added,
                  "updated": updated, "unchanged": accepted - added - updated,
                  "rejected": len(rejected)}
        import_id = None
        if not dry_run:
            options["mapping"] = mapping
            import_id = conn.execute(
                "INSERT INTO imports (file_name, file_sha256, layer, options,"
                " username, counts, errors) VALUES (%s, %s, %s, %s, %s, %s, %s)"
                " RETURNING id",
                (file_name, file_bytes_sha256, layer, Jsonb(options),
                 principal.username, Jsonb(counts), Jsonb(rejected))).fetchone()[0]
            audit.record(conn, principal, "import", layer, import_id,
                         after={"file_name": file_name, "counts": counts})
    phase("done", accepted)
    gone = {r for r, _ in taken}
    keep = [i for i in np.flatnonzero(ok)[:2000 + len(gone)]
            if int(rows[i]) not in gone]
    preview = [{"row": int(rows[i]), **{f: _plain(values[f].iloc[i]) for f in fields},
                "grid_code": grid[i], "lon": xy[i, 0], "lat": xy[i, 1]}
               for i in keep[:20]]
    points = [{"row": int(rows[i]), "lon": xy[i, 0], "lat": xy[i, 1],
               "grid_code": grid[i]} for i in keep[:2000]]
    return {"import_id": import_id, "dry_run": bool(dry_run), "layer": layer,
            "format": result.format, "encoding": result.encoding,
            "crs": {"name": result.crs.name, "source": result.crs.source,
                    "note": result.crs.note},
            "columns": {**mapping, "lon": result.columns.get("lon"),
                        "lat": result.columns.get("lat")},
            "counts": counts, "rejected": rejected,
            "warnings": list(result.warnings), "preview": preview, "points": points}


def _plain(value):
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    return value


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
        raise NotFound(f"no import {import_id}", field="id")
    return row[1]
