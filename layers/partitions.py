"""The county partitions (migration 0035): which exist and how large, making
them, a county's bulk load into a detached partition, archiving a county, and
the track points' months.

Households, incidents, incident_events, audit and track_points are partitioned
LIST by ``county`` (the 6-digit division code that starts every grid code, ''
without a grid: the DEFAULT partition); track points of a county also RANGE by
month of their ``day``. The SQL functions of 0035 do the catalogue work
(``county_partition_add``: a standalone table ATTACHed, rows waiting in DEFAULT
moved in; ``partitions_settle``; ``track_point_months_add``); this module calls
them and adds what needs Python's hand: the COPY of a bulk load.
"""

import datetime as dt

import numpy as np
import pandas as pd
from psycopg import errors, sql

from geo.catalogue import say
from layers.errors import Conflict, Invalid

__all__ = ["TABLES", "MONTHS_AHEAD", "county_of", "counties_of", "ensure",
           "settle", "partitions", "months_ahead", "drop_months", "archive",
           "has_county", "load_detached", "daily"]

# in the order their partitions are made (partitioned_tables() of 0035)
TABLES = ("households", "incidents", "incident_events", "audit", "track_points")
# track point months made ahead of the current one by the daily job
MONTHS_AHEAD = 2


def county_of(grid_codes):
    """The county of each grid code ('' for none), as 0035's ``county_of``:
    an object array.

    >>> county_of(["320282105001", None]).tolist()
    ['320282', '']
    """
    codes = pd.Series(np.asarray(grid_codes, dtype=object), dtype=object)
    return codes.str[:6].fillna("").to_numpy(dtype=object)


def counties_of(grid_codes):
    """The distinct counties of ``grid_codes``, '' left out, sorted."""
    return sorted({c for c in county_of(grid_codes).tolist() if c})


def ensure(conn, table, counties):
    """Make the partitions of ``table`` for ``counties`` that do not exist yet
    (a standalone table ATTACHed: other counties' readers and writers go on);
    the counties made."""
    made = []
    for county in counties:
        if county and conn.execute("SELECT county_partition_add(%s, %s)",
                                   (table, county)).fetchone()[0]:
            made.append(county)
    return made


def settle(conn):
    """Give every county found in a DEFAULT partition its partition, its rows
    moved in; the partitions made (``table_county``)."""
    with conn.transaction():
        return conn.execute("SELECT partitions_settle()").fetchone()[0]


def months_ahead(conn, ahead=MONTHS_AHEAD):
    """Make the track point months of every county up to ``ahead`` months after
    the current one; how many were made."""
    made = 0
    with conn.transaction():
        for (part,) in conn.execute(_COUNTY_PARTS, ("track_points",)).fetchall():
            made += conn.execute(
                "SELECT track_point_months_add(%s, now()::date, %s)",
                (part, ahead)).fetchone()[0]
    return made


def daily(conn):
    """The daily maintenance (layers/jobs.py): rows waiting in DEFAULT moved to
    their county's new partition, the track point months made ahead."""
    return {"settled": settle(conn), "months": months_ahead(conn)}


_COUNTY_PARTS = """
    SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = %s::regclass AND c.relname ~ '_[0-9]{6}$'
    ORDER BY c.relname
"""

# every partition of the five tables, sizes with their month partitions
_LIST = """
    SELECT * FROM (
    SELECT p.relname AS parent, c.relname AS name,
           CASE WHEN pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' THEN ''
                ELSE right(c.relname, 6) END AS county,
           (SELECT count(*) FROM pg_inherits m WHERE m.inhparent = c.oid) AS months,
           coalesce((SELECT sum(greatest(x.reltuples, 0))
                     FROM pg_partition_tree(c.oid) t
                     JOIN pg_class x ON x.oid = t.relid WHERE t.isleaf), 0)::bigint
               AS rows,
           (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree(c.oid) t
            WHERE t.isleaf)::bigint AS bytes
    FROM pg_inherits i
    JOIN pg_class p ON p.oid = i.inhparent
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE p.relname = ANY(%s) AND p.relnamespace = 'public'::regnamespace) l
    ORDER BY array_position(%s, parent::text), county = '', county
"""


