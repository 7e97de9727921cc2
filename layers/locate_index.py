"""Locate from memory: the grids, staff and cameras of the database held in each
server process, following the edits.

``layers.locate`` answers a point with three SQL queries: ~1 ms of PostgreSQL and
Python per point, which caps one server near 600 located points per second (the
dispatch desk and the 110 hand-over expect far more: bench/README.md). So each
process keeps a :class:`LocateIndex`: the grids in an R-tree (the ``rtree``
package: libspatialindex, which inserts and deletes; shapely's STRtree cannot)
over their polygons, the active staff per grid, the cameras in a second R-tree
with their view parameters in numpy columns. A point is then answered in tens of
microseconds, with the same rules and the same output as the SQL (the tests
compare the two on thousands of points, after every kind of edit).

Following edits (migration 0029): every statement writing grids, cameras or
grid_staff records the keys it touched in ``locate_changes`` and wakes the
processes with a NOTIFY at its commit. A process reloads just those keys and
updates its R-trees and tables in place (:meth:`LocateIndex.catch_up`): a few
milliseconds for a planner's edit, where the full build of a city takes a second
of the interpreter lock. A full build happens when a process starts, after a
TRUNCATE, when a change is a large part of the index, or when the rows it needed
were pruned (a process away for longer than ``KEEP``).

Never stale: an index is used only for a request whose data generation (the sum of
the ``tile_generations`` slots of the three tables, bumped inside every writing
transaction: migrations 0007, 0013) equals the one the index was read at; any
other request is answered by SQL. So a request that starts after an edit
committed is answered with the edit, by SQL until the index has caught up (the
bound on that: one NOTIFY and one catch-up, milliseconds), from memory after.
"""

import logging
import math
import threading
import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import rtree
import shapely
from psycopg import sql
from pyproj import Geod

from layers.locate import GENERATION, degrees_per_metre

__all__ = ["LocateIndex", "IndexHolder", "prune_changes", "CHANNEL", "KEEP"]

log = logging.getLogger(__name__)

CHANNEL = "gridgov_locate"  # the NOTIFY of migration 0029
KEEP = 86400.0  # seconds a change row is kept (prune_changes)
PRUNE_EVERY = 600.0  # seconds between a follower's prunes
POLL = 5.0  # seconds a follower waits for a NOTIFY before looking anyway
# A change of more than this share of the index is loaded in full, as a new index
# (built beside the one in use, which keeps answering its generation meanwhile).
REBUILD_SHARE = 0.25
# Grids with more vertices than this are prepared (GEOS indexes their edges on
# first use: a town of thousands of vertices is answered in microseconds); a
# micro-grid of ~45 vertices is tested as fast without, and its index would cost
# a few kilobytes a grid. Prepared or not, the predicate is the same exact one.
PREPARE_OVER = 200

# Staff in the order locate lists them within one grid (then by chain level).
_ROLE_ORDER = ("grid_chief", "full_time", "part_time", "liaison", "volunteer")
_ROLE_RANK = {role: i for i, role in enumerate(_ROLE_ORDER)}

# The same ellipsoid PostGIS measures geography on (SRID 4326: WGS 84), and the
# same algorithm (GeographicLib's inverse problem, through PROJ in both).
_GEOD = Geod(ellps="WGS84")

_CAMERA_FIELDS = ("code", "name", "kind", "bearing", "fov_deg", "range_m", "owner",
                  "status", "grid_code")
_GRID_ROWS = "SELECT level, code, name, ST_AsBinary(geom) FROM grids"
_STAFF_ROWS = ("SELECT id, name, role, phone, grid_code FROM grid_staff"
               " WHERE active")
_CAMERA_ROWS = sql.SQL("SELECT {fields}, ST_X(geom), ST_Y(geom) FROM cameras").format(
    fields=sql.SQL(", ").join(map(sql.Identifier, _CAMERA_FIELDS)))
