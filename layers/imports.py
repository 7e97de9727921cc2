"""Committing an import: rows read by ``importers`` checked against a table's rules,
put in their micro-grids, and written all or nothing.

:func:`run_import` takes an ``importers.Result`` (duck-typed: ``frame``,
``rejected``, ``columns``, ``crs``, ``warnings``, ``format``, ``encoding``), maps its
columns onto the target table's (given, or guessed from Chinese and English
names), validates every row vectorised (vocabulary codes or their Chinese labels,
required fields, ranges, the user's jurisdiction), assigns each point with
``geo.assign.assign_codes`` and writes in one transaction: COPY into a temporary
table, then one ``INSERT … ON CONFLICT … DO UPDATE … WHERE … IS DISTINCT FROM``,
so the report tells added / updated / unchanged / rejected (a large import that
no existing row can conflict with takes a plain INSERT instead, see
:func:`_insert`). A commit is recorded in
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

__all__ = ["BULK_ROWS", "LAYERS", "PERMISSIONS", "run_import", "list_imports",
           "rejected_rows", "guess_columns"]

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
# a time (hh:mm[:ss[.f]]) followed by its offset from UTC or Z
_OFFSET = r":[0-9]{2}(?:\.[0-9]+)?\s*(?:[zZ]|[+-][0-9]{2}(?::?[0-9]{2})?)$"
_MAX_TEXT = 500
# From this many rows on, an import into a table that cannot hold any of its keys
# skips ON CONFLICT (see _insert).
BULK_ROWS = 50_000
_COPY_BLOCK = 50_000  # rows per block of COPY text


class _Checked:
    """Rows being checked: values per field, and the first reason per bad row."""

    def __init__(self, frame):
        self.n = len(frame)
        self.reason = np.full(self.n, None, dtype=object)
        self.field = np.full(self.n, None, dtype=object)
        self.value = np.full(self.n, None, dtype=object)
        self.ok = np.ones(self.n, dtype=bool)

    def reject(self, mask, field, reasons, values=None, about=None):
        """Reject the rows of ``mask`` not rejected yet; ``reasons``: a str, an
        array of str aligned with the rows, or a function of the row's value in
        ``about`` (default ``values``), called for the newly rejected rows only
        (a million messages built for the good rows cost a second); ``values``:
        the offending values."""
        mask = np.asarray(mask, dtype=bool) & self.ok
        if not mask.any():
            return
        index = np.flatnonzero(mask)
        if isinstance(reasons, str):
            self.reason[index] = reasons
        elif callable(reasons):
            quoted = values if about is None else about
            self.reason[index] = [reasons(v) for v in quoted[index]]
        else:
            self.reason[index] = np.asarray(reasons, dtype=object)[index]
        self.field[index] = field
        self.ok[index] = False
        if values is not None:
            self.value[index] = np.asarray(values, dtype=object)[index]


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
    """Stripped strings, None for blanks (numbers from a spreadsheet as text), as
    an object Series.

    Vectorised: a CSV's columns are all strings and go through pandas' string
    methods at once; only the values that are not strings (a spreadsheet's
    numbers, GeoJSON's integers) are turned into text one by one.
    """
    present = series.notna().to_numpy()
    if not present.any():  # a column the file does not have
        return pd.Series(np.full(len(series), None, dtype=object), index=series.index)
    if isinstance(series.dtype, pd.StringDtype):  # a CSV's: pandas' own strings
        text = series.str.strip()
    else:
        values = series.to_numpy(dtype=object, na_value=None, copy=True)
        if pd.api.types.infer_dtype(values, skipna=True) != "string":
            other = present & ~np.fromiter((isinstance(v, str) for v in values),
                                           dtype=bool, count=values.size)
            values[other] = [_as_text(v) for v in values[other]]
        text = pd.Series(values, index=series.index, dtype=object).str.strip()
    out = text.to_numpy(dtype=object, na_value=None, copy=True)
    out[~(present & (text.str.len().to_numpy(dtype=float, na_value=0) > 0))] = None
    return pd.Series(out, index=series.index, dtype=object)


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
        if blank.all():
            return text
        long = text.str.len().to_numpy(dtype=float, na_value=0) > _MAX_TEXT
        reject(long, f"{field} is longer than {_MAX_TEXT} characters")
        pattern = {"phone": _PHONE, "id_number": _ID_NUMBER}.get(kind)
        if pattern:
            # one regex over the column (blank rows are None and stay unmatched)
            good = text.str.fullmatch(pattern).to_numpy(dtype=object) == True  # noqa: E712
            what = "phone number" if kind == "phone" else "Chinese ID number"
            reject(~blank & ~good, lambda v: f"'{v}' is not a {what}")
        return text
    if kind in ("int", "float"):
        numbers = pd.to_numeric(text, errors="coerce").astype(float).to_numpy()
        what = "a whole number" if kind == "int" else "a number"
        finite = np.isfinite(numbers)
        whole = np.zeros(numbers.size, dtype=bool)
        whole[finite] = np.mod(numbers[finite], 1) == 0
        bad = ~blank & ~finite
        if kind == "int":
            bad |= ~blank & finite & ~whole
        reject(bad, lambda v: f"{field} must be {what}, got '{v}'")
        if field in _RANGES:
            lo, hi, lo_in, hi_in = _RANGES[field]
            with np.errstate(invalid="ignore"):
                out = ((numbers < lo) if lo_in else (numbers <= lo)) | (
                    (numbers > hi) if hi_in else (numbers >= hi))
            span = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
            reject(~blank & out, lambda v: f"{field} must be in {span}, got '{v}'")
        if kind == "float":
            return pd.Series(numbers, index=raw.index, dtype=float)
        # rejected fractions and infinities become NA: Int64 cannot hold them
        return pd.Series(np.where(whole, numbers, np.nan), index=raw.index,
                         dtype=float).astype("Int64")
    if kind == "vocab":
        table = _VOCABS[(layer, field)]
        found = text.str.lower().map(_lookup(table))
        codes = found.astype(object).where(found.notna(), None)
        default = _DEFAULTS.get((layer, field))
        bad = ~blank & codes.isna().to_numpy()
        choices = "、".join(f"{v[0]}/{k}" for k, v in table.items())
        reject(bad, lambda v: f"{field} '{v}' is not one of {choices}")
        return codes.fillna(default) if default else codes
    if kind == "subtype":
        return text  # checked against the category in _check_rules
    if kind == "tags":
        return _check_tags(checked, field, text, blank, shown)
    if kind == "time":
        times = _times(text, blank)
        reject(~blank & times.isna().to_numpy(),
               lambda v: f"{field} '{v}' is not a date and time")
        return times
    raise ValueError(kind)


def _check_tags(checked, field, text, blank, shown):
    """Tags split on any separator, each a code or label of
    ``vocab.HOUSEHOLD_TAGS``; the first unknown one rejects its row. Tuples of
    codes, each once, in the file's order; blank rows share one empty tuple (a
    million new lists cost half a second)."""
    n = len(text)
    codes = np.empty(n, dtype=object)
    codes.fill(())
    filled = np.flatnonzero(~blank)
    if not filled.size:
        return pd.Series(codes, index=text.index, dtype=object)
    # one row per tag, indexed by the row's position (explode keeps the order)
    parts = text.iloc[filled].reset_index(drop=True).set_axis(filled).str.split(
        _TAG_SPLIT, regex=True).explode()
    parts = parts[parts.notna() & (parts != "")]
    found = parts.str.lower().map(_lookup(vocab.HOUSEHOLD_TAGS))
    unknown = parts[found.isna()].groupby(level=0, sort=False).first()
    reasons = np.full(n, None, dtype=object)
    labels = "、".join(v[0] for v in vocab.HOUSEHOLD_TAGS.values())
    reasons[unknown.index.to_numpy()] = [f"tag '{t}' is not one of {labels}"
                                         for t in unknown.to_numpy(dtype=object)]
    checked.reject(reasons != None, field, reasons, shown)  # noqa: E711
    pairs = pd.DataFrame({"row": found.index.to_numpy(),
                          "code": found.to_numpy(dtype=object)}).dropna()
    pairs = pairs.drop_duplicates()
    for row, group in pairs.groupby("row", sort=False)["code"]:
        codes[row] = tuple(group)
    return pd.Series(codes, index=text.index, dtype=object)


def _times(text, blank):
    """Dates and times in China's time zone: local times are China's, times with
    an offset are converted (a column may mix both)."""
    times = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, Asia/Shanghai]")
    given = text[~blank]
    aware = given.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
    for part, utc in ((given[~aware], False), (given[aware], True)):
        if part.empty:
            continue
        parsed = pd.to_datetime(part, errors="coerce", format="mixed", utc=utc)
        parsed = (parsed.dt.tz_convert("Asia/Shanghai") if utc
                  else parsed.dt.tz_localize("Asia/Shanghai"))
        times[part.index] = parsed.astype(times.dtype)
    return times


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
                    pairs[f"{cat}|{name.lower()}"] = sub  # codes hold no |
        sub, category = values["subtype"], values["category"]
        both = sub.notna() & category.notna()
        found = category[both].str.cat(sub[both].str.lower(), sep="|").map(pairs)
        codes = np.full(len(sub), None, dtype=object)
        codes[np.flatnonzero(both.to_numpy())] = found.to_numpy(dtype=object,
                                                                na_value=None)
        codes = pd.Series(codes, index=sub.index, dtype=object)
        bad = (sub.notna() & codes.isna()).to_numpy()
        shown = sub.to_numpy(dtype=object, na_value=None)
        checked.reject(bad, "subtype", lambda v: f"subtype '{v}' is not one of the "
                       "category's subtypes", about=shown)
        values["subtype"] = codes
    key = LAYERS[layer][0]
    keys = values[key]
    repeat = (keys.duplicated(keep="first") & keys.notna()).to_numpy() & checked.ok
    checked.reject(repeat, key, lambda v: f"{key} '{v}' repeats an earlier row",
                   about=keys.to_numpy(dtype=object, na_value=None))


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
    """COPY the accepted rows (``data``: a DataFrame with ``src_row``, the
    ``columns``, ``lon`` and ``lat``) into a temporary table ``_import``
    (dropped at the end of the transaction)."""
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE _import ON COMMIT DROP AS"
        " SELECT 0 AS src_row, {cols}, 0.0::float8 AS lon, 0.0::float8 AS lat"
        " FROM {table} WITH NO DATA").format(
            cols=sql.SQL(", ").join(map(sql.Identifier, columns)),
            table=sql.Identifier(layer)))
    # Columns that are blank throughout (a file without phones …) stay NULL
    # without a million empty fields written and parsed.
    names = ["src_row", *(c for c in columns if data[c].notna().any()), "lon", "lat"]
    statement = sql.SQL("COPY _import ({}) FROM STDIN (FORMAT csv)").format(
        sql.SQL(", ").join(map(sql.Identifier, names)))
    # CSV text written by pandas, not a million write_row calls: COPY's own
    # format parsed by the server, ~10× faster from Python. NA → empty field →
    # NULL; lists (tags) → array literals. In blocks: the server parses one
    # while pandas writes the next (on the other core), and the text of a
    # million rows (~90 MB) is never held whole.
    frame = data[names]
    if "tags" in frame:
        frame = frame.assign(tags=_arrays(frame["tags"]))
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for start in range(0, len(frame), _COPY_BLOCK):
            copy.write(frame.iloc[start:start + _COPY_BLOCK].to_csv(
                index=False, header=False))
    # the planner's row counts for the key check and the INSERT's sort
    conn.execute("ANALYZE _import")


def _arrays(lists):
    """text[] literals for COPY (tags are vocabulary codes: no quoting needed);
    ``{}`` for the (usual) empty lists without a Python call each."""
    values = lists.to_numpy(dtype=object)
    out = np.full(values.size, "{}", dtype=object)
    filled = np.flatnonzero(lists.str.len().to_numpy(dtype=float, na_value=0) > 0)
    out[filled] = ["{" + ",".join(v) + "}" for v in values[filled]]
    return out


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


def _bulk_mode(conn, layer, key):
    """How a large import may skip ``ON CONFLICT``: "empty" (the table holds no
    rows), "new" (none of the staged keys is in the table) or None (upsert).

    The table is locked against other writers first (readers go on) so that
    nothing can come in between the check and the INSERT.
    """
    table = sql.Identifier(layer)
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(table))
    if not conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(
            table)).fetchone()[0]:
        return "empty"
    clash = conn.execute(sql.SQL(
        "SELECT EXISTS (SELECT FROM _import i JOIN {table} t USING ({key}))").format(
            table=table, key=sql.Identifier(key))).fetchone()[0]
    return None if clash else "new"


def _plain_indexes(conn, layer):
    """``[(name, definition)]`` of the table's indexes that back no constraint
    (primary keys and UNIQUE constraints stay: the first is cheap to maintain in
    id order, the second serves ON CONFLICT), as ``pg_indexes`` writes them."""
    return conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " JOIN pg_class c ON c.relname = i.indexname"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname"
        " WHERE i.tablename = %s AND i.schemaname = current_schema()"
        " AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = c.oid)"
        " ORDER BY i.indexname", (layer,)).fetchall()


def _insert(conn, layer, columns, mode, phase):
    """Plain INSERT of every staged row (no row can conflict: see
    :func:`_bulk_mode`); returns (added, 0).

    Into an EMPTY table the indexes that back no constraint are dropped first
    and built again from their own definitions at the end, in the same
    transaction (a failure anywhere rolls the DROPs back with the rows). Why:
    maintaining them row by row is most of the cost of a large load. On the
    2-core bench machine, 1 M households (bench/README.md, "importing"): the
    write with every index in place took 74 s, mostly the two trigram GIN
    indexes of 0008; the plain INSERT without the four plain indexes takes
    18–20 s and building them afterwards 5–6 s (GiST 2 s, the address GIN 4 s).
    Only for an empty table: an index build reads the whole table, which for a
    full one costs more than it saves. The DROP holds an ACCESS EXCLUSIVE lock
    until commit: readers of the (empty) table wait for the import instead of
    seeing it empty.

    The foreign key (grid_code → grids) keeps checking row by row, ~10 s of the
    INSERT per million rows: dropping and re-adding it (one validating join,
    0.4 s) would take an ACCESS EXCLUSIVE lock on ``grids`` until commit,
    stopping every locate and tile request for the whole import.
    """
    ident = sql.Identifier
    rebuilt = []
    if mode == "empty":
        # sorting and index builds in memory rather than in temporary files
        conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
        conn.execute("SET LOCAL work_mem = '256MB'")
        rebuilt = _plain_indexes(conn, layer)
        for name, _ in rebuilt:
            conn.execute(sql.SQL("DROP INDEX {}").format(ident(name)))
    phase("inserting")
    added = conn.execute(sql.SQL(
        "INSERT INTO {table} ({targets})"
        " SELECT {cols}, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM _import"
        " ORDER BY grid_code, src_row"  # rows of a micro-grid together on disk
    ).format(table=ident(layer),
             targets=sql.SQL(", ").join(map(ident, [*columns, "geom"])),
             cols=sql.SQL(", ").join(map(ident, columns)))).rowcount
    if rebuilt:
        phase("indexing")
        for _, definition in rebuilt:
            conn.execute(sql.SQL(definition))
    return added, 0


def _check_permission(principal, layer):
    if layer not in LAYERS:
        raise Invalid(f"cannot import into {layer!r}: choose one of "
                      f"{', '.join(LAYERS)}", field="layer")
    for permission in PERMISSIONS[layer]:
        if not principal.can(permission):
            raise Forbidden(f"your role ({principal.role}) may not import "
                            f"{layer} ({permission})")


def run_import(conn, principal, result, layer, file_name, file_bytes_sha256,
               options=None, dry_run=False, force=False, progress=None,
               bulk_rows=BULK_ROWS):
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
    bulk_rows : from this many accepted rows on, an import whose keys are all
        new (or whose table is empty) is written by a plain INSERT, and into an
        empty table with its plain indexes built again at the end (see
        :func:`_insert`); tests lower it

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
    data = pd.DataFrame({"src_row": rows[ok],
                         **{f: values[f][ok].reset_index(drop=True) for f in fields},
                         "grid_code": grid[ok], "lon": xy[ok, 0], "lat": xy[ok, 1]})
    phase("writing", len(data))
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
        accepted = len(data) - len(taken)
        mode = _bulk_mode(conn, layer, key) if accepted >= bulk_rows else None
        if mode is None:
            added, updated = _upsert(conn, layer, key, columns)
        else:
            added, updated = _insert(conn, layer, columns, mode,
                                     lambda name, n=accepted: phase(name, n))
        rejected.sort(key=lambda r: r["row"])
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