def partitions(conn):
    """Every county partition of the partitioned tables: ``{table, name,
    county ('' for DEFAULT), months (track points: its month partitions), rows
    (the planner's estimate), bytes (with indexes and TOAST)}``."""
    tables = list(TABLES)
    rows = conn.execute(_LIST, (tables, tables)).fetchall()
    return [{"table": r[0], "name": r[1], "county": r[2], "months": int(r[3]),
             "rows": int(r[4]), "bytes": int(r[5] or 0)} for r in rows]


def drop_months(conn, before):
    """Drop the track point months that end on or before the first of
    ``before``'s month, a partition at a time, with their tracks; points of
    those days waiting in a county's DEFAULT month are deleted too. Returns the
    partitions dropped."""
    if not isinstance(before, dt.date):
        raise Invalid(say("err_partition_before"), field="before")
    cut = before.replace(day=1)
    dropped = []
    with conn.transaction():
        months = conn.execute(
            "SELECT m.relname FROM pg_inherits ci"
            " JOIN pg_class c ON c.oid = ci.inhrelid"
            " JOIN pg_inherits mi ON mi.inhparent = c.oid"
            " JOIN pg_class m ON m.oid = mi.inhrelid"
            " WHERE ci.inhparent = 'track_points'::regclass"
            " AND m.relname ~ '_[0-9]{6}_[0-9]{6}$'"
            " AND to_date(right(m.relname, 6), 'YYYYMM') + interval '1 month' <= %s"
            " ORDER BY m.relname", (cut,)).fetchall()
        for (name,) in months:
            conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
            dropped.append(name)
        conn.execute("DELETE FROM track_points WHERE day < %s", (cut,))
        conn.execute("DELETE FROM tracks WHERE day < %s", (cut,))
    return dropped


def archive(conn, county):
    """Detach every partition of ``county`` (a county that has left the
    deployment: none of its grids remain), renamed ``archive_<name>_<date>``
    and kept as plain tables (the audit's still refusing changes); the names.
    Conflict while grids of the county remain or rows elsewhere refer to its
    rows (visits, photos)."""
    if not (isinstance(county, str) and len(county) == 6 and county.isdigit()):
        raise Invalid(say("err_partition_county", value=county), field="county")
    stamp = dt.date.today().strftime("%Y%m%d")
    done = []
    with conn.transaction():
        if conn.execute("SELECT EXISTS (SELECT FROM grids WHERE code LIKE %s)",
                        (county + "%",)).fetchone()[0]:
            raise Conflict(say("err_partition_county_grids", county=county),
                           field="county")
        for table in reversed(TABLES):  # the referring ones first
            name = f"{table}_{county}"
            if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is None:
                continue
            kept = f"archive_{name}_{stamp}"
            try:
                with conn.transaction():
                    conn.execute(sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(
                        sql.Identifier(table), sql.Identifier(name)))
            except errors.ForeignKeyViolation as exc:
                raise Conflict(say("err_partition_referred", name=name,
                                   detail=exc.diag.message_primary),
                               field="county") from None
            conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(
                sql.Identifier(name), sql.Identifier(kept)))
            if table == "audit":
                conn.execute(sql.SQL(
                    "CREATE TRIGGER archive_append_only BEFORE UPDATE OR DELETE ON {0}"
                    " FOR EACH ROW EXECUTE FUNCTION audit_append_only()").format(
                        sql.Identifier(kept)))
            done.append(kept)
    return done


def has_county(conn, table, county):
    """Whether ``table`` holds a row of ``county`` (its partition or DEFAULT)."""
    return conn.execute(sql.SQL("SELECT EXISTS (SELECT FROM {} WHERE county = %s)")
                        .format(sql.Identifier(table)), (county,)).fetchone()[0]


