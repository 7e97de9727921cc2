"""Vector tiles (Mapbox Vector Tile, web-mercator z/x/y) of the map's layers.

One query per tile, built by PostGIS (``ST_TileEnvelope`` / ``ST_AsMVTGeom`` /
``ST_AsMVT``), bounded by the user's jurisdiction like every layer query. Large
layers never go to the browser as raw points: below a layer's point zoom its
features are counted per square cell of 1/32 of the tile (8 screen pixels), and a
cell is drawn as its square, never as a position.

A tile may be asked shifted (``shift=gcj02|bd09``) for a map whose basemap is in
one of China's offset systems (``web/basemap.py``): the table stays WGS-84 and the
geometry is moved as it goes into the tile (:func:`shift_affine`).

A tile is cached in process (:class:`TileCache`) under its layer's data generation
(``tile_generations``, bumped by a statement trigger on each table: migration
0007), read with one small index scan per request; the tile query returns the
generation of its own snapshot, so a tile is never stored under a number its
data does not belong to.
"""

import datetime as dt
import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from psycopg import sql

from geo.catalogue import say
from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from geo.workdays import CHINA_TZ
from layers.errors import Invalid, NotFound
from layers.grids import scope_params

__all__ = [
    "LAYERS", "MAX_ZOOM", "EXTENT", "CELLS", "POINT_ZOOM", "grid_levels",
    "check_tile", "generation", "render", "get_tile", "Tile", "TileCache",
    "EMBED_MAX", "embeddable", "first_zoom", "SHIFTS", "shift_affine",
]

LAYERS = ("grids", "cameras", "households", "incidents")
MAX_ZOOM = 22
EXTENT = 4096  # MVT coordinates per tile side
BUFFER = 64  # beyond the tile edge, so that lines and symbols meet across edges
CELLS = 32  # cells per tile side when a point layer is counted
# Zoom from which a point layer goes out as points (below it: counts per cell).
# Sized on the benchmark city: a z12 tile (~8 km) holds up to ~45,000 households
# (1 MB as points with nothing but an id; 27 KB as counts) and ~3,600 cameras, a
# z13 tile ~1,100 cameras.
POINT_ZOOM = {"cameras": 13, "households": 14, "incidents": 13}
# Grid levels drawn from a zoom on: a level shows once its grids are some 15 px
# wide (the city's comprehensive grids are ~700 m, its micro-grids ~300 m).
_GRID_LEVELS = ((13, (1, 2, 3, 4)), (12, (1, 2, 3)), (0, (1, 2)))
# A window of incidents spans at most a year (more is a heat map's job).
MAX_WINDOW_DAYS = 366
_EARTH_RADIUS = 6378137.0  # of EPSG:3857's sphere
# A map page embeds a layer (GeoJSON or points in the HTML) only up to this many
# features of the user's jurisdiction; a larger layer is drawn from these tiles.
# 3,000 micro-grids of 34 vertices are ~2 MB of page; the city's 20,000 would be
# 14 MB, its 1.1 M households 25 MB of bare coordinates.
EMBED_MAX = 3000


def first_zoom(level):
    """The lowest zoom whose grid tiles hold ``level``."""
    return min(zoom for zoom, levels in _GRID_LEVELS if level in levels)


def grid_levels(z):
    """The grid levels drawn at zoom ``z``: towns and villages always, then
    comprehensive grids, then micro-grids."""
    return next(levels for zoom, levels in _GRID_LEVELS if z >= zoom)


