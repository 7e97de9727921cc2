"""Locate from memory: the grids, staff and cameras of the database held in each
server process, used while they are current.

``layers.locate`` answers a point with three SQL queries: ~1 ms of PostgreSQL and
Python per point, which caps one server near 600 located points per second (the
dispatch desk and the 110 hand-over expect far more: bench/README.md). The data it
reads changes a few times a day (a planner's edit, a new camera, a staff change),
so each process keeps a :class:`LocateIndex` of it: the grids in a shapely STRtree
of prepared polygons, the active staff per grid, the cameras in an STRtree of
points with their view parameters. A point is then answered in tens of
microseconds, with the same rules and the same output as the SQL (the tests compare
the two on thousands of points).

Current means: built in a snapshot whose data generation (the sum of the
``tile_generations`` slots of grids, cameras and grid_staff, bumped inside every
writing transaction: migrations 0007 and 0013) equals the generation the request
reads. A request whose generation differs is answered by SQL, and one rebuild
starts in the background; so an edit is seen by the very next request, and no
request waits for a rebuild.
"""

import logging
import math
import threading
import time
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import shapely
from psycopg import sql
from pyproj import Geod

from layers.locate import GENERATION, degrees_per_metre

__all__ = ["LocateIndex", "IndexHolder"]

log = logging.getLogger(__name__)

# Staff in the order locate lists them within one grid (then by chain level).
_ROLE_ORDER = ("grid_chief", "full_time", "part_time", "liaison", "volunteer")

# The same ellipsoid PostGIS measures geography on (SRID 4326: WGS 84), and the
# same algorithm (GeographicLib's inverse problem, through PROJ in both).
_GEOD = Geod(ellps="WGS84")

_CAMERA_FIELDS = ("code", "name", "kind", "bearing", "fov_deg", "range_m", "owner",
                  "status", "grid_code")


def _round_1(value):
    """``round(value::numeric, 1)::float`` as PostgreSQL computes it: the double
    converted with 15 significant digits, then rounded half away from zero."""
    return float(Decimal(f"{value:.15g}").quantize(Decimal("0.1"), ROUND_HALF_UP))