def load_detached(conn, table, county, copy, before_attach=None, indexing=None):
    """Load a county's rows into ``table`` through a detached partition: a
    standalone table like it (its columns, defaults and checks, and a CHECK of
    the bound so that ATTACH skips its scan), ``copy(name)`` fills it (COPY),
    its indexes are built, then it is ATTACHed. Inside the caller's transaction
    (all or nothing): until the commit only ATTACH's SHARE UPDATE EXCLUSIVE lock
    is held on ``table`` (with ACCESS EXCLUSIVE on the new table and on the
    DEFAULT partition, whose rows ATTACH checks), so readers and writers of the
    other counties go on. The partition must not exist (Conflict).
    ``before_attach(name)``, when given, may check the loaded rows (and raise);
    ``indexing(added)`` is called before the index builds.
    Returns what ``copy`` returned (the rows copied).

    The indexes are the partitioned table's own, built on the standalone table
    under names ATTACH then adopts (it matches them by definition, so it builds
    none again); foreign keys and triggers come with ATTACH, the foreign keys
    checked then (a partitioned table's foreign key is validated on attach).
    """
    name = f"{table}_{county}"
    ident = sql.Identifier
    if conn.execute("SELECT to_regclass(%s)", (name,)).fetchone()[0] is not None:
        raise Conflict(say("err_partition_exists", name=name), field="county")
    conn.execute(sql.SQL(
        "CREATE TABLE {0} (LIKE {1} INCLUDING DEFAULTS INCLUDING CONSTRAINTS"
        " INCLUDING STORAGE)").format(ident(name), ident(table)))
    conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} CHECK (county = {})").format(
        ident(name), ident(name + "_bound"), sql.Literal(county)))
    # the foreign keys checked row by row as the rows go in, as into the table
    # (ATTACH then adopts them)
    for conname, definition in conn.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = %s::regclass AND contype = 'f' AND conparentid = 0",
            (table,)).fetchall():
        conn.execute(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
            ident(name), ident(f"{name}_{conname.removeprefix(table + '_')}"[:63]),
            sql.SQL(definition)))
    added = copy(name)
    if indexing is not None:
        indexing(added)
    conn.execute("SET LOCAL maintenance_work_mem = '512MB'")
    for definition in _index_definitions(conn, table, name):
        conn.execute(definition)
    if before_attach is not None:
        before_attach(name)
    conn.execute(sql.SQL("ALTER TABLE {} ATTACH PARTITION {} FOR VALUES IN ({})")
                 .format(ident(table), ident(name), sql.Literal(county)))
    # what the table's statement triggers do after a COPY into it, which a COPY
    # into the standalone table did not fire: an UPDATE of no row fires them
    # (the tiles' generation, 0007), and the county's cached camera coverage
    # (0005: its households counted) goes
    conn.execute(sql.SQL("UPDATE {} SET county = county WHERE false").format(
        ident(table)))
    if table == "households":
        conn.execute("DELETE FROM coverage_leaf WHERE code LIKE %s", (county + "%",))
    return added


def _index_definitions(conn, table, name):
    """``CREATE INDEX`` statements of the indexes of ``table`` (partitioned),
    on the standalone table ``name``, with the names PostgreSQL would give the
    partition's indexes."""
    rows = conn.execute(
        "SELECT pg_get_indexdef(i.indexrelid), c.relname, x.indisunique,"
        " x.indisprimary, k.conname"
        " FROM pg_index x JOIN pg_class c ON c.oid = x.indexrelid"
        " CROSS JOIN LATERAL (SELECT x.indexrelid) i"
        " LEFT JOIN pg_constraint k ON k.conindid = x.indexrelid"
        " AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u')"
        " WHERE x.indrelid = %s::regclass ORDER BY x.indisprimary DESC, c.relname",
        (table,)).fetchall()
    out = []
    for definition, index, unique, primary, constraint in rows:
        part_index = f"{name}_{index.removeprefix(table + '_')}"[:63]
        body = definition.split(" ON ONLY ", 1)[-1].split(" ON ", 1)[-1]
        body = body.split(" ", 1)[1]  # after the table's name
        if constraint is not None:
            kind = "PRIMARY KEY" if primary else "UNIQUE"
            columns = body[body.index("(") + 1:body.rindex(")")]
            out.append(sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {} ({})").format(
                sql.Identifier(name), sql.Identifier(part_index), sql.SQL(kind),
                sql.SQL(columns)))
        else:
            out.append(sql.SQL("CREATE {}INDEX {} ON {} {}").format(
                sql.SQL("UNIQUE " if unique else ""), sql.Identifier(part_index),
                sql.Identifier(name), sql.SQL(body)))
    return out