# where the snapshot is: its generation, itself, and whether the change rows
# after ``prev`` are all still there (none pruned that ``prev`` had not seen)
_WHERE = sql.SQL(
    "SELECT ({generation}), pg_current_snapshot()::text,"
    " (SELECT %(prev)s::pg_snapshot IS NULL"
    "         OR upto < pg_snapshot_xmin(%(prev)s::pg_snapshot)"
    "  FROM locate_changes_pruned)").format(generation=sql.SQL(GENERATION))
# the changes committed since snapshot ``prev`` (not visible in it), as this
# snapshot sees them: PgQ's cut
_SINCE = """
    SELECT layer, keys FROM locate_changes
    WHERE xid >= pg_snapshot_xmin(%(prev)s::pg_snapshot)
      AND NOT pg_visible_in_snapshot(xid, %(prev)s::pg_snapshot)
"""


def _round_1(value):
    """``round(value::numeric, 1)::float`` as PostgreSQL computes it: the double
    converted with 15 significant digits, then rounded half away from zero."""
    return float(Decimal(f"{value:.15g}").quantize(Decimal("0.1"), ROUND_HALF_UP))


def _tree(slots, mins, maxs):
    """An R-tree of boxes ``mins``–``maxs`` (n × 2) with ids ``slots``, bulk-loaded."""
    if len(slots) == 0:
        return rtree.index.Index()
    return rtree.index.Index((np.asarray(slots, dtype=np.int64),
                              np.ascontiguousarray(mins, dtype=np.float64),
                              np.ascontiguousarray(maxs, dtype=np.float64)))


def _grown(array, size):
    """``array`` with room for ``size`` entries along its first axis (doubling)."""
    if len(array) >= size:
        return array
    grown = np.zeros((max(size, 2 * len(array)), *array.shape[1:]), array.dtype)
    grown[:len(array)] = array
    return grown


def _prepared(wkbs):
    geoms = shapely.from_wkb(list(wkbs))
    shapely.prepare(geoms[shapely.get_num_coordinates(geoms) > PREPARE_OVER])
    return geoms


class _Behind(Exception):
    """The index cannot be brought up to date by changes: load it in full."""


