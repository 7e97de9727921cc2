"""Writing a large import fast: straight into an empty table, or a plain INSERT
into one that holds none of the file's keys.

Both run inside the import's transaction (``layers.imports.run_import``): a
failure anywhere rolls every step back, dropped indexes included. Measured on the
2-core bench machine with 1 M households (bench/README.md, "importing").
"""

import numpy as np
from psycopg import sql

__all__ = ["COPY_BLOCK", "copy_frame", "csv_blocks", "filled_columns",
           "lock_for_bulk", "is_empty", "has_clash", "plain_indexes", "load_empty",
           "insert_new", "ewkb_points"]

COPY_BLOCK = 50_000  # rows per block of COPY text

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


def csv_blocks(frame):
    """``frame`` as COPY's CSV text, ``COPY_BLOCK`` rows a piece: NA → empty
    field → NULL; tag lists → array literals."""
    if "tags" in frame:
        frame = frame.assign(tags=_pg_arrays(frame["tags"]))
    for start in range(0, len(frame), COPY_BLOCK):
        yield frame.iloc[start:start + COPY_BLOCK].to_csv(index=False, header=False)


def copy_frame(conn, table, frame):
    """COPY every column of ``frame`` into the same-named columns of ``table``, as
    CSV text; returns the rows copied.

    CSV written by pandas, not a million ``write_row`` calls: COPY's own format
    parsed by the server, ~10× faster from Python. NA → empty field → NULL; tag
    lists → array literals. In blocks: the text of a million rows (~90 MB) is
    never held whole. (psycopg's QueuedLibpqWriter, which sends from a thread of
    its own, measured no faster: pandas holds the GIL while it writes a block.)
    """
    statement = sql.SQL("COPY {table} ({names}) FROM STDIN (FORMAT csv)").format(
        table=sql.Identifier(table),
        names=sql.SQL(", ").join(map(sql.Identifier, frame.columns)))
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for block in csv_blocks(frame):
                copy.write(block)
        return cur.rowcount


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
    ``pg_indexes`` writes them."""
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