# Counting stops at EMBED_MAX + 1 (a LIMIT inside): the answer is only "small
# enough or not", and a city's million households need not be counted for it.
_SMALL_ENOUGH = sql.SQL("""
    SELECT
      ARRAY(SELECT (SELECT count(*) <= %(max)s FROM (
                      SELECT 1 FROM grids g
                      WHERE g.level = lv
                        AND (g.code LIKE %(scope)s
                             OR left(%(root)s, length(g.code)) = g.code)
                      LIMIT %(max)s + 1) t)
            FROM unnest(ARRAY[1, 2, 3, 4]) AS lv ORDER BY lv),
      (SELECT count(*) <= %(max)s FROM (
         SELECT 1 FROM households WHERE grid_code LIKE %(scope)s
         LIMIT %(max)s + 1) t),
      (SELECT count(*) <= %(max)s FROM (
         SELECT 1 FROM cameras WHERE grid_code LIKE %(scope)s
         LIMIT %(max)s + 1) t)
""")


def embeddable(conn, principal, limit=EMBED_MAX):
    """Which of the map's layers are small enough to embed in the page, within the
    user's jurisdiction: ``{"grids": {level: bool}, "households": bool,
    "cameras": bool}``; the others go to the map as vector tiles."""
    levels, households, cameras = conn.execute(
        _SMALL_ENOUGH, scope_params(principal) | {"max": limit}).fetchone()
    return {"grids": dict(zip((1, 2, 3, 4), levels, strict=True)),
            "households": households, "cameras": cameras}


def check_tile(layer, z, x, y):
    """Raise NotFound for an unknown layer, Invalid for a tile that does not exist."""
    if layer not in LAYERS:
        raise NotFound(say("err_no_tile_layer", layer=layer, layers=', '.join(LAYERS)),
                       field="layer")
    if not 0 <= z <= MAX_ZOOM:
        raise Invalid(say("err_zoom_range", max_zoom=MAX_ZOOM, z=z), field="z")
    for name, value in (("x", x), ("y", y)):
        if not 0 <= value < 2**z:
            raise Invalid(say("err_tile_index", name=name, top=2 ** z - 1, z=z,
                              value=value), field=name)


# Shifted tiles -------------------------------------------------------------------

# WGS-84 -> the offset system (geo/crs.py, checked there against published pairs)
SHIFTS = {"gcj02": wgs84_to_gcj02, "bd09": wgs84_to_bd09}


def _tile_lonlat(z, x, y, margin=0.0):
    """The tile's [west, south, east, north] in degrees (web mercator inverted),
    grown by ``margin`` tile widths on each side."""
    n = 2.0**z
    x0, x1 = (x - margin) / n, (x + 1 + margin) / n
    y0, y1 = (y - margin) / n, (y + 1 + margin) / n
    lon = [v * 360.0 - 180.0 for v in (x0, x1)]
    lat = [math.degrees(math.atan(math.sinh(math.pi * (1 - 2 * v)))) for v in (y1, y0)]
    lat = [max(-85.0511, min(85.0511, v)) for v in lat]
    return lon[0], lat[0], lon[1], lat[1]