class LocateIndex:
    """Grids, active staff and cameras in memory, as of one database snapshot.

    Build it with :meth:`load`, bring it up to date with :meth:`catch_up`; ask it
    with :meth:`locate`, which answers as ``layers.locate.locate`` does
    (``grids``, ``staff``, ``cameras``), or with :meth:`read`, which gives None
    instead of an answer read while a catch-up changed the index.

    Storage is by slot: per grid a slot in numpy columns (level, bounding box), a
    list of codes and names and an array of shapely polygons; per camera a slot
    in numpy columns (lon, lat, range, bearing, field of view) and lists of its
    words (the few distinct kinds, owners, statuses and grid codes shared, not
    one string per camera). A removed entry frees its slot for the next one.
    """

    def __init__(self, generation, snapshot, grids, staff, cameras):
        """``grids``: rows (level, code, name, WKB); ``staff``: rows (id, name,
        role, phone, grid_code) of the active staff; ``cameras``: rows of the
        camera fields (``_CAMERA_FIELDS``) then lon, lat. ``snapshot``: the
        ``pg_snapshot`` they were read in (text), ``generation`` its data
        generation."""
        self.generation = generation
        self.snapshot = snapshot
        # even while the index can be read; odd while a catch-up changes it
        self.stamp = 0
        self._words = {}
        # grids
        level, code, name, wkb = zip(*grids, strict=True) if grids else ((),) * 4
        n = len(code)
        self._g_level = np.asarray(level, dtype=np.int8)
        self._g_code, self._g_name = list(code), list(name)
        self._g_geom = _prepared(wkb) if n else np.empty(0, dtype=object)
        self._g_box = shapely.bounds(self._g_geom).reshape(n, 4)
        self._g_slot = {c: i for i, c in enumerate(code)}
        self._g_free = []
        self._g_tree = _tree(np.arange(n), self._g_box[:, :2], self._g_box[:, 2:])
        # staff per grid code, in role order then id; and the grid of each
        self._staff, self._staff_grid = {}, {}
        self._add_staff(staff)
        # cameras
        n = len(cameras)
        cols = list(zip(*cameras, strict=True)) if cameras else [()] * 11
        word = self._word
        self._c_code, self._c_name = list(cols[0]), list(cols[1])
        self._c_kind, self._c_owner, self._c_status, self._c_grid = (
            [word(w) for w in cols[i]] for i in (2, 6, 7, 8))
        self._c_bearing = np.array([math.nan if b is None else b for b in cols[3]],
                                   dtype=np.float64)
        self._c_fov, self._c_range, self._c_lon, self._c_lat = (
            np.array(cols[i], dtype=np.float64) for i in (4, 5, 9, 10))
        self._c_live = np.ones(n, dtype=bool)
        self._c_slot = {c: i for i, c in enumerate(self._c_code)}
        self._c_free = []
        xy = np.column_stack([self._c_lon, self._c_lat])
        self._c_tree = _tree(np.arange(n), xy, xy)
        self._reach = float(self._c_range.max()) if n else 0.0

    def _word(self, value):
        """One shared string per distinct value (a kind, a grid code)."""
        return value if value is None else self._words.setdefault(value, value)

    # -- reading and following the database ---------------------------------

    @classmethod
    def load(cls, conn):
        """Read the index in one snapshot (REPEATABLE READ), with its generation."""
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            gen, snapshot, _ = conn.execute(_WHERE, {"prev": None}).fetchone()
            grids = conn.execute(_GRID_ROWS).fetchall()
            staff = conn.execute(_STAFF_ROWS).fetchall()
            cameras = conn.execute(_CAMERA_ROWS).fetchall()
        return cls(gen, snapshot, grids, staff, cameras)

    def size(self):
        """How many grids, active staff and cameras the index holds."""
        return len(self._g_slot) + len(self._staff_grid) + len(self._c_slot)

    def catch_up(self, conn):
        """Apply what was committed since the index was read; return the number of
        keys reloaded (0: nothing had changed). Raises ``_Behind`` when that is
        not possible by changes (a TRUNCATE, change rows pruned, a change of more
        than ``REBUILD_SHARE`` of the index): load a new index instead."""
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            gen, snapshot, whole = conn.execute(
                _WHERE, {"prev": self.snapshot}).fetchone()
            if not whole:
                raise _Behind("change rows pruned")
            if gen == self.generation:
                self.snapshot = snapshot  # nothing written: the next cut is shorter
                return 0
            keys = {"grids": set(), "cameras": set(), "grid_staff": set()}
            for layer, changed in conn.execute(_SINCE, {"prev": self.snapshot}):
                if changed is None:
                    raise _Behind(f"{layer} truncated")
                keys[layer].update(changed)
            count = sum(map(len, keys.values()))
            if count > REBUILD_SHARE * max(self.size(), 1000):
                raise _Behind(f"{count} keys changed")
            grids = conn.execute(_GRID_ROWS + " WHERE code = ANY(%s)",
                                 (list(keys["grids"]),)).fetchall()
            staff = conn.execute(_STAFF_ROWS + " AND id = ANY(%s::bigint[])",
                                 (list(keys["grid_staff"]),)).fetchall()
            cameras = conn.execute(_CAMERA_ROWS + sql.SQL(" WHERE code = ANY(%s)"),
                                   (list(keys["cameras"]),)).fetchall()
        geoms = _prepared(r[3] for r in grids) if grids else []
        self.stamp += 1  # readers from here on ask SQL
        try:
            self.generation = None
            self._set_grids(keys["grids"], grids, geoms)
            for sid in keys["grid_staff"]:
                self._drop_staff(int(sid))
            self._add_staff(staff)
            self._set_cameras(keys["cameras"], cameras)
            self.snapshot, self.generation = snapshot, gen
        finally:
            self.stamp += 1
        return count

    def _slot(self, free, size):
        return free.pop() if free else size

    def _set_grids(self, codes, rows, geoms):
        for code in codes:
            i = self._g_slot.pop(code, None)
            if i is not None:
                self._g_tree.delete(i, self._g_box[i])
                self._g_code[i] = self._g_name[i] = self._g_geom[i] = None
                self._g_free.append(i)
        for (level, code, name, _), geom in zip(rows, geoms, strict=True):
            i = self._slot(self._g_free, len(self._g_code))
            if i == len(self._g_code):
                self._g_code.append(None)
                self._g_name.append(None)
                self._g_level = _grown(self._g_level, i + 1)
                self._g_box = _grown(self._g_box, i + 1)
                self._g_geom = _grown(self._g_geom, i + 1)
            self._g_level[i], self._g_geom[i] = level, geom
            self._g_code[i], self._g_name[i] = code, name
            self._g_box[i] = shapely.bounds(geom)
            self._g_slot[code] = i
            self._g_tree.insert(i, self._g_box[i])

    def _add_staff(self, rows):
        touched = set()
        for sid, name, role, phone, grid in rows:
            masked = None if phone is None else phone[:3] + "****" + phone[-4:]
            grid = self._word(grid)
            self._staff.setdefault(grid, []).append((sid, name, role, phone, masked))
            self._staff_grid[sid] = grid
            touched.add(grid)
        for grid in touched:
            self._staff[grid].sort(key=lambda s: (_ROLE_RANK[s[2]], s[0]))

    def _drop_staff(self, sid):
        grid = self._staff_grid.pop(sid, None)
        if grid is not None:
            kept = [s for s in self._staff[grid] if s[0] != sid]
            if kept:
                self._staff[grid] = kept
            else:
                del self._staff[grid]

    def _set_cameras(self, codes, rows):
        for code in codes:
            i = self._c_slot.pop(code, None)
            if i is not None:
                xy = (self._c_lon[i], self._c_lat[i])
                self._c_tree.delete(i, xy + xy)
                self._c_live[i] = False
                self._c_code[i] = self._c_name[i] = None
                self._c_free.append(i)
        word = self._word
        for code, name, kind, bearing, fov, range_m, owner, status, grid, x, y in rows:
            i = self._slot(self._c_free, len(self._c_code))
            if i == len(self._c_code):
                for column in (self._c_code, self._c_name, self._c_kind,
                               self._c_owner, self._c_status, self._c_grid):
                    column.append(None)
                for name_ in ("_c_bearing", "_c_fov", "_c_range", "_c_lon",
                              "_c_lat", "_c_live"):
                    setattr(self, name_, _grown(getattr(self, name_), i + 1))
            self._c_code[i], self._c_name[i] = code, name
            self._c_kind[i], self._c_owner[i] = word(kind), word(owner)
            self._c_status[i], self._c_grid[i] = word(status), word(grid)
            self._c_bearing[i] = math.nan if bearing is None else bearing
            self._c_fov[i], self._c_range[i] = fov, range_m
            self._c_lon[i], self._c_lat[i] = x, y
            self._c_live[i] = True
            self._c_slot[code] = i
            self._c_tree.insert(i, (x, y, x, y))
        if codes:
            n = len(self._c_code)
            live = self._c_range[:n][self._c_live[:n]]
            self._reach = float(live.max()) if len(live) else 0.0

    # -- answering ------------------------------------------------------------

    def read(self, generation, principal, lon, lat):
        """:meth:`locate` if the index holds ``generation`` and no catch-up
        changed it meanwhile; otherwise None (ask SQL)."""
        stamp = self.stamp
        if stamp % 2 or self.generation != generation:
            return None
        try:
            found = self.locate(principal, lon, lat)
        except Exception:  # noqa: BLE001 -- half-changed entries: ask SQL
            if self.stamp != stamp:
                return None
            raise
        return found if self.stamp == stamp else None

    def locate(self, principal, lon, lat):
        """``{grids, staff, cameras}`` of ``(lon, lat)``, as ``layers.locate.locate``
        answers for ``principal`` (see there for the rules)."""
        chain = self._chain(principal, lon, lat)
        return {"grids": chain, "staff": self._staff_of(principal, chain),
                "cameras": self._cameras_seeing(principal, lon, lat)}

    def _chain(self, principal, lon, lat):
        root = principal.grid_code or ""
        found = np.fromiter(self._g_tree.intersection((lon, lat, lon, lat)),
                            dtype=np.int64)
        found = found[shapely.intersects_xy(self._g_geom[found], lon, lat)]
        # one grid per level; on a shared boundary the lowest code wins
        best = {}
        for i in found.tolist():
            code = self._g_code[i]
            if not (code.startswith(root) or root.startswith(code)):
                continue
            level = int(self._g_level[i])
            if level not in best or code < self._g_code[best[level]]:
                best[level] = i
        return [{"level": level, "code": self._g_code[i],
                 "name": self._g_name[i]} for level, i in sorted(best.items())]

    def _staff_of(self, principal, chain):
        contact = principal.can("staff:contact")
        out = []
        for grid in reversed(chain):  # micro-grid first
            for sid, name, role, phone, masked in self._staff.get(grid["code"], ()):
                out.append({"id": sid, "name": name, "role": role,
                            "phone": phone if contact else masked,
                            "grid_code": grid["code"], "level": grid["level"]})
        return out

    def _cameras_seeing(self, principal, lon, lat):
        reach = self._reach
        if not self._c_slot:
            return []
        root = principal.grid_code or ""
        dx, dy = degrees_per_metre(lat)
        near = np.fromiter(self._c_tree.intersection(
            (lon - reach * dx, lat - reach * dy, lon + reach * dx, lat + reach * dy)),
            dtype=np.int64)
        if len(near) == 0:
            return []
        # the planar prefilter of the SQL (generous by the east-west scale), then
        # the distance and azimuth on the spheroid for the few left
        clon, clat = self._c_lon[near], self._c_lat[near]
        near = near[np.hypot(clon - lon, clat - lat) <= self._c_range[near] * dx]
        if len(near) == 0:
            return []
        azimuth, _, distance = _GEOD.inv(self._c_lon[near], self._c_lat[near],
                                         np.full(len(near), lon),
                                         np.full(len(near), lat))
        out = []
        for i, az, dist in zip(near.tolist(), np.atleast_1d(azimuth).tolist(),
                               np.atleast_1d(distance).tolist(), strict=True):
            grid, range_m = self._c_grid[i], float(self._c_range[i])
            if grid is None or not grid.startswith(root) or dist > range_m:
                continue
            bearing, fov = float(self._c_bearing[i]), float(self._c_fov[i])
            bearing = None if math.isnan(bearing) else bearing
            if not (bearing is None or fov >= 360 or dist < 0.5
                    or abs((az - bearing + 540) % 360 - 180) <= fov / 2):
                continue
            out.append({"code": self._c_code[i], "name": self._c_name[i],
                        "kind": self._c_kind[i], "bearing": bearing,
                        "fov_deg": fov, "range_m": range_m,
                        "owner": self._c_owner[i], "status": self._c_status[i],
                        "grid_code": grid, "distance_m": _round_1(dist),
                        "lon": float(self._c_lon[i]), "lat": float(self._c_lat[i])})
        out.sort(key=lambda c: (c["distance_m"], c["code"]))
        return out