class LocateIndex:
    """Grids, active staff and cameras in memory, as of one database snapshot.

    Build it with :meth:`load`; ask it with :meth:`locate`, which answers as
    ``layers.locate.locate`` does (``grids``, ``staff``, ``cameras``).
    """

    def __init__(self, generation, grids, staff, cameras):
        """``grids``: rows (level, code, name, WKB); ``staff``: rows (id, name,
        role, phone, grid_code) of the active staff in role order, then id;
        ``cameras``: rows of the camera fields (``_CAMERA_FIELDS``) then lon, lat.
        Tuples, as psycopg gives them: a dict per row cost a third of a build."""
        self.generation = generation
        # grids: level, code, name, geometry (prepared for point-in-polygon)
        level, code, name, wkb = zip(*grids, strict=True) if grids else ((),) * 4
        self._grid_level = np.asarray(level, dtype=np.int64)
        self._grid_code, self._grid_name = list(code), list(name)
        self._grid_geom = shapely.from_wkb(list(wkb))
        shapely.prepare(self._grid_geom)
        self._grid_tree = shapely.STRtree(self._grid_geom)
        # staff per grid code, in the order given
        self._staff = {}
        for sid, sname, role, phone, grid in staff:
            masked = None if phone is None else phone[:3] + "****" + phone[-4:]
            self._staff.setdefault(grid, []).append((sid, sname, role, phone, masked))
        # cameras: their fields, and arrays of what the view test needs
        self._cameras = cameras
        xyr = np.asarray([(c[9], c[10], c[5]) for c in cameras],
                         dtype=np.float64).reshape(-1, 3)
        self._cam_lon, self._cam_lat, self._cam_range = xyr.T.copy()
        self._reach = float(self._cam_range.max()) if cameras else 0.0
        self._cam_tree = shapely.STRtree(shapely.points(self._cam_lon, self._cam_lat))

    @classmethod
    def load(cls, conn):
        """Read the index in one snapshot (REPEATABLE READ), with its generation."""
        with conn.transaction():
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            gen = conn.execute(GENERATION).fetchone()[0]
            grids = conn.execute(
                "SELECT level, code, name, ST_AsBinary(geom) FROM grids").fetchall()
            staff = conn.execute(
                "SELECT id, name, role, phone, grid_code FROM grid_staff"
                " WHERE active ORDER BY array_position(%s::text[], role), id",
                (list(_ROLE_ORDER),)).fetchall()
            cameras = conn.execute(sql.SQL(
                "SELECT {fields}, ST_X(geom), ST_Y(geom) FROM cameras").format(
                    fields=sql.SQL(", ").join(map(sql.Identifier, _CAMERA_FIELDS)))
            ).fetchall()
        return cls(gen, grids, staff, cameras)

    def locate(self, principal, lon, lat):
        """``{grids, staff, cameras}`` of ``(lon, lat)``, as ``layers.locate.locate``
        answers for ``principal`` (see there for the rules)."""
        chain = self._chain(principal, lon, lat)
        return {"grids": chain, "staff": self._staff_of(principal, chain),
                "cameras": self._cameras_seeing(principal, lon, lat)}

    def _chain(self, principal, lon, lat):
        root = principal.grid_code or ""
        found = self._grid_tree.query(shapely.Point(lon, lat))
        found = found[shapely.intersects_xy(self._grid_geom[found], lon, lat)]
        # one grid per level; on a shared boundary the lowest code wins
        best = {}
        for i in found.tolist():
            code = self._grid_code[i]
            if not (code.startswith(root) or root.startswith(code)):
                continue
            level = int(self._grid_level[i])
            if level not in best or code < self._grid_code[best[level]]:
                best[level] = i
        return [{"level": level, "code": self._grid_code[i],
                 "name": self._grid_name[i]} for level, i in sorted(best.items())]

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
        if not self._cameras:
            return []
        root = principal.grid_code or ""
        dx, dy = degrees_per_metre(lat)
        reach = self._reach
        near = self._cam_tree.query(shapely.box(
            lon - reach * dx, lat - reach * dy, lon + reach * dx, lat + reach * dy))
        if len(near) == 0:
            return []
        # the planar prefilter of the SQL (generous by the east-west scale), then
        # the distance and azimuth on the spheroid for the few left
        clon, clat = self._cam_lon[near], self._cam_lat[near]
        near = near[np.hypot(clon - lon, clat - lat) <= self._cam_range[near] * dx]
        if len(near) == 0:
            return []
        azimuth, _, distance = _GEOD.inv(self._cam_lon[near], self._cam_lat[near],
                                         np.full(len(near), lon),
                                         np.full(len(near), lat))
        out = []
        for i, az, dist in zip(near.tolist(), np.atleast_1d(azimuth).tolist(),
                               np.atleast_1d(distance).tolist(), strict=True):
            code, name, kind, bearing, fov, range_m, owner, status, grid = \
                self._cameras[i][:9]
            if grid is None or not grid.startswith(root) or dist > range_m:
                continue
            if not (bearing is None or fov >= 360 or dist < 0.5
                    or abs((az - bearing + 540) % 360 - 180) <= fov / 2):
                continue
            out.append({"code": code, "name": name, "kind": kind, "bearing": bearing,
                        "fov_deg": fov, "range_m": range_m, "owner": owner,
                        "status": status, "grid_code": grid,
                        "distance_m": _round_1(dist),
                        "lon": float(self._cam_lon[i]), "lat": float(self._cam_lat[i])})
        out.sort(key=lambda c: (c["distance_m"], c["code"]))
        return out


class IndexHolder:
    """The process's current :class:`LocateIndex`, rebuilt in the background.

    ``connect`` is a context manager factory giving a database connection (the
    application's pool) to a rebuild; ``background=False`` rebuilds in the caller
    instead (tests, one-off scripts). A rebuild starts at most once every
    ``min_gap`` seconds (default 5 in the background, 0 otherwise): a burst of
    edits (an import of cameras, a planner's session) costs one rebuild per gap
    rather than one per edit, and a failing one is not retried on every request.
    SQL answers in between.
    """

    def __init__(self, connect, background=True, min_gap=None):
        self._connect = connect
        self._background = background
        self.min_gap = (5.0 if background else 0.0) if min_gap is None else min_gap
        self._index = None
        self._building = threading.Lock()
        self._started = -math.inf

    def current(self, gen):
        """The index if it was built at generation ``gen``; otherwise None, and a
        rebuild is started unless one is running or one started too recently."""
        index = self._index
        if index is not None and index.generation == gen:
            return index
        if time.monotonic() - self._started < self.min_gap:
            return None
        if self._building.acquire(blocking=False):
            self._started = time.monotonic()
            if self._background:
                threading.Thread(target=self._rebuild, name="locate-index",
                                 daemon=True).start()
            else:
                self._rebuild()
                index = self._index
                return index if index is not None and index.generation == gen \
                    else None
        return None

    def building(self):
        """Whether a rebuild is running now."""
        return self._building.locked()

    def _rebuild(self):
        try:
            with self._connect() as conn:
                self._index = LocateIndex.load(conn)
        except Exception:  # noqa: BLE001 -- SQL answers meanwhile; say why
            log.exception("rebuilding the locate index failed")
        finally:
            self._building.release()