def shift_affine(shift, z, x, y):
    """The affine map (ST_Affine's a, b, d, e, xoff, yoff) that best fits
    ``SHIFTS[shift]`` over the tile (with its buffer), and its inverse.

    Why an affine map per tile and not the formula at every vertex: the formula
    would be a PL/pgSQL function over every point of every geometry (a migration,
    and several times the cost of the tile); the offsets are smooth (their
    shortest waves: GCJ-02's sin(6πλ), 1/3° ≈ 30 km long, ±13 m; BD-09's
    cos(3000λ°), 0.12° ≈ 11 km, ±40 m), so a plane fitted to them by least
    squares over a 5×5 lattice of the tile's source is off by their curvature
    only: at z16 (520 m) 1 cm for GCJ-02 and 0.23 m for BD-09, at z14 0.2 and
    3.5 m, at z12 3 and 33 m: a tenth of a pixel or less for GCJ-02, at most one
    (z12) for BD-09 (tests/integration/test_basemap.py compares the tiles with
    geo.crs point by point).
    """
    if shift not in SHIFTS:
        raise Invalid(say("err_tile_shift", value=shift), field="shift")
    forward = SHIFTS[shift]
    west, south, east, north = _tile_lonlat(z, x, y, BUFFER / EXTENT)
    # fitted where the data lies whose shifted image is the tile: the tile moved
    # back by the offset (two fixed-point steps: the offset varies by metres over
    # its 500-1,000 m); fitted on the tile itself it would be extrapolated there
    centre = np.array([(west + east) / 2, (south + north) / 2])
    source = centre
    for _ in range(2):
        source = centre - (np.asarray(forward(*source), dtype=float) - source)
    dx, dy = source - centre
    lon, lat = np.meshgrid(np.linspace(west + dx, east + dx, 5),
                           np.linspace(south + dy, north + dy, 5))
    lon, lat = lon.ravel(), lat.ravel()
    slon, slat = (np.asarray(v, dtype=float) for v in forward(lon, lat))
    lon0, lat0 = lon.mean(), lat.mean()
    design = np.c_[np.ones_like(lon), lon - lon0, lat - lat0]
    (p0, p1, p2), *_ = np.linalg.lstsq(design, slon - lon, rcond=None)
    (q0, q1, q2), *_ = np.linalg.lstsq(design, slat - lat, rcond=None)
    matrix = np.array([[1 + p1, p2], [q1, 1 + q2]])
    offset = np.array([p0 - p1 * lon0 - p2 * lat0, q0 - q1 * lon0 - q2 * lat0])
    inverse = np.linalg.inv(matrix)
    back = -inverse @ offset
    forward = {"fa": matrix[0, 0], "fb": matrix[0, 1], "fd": matrix[1, 0],
               "fe": matrix[1, 1], "fx": offset[0], "fy": offset[1]}
    backward = {"ia": inverse[0, 0], "ib": inverse[0, 1], "id": inverse[1, 0],
                "ie": inverse[1, 1], "ix": back[0], "iy": back[1]}
    return {k: float(v) for k, v in (forward | backward).items()}


# Pieces of SQL ---------------------------------------------------------------------

# The tile in EPSG:3857 and, for the index, the same square (with the buffer) in the
# storage CRS: web mercator's x depends on longitude only and y on latitude only, so
# a mercator rectangle is a longitude/latitude rectangle and the transformed corners
# bound it exactly.
_ENVELOPE = sql.SQL("""
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(margin)s),
                        4326) AS box,
           ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326) AS inner_box
""")
# Shifted: the boxes are where the data lies whose shifted position is in the
# tile (the inverse map of the tile's boxes; their bounding boxes select and clip).
_SHIFTED_ENVELOPE = sql.SQL("""
    SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS tile,
           ST_Envelope(ST_Affine(ST_Transform(ST_TileEnvelope(
               %(z)s, %(x)s, %(y)s, margin => %(margin)s), 4326),
               %(ia)s, %(ib)s, %(id)s, %(ie)s, %(ix)s, %(iy)s)) AS box,
           ST_Envelope(ST_Affine(ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s),
                                              4326),
               %(ia)s, %(ib)s, %(id)s, %(ie)s, %(ix)s, %(iy)s)) AS inner_box
""")
_MVT_GEOM = sql.SQL("ST_AsMVTGeom(ST_Transform({geom}, 3857), e.tile, {extent}, "
                    "{buffer}, true)")
_SHIFTED = sql.SQL("ST_Affine({geom}, %(fa)s, %(fb)s, %(fd)s, %(fe)s, %(fx)s, "
                   "%(fy)s)")
# the sum of the layer's 16 slots (migration 0007 says why)
_GENERATION = sql.SQL(
    "(SELECT sum(generation)::bigint FROM tile_generations WHERE layer = %(layer)s)")


def _mvt_geom(geom, shifted=False):
    if shifted:
        geom = _SHIFTED.format(geom=geom)
    return _MVT_GEOM.format(geom=geom, extent=sql.Literal(EXTENT),
                            buffer=sql.Literal(BUFFER))