def prune_changes(conn, keep=KEEP):
    """Delete the change rows older than ``keep`` seconds, and say up to which
    transaction they went (a process that had not seen them rebuilds); return
    how many went. One process at a time (the others skip)."""
    with conn.transaction():
        if not conn.execute("SELECT pg_try_advisory_xact_lock(hashtext(%s))",
                            ("locate_changes_prune",)).fetchone()[0]:
            return 0
        return conn.execute("""
            WITH gone AS (
                DELETE FROM locate_changes
                WHERE at < now() - make_interval(secs => %s) RETURNING xid),
            upto AS (
                UPDATE locate_changes_pruned
                SET upto = greatest(upto, (SELECT max(xid) FROM gone))
                WHERE EXISTS (SELECT FROM gone))
            SELECT count(*) FROM gone
        """, (keep,)).fetchone()[0]


class IndexHolder:
    """The process's current :class:`LocateIndex`, following the database.

    ``connect`` is a context manager factory giving a database connection.
    In the background (``background=True``, a server), the first request starts
    a follower thread that keeps one connection of its own (``connect``: a
    dedicated one, not the pool's), loads the index, LISTENs for the changes'
    NOTIFY and catches up on each one (or every ``POLL`` seconds, and after a
    reconnection); requests never wait for it. Otherwise (tests, scripts) the
    request that finds the index behind its generation catches it up itself.
    ``loads`` and ``catch_ups`` count full builds and applied changes.
    """

    def __init__(self, connect, background=True):
        self._connect = connect
        self._background = background
        self._index = None
        self._lock = threading.Lock()  # one load or catch-up at a time
        self._follower = None
        self._stopped = threading.Event()
        self._pruned = -math.inf
        self.loads = self.catch_ups = 0

    @property
    def index(self):
        """The index now (None before the first load)."""
        return self._index

    def locate(self, generation, principal, lon, lat):
        """The index's answer for a request at ``generation``, or None: ask SQL
        (the index is behind or ahead of the request, or being changed)."""
        index = self._index
        if index is None or index.generation != generation:
            self._behind()
            index = self._index
            if index is None:
                return None
        return index.read(generation, principal, lon, lat)

    def current(self, generation):
        """The index if it holds ``generation`` (after catching up, outside the
        background); otherwise None."""
        index = self._index
        if index is None or index.generation != generation:
            self._behind()
            index = self._index
        return index if index is not None and index.generation == generation \
            else None

    def _behind(self):
        if self._background:
            if self._follower is None:
                with self._lock:
                    if self._follower is None:
                        self._follower = threading.Thread(
                            target=self._follow, name="locate-index", daemon=True)
                        self._follower.start()
        elif self._lock.acquire(blocking=False):  # else another request is at it
            try:
                with self._connect() as conn:
                    self._refresh(conn)
            except Exception:  # noqa: BLE001 -- SQL answers meanwhile; say why
                log.exception("updating the locate index failed")
            finally:
                self._lock.release()

    def refresh(self):
        """Bring the index up to date now, in the caller."""
        with self._lock, self._connect() as conn:
            return self._refresh(conn)

    def _refresh(self, conn):
        """Catch up, or load in full when that is not possible; return the keys
        applied (or -1 after a full load)."""
        index = self._index
        if index is not None:
            try:
                applied = index.catch_up(conn)
                self.catch_ups += bool(applied)
                return applied
            except _Behind as why:
                log.info("locate index rebuilt: %s", why)
        self._index = LocateIndex.load(conn)
        self.loads += 1
        return -1

    def _follow(self):
        """The follower thread: LISTEN, catch up, wait; reconnect on failure."""
        pause = 0.5
        while not self._stopped.is_set():
            try:
                with self._connect() as conn:
                    conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
                    pause = 0.5
                    while not self._stopped.is_set():
                        with self._lock:
                            self._refresh(conn)
                        self._prune(conn)
                        # wait for a NOTIFY (or POLL), then take all that came
                        for _ in conn.notifies(timeout=POLL, stop_after=1):
                            pass
                        for _ in conn.notifies(timeout=0):
                            pass
            except Exception:  # noqa: BLE001 -- SQL answers meanwhile; say why
                log.exception("following the locate changes failed; retrying")
                self._stopped.wait(pause)
                pause = min(2 * pause, 30.0)

    def _prune(self, conn):
        if time.monotonic() - self._pruned >= PRUNE_EVERY:
            self._pruned = time.monotonic()
            prune_changes(conn)

    def stop(self):
        """Stop the follower thread (within ``POLL`` seconds)."""
        self._stopped.set()
