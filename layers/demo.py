"""Load a generated demo (``geo.demo.generate``) into the database with COPY.

A demo replaces the data of the database: it refuses to run over data that did not
come from a demo, unless forced, so that real data is never wiped by accident.
"""

import gc
import math
import secrets
import time

import numpy as np
import pandas as pd
import shapely
from psycopg import sql
from psycopg.types.json import Jsonb

from geo.catalogue import say
from layers import audit, partitions, tracks, users
from layers.access import ROLE_PERMISSIONS, SYSTEM
from layers.errors import Conflict

__all__ = ["DATA_TABLES", "dataset", "is_empty", "load", "ensure_demo_accounts",
           "begin_province", "held_province", "load_county", "load_province",
           "province_description"]

# Every table holding data (not `audit`, which is append-only, nor `meta`).
DATA_TABLES = (
    "track_points", "tracks", "imports", "incident_photos", "incident_events",
    "incidents", "visits", "cameras", "households", "grid_staff", "grid_history",
    "grids",
)

_COLUMNS = {
    "grids": ["code", "name", "level", "parent_code", "households_target", "geom"],
    "grid_staff": ["name", "role", "phone", "grid_code", "geom"],
    "households": ["external_id", "address", "head_name", "phone", "size", "tags",
                   "grid_code", "geom"],
    "cameras": ["code", "name", "kind", "bearing", "fov_deg", "range_m", "owner",
                "status", "grid_code", "geom"],
    "incidents": ["code", "category", "subtype", "source", "reporter", "description",
                  "grid_code", "status", "escalation_level", "created_at",
                  "deadline", "closed_at", "outcome", "satisfaction", "geom"],
}


_INTEGER_COLUMNS = {"level", "households_target", "size", "escalation_level",
                    "satisfaction"}


def dataset(conn):
    """Return what the database holds: the demo's description, or None."""
    row = conn.execute("SELECT value FROM meta WHERE key = 'dataset'").fetchone()
    return row[0] if row else None


def is_empty(conn):
    """True when the database holds no grid at all."""
    return conn.execute("SELECT NOT EXISTS (SELECT 1 FROM grids)").fetchone()[0]


def load(conn, demo, description, force=False, actor=SYSTEM):
    """Replace the database's data by ``demo``, in one transaction.

    Parameters
    ----------
    demo : geo.demo.Demo
        Frames in EPSG:4326 with the columns of ``_COLUMNS``.
    description : dict
        What was generated (scale, seed, as_of), kept in ``meta``.
    force : bool
        Replace data that did not come from a demo.
    """
    with conn.transaction():
        current = _wipe(conn, force)
        _copy_frames(conn, demo)
        _set_dataset(conn, {"kind": "demo", **description})
        audit.record(conn, actor, "load", "database", "demo",
                     before=current, after={"kind": "demo", **description})
    conn.execute("ANALYZE")


def _wipe(conn, force):
    """Empty every data table (not accounts, not the audit) unless it holds data
    that is not a demo and ``force`` is not given; return what it held."""
    current = dataset(conn)
    if not force and not is_empty(conn) and (current or {}).get("kind") != "demo":
        raise Conflict(
            say("err_demo_not_demo")
        )
    # accounts stay, their links to the staff replaced below do not
    conn.execute("UPDATE users SET staff_id = NULL WHERE staff_id IS NOT NULL")
    # TRUNCATE fires no row triggers, so the demo's own history starts clean.
    conn.execute(sql.SQL("TRUNCATE {} RESTART IDENTITY").format(
        sql.SQL(", ").join(map(sql.Identifier, DATA_TABLES))))
    return current


def _set_dataset(conn, value):
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('dataset', %s) "
        "ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value",
        (Jsonb(value),),
    )


def _copy_frames(conn, demo, county=""):
    """COPY every frame of ``demo``; ``county``: the code prefix of its grids
    when other counties are in the tables already (its tracks' staff)."""
    _copy(conn, "grids", demo.grids.sort_values("level"))
    _copy(conn, "grid_staff", demo.staff)
    # a county's first households: into a detached partition, then attached
    _copy_households(conn, demo.households)
    for table, frame in (
        ("cameras", demo.cameras),
        ("incidents", demo.incidents),
    ):
        _copy(conn, table, frame)
    _copy_events(conn, demo.incident_events)
    if demo.tracks is not None and len(demo.tracks):
        _load_tracks(conn, demo.tracks, county)


# --- a province, county by county ---------------------------------------------------

def _same_province(held, description):
    """Whether ``held`` (the dataset in ``meta``) is the province ``description``
    (everything but the counties loaded so far)."""
    return (held or {}).get("kind") == "demo" and all(
        held.get(k) == v for k, v in description.items())


def held_province(conn, description):
    """What the database holds, if it is (part of) the province ``description``
    (compared on its keys only: without ``as_of``, any date); else None."""
    held = dataset(conn)
    return held if _same_province(held, description) else None