def _wrap(features, shifted=False):
    """One statement: the tile and the generation of the snapshot it was read in.

    ST_AsMVT skips the rows whose geometry ST_AsMVTGeom clipped away (NULL); a
    ``WHERE geom IS NOT NULL`` would be pushed into the scan and compute every
    geometry twice.
    """
    return sql.SQL("""
        WITH e AS ({envelope})
        SELECT {generation},
               (SELECT ST_AsMVT(t, %(layer)s, {extent}, 'geom')
                FROM ({features}) t)
    """).format(envelope=_SHIFTED_ENVELOPE if shifted else _ENVELOPE,
                generation=_GENERATION, features=features,
                extent=sql.Literal(EXTENT))


# Grids: the subtree, plus the outlines of the user's own ancestors (as
# layers/grids.py shows them). Before the transformation and ST_AsMVTGeom, each
# polygon is cut to the tile (with its buffer; a longitude/latitude box, so the cut
# is exact) and simplified to half a pixel of the zoom: the city's town outlines
# have 1,400 vertices, of which a z14 tile holds a few dozen, and at z10 the
# simplification makes a tile 4× smaller and faster with no visible change.
# ST_ClipByBox2D may leave an invalid polygon: ST_AsMVTGeom repairs what it clips.
def _grids(shifted):
    return _wrap(sql.SQL("""
        SELECT g.code, g.name, g.level,
               {geom} AS geom
        FROM grids g, e
        WHERE g.geom && e.box AND g.level = ANY(%(levels)s)
          AND (g.code LIKE %(scope)s OR left(%(root)s, length(g.code)) = g.code)
    """).format(geom=_mvt_geom(sql.SQL(
        "ST_Simplify(ST_ClipByBox2D(g.geom, e.box), %(tolerance)s, true)"),
        shifted)), shifted)

# Points, with the few fields a map needs. Households: the id only, never a name,
# phone, ID number or tag.
_POINT_FIELDS = {
    "cameras": sql.SQL("p.code, p.kind, p.status, p.bearing, p.fov_deg, p.range_m"),
    "households": sql.SQL("p.id"),
    "incidents": sql.SQL("p.code, p.category, p.status"),
}

def _points(layer, extra, shifted=False):
    return _wrap(sql.SQL("""
        SELECT {fields}, {geom} AS geom
        FROM {table} p, e
        WHERE p.geom && e.box AND p.grid_code LIKE %(scope)s{extra}
    """).format(fields=_POINT_FIELDS[layer],
                geom=_mvt_geom(sql.SQL("p.geom"), shifted),
                table=sql.Identifier(layer), extra=extra), shifted)


# Counts per cell. The cell of a point comes from spherical mercator written out
# (x = R·λ, y = R·ln tan(π/4 + φ/2), EPSG:3857's own formulas): twice as fast as
# ST_Transform on each of the ~45,000 households of a z12 city tile. Cells are
# aligned on the tile, so they never straddle two tiles, and a point on an edge is
# counted once (floor, then only the tile's own cells).
_LON, _LAT = sql.SQL("ST_X(p.geom)"), sql.SQL("ST_Y(p.geom)")
# a shifted point's longitude and latitude (the affine map written out)
_SHIFTED_LON = sql.SQL("(%(fa)s * ST_X(p.geom) + %(fb)s * ST_Y(p.geom) + %(fx)s)")
_SHIFTED_LAT = sql.SQL("(%(fd)s * ST_X(p.geom) + %(fe)s * ST_Y(p.geom) + %(fy)s)")


