"""Writing a large import fast: streamed into an empty table (:func:`run_empty`:
the Python work on a chunk beside the server's COPY of the one before), copied
straight into one (:func:`load_empty`), or a plain INSERT into one that holds
none of the file's keys (:func:`insert_new`).

All run inside the import's transaction (``layers.imports.run_import``), every
constraint in force and no privilege beyond owning the table (to drop and build
its indexes; no superuser, no ``session_replication_role``): a failure anywhere
rolls every step back, dropped indexes included. Measured on the 2-core bench machine
with 1 M households (bench/README.md, "importing").
"""

import queue
import struct
import threading
import types

import numpy as np
import pandas as pd
import shapely
from psycopg import errors, sql

from layers import partitions
from layers.import_checks import LAYERS, check, field_label
from layers.import_messages import say

__all__ = ["COPY_BLOCK", "STREAMED", "STREAM_ROWS", "PREVIEW_ROWS", "POINTS_SHOWN",
           "ReadWhole", "copy_frame", "text_blocks", "filled_columns",
           "lock_for_bulk", "is_empty", "has_clash", "plain_indexes", "run_empty",
           "load_empty", "load_new_county", "insert_new", "ewkb_points",
           "COPY_SIGNATURE", "COPY_TRAILER", "column_types", "binary_columns",
           "binary_rows"]

COPY_BLOCK = 50_000  # rows per block of COPY text
# the layers whose large imports into an empty table are streamed (run_empty):
# points put in micro-grids by layers.imports._locate, under a key
STREAMED = ("households", "cameras", "incidents")
# rows per chunk checked, assigned and copied at once (most): three times the
# 32,768 points geo.crs moves from GCJ-02 or BD-09 at once, so that a streamed
# CSV's points are moved as the whole file's are (importers.csvfile.Streamed)
STREAM_ROWS = 98_304
# the report's preview (the first accepted rows, every field) and points (the
# first accepted positions, drawn on the page)
PREVIEW_ROWS = 20
POINTS_SHOWN = 2000

# EWKB of a little-endian 2-D point with an SRID (0x20000001) of 4326 (0x10E6), hex
_EWKB_POINT_4326 = "0101000020e6100000"


def ewkb_points(lon, lat):
    """Hex EWKB of the points ``(lon, lat)`` in EPSG:4326, the text PostGIS reads
    for a geometry in COPY.

    Written by hand: a point's EWKB is a fixed 18-character header and its two
    doubles, and shapely's ``to_wkb(hex=True, include_srid=True)`` took 1.9 s for a
    million points (GEOS writes them one by one) against 0.3 s here.

    >>> ewkb_points([1.0], [2.0])
    ['0101000020e6100000000000000000f03f0000000000000040']
    """
    raw = np.column_stack([np.asarray(lon, dtype="<f8"),
                           np.asarray(lat, dtype="<f8")]).tobytes().hex()
    return [_EWKB_POINT_4326 + raw[i:i + 32] for i in range(0, len(raw), 32)]


def _pg_arrays(lists):
    """text[] literals for COPY (tags are vocabulary codes: no quoting needed);
    ``{}`` for the (usual) empty lists without a Python call each."""
    values = lists.to_numpy(dtype=object)
    out = np.full(values.size, "{}", dtype=object)
    filled = np.flatnonzero(lists.str.len().to_numpy(dtype=float, na_value=0) > 0)
    out[filled] = ["{" + ",".join(v) + "}" for v in values[filled]]
    return out


def filled_columns(data, columns):
    """The ``columns`` that hold a value in some row of ``data``: one blank
    throughout (a file without phones …) stays NULL without a million empty
    fields written and parsed."""
    return [c for c in columns if data[c].notna().any()]


# what COPY's text format escapes in a value
_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n",
                          "\r": "\\r"})