def begin_province(conn, description, force=False, actor=SYSTEM):
    """Start loading the province ``description`` (a JSON dict: scale, seed,
    as_of, county sizes), or resume it: returns the codes of the counties
    already loaded.

    A database holding this province (the same description) keeps its counties;
    one holding another demo is emptied (as :func:`load` does); one holding data
    that is not a demo is refused unless ``force``.
    """
    with conn.transaction():
        held = dataset(conn)
        if _same_province(held, description):
            return list(held.get("counties", []))
        _wipe(conn, force)
        _set_dataset(conn, {"kind": "demo", **description, "counties": []})
        audit.record(conn, actor, "load", "database", "demo", before=held,
                     after={"kind": "demo", **description})
    return []


def load_county(conn, demo, county):
    """Add county ``county`` (its frames in ``demo``) to the province being
    loaded, in one transaction with its entry in ``meta``'s list of loaded
    counties: a county is there whole and listed, or not at all. False (and
    nothing written) when it is listed already (another run loaded it)."""
    with conn.transaction():
        held = conn.execute("SELECT value FROM meta WHERE key = 'dataset'"
                            " FOR UPDATE").fetchone()
        if held is None or county in held[0].get("counties", []):
            return False
        _copy_frames(conn, demo, county)
        conn.execute(
            "UPDATE meta SET value = jsonb_set(value, '{counties}',"
            " (value -> 'counties') || to_jsonb(%s::text)) WHERE key = 'dataset'",
            (county,))
    return True


def load_province(conn, scale, seed, as_of, counties, force=False, actor=SYSTEM,
                  progress=None):
    """Stream a province into the database one county at a time, each generated
    (``geo.demo.province.county``), copied, committed and freed before the next:
    memory is one county's whatever ``counties``.

    Parameters
    ----------
    conn : an autocommit connection (each county commits on its own)
    scale : geo.demo.Scale, the sizes of one county
    seed : int
    as_of : datetime.date
    counties : int, how many (the first ``counties`` of the province's lattice)
    progress : callable, optional
        Called after each county as ``progress(k, code, name, counts, seconds)``:
        ``counts`` the rows per frame, None for a county loaded already
        (skipped); ``seconds`` (generating, loading).

    Returns
    -------
    list of the codes of the counties loaded by this call
    """
    from geo.demo import province  # geopandas and the generator: only when asked

    if not conn.autocommit:
        raise ValueError("load_province needs an autocommit connection")
    done = set(begin_province(conn, province_description(scale, seed, as_of),
                              force, actor))
    loaded = []
    for k, name in enumerate(province.county_names(seed, counties)):
        code = province.county_code(k)
        if code in done:
            if progress:
                progress(k, code, name, None, (0.0, 0.0))
            continue
        started = time.perf_counter()
        demo = province.county(scale, seed, k, as_of)
        generated = time.perf_counter()
        counts = demo.counts() if load_county(conn, demo, code) else None
        del demo
        gc.collect()  # the frames' cycles too, before the next county is drawn
        if counts is not None:
            loaded.append(code)
            conn.execute("ANALYZE")  # the next county's event join plans on it
        if progress:
            progress(k, code, name, counts,
                     (generated - started, time.perf_counter() - generated))
    return loaded


def province_description(scale, seed, as_of=None):
    """The province's description kept in ``meta`` (JSON values); without
    ``as_of``, the keys that say which province whatever its date."""
    described = {"scale": "province", "seed": int(seed),
                 "county_scale": scale.county_sizes()}
    if as_of is not None:
        described["as_of"] = as_of.isoformat()
    return described


# (username, role, level of the jurisdiction's root: None = everywhere)
_DEMO_ACCOUNTS = (
    ("admin", "admin", None),
    ("planner", "planner", 1),
    ("dispatcher", "dispatcher", 1),
    ("leader", "leader", 1),
    ("worker", "field_worker", 3),
    ("liaison", "grid_liaison", 4),
    ("viewer", "viewer", 1),
    ("village1", "dispatcher", 2),
)
# the staff role of the person a demo account is (the first of its grid)
_DEMO_STAFF = {"worker": "full_time", "liaison": "liaison"}


def ensure_demo_accounts(conn, actor=SYSTEM):
    """Create the demo's accounts that do not exist yet, each with a new random
    password; return ``[(username, role, grid_code, password)]`` of those created
    (shown once: there is no built-in password)."""
    first = dict(conn.execute(
        "SELECT DISTINCT ON (level) level, code FROM grids ORDER BY level, code"))
    created = []
    for username, role, level in _DEMO_ACCOUNTS:
        grid = None if level is None else first.get(level)
        if not conn.execute("SELECT 1 FROM users WHERE username = %s",
                            (username,)).fetchone():
            password = secrets.token_urlsafe(9)
            users.add_user(conn, actor, username, role, grid, password,
                           display_name=f"演示账号·{ROLE_PERMISSIONS[role][0]}")
            created.append((username, role, grid, password))
        _link_demo_staff(conn, actor, username)
    return created