def _counts(layer, extra, shifted=False):
    return sql.SQL("""
        WITH e AS ({envelope}),
        b AS (
            SELECT e.*, ST_XMin(e.tile) AS x0, ST_YMin(e.tile) AS y0,
                   (ST_XMax(e.tile) - ST_XMin(e.tile)) / {cells} AS cell
            FROM e),
        c AS MATERIALIZED (
            SELECT floor((radians({lon}) * {r} - b.x0) / b.cell)::int AS i,
                   floor((ln(tan(pi() / 4 + radians({lat}) / 2)) * {r}
                          - b.y0) / b.cell)::int AS j,
                   count(*) AS n
            FROM {table} p, b
            WHERE p.geom && b.inner_box AND p.grid_code LIKE %(scope)s{extra}
            GROUP BY 1, 2)
        SELECT {generation},
               (SELECT ST_AsMVT(t, %(layer)s, {extent}, 'geom') FROM (
                    SELECT c.n AS count,
                           ST_AsMVTGeom(ST_MakeEnvelope(
                               b.x0 + c.i * b.cell, b.y0 + c.j * b.cell,
                               b.x0 + (c.i + 1) * b.cell, b.y0 + (c.j + 1) * b.cell,
                               3857), b.tile, {extent}, 0, false) AS geom
                    FROM c, b
                    WHERE c.i >= 0 AND c.i < {cells} AND c.j >= 0 AND c.j < {cells}
                ) t)
    """).format(envelope=_SHIFTED_ENVELOPE if shifted else _ENVELOPE,
                cells=sql.Literal(CELLS), r=sql.Literal(_EARTH_RADIUS),
                table=sql.Identifier(layer), extra=extra, generation=_GENERATION,
                extent=sql.Literal(EXTENT),
                lon=_SHIFTED_LON if shifted else _LON,
                lat=_SHIFTED_LAT if shifted else _LAT)


# Which rows of a point layer: all, or for incidents the open ones or those created
# in a window of days (all statuses).
_FILTERS = {
    "cameras": {None: sql.SQL("")},
    "households": {None: sql.SQL("")},
    "incidents": {
        "open": sql.SQL(" AND p.closed_at IS NULL"),
        "window": sql.SQL(
            " AND p.created_at >= %(since)s AND p.created_at < %(until)s"),
    },
}
_QUERIES = {("grids", False): _grids(False), ("grids", True): _grids(True)}
for _layer, _filters in _FILTERS.items():
    for _which, _extra in _filters.items():
        for _shifted in (False, True):
            _QUERIES[_layer, "points", _which, _shifted] = _points(
                _layer, _extra, _shifted)
            _QUERIES[_layer, "counts", _which, _shifted] = _counts(
                _layer, _extra, _shifted)


def _window(since, until):
    """Check a window of days; return it as [since, until + 1 day) in China time."""
    if since is None and until is None:
        return None
    if since is None or until is None:
        raise Invalid(say("err_from_and_to"), field="from" if since is None else "to")
    if since > until:
        raise Invalid(say("err_from_after_to"), field="from")
    if (until - since).days >= MAX_WINDOW_DAYS:
        raise Invalid(say("err_window_days", days=MAX_WINDOW_DAYS), field="from")
    start = dt.datetime.combine(since, dt.time(), CHINA_TZ)
    end = dt.datetime.combine(until + dt.timedelta(days=1), dt.time(), CHINA_TZ)
    return start, end


def render(conn, principal, layer, z, x, y, since=None, until=None, shift=None):
    """Build one tile; return ``(mvt bytes, generation)``, ``b""`` when empty.

    Parameters
    ----------
    principal : layers.access.Principal
        Whose jurisdiction bounds the features (the permission to see the layer is
        the caller's to check).
    layer : str
        One of :data:`LAYERS`.
    since, until : datetime.date, optional
        Incidents only: those created on these days (China time), all statuses;
        without them, the open incidents.
    shift : {"gcj02", "bd09"}, optional
        Move the geometry into that system (:func:`shift_affine`) for a map whose
        basemap is in it; the tile grid stays web mercator's.
    """
    check_tile(layer, z, x, y)
    params = scope_params(principal) | {
        "z": z, "x": x, "y": y, "margin": BUFFER / EXTENT, "layer": layer}
    shifted = shift is not None
    if shifted:
        params |= shift_affine(shift, z, x, y)
    window = _window(since, until) if layer == "incidents" else None
    if layer == "grids":
        query = _QUERIES["grids", shifted]
        # half a screen pixel (of a 256-px tile), in degrees of longitude
        params |= {"levels": list(grid_levels(z)),
                   "tolerance": 360.0 / 2**z / 512}
    else:
        shape = "points" if z >= POINT_ZOOM[layer] else "counts"
        which = None if layer != "incidents" else "window" if window else "open"
        query = _QUERIES[layer, shape, which, shifted]
        if window:
            params |= {"since": window[0], "until": window[1]}
    gen, body = conn.execute(query, params).fetchone()
    return bytes(body or b""), gen