def _text_column(series):
    """One column as the fields of COPY's text format: ``\\N`` for NA, numbers
    as Python writes them (shortest round trip for floats), strings escaped only
    when some value of the column needs it (one scan of the joined column)."""
    na = series.isna().to_numpy()
    kind = series.dtype.kind
    if kind in "iu" or isinstance(series.dtype, pd.Int64Dtype):
        out = np.array(list(map(str, series.to_numpy(dtype="int64", na_value=0)
                                .tolist())), dtype=object)
    elif kind == "f":
        out = np.array(list(map(repr, series.to_numpy(dtype=float).tolist())),
                       dtype=object)
    elif kind == "O" or isinstance(series.dtype, pd.StringDtype):
        out = series.to_numpy(dtype=object, na_value=None).copy()
        present = out[~na]
        try:
            joined = "".join(present)
        except TypeError:  # not only strings
            present = np.array([str(v) for v in present], dtype=object)
            joined = "".join(present)
        if any(c in joined for c in "\\\t\n\r"):
            present = np.array([v.translate(_ESCAPES) for v in present],
                               dtype=object)
        out[~na] = present
    else:  # times ("2026-11-01 08:00:00+08:00"), booleans
        out = series.astype(str).to_numpy(dtype=object)
    out[na] = "\\N"
    return out


def text_blocks(frame):
    """``frame`` as the text of ``COPY … FROM STDIN`` (its default text format),
    ``COPY_BLOCK`` rows a piece: NA → ``\\N`` → NULL; tag lists → array literals.

    Built column by column and joined row by row, not by ``DataFrame.to_csv``:
    a million households' text in 1.2 s of CPU against 2.7 s."""
    if "tags" in frame:
        frame = frame.assign(tags=_pg_arrays(frame["tags"]))
    for start in range(0, len(frame), COPY_BLOCK):
        part = frame.iloc[start:start + COPY_BLOCK]
        columns = [_text_column(part[c]) for c in part.columns]
        yield "\n".join(map("\t".join, zip(*columns, strict=True))) + "\n"


def copy_frame(conn, table, frame):
    """COPY every column of ``frame`` into the same-named columns of ``table``, in
    COPY's text format (:func:`text_blocks`); returns the rows copied.

    Text built from the columns, not a million ``write_row`` calls: COPY's own
    format parsed by the server, ~10× faster from Python. In blocks: the text of a
    million rows (~90 MB) is never held whole. (psycopg's QueuedLibpqWriter, which
    sends from a thread of its own, measured no faster: Python holds the GIL
    while it writes a block; :func:`run_empty` overlaps whole chunks instead.)
    """
    statement = sql.SQL("COPY {table} ({names}) FROM STDIN").format(
        table=sql.Identifier(table),
        names=sql.SQL(", ").join(map(sql.Identifier, frame.columns)))
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for block in text_blocks(frame):
                copy.write(block)
        return cur.rowcount


# COPY's binary format (PostgreSQL's "COPY … (FORMAT BINARY)"): the signature,
# 32 bits of flags and of header extension, then each row, then -1 as a row's
# field count
COPY_SIGNATURE = b"PGCOPY\n\xff\r\n\x00" + bytes(8)
COPY_TRAILER = b"\xff\xff"
# the column types written in binary, by pg_type.typname (a table with any
# other column among those copied is copied as text: :func:`binary_columns`)
_BINARY_NUMBERS = {"int2": ">i2", "int4": ">i4", "int8": ">i8",
                   "float4": ">f4", "float8": ">f8"}
_BINARY_TEXT = ("text", "varchar")
_TEXT_OID = 25  # the element type of text[]


def column_types(conn, table):
    """``{column: typname}`` of ``table`` (pg_type's names: text, int2, _text,
    geometry …), for :func:`binary_columns`."""
    return dict(conn.execute(
        "SELECT a.attname, t.typname FROM pg_attribute a"
        " JOIN pg_type t ON t.oid = a.atttypid"
        " WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped",
        (table,)).fetchall())


def binary_columns(types, names):
    """``[typname]`` of the columns ``names`` (``types``: :func:`column_types`)
    when :func:`binary_rows` writes every one of them, else None (COPY them as
    text)."""
    found = [types.get(n) for n in names]
    known = (*_BINARY_NUMBERS, *_BINARY_TEXT, "_text", "geometry")
    return found if all(t in known for t in found) else None


def _utf8_fields(values):
    """Object array of str or None → (UTF-8 bytes of the present values, one
    after the other, as uint8; each value's byte length, -1 for None). One
    encode for the whole column: the byte lengths are counted from the
    positions of the characters' first bytes."""
    present = np.array([v is not None for v in values], dtype=bool) \
        if values.size else np.zeros(0, dtype=bool)
    kept = values[present]
    try:
        joined = "".join(kept)
    except TypeError:  # not only strings
        kept = np.array([str(v) for v in kept], dtype=object)
        joined = "".join(kept)
    data = np.frombuffer(joined.encode(), dtype=np.uint8)
    chars = np.fromiter(map(len, kept), dtype=np.int64, count=kept.size)
    firsts = np.append(np.flatnonzero((data & 0xC0) != 0x80), data.size)
    ends = firsts[np.cumsum(chars)]
    lengths = np.full(values.size, -1, dtype=np.int64)
    lengths[present] = np.diff(ends, prepend=0)
    return data, lengths


