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
grid_staff records the keys it touched in ``locate_changes``. An index reloads
just those keys and updates its R-trees and tables in place
(:meth:`LocateIndex.catch_up`): a few milliseconds for a planner's edit, where the
full build of a city takes a second of the interpreter lock. A full build is
needed when a process starts, after a TRUNCATE, when a change is a large part of
the index, or when the rows it needed were pruned. ``layers.locate_follow`` keeps
a process's index following (LISTEN/NOTIFY) and says when it may answer.

Never stale: an index is used only for a request whose data generation (the sum of
the ``tile_generations`` slots of the three tables, bumped inside every writing
transaction: migrations 0007, 0013) equals the one the index was read at
(:meth:`LocateIndex.read`); any other request is answered by SQL.
"""

import marshal
import math
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import rtree
import shapely
from psycopg import sql
from pyproj import Geod

from layers.locate import GENERATION, degrees_per_metre

__all__ = ["LocateIndex", "Behind"]

# A change of more than this share of the index is loaded in full, as a new index
# (built beside the one in use, which keeps answering its generation meanwhile).
REBUILD_SHARE = 0.25
# Grids with more vertices than this are prepared (GEOS indexes their edges on
# first use: a town of thousands of vertices is answered in microseconds); a
# micro-grid of ~45 vertices is tested as fast without, and its index would cost
# a few kilobytes a grid. Prepared or not, the predicate is the same exact one.
PREPARE_OVER = 200
CHUNK = 20000  # rows a full load reads at a time

# Staff in the order locate lists them within one grid (then by chain level).
_ROLE_ORDER = ("grid_chief", "full_time", "part_time", "liaison", "volunteer")
_ROLE_RANK = {role: i for i, role in enumerate(_ROLE_ORDER)}

# The same ellipsoid PostGIS measures geography on (SRID 4326: WGS 84), and the
# same algorithm (GeographicLib's inverse problem, through PROJ in both).
_GEOD = Geod(ellps="WGS84")

_CAMERA_FIELDS = ("id", "code", "name", "kind", "bearing", "fov_deg", "range_m",
                  "owner", "status", "grid_code")
_GRID_ROWS = "SELECT level, code, name, ST_AsBinary(geom) FROM grids"
_STAFF_ROWS = ("SELECT id, name, role, phone, grid_code FROM grid_staff"
               " WHERE active")
_CAMERA_ROWS = sql.SQL("SELECT {fields}, ST_X(geom), ST_Y(geom) FROM cameras").format(
    fields=sql.SQL(", ").join(map(sql.Identifier, _CAMERA_FIELDS)))
# where the snapshot is: its generation, itself, the count of prunes, and
# whether the change rows after ``prev`` are all still there (none pruned that
# ``prev`` may not have seen; asked only when a prune came since ``prev``)
_WHERE = sql.SQL(
    "SELECT ({generation}), pg_current_snapshot()::text, prunes,"
    " (%(prev)s::pg_snapshot IS NULL"
    "  OR upto < pg_snapshot_xmin(%(prev)s::pg_snapshot))"
    " FROM locate_changes_pruned").format(generation=sql.SQL(GENERATION))
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
    if array.dtype == object:
        grown[:] = None
    grown[:len(array)] = array
    return grown


def _prepared(wkbs):
    geoms = shapely.from_wkb(list(wkbs))
    shapely.prepare(geoms[shapely.get_num_coordinates(geoms) > PREPARE_OVER])
    return geoms


def _chunks(conn, query, params=None):
    """The rows of ``query`` a chunk at a time, through a server-side cursor in the
    caller's transaction: a city's 100,000 cameras never all at once as Python
    tuples (that peak was larger than the index itself)."""
    with conn.cursor(name="locate_index") as cur:
        cur.execute(query, params)
        while rows := cur.fetchmany(CHUNK):
            yield rows


def _whole_grids(chunks):
    """Chunks of staff rows (ordered by grid) cut between grids, never inside one:
    each grid's list is packed from all its rows at once."""
    held = []
    for rows in chunks:
        rows = held + rows
        last = rows[-1][4]
        cut = len(rows)
        while cut and rows[cut - 1][4] == last:
            cut -= 1
        held = rows[cut:]
        if cut:
            yield rows[:cut]
    if held:
        yield held