def generation(conn, layer):
    """The layer's data generation: changes whenever its table is written."""
    row = conn.execute(
        "SELECT sum(generation)::bigint FROM tile_generations WHERE layer = %s",
        (layer,), prepare=True).fetchone()
    if row[0] is None:
        raise RuntimeError("tile_generations is missing a row: migrate the database")
    return row[0]


@dataclass(frozen=True)
class Tile:
    """A tile's bytes (``b""``: empty) and its ETag (a hash of the bytes)."""

    body: bytes
    etag: str


class TileCache:
    """An LRU of tiles within a byte budget, safe across a server's threads.

    Keys carry the layer's generation: a tile of an older generation is never
    served again, and is dropped the first time a newer one is seen.
    """

    ENTRY_OVERHEAD = 200  # bytes per entry beyond the tile (key, tuple, dict slot)

    def __init__(self, max_bytes=64 * 1024 * 1024):
        self.max_bytes = int(max_bytes)
        self.bytes = 0
        self.hits = self.misses = 0
        self._entries = OrderedDict()
        self._generations = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._entries)

    def get(self, key):
        with self._lock:
            tile = self._entries.get(key)
            if tile is None:
                self.misses += 1
                return None
            self._entries.move_to_end(key)
            self.hits += 1
            return tile

    def put(self, key, tile):
        """Store ``tile`` under ``key`` (whose first item is the layer, last the
        generation)."""
        cost = len(tile.body) + self.ENTRY_OVERHEAD
        if cost > self.max_bytes:
            return
        layer, gen = key[0], key[-1]
        with self._lock:
            if gen < self._generations.get(layer, gen):
                return  # built by a slow request from data already replaced
            if gen > self._generations.get(layer, gen):
                self._drop_layer(layer)
            self._generations[layer] = gen
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= len(old.body) + self.ENTRY_OVERHEAD
            self._entries[key] = tile
            self.bytes += cost
            while self.bytes > self.max_bytes:
                _, evicted = self._entries.popitem(last=False)
                self.bytes -= len(evicted.body) + self.ENTRY_OVERHEAD

    def _drop_layer(self, layer):
        for key in [k for k in self._entries if k[0] == layer]:
            self.bytes -= len(self._entries.pop(key).body) + self.ENTRY_OVERHEAD

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._generations.clear()
            self.bytes = 0


def get_tile(conn, principal, layer, z, x, y, cache=None, since=None, until=None,
             shift=None):
    """The tile, from ``cache`` when its layer has not changed since it was built.

    The key holds the user's jurisdiction (``principal.prefix``, which also fixes
    the ancestors a grid tile outlines), so one jurisdiction's tile is never served
    to another; a household tile has no personal field for any role, so roles with
    the same jurisdiction share it.
    """
    check_tile(layer, z, x, y)
    if layer == "incidents":
        _window(since, until)  # bad windows fail before any query
    else:
        since = until = None
    if shift is not None and shift not in SHIFTS:
        raise Invalid(say("err_tile_shift", value=shift), field="shift")
    if cache is None:
        body, _ = render(conn, principal, layer, z, x, y, since, until, shift)
        return _tile(body)
    base = (layer, z, x, y, principal.prefix, since, until, shift)
    tile = cache.get((*base, generation(conn, layer)))
    if tile is None:
        body, gen = render(conn, principal, layer, z, x, y, since, until, shift)
        tile = _tile(body)
        cache.put((*base, gen), tile)
    return tile


def _tile(body):
    return Tile(body, hashlib.blake2b(body, digest_size=16).hexdigest())