def _binary_field(typname, values):
    """One column as COPY's binary fields: (the present values' bytes, uint8;
    each row's byte length, -1 for NULL)."""
    if typname == "geometry":  # (n, 2) longitudes and latitudes: EWKB points
        xy = np.asarray(values, dtype="<f8")
        points = np.empty(len(xy), dtype=[("order", "u1"), ("kind", "<u4"),
                                           ("srid", "<u4"), ("xy", "<f8", 2)])
        points["order"], points["kind"], points["srid"] = 1, 0x20000001, 4326
        points["xy"] = xy
        return (points.view(np.uint8),
                np.full(len(xy), points.dtype.itemsize, dtype=np.int64))
    if typname in _BINARY_NUMBERS:
        series = pd.Series(values)
        present = series.notna().to_numpy()
        kind = np.dtype(_BINARY_NUMBERS[typname])
        given = series[present].to_numpy(
            dtype="int64" if kind.kind == "i" else "float64")
        number = given.astype(kind)
        if kind.kind == "i" and (number != given).any():  # as the server says
            raise errors.NumericValueOutOfRange(f"{typname} out of range")
        lengths = np.where(present, kind.itemsize, -1).astype(np.int64)
        return number.view(np.uint8), lengths
    if typname == "_text":  # tuples (or lists) of tag codes, never NULL
        return _text_arrays(np.asarray(values, dtype=object))
    array = pd.Series(values).to_numpy(dtype=object, na_value=None)
    return _utf8_fields(array)


_EMPTY_TEXT_ARRAY = struct.pack(">iii", 0, 0, _TEXT_OID)


def _text_arrays(values):
    """text[] in binary: dimensions, no NULL, element type, then each element;
    the (usual) empty ones without a Python call each."""
    filled = np.flatnonzero(np.fromiter(map(len, values), dtype=np.int64,
                                        count=values.size) > 0)
    if not filled.size:
        return (np.tile(np.frombuffer(_EMPTY_TEXT_ARRAY, dtype=np.uint8),
                        values.size),
                np.full(values.size, len(_EMPTY_TEXT_ARRAY), dtype=np.int64))
    encoded = [_EMPTY_TEXT_ARRAY] * values.size
    for i in filled:
        items = [str(v).encode() for v in values[i]]
        encoded[i] = struct.pack(">iiiii", 1, 0, _TEXT_OID, len(items), 1) + \
            b"".join(struct.pack(">i", len(b)) + b for b in items)
    return (np.frombuffer(b"".join(encoded), dtype=np.uint8),
            np.fromiter(map(len, encoded), dtype=np.int64, count=values.size))


def binary_rows(columns):
    """The rows of ``columns`` (``[(typname, values)]``, of one length; a
    geometry's values are ``(n, 2)`` longitudes and latitudes) in COPY's binary
    format, without its signature (:data:`COPY_SIGNATURE`) and trailer; bytes.

    Each row is its field count, then each field's length (-1: NULL) and bytes.
    Built column by column with numpy, not row by row: the rows padded to one
    width side by side (a field of varying length padded to its longest), then
    the padding left out in one pass.
    """
    fields = [_binary_field(t, v) for t, v in columns]
    n = len(fields[0][1]) if fields else 0
    widths = [int(np.maximum(lengths, 0).max(initial=0)) for _, lengths in fields]
    rows = np.zeros((n, 2 + sum(4 + w for w in widths)), dtype=np.uint8)
    keep = np.ones(rows.shape, dtype=bool)
    rows[:, :2] = np.frombuffer(struct.pack(">h", len(fields)), dtype=np.uint8)
    at = 2
    for (data, lengths), width in zip(fields, widths, strict=True):
        rows[:, at:at + 4] = lengths.astype(">i4").view(np.uint8).reshape(n, 4)
        at += 4
        sent = np.maximum(lengths, 0)
        if width and (sent == width).all():  # fixed width, no NULL
            rows[:, at:at + width] = data.reshape(n, width)
        elif width:
            inside = np.arange(width) < sent[:, None]
            rows[:, at:at + width][inside] = data
            keep[:, at:at + width] = inside
        at += width
    return rows[keep].tobytes()