def _link_demo_staff(conn, actor, username):
    """Link the demo's field accounts to the first staff person of their role in
    their grid (after a reload too: the loader unlinks every account)."""
    staff_role = _DEMO_STAFF.get(username)
    if staff_role is None:
        return
    row = conn.execute(
        "SELECT u.staff_id, (SELECT s.id FROM grid_staff s WHERE s.role = %s"
        "  AND s.grid_code = u.grid_code AND s.active ORDER BY s.id LIMIT 1)"
        " FROM users u WHERE u.username = %s", (staff_role, username)).fetchone()
    if row is not None and row[0] is None and row[1] is not None:
        users.link_staff(conn, actor, username, row[1])


def _copy_households(conn, frame):
    """The households county by county, each into a detached partition loaded,
    indexed and attached (``layers.partitions.load_detached``): the TRUNCATE
    above emptied the partitions of an earlier load, which go first (the demo
    holds the table exclusively already)."""
    county = partitions.county_of(frame["grid_code"])
    # only the frame's counties: a province's next county leaves those loaded
    # before it (layers.demo.load_county) where they are
    for (name,) in conn.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid"
            " WHERE i.inhparent = 'households'::regclass"
            " AND c.relname ~ '_[0-9]{6}$' AND right(c.relname, 6) = ANY(%s)",
            (sorted(set(county.tolist()) - {""}),)).fetchall():
        # (detached first: the visits' foreign key refers to each partition)
        conn.execute(sql.SQL("ALTER TABLE households DETACH PARTITION {}").format(
            sql.Identifier(name)))
        conn.execute(sql.SQL("DROP TABLE {}").format(sql.Identifier(name)))
    for code in sorted(set(county.tolist())):
        part = frame[county == code]
        if code:
            partitions.load_detached(conn, "households", code,
                                     lambda name, part=part: _copy(conn, "households",
                                                                   part, into=name))
        else:
            _copy(conn, "households", part)


def _copy(conn, table, frame, into=None):
    """COPY a GeoDataFrame into ``table`` (or its partition ``into``);
    geometries as hex EWKB (SRID 4326); the county of the partitioned ones
    (0035) from the grid code."""
    columns = _COLUMNS[table]
    data = {c: _column(frame, c) for c in columns if c != "geom"}
    geoms = shapely.set_srid(np.asarray(frame.geometry.values), 4326)
    data["geom"] = shapely.to_wkb(geoms, hex=True, include_srid=True)
    if table in partitions.TABLES:
        columns = [*columns, "county"]
        data["county"] = partitions.county_of(frame["grid_code"]).tolist()
    rows = zip(*(data[c] for c in columns), strict=True)
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(into or table), sql.SQL(", ").join(map(sql.Identifier, columns)))
    with conn.cursor() as cur:
        with cur.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
        return cur.rowcount


def _column(frame, name):
    """A column as plain Python values, None for missing ones (COPY's NULL)."""
    values = frame[name]
    if name == "tags":
        # text[] in COPY's text format; tags are vocabulary codes (no quotes inside)
        return ["{" + ",".join(f'"{t}"' for t in tags) + "}" for tags in values]
    if pd.api.types.is_datetime64_any_dtype(values):
        return [None if pd.isna(v) else v.isoformat() for v in values]
    out = []
    for v in values.tolist():
        if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
            out.append(None)
        elif isinstance(v, float) and name in _INTEGER_COLUMNS:
            out.append(int(v))  # an integer column with gaps arrives as float
        else:
            out.append(v)
    return out


def _load_tracks(conn, points, county=""):
    """The demo's patrol points, their ``staff`` (row positions in the staff
    frame) turned into ids: COPY gave the rows ids in frame order (the staff of
    grids starting with ``county``: one county's, copied last)."""
    ids = np.array([r[0] for r in conn.execute(
        "SELECT id FROM grid_staff WHERE grid_code LIKE %s ORDER BY id",
        (county + "%",))])
    worker = ids[points["staff"].to_numpy(dtype=np.int64)]
    tracks.store(conn, points.drop(columns="staff").assign(worker=worker),
                 name="演示巡查轨迹 demo patrol")


def _copy_events(conn, events):
    """COPY the incidents' histories, joined to the incident ids by code."""
    conn.execute(
        "CREATE TEMP TABLE _events (incident_code text, at timestamptz, action text,"
        " actor text, note text) ON COMMIT DROP"
    )
    with conn.cursor() as cur:
        with cur.copy("COPY _events FROM STDIN") as copy:
            cols = ["incident_code", "at", "action", "actor", "note"]
            for row in zip(*(_column(events, c) for c in cols), strict=True):
                copy.write_row(row)
    conn.execute(
        "INSERT INTO incident_events (incident_id, county, at, action, status, actor,"
        " note) SELECT i.id, i.county, e.at, e.action, e.action, e.actor, e.note"
        " FROM _events e JOIN incidents i ON i.code = e.incident_code"
        " ORDER BY i.id, e.at"
    )