def _staff_lists(rows):
    """grid code -> its staff packed (marshal) in locate's order: role, then id.
    Packed, a grid's staff cost ~40 bytes a person rather than ~230 as tuples of
    strings (a province has ~850,000); unpacked per located point, 4 grids."""
    lists = {}
    for sid, name, role, phone, grid in rows:
        lists.setdefault(grid, []).append((_ROLE_RANK[role], sid, name, phone))
    return {grid: marshal.dumps(tuple(sorted(staff)))
            for grid, staff in lists.items()}


class Behind(Exception):  # noqa: N818 -- a state, not a failure
    """The index cannot be brought up to date by changes: load it in full."""


class LocateIndex:
    """Grids, active staff and cameras in memory, as of one database snapshot.

    Build it with :meth:`load`, bring it up to date with :meth:`catch_up`; ask it
    with :meth:`locate`, which answers as ``layers.locate.locate`` does
    (``grids``, ``staff``, ``cameras``), or with :meth:`read`, which gives None
    instead of an answer read while a catch-up changed the index.

    Grids by slot: numpy columns (level, bounding box), lists of codes and names,
    an array of shapely polygons, a code -> slot dict; a removed grid frees its
    slot. Staff: per grid code, the grid's list packed. Cameras by slot in the
    order of their ids: numpy columns (id, lon, lat, range, bearing, field of
    view), code and name as one UTF-8 bytes each, kind, owner, status and grid
    as shared strings; a camera is found by its id (binary search, no dict), a
    new id (ids only grow) takes the next slot, a removed camera leaves its slot
    dead until the next full load.
    """

    def __init__(self, generation, snapshot):
        """An empty index at ``generation``, read in ``snapshot`` (the
        ``pg_snapshot`` as text); :meth:`load` fills one."""
        self.generation = generation
        self.snapshot = snapshot
        self.prunes = 0  # the count of prunes of change rows it had seen
        # even while the index can be read; odd while a catch-up changes it
        self.stamp = 0
        self._words = {}
        self._g_level = np.zeros(0, dtype=np.int8)
        self._g_code, self._g_name = [], []
        self._g_geom = np.empty(0, dtype=object)
        self._g_box = np.zeros((0, 4))
        self._g_slot, self._g_free = {}, []
        self._g_tree = rtree.index.Index()
        self._staff = {}
        self._c_n = 0  # slots used
        self._c_id = np.zeros(0, dtype=np.int64)
        self._c_lon, self._c_lat, self._c_range, self._c_bearing, self._c_fov = (
            np.zeros(0) for _ in range(5))
        self._c_live = np.zeros(0, dtype=bool)
        self._c_text, self._c_kind, self._c_owner, self._c_status, self._c_grid = (
            [] for _ in range(5))
        self._c_tree = rtree.index.Index()
        self._reach = 0.0

    def _word(self, value):
        """One shared string per distinct value (a kind, a grid code)."""
        return value if value is None else self._words.setdefault(value, value)

    # -- reading and following the database ---------------------------------

    @classmethod
    def load(cls, conn):
        """Read the index in one snapshot (REPEATABLE READ), with its generation."""
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            gen, snapshot, prunes, _ = conn.execute(_WHERE, {"prev": None}).fetchone()
            index = cls(gen, snapshot)
            index.prunes = prunes
            for rows in _chunks(conn, _GRID_ROWS):
                index._set_grids((), rows, _prepared(r[3] for r in rows), bulk=True)
            box = index._g_box[:len(index._g_code)]
            index._g_tree = _tree(np.arange(len(box)), box[:, :2], box[:, 2:])
            staff = _chunks(conn, _STAFF_ROWS + " ORDER BY grid_code")
            for rows in _whole_grids(staff):
                index._set_staff((), rows)
            for rows in _chunks(conn, _CAMERA_ROWS + sql.SQL(" ORDER BY id")):
                index._append_cameras(rows)
            n = index._c_n
            xy = np.column_stack([index._c_lon[:n], index._c_lat[:n]])
            index._c_tree = _tree(np.arange(n), xy, xy)
            index._set_reach()
        return index

    def size(self):
        """How many grids, grids with staff and cameras the index holds."""
        return len(self._g_slot) + len(self._staff) + int(self._c_live.sum())

    def catch_up(self, conn):
        """Apply what was committed since the index was read; return the number of
        keys reloaded (0: nothing had changed). Raises ``Behind`` when that is
        not possible by changes (a TRUNCATE, change rows pruned, a change of more
        than ``REBUILD_SHARE`` of the index): load a new index instead."""
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            gen, snapshot, prunes, whole = conn.execute(
                _WHERE, {"prev": self.snapshot}).fetchone()
            if prunes != self.prunes and not whole:
                raise Behind("change rows pruned")
            if gen == self.generation:
                # nothing written: the next cut is shorter
                self.snapshot, self.prunes = snapshot, prunes
                return 0
            keys = {"grids": set(), "cameras": set(), "grid_staff": set()}
            for layer, changed in conn.execute(_SINCE, {"prev": self.snapshot}):
                if changed is None:
                    raise Behind(f"{layer} truncated")
                keys[layer].update(changed)
            count = sum(map(len, keys.values()))
            if count > REBUILD_SHARE * max(self.size(), 20000):
                raise Behind(f"{count} keys changed")
            grids = conn.execute(sql.SQL(" ").join([
                sql.SQL(_GRID_ROWS), sql.SQL("WHERE code = ANY(%s)")]),
                (list(keys["grids"]),)).fetchall()
            staff = conn.execute(sql.SQL(" ").join([
                sql.SQL(_STAFF_ROWS), sql.SQL("AND grid_code = ANY(%s)")]),
                (list(keys["grid_staff"]),)).fetchall()
            ids = sorted(map(int, keys["cameras"]))
            cameras = conn.execute(_CAMERA_ROWS + sql.SQL(
                " WHERE id = ANY(%s) ORDER BY id"), (ids,)).fetchall()
        geoms = _prepared(r[3] for r in grids) if grids else []
        top = int(self._c_id[self._c_n - 1]) if self._c_n else 0
        if any(row[0] <= top and self._camera_slot(row[0]) is None
               for row in cameras):
            raise Behind("a new camera id below the highest")  # ids given by hand
        self.stamp += 1  # readers from here on ask SQL
        try:
            self.generation = None
            self._set_grids(keys["grids"], grids, geoms)
            self._set_staff(keys["grid_staff"], staff)
            self._set_cameras(ids, cameras)
            self.snapshot, self.generation, self.prunes = snapshot, gen, prunes
        finally:
            self.stamp += 1
        return count

    def _set_grids(self, codes, rows, geoms, bulk=False):
        """Remove grids ``codes``, then add ``rows`` (with their ``geoms``); into
        the R-tree too unless ``bulk`` (the caller builds it after)."""
        for code in codes:
            i = self._g_slot.pop(code, None)
            if i is not None:
                self._g_tree.delete(i, self._g_box[i])
                self._g_code[i] = self._g_name[i] = self._g_geom[i] = None
                self._g_free.append(i)
        boxes = shapely.bounds(geoms).reshape(-1, 4)
        for (level, code, name, _), geom, box in zip(rows, geoms, boxes, strict=True):
            i = self._g_free.pop() if self._g_free else len(self._g_code)
            if i == len(self._g_code):
                self._g_code.append(None)
                self._g_name.append(None)
                self._g_level = _grown(self._g_level, i + 1)
                self._g_box = _grown(self._g_box, i + 1)
                self._g_geom = _grown(self._g_geom, i + 1)
            self._g_level[i], self._g_geom[i], self._g_box[i] = level, geom, box
            self._g_code[i], self._g_name[i] = self._word(code), name
            self._g_slot[self._g_code[i]] = i
            if not bulk:
                self._g_tree.insert(i, box)

    def _set_staff(self, grids, rows):
        """Drop the staff of ``grids``, then add the active staff ``rows``."""
        for grid in grids:
            self._staff.pop(grid, None)
        for grid, packed in _staff_lists(rows).items():
            self._staff[self._word(grid)] = packed

    def _camera_slot(self, cid):
        """The slot of camera id ``cid`` (live or dead), or None."""
        i = int(np.searchsorted(self._c_id[:self._c_n], cid))
        return i if i < self._c_n and self._c_id[i] == cid else None

    def _append_cameras(self, rows):
        """Add ``rows`` (in id order, every id above those held) in new slots."""
        if not rows:
            return
        cols = list(zip(*rows, strict=True))
        start, self._c_n = self._c_n, self._c_n + len(rows)
        for attr, k in (("_c_id", 0), ("_c_bearing", 4), ("_c_fov", 5),
                        ("_c_range", 6), ("_c_lon", 10), ("_c_lat", 11),
                        ("_c_live", None)):
            column = _grown(getattr(self, attr), self._c_n)
            column[start:self._c_n] = True if k is None else [
                math.nan if v is None else v for v in cols[k]]
            setattr(self, attr, column)
        word = self._word
        self._c_text += [f"{c}\0{n}".encode() for c, n in zip(cols[1], cols[2],
                                                              strict=True)]
        for column, k in ((self._c_kind, 3), (self._c_owner, 7),
                          (self._c_status, 8), (self._c_grid, 9)):
            column += [word(v) for v in cols[k]]

    def _set_cameras(self, ids, rows):
        """Cameras ``ids`` become ``rows``: changed in their slot (a dead one
        revived), added after the others, or dead."""
        for cid in ids:
            i = self._camera_slot(cid)
            if i is not None and self._c_live[i]:
                xy = (self._c_lon[i], self._c_lat[i])
                self._c_tree.delete(i, xy + xy)
                self._c_live[i] = False
        for row in rows:
            i = self._camera_slot(row[0])
            if i is None:
                i = self._c_n
                self._append_cameras([row])
            else:
                self._c_text[i] = f"{row[1]}\0{row[2]}".encode()
                for column, k in ((self._c_kind, 3), (self._c_owner, 7),
                                  (self._c_status, 8), (self._c_grid, 9)):
                    column[i] = self._word(row[k])
                for column, k in ((self._c_bearing, 4), (self._c_fov, 5),
                                  (self._c_range, 6), (self._c_lon, 10),
                                  (self._c_lat, 11)):
                    column[i] = math.nan if row[k] is None else row[k]
                self._c_live[i] = True
            x, y = self._c_lon[i], self._c_lat[i]
            self._c_tree.insert(i, (x, y, x, y))
        if ids:
            self._set_reach()

    def _set_reach(self):
        live = self._c_range[:self._c_n][self._c_live[:self._c_n]]
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
            packed = self._staff.get(grid["code"])
            for rank, sid, name, phone in marshal.loads(packed) if packed else ():
                if not (contact or phone is None):
                    phone = phone[:3] + "****" + phone[-4:]
                out.append({"id": sid, "name": name, "role": _ROLE_ORDER[rank],
                            "phone": phone, "grid_code": grid["code"],
                            "level": grid["level"]})
        return out

    def _cameras_seeing(self, principal, lon, lat):
        reach = self._reach
        if not self._c_n:
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
            code, name = self._c_text[i].decode().split("\0", 1)
            out.append({"code": code, "name": name, "kind": self._c_kind[i],
                        "bearing": bearing, "fov_deg": fov, "range_m": range_m,
                        "owner": self._c_owner[i], "status": self._c_status[i],
                        "grid_code": grid, "distance_m": _round_1(dist),
                        "lon": float(self._c_lon[i]), "lat": float(self._c_lat[i])})
        out.sort(key=lambda c: (c["distance_m"], c["code"]))
        return out