def lock_for_bulk(conn, layer):
    """Lock the table against other writers (readers go on) until commit, so that
    nothing comes in between the checks below and the write."""
    conn.execute(sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
        sql.Identifier(layer)))


def is_empty(conn, layer):
    return not conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {})").format(
        sql.Identifier(layer))).fetchone()[0]


def has_clash(conn, layer, key):
    """Whether any key staged in ``_import`` is in the table already."""
    return conn.execute(sql.SQL(
        "SELECT EXISTS (SELECT FROM _import i JOIN {table} t USING ({key}))").format(
            table=sql.Identifier(layer), key=sql.Identifier(key))).fetchone()[0]


def plain_indexes(conn, layer):
    """``[(name, definition)]`` of the table's indexes that back no constraint
    (primary keys and UNIQUE constraints stay: the first is cheap to maintain in
    id order, the second keeps the keys unique while rows go in), as
    ``pg_indexes`` writes them; a partitioned table's (0035) without the
    ``ON ONLY`` that ``pg_indexes`` writes for them, so that the definition
    builds the index on every partition again."""
    return [(name, definition.replace(" ON ONLY ", " ON ", 1))
            for name, definition in _plain_indexes(conn, layer)]


def _plain_indexes(conn, layer):
    return conn.execute(
        "SELECT i.indexname, i.indexdef FROM pg_indexes i"
        " JOIN pg_class c ON c.relname = i.indexname"
        " JOIN pg_namespace n ON n.oid = c.relnamespace AND n.nspname = i.schemaname"
        " WHERE i.tablename = %s AND i.schemaname = current_schema()"
        " AND NOT EXISTS (SELECT FROM pg_constraint k WHERE k.conindid = c.oid)"
        " ORDER BY i.indexname", (layer,)).fetchall()


def load_empty(conn, layer, columns, data, phase):
    """COPY ``data`` (``src_row``, the ``columns``, ``lon``, ``lat``) straight into
    the EMPTY table ``layer`` (locked by :func:`lock_for_bulk` and found empty);
    returns (added, 0).

    The indexes that back no constraint are dropped first and built again from
    their own definitions at the end: maintaining them row by row was most of the
    cost (1 M households: 74 s with every index in place, of which the two
    trigram GIN indexes of 0008 most). No temporary table and no INSERT … SELECT:
    the rows are written once (1 M households: ~8 s less than staging them). The
    primary key, the unique key and the foreign key (grid_code → grids, checked
    row by row, ~10 s per million rows) stay in force while the rows go in:
    dropping the foreign key would lock ``grids`` exclusively until commit and
    stop every locate and tile request. The DROPs hold an ACCESS EXCLUSIVE lock
    on the table until commit: its readers wait for the import instead of seeing
    it empty.
    """
    ident = sql.Identifier
    # sorting and index builds in memory rather than in temporary files
    conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
    rebuilt = plain_indexes(conn, layer)
    for name, _ in rebuilt:
        conn.execute(sql.SQL("DROP INDEX {}").format(ident(name)))
    phase("inserting")
    # rows of a micro-grid together on disk (what the map and the GiST read)
    frame = data.sort_values(["grid_code", "src_row"], kind="stable")
    added = copy_frame(conn, layer, frame[filled_columns(frame, columns)].assign(
        geom=ewkb_points(frame["lon"], frame["lat"])))
    if rebuilt:
        phase("indexing")
        for _, definition in rebuilt:
            conn.execute(sql.SQL(definition))
    return added, 0


class _KeyElsewhere(Exception):  # noqa: N818 - a signal, not an error
    """A detached load's key is held by a row of another county: the load is
    rolled back to its savepoint and the rows go the ordinary way."""


def _new_county(conn, layer, counties):
    """The one county of a load into a partitioned table when it has no rows
    and no partition yet (its detached load may go ahead), else None. Holds a
    lock on (table, county) until commit: two loads of one county queue up."""
    if len(counties) != 1 or not counties[0]:
        return None
    county = counties[0]
    conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"{layer}:{county}",))
    if conn.execute("SELECT to_regclass(%s)", (f"{layer}_{county}",)).fetchone()[0]:
        return None
    return None if partitions.has_county(conn, layer, county) else county


def _detached(conn, layer, county, key, copy, indexing=None):
    """:func:`layers.partitions.load_detached` in a savepoint, the key checked
    against the other counties' rows before ATTACH (a household id is unique
    across counties); the rows copied, or None (rolled back: a key is taken)."""
    ident = sql.Identifier

    def unique_keys(name):
        if key is None:
            return
        if conn.execute(sql.SQL(
                "SELECT EXISTS (SELECT FROM {new} n JOIN {table} t USING ({key}))")
                .format(new=ident(name), table=ident(layer), key=ident(key))
        ).fetchone()[0]:
            raise _KeyElsewhere

    try:
        with conn.transaction():
            return partitions.load_detached(conn, layer, county, copy, unique_keys,
                                            indexing)
    except _KeyElsewhere:
        return None


def load_new_county(conn, layer, columns, data, phase, key=None):
    """COPY ``data`` (as :func:`load_empty` takes it, with its ``county``) into
    a new partition of the partitioned ``layer`` when every row is of one county
    that has no rows yet: a standalone table loaded, indexed, then ATTACHed
    (:func:`layers.partitions.load_detached`), so that readers and writers of
    the other counties go on; (added, 0), or None when that does not apply (the
    rows span counties, the county has rows or a partition, a ``key`` is held
    in another county)."""
    if "county" not in columns:
        return None
    county = _new_county(conn, layer, sorted(set(data["county"].tolist())))
    if county is None:
        return None
    phase("inserting")
    frame = data.sort_values(["grid_code", "src_row"], kind="stable")
    added = _detached(conn, layer, county, key, lambda name: copy_frame(
        conn, name, frame[filled_columns(frame, columns)].assign(
            geom=ewkb_points(frame["lon"], frame["lat"]))),
        lambda added: phase("indexing"))
    return None if added is None else (added, 0)


def insert_new(conn, layer, columns, phase):
    """Plain INSERT of every row staged in ``_import`` into a table that holds
    none of their keys (:func:`has_clash` said so under :func:`lock_for_bulk`):
    no ``ON CONFLICT`` to test row by row; returns (added, 0)."""
    ident = sql.Identifier
    phase("inserting")
    added = conn.execute(sql.SQL(
        "INSERT INTO {table} ({targets})"
        " SELECT {cols}, ST_SetSRID(ST_MakePoint(lon, lat), 4326) FROM _import"
        " ORDER BY grid_code, src_row"  # rows of a micro-grid together on disk
    ).format(table=ident(layer),
             targets=sql.SQL(", ").join(map(ident, [*columns, "geom"])),
             cols=sql.SQL(", ").join(map(ident, columns)))).rowcount
    return added, 0


class ReadWhole(Exception):  # noqa: N818 - a signal, not an error
    """Raised (inside the import's transaction, which it rolls back) when a file
    streamed from its reader must be read whole instead: its reader's
    ``finish()`` said its parts were not read as the whole file is."""


def run_empty(job, stored, phase, micro_grids, locate, source=None):
    """Import the rows of ``job`` into its EMPTY table, the Python work and the
    database's overlapping; the report, or None (nothing done) when the table
    holds rows.

    Under :func:`lock_for_bulk`, in the import's one transaction, with the
    table's plain indexes dropped and built again as :func:`load_empty` does, the
    file goes in chunks (a third of ``STREAM_ROWS`` rows first, two thirds next,
    then ``STREAM_ROWS`` each): a thread checks a chunk
    (``import_checks.check``), puts its points in micro-grids (``locate(checked,
    part, grids) -> (codes, coordinates)`` over the ``micro_grids()`` read once)
    and writes its COPY data (:func:`binary_rows`), while this thread sends the
    chunk before to the server, whose keys and foreign-key checks then take the
    other core
    (pandas holds the GIL while it works; the COPY's sending waits on the socket
    without it). Every constraint stays in force; a failure in any chunk, in the
    COPY, the index builds or the record rolls everything back. ``stored``: the
    fields that are columns of the table.

    ``source``: where the chunks come from — by default slices of
    ``job.result.frame``, a file read whole; or a file still being read
    (``layers.imports._Screened``: a large CSV whose reader hands its rows over
    part by part, so that the first go to the server before the last are
    parsed), with ``rows`` (about how many), ``parts(sizes)``, and ``finish()``
    after the last part: the reader's :class:`importers.Result` (every rejected
    row, the warnings), its ``read`` count and its ``refusal`` (why, when no row
    was left to check), or None (:class:`ReadWhole` is raised).

    The outcome is the whole-file path's: a key repeated across chunks is
    rejected as a repeat within one is (the first in the file kept); rows of a
    micro-grid lie together within each chunk (sorted by grid code there).
    """
    conn, layer = job.conn, job.layer
    source = source or _Slices(job.result)
    if not source.rows:
        return None
    phase("checking", source.rows)
    chunks = _Chunks(job, stored, locate, source)
    with conn.transaction(force_rollback=job.dry_run), chunks:
        # the thread checks the first chunk meanwhile
        job.refuse_repeat()
        grids, types = micro_grids(), column_types(conn, layer)
        counties = partitions.counties_of(grids[0]) if "county" in types else []
        # a partitioned table (0035) whose micro-grids here are of one county
        # without rows: into a detached partition, the other counties undisturbed
        county = _new_county(conn, layer, counties)
        if county is None:
            lock_for_bulk(conn, layer)
            if not is_empty(conn, layer):
                return None
            partitions.ensure(conn, layer, counties)
        chunks.grids(grids, types)
        started = lambda: phase("inserting", source.rows)  # noqa: E731
        if county is not None:
            added = _detached(conn, layer, county, chunks.key,
                              lambda name: chunks.copy(conn, started, name),
                              lambda added: phase("indexing", added))
            if added is None:
                return None
        else:
            conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
            rebuilt = plain_indexes(conn, layer)
            for name, _ in rebuilt:
                conn.execute(sql.SQL("DROP INDEX {}").format(sql.Identifier(name)))
            added = chunks.copy(conn, started)
            if rebuilt:
                phase("indexing", added)
                for _, definition in rebuilt:
                    conn.execute(sql.SQL(definition))
        final = source.finish()
        if final is None:
            raise ReadWhole
        job.result, job.read = final, source.read
        rejected = list(final.rejected) + chunks.rejected
        rejected.sort(key=lambda r: r["row"])
        if added == 0:  # stores nothing: refused (rolled back), or the dry run's
            return job.nothing(rejected, source.refusal)  # report that says why
        counts = job.counts(added, 0, chunks.ok - added, rejected)
        import_id = job.record(counts, rejected)
    phase("done", added)
    return job.report(counts, rejected, import_id, chunks.preview[:PREVIEW_ROWS],
                      chunks.points[:POINTS_SHOWN])


def _sizes():
    """The rows of each chunk: a third of ``STREAM_ROWS`` first, so that the
    server starts at once, two thirds next, then ``STREAM_ROWS`` each."""
    first = max(1, STREAM_ROWS // 3)
    yield first
    yield 2 * first
    while True:
        yield STREAM_ROWS


class _Slices:
    """A file read whole, as :func:`run_empty`'s chunks: slices of its frame."""

    read = refusal = None  # the result's own count; no refusal of its own

    def __init__(self, result):
        self.result, self.rows = result, len(result.frame)

    def parts(self, sizes):
        start = 0
        for size in sizes:
            if start >= self.rows:
                return
            yield self.result.frame.iloc[start:start + size]
            start += size

    def finish(self):
        return self.result


class _Chunks:
    """The chunks of :func:`run_empty`, prepared by a thread of their own (from
    ``with`` to its end) and copied by the caller's; what the report needs of
    each kept (rejected rows, accepted count, the first rows for the preview)."""

    def __init__(self, job, stored, locate, source):
        self.job, self.stored, self.locate = job, stored, locate
        self.source = source
        self.key = LAYERS[job.layer][0]
        self.columns = None  # what the COPY names: set by the first chunk
        self.types = None  # their types when the COPY is binary (binary_columns)
        self.rejected, self.ok = [], 0
        self.preview, self.points = [], []  # the first accepted rows
        self.ready = queue.Queue(maxsize=2)  # COPY data; None at the end
        self.stop = threading.Event()
        self._grids, self._types = None, None
        self._have_grids = threading.Event()
        self.worker = threading.Thread(target=self._prepare, name="import-chunks",
                                       daemon=True)

    def __enter__(self):
        self.worker.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.worker.join()

    def grids(self, grids, types):
        """Hand the micro-grids and the table's column types
        (:func:`column_types`), read by the caller's thread, which owns the
        connection, to the thread. The polygons are prepared once here for
        every chunk's assignment (else each chunk's query prepares them again:
        1 M points in chunks, 2.1 → 1.6 s)."""
        shapely.prepare(grids[1])
        self._grids, self._types = grids, types
        self._have_grids.set()

    def copy(self, conn, started, table=None):
        """COPY every chunk into the table (or ``table``: its partition being
        loaded detached) as the thread prepares it, in COPY's binary format
        when :func:`binary_rows` writes every column (else its text format);
        the rows copied. ``started()`` is called when the first chunk goes
        in."""
        block = self._next()
        statement = sql.SQL("COPY {table} ({names}) FROM STDIN{binary}").format(
            table=sql.Identifier(table or self.job.layer),
            names=sql.SQL(", ").join(map(sql.Identifier, self.columns)),
            binary=sql.SQL(" (FORMAT BINARY)" if self.types else ""))
        started()
        with conn.cursor() as cur:
            with cur.copy(statement) as copy:
                if self.types:
                    copy.write(COPY_SIGNATURE)
                while block is not None:
                    if block:  # empty for a chunk whose rows were all rejected
                        copy.write(block)
                    block = self._next()
                if self.types:
                    copy.write(COPY_TRAILER)
            return cur.rowcount

    def _next(self):
        item = self.ready.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def _put(self, item):
        while not self.stop.is_set():
            try:
                self.ready.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def _prepare(self):
        try:
            seen = set()
            for part in self.source.parts(_sizes()):
                if self.stop.is_set():
                    return
                self._put(self._chunk(part.reset_index(drop=True), seen))
            self._put(None)
        except BaseException as error:  # noqa: BLE001 - raised in the caller
            self._put(error)

    def _chunk(self, part, seen):
        """Check, assign and write one chunk as COPY data (binary, else text)."""
        job, key = self.job, self.key
        checked, values = check(types.SimpleNamespace(frame=part), job.layer,
                                job.mapping)
        # a key met in an earlier chunk is a repeat, as import_checks rejects
        # one within the chunk (the file's first row keeps it)
        keys = values[key].to_numpy(dtype=object, na_value=None)
        if not seen.isdisjoint(keys):
            again = np.fromiter((k is not None and k in seen for k in keys),
                                dtype=bool, count=keys.size)
            label = field_label(job.layer, key)
            checked.reject(again, key, lambda v: say(
                "repeats", field=key, label=label, value=v), about=keys)
        seen.update(keys)
        seen.discard(None)
        while not self._have_grids.wait(0.1):
            if self.stop.is_set():
                raise RuntimeError("stopped")  # the caller left: not raised
        grid, xy = self.locate(checked, part, self._grids)
        self.rejected += job.rejections(checked, part)
        self.ok += int(checked.ok.sum())
        if len(self.points) < POINTS_SHOWN:
            preview, points = job.samples(checked.ok, values, grid, xy,
                                          rows=part["row"].to_numpy())
            self.preview += preview
            self.points += points
        # the grid's county too, in a table partitioned by it (0035)
        placed = ["grid_code", "county"] if "county" in self._types else ["grid_code"]
        if self.columns is None:
            # a field the file lacks is blank (or its default) in every chunk
            self.columns = [*(f for f in self.stored if f in job.mapping
                              or values[f].notna().any()), *placed, "geom"]
            self.types = binary_columns(self._types, self.columns)
        given = self.columns[:-1 - len(placed)]
        # the accepted rows, those of a micro-grid together on disk (what the
        # map and the GiST read), in the file's order within it
        ok = np.flatnonzero(checked.ok)
        take = ok[np.argsort(pd.factorize(grid[ok], sort=True)[0], kind="stable")]
        where = {"grid_code": grid[take], "county": partitions.county_of(grid[take])}
        if self.types:
            return binary_rows(list(zip(self.types, [
                *(values[f].iloc[take] for f in given),
                *(where[p] for p in placed), xy[take]], strict=True)))
        data = pd.DataFrame({
            **{f: values[f].iloc[take].reset_index(drop=True) for f in given},
            **{p: where[p] for p in placed},
            "geom": ewkb_points(xy[take, 0], xy[take, 1])})
        return "".join(text_blocks(data))
