"""Incident heatmap and hot spots, read from the pre-aggregated `incident_cells`.

Two levels of pre-aggregation, because each alone is not enough for a city:

- the table ``incident_cells`` (migration 0006): counts per category, day, grid and
  50 m cell, kept in step by statement-level triggers on ``incidents`` (a COPY of a
  million rows is one aggregate INSERT; status changes write nothing). At a
  million incidents a year it still holds about as many rows as there are
  incidents (few fall on the same day, category and 50 m cell), so summing it in
  SQL per request takes a few hundred milliseconds: too slow for the 0.1 s bar;
- a process-level numpy copy of that table (:class:`geo.density.Cube`, ~20 bytes
  a row), keyed by the database's ``token`` and its ``generation`` (bumped in the
  same transaction as any count). A request costs one one-row query plus numpy
  slicing and a ``bincount``: milliseconds over a million rows. A copy that is
  behind catches up from ``incident_cells_log`` (the changes of the last 1,000
  generations), kept beside its sorted rows; it reloads the whole table (seconds
  at a million rows) only after a bulk load or recount, a new grid code, or
  200,000 change rows. Every read of the state and its rows happens in one
  REPEATABLE READ snapshot, so a copy is never filed under another generation
  than the one it holds.

The jurisdiction is applied to the copy as a range of the sorted grid codes: the
same rows as ``grid_code LIKE prefix`` in SQL.
"""

import bisect
import contextlib
import datetime as dt
import io
import math
import threading

import numpy as np
import pandas as pd
import psycopg
import shapely

from geo import density as dens
from geo import hotspots as hs
from geo.catalogue import say
from geo.coverage import transformer
from geo.vocab import INCIDENT_CATEGORIES
from layers.errors import Invalid, NotFound

__all__ = ["MAX_CELLS", "CATEGORIES", "refresh", "cube", "heatmap", "hotspots"]

MAX_CELLS = 5000  # features a Leaflet map draws without lagging
CATEGORIES = tuple(sorted(INCIDENT_CATEGORIES))
_EPOCH = dt.date(1970, 1, 1)

_lock = threading.Lock()
_cubes = {}  # token -> (generation, Cube, srid)
_grid_sets = {}  # (token, level) -> (key, _GridSet)


def refresh(conn):
    """Recount ``incident_cells`` from ``incidents`` (a repair; the triggers keep
    it in step otherwise)."""
    conn.execute("SELECT incident_cells_refresh()")


def _state(conn):
    return conn.execute("SELECT token, generation, log_from, srid, cell_m "
                        "FROM incident_cells_state").fetchone()


def cube(conn):
    """The process's copy of ``incident_cells``: ``(Cube, srid)``, srid None
    while there are no incidents."""
    token, generation, _, _, _ = _state(conn)
    hit = _cubes.get(token)
    # a copy newer than asked is good too: a replica a little behind the primary
    # (api.db.read_connection) sees an older generation; catching the copy "up"
    # to it would count the changes in between twice when the primary is next
    if hit is not None and hit[0] >= generation:
        return hit[1], hit[2]
    # Inside a caller's transaction the rows may include its uncommitted changes:
    # used for this call, never kept for others.
    shared = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with _lock:  # one load per process at a time: a million rows is ~20 MB
        hit = _cubes.get(token)
        if hit is not None and hit[0] >= generation:
            return hit[1], hit[2]
        loaded = _catch_up(conn, hit) if hit is not None else None
        if loaded is None:
            loaded = _load(conn)
        if shared:
            if token not in _cubes and len(_cubes) >= 4:  # tests use a few databases
                _cubes.clear()
            _cubes[token] = loaded
        return loaded[1], loaded[2]


@contextlib.contextmanager
def _snapshot(conn):
    """One snapshot for the state and the rows read with it, so that a copy is
    never filed under another generation than the one it holds."""
    own = conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
    with conn.transaction():
        if own:
            conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        yield


_CHANGES = """
    SELECT array_position(%(categories)s::text[], category) - 1,
           day - DATE '1970-01-01', grid_code, ix, iy, d
    FROM incident_cells_log
    WHERE generation > %(since)s AND generation <= %(until)s
"""
_MAX_CHANGES = 200_000  # past this many change rows, re-sort: reload


def _catch_up(conn, hit):
    """The copy ``hit`` brought up to date from the log, or None when it cannot
    be (too old, a new zone or grid, too many changes)."""
    since, old, old_srid = hit
    with _snapshot(conn):
        _, generation, log_from, srid, _ = _state(conn)
        if since < log_from or srid != old_srid:
            return None
        rows = conn.execute(_CHANGES, {"categories": list(CATEGORIES),
                                       "since": since, "until": generation}
                            ).fetchall()
    if not rows:
        return generation, old, srid
    category, day, codes, ix, iy, d = zip(*rows, strict=True)
    code = np.searchsorted(np.asarray(old.codes, dtype=object), codes)
    known = [i < len(old.codes) and old.codes[i] == c
             for i, c in zip(code.tolist(), codes, strict=True)]
    grown = len(rows) + (len(old.changes[0]) if old.changes else 0)
    if not all(known) or grown > _MAX_CHANGES:
        return None
    return generation, old.with_changes(category, day, code, ix, iy, d), srid


# Text COPY parsed by pandas' C reader: a plain scan on the server, and the grid
# codes numbered here (a numbering join in SQL took twice as long as the scan).
_COPY = """
    COPY (SELECT array_position(%(categories)s::text[], category) - 1,
                 day - DATE '1970-01-01', grid_code, ix, iy, n
          FROM incident_cells WHERE category = ANY(%(categories)s::text[]))
    TO STDOUT
"""
_COLUMNS = {"category": np.int16, "day": np.int32, "code": str, "ix": np.int32,
            "iy": np.int32, "n": np.int32}


def _load(conn):
    with _snapshot(conn):
        _, generation, _, srid, cell_m = _state(conn)
        with conn.cursor() as cur:
            with cur.copy(_COPY, {"categories": list(CATEGORIES)}) as copy:
                data = b"".join(bytes(block) for block in copy)
    rows = pd.read_csv(io.BytesIO(data), sep="\t", header=None,
                       names=list(_COLUMNS), dtype=_COLUMNS)
    code, codes = pd.factorize(rows["code"], sort=True)
    order = np.lexsort((rows["day"].to_numpy(), rows["category"].to_numpy()))
    built = dens.Cube(
        categories=CATEGORIES, codes=tuple(codes.tolist()),
        category=rows["category"].to_numpy()[order],
        day=rows["day"].to_numpy()[order], code=code.astype(np.int32)[order],
        ix=rows["ix"].to_numpy()[order], iy=rows["iy"].to_numpy()[order],
        n=rows["n"].to_numpy()[order], cell_m=float(cell_m))
    return generation, built, srid


def _day(value):
    return None if value is None else (value - _EPOCH).days


def _window(conn, principal, day_from, day_to, categories, prefix):
    """The rows of the copy in the window and the jurisdiction."""
    c, srid = cube(conn)
    return c, srid, dens.select(c, _day(day_from), _day(day_to), categories, prefix)


def _echo(day_from, day_to, categories):
    return {"from": day_from.isoformat() if day_from else None,
            "to": day_to.isoformat() if day_to else None,
            "categories": list(categories) if categories else list(CATEGORIES)}


def heatmap(conn, principal, day_from=None, day_to=None, categories=None,
            bbox=None, zoom=None, cell_m=None, geojson=False, method="bins",
            bandwidth_m=None):
    """Incident counts per square cell over a time window, in the jurisdiction.

    Parameters
    ----------
    day_from, day_to : datetime.date or None
        First and last day (China time), inclusive; None is open.
    categories : list of str or None
        Category codes; None is all.
    bbox : (min_lon, min_lat, max_lon, max_lat) or None
        Only the cells meeting it.
    zoom : int or None
        The map's zoom: cells about 20 pixels wide there.
    cell_m : int or None
        The cell size instead (a multiple of the finest, 50 m).
    geojson : bool
        Cells as a FeatureCollection of squares instead of compact rows.
    method : "bins" or "kde"
        Counts per cell, or a kernel density raster on the same cells
        (quartic kernel of ``bandwidth_m``, default three cells and at least
        100 m; values in incidents per km², ``density`` instead of ``count``).

    Returns
    -------
    dict
        ``cell_m``, ``crs``, ``total``, ``max``, ``breaks`` (legend classes:
        ``(breaks[i], breaks[i + 1]]``), ``fields`` and ``cells`` (rows ``[lon,
        lat, count, class]``: the centre in WGS-84) or ``features``. When more
        than ``MAX_CELLS`` cells would hold incidents the cells are doubled in
        size until they fit (``cell_m`` says which size was used).
    """
    prefix = principal.grid_code or ""
    c, srid, (_, ix, iy, n) = _window(conn, principal, day_from, day_to,
                                      categories, prefix)
    finest = c.cell_m
    if cell_m is not None:
        factor = int(round(cell_m / finest))
        if factor < 1 or factor * finest != cell_m:
            raise Invalid(say("err_cell_multiple", finest=finest),
                          field="cell_m")
    elif zoom is not None:
        lat = (bbox[1] + bbox[3]) / 2 if bbox else 31.0
        factor = dens.factor_for_zoom(zoom, lat, finest)
    else:
        factor = 1
    window = None
    if bbox is not None and srid is not None:
        window = _bbox_window(bbox, srid, finest * factor)
    if method not in ("bins", "kde"):
        raise Invalid(say("err_density_method", method=method),
                      field="method")
    while True:
        size = finest * factor
        bandwidth = float(bandwidth_m or max(3 * size, 100.0))
        reach = math.ceil(bandwidth / size) if method == "kde" else 0
        # a density near the window's edge counts the incidents just outside it
        wider = None if window is None else (
            window[0] - reach, window[1] - reach, window[2] + reach,
            window[3] + reach)
        cx, cy, count = dens.bin_cells(ix, iy, n, factor, wider)
        # the incidents of the window itself (the margin only feeds the kernel)
        total = int(count.sum() if window is None or not reach else count[
            (cx >= window[0]) & (cx <= window[2])
            & (cy >= window[1]) & (cy <= window[3])].sum())
        values = count
        if method == "kde" and len(count):
            try:
                cx, cy, values = dens.kernel_density(cx, cy, count, size, bandwidth,
                                                     window)
            except ValueError:  # a raster too large at this cell size
                values = None
        if values is not None and len(values) <= MAX_CELLS:
            break
        factor *= 2  # coarser until the browser can draw it
        window = _halve(window)
    field = "density" if method == "kde" else "count"
    if method == "kde":
        values = np.round(values, 1)
    breaks = dens.class_breaks(values)
    classes = dens.classify(values, breaks)
    answer = {"crs": f"EPSG:{srid}" if srid else None, "cell_m": size,
              **_echo(day_from, day_to, categories), "method": method,
              "total": total, "max": values.max(initial=0).item(),
              "breaks": breaks}
    if method == "kde":
        answer |= {"bandwidth_m": bandwidth, "unit": "incidents per km²"}
    if geojson:
        rings = _squares_wgs84(cx, cy, size, srid)
        answer |= {"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": f"{x}_{y}", "geometry": ring,
             "properties": {field: k, "class": int(q)}}
            for x, y, k, q, ring in zip(cx.tolist(), cy.tolist(), values.tolist(),
                                        classes, rings, strict=True)]}
        return answer
    lon, lat = _centres_wgs84(cx, cy, size, srid)
    answer |= {"fields": ["lon", "lat", field, "class"],
               "cells": [[a, b, k, q] for a, b, k, q in zip(
                   np.round(lon, 6).tolist(), np.round(lat, 6).tolist(),
                   values.tolist(), classes.tolist(), strict=True)]}
    return answer


def _halve(window):
    """The window of cells twice as wide (None stays None)."""
    if window is None:
        return None
    x0, y0, x1, y1 = window
    return (x0 // 2, y0 // 2, x1 // 2, y1 // 2)


def _bbox_window(bbox, srid, size):
    """The inclusive range of cell indices (``size`` cells) meeting a WGS-84 box:
    its outline (edges sampled) projected, so that the curved edges are held."""
    x0, y0, x1, y1 = bbox
    t = np.linspace(0, 1, 17)
    lon = np.concatenate([x0 + (x1 - x0) * t, np.full(17, x1),
                          x1 - (x1 - x0) * t, np.full(17, x0)])
    lat = np.concatenate([np.full(17, y0), y0 + (y1 - y0) * t,
                          np.full(17, y1), y1 - (y1 - y0) * t])
    x, y = transformer("EPSG:4326", f"EPSG:{srid}").transform(lon, lat)
    ix, iy = dens.cell_index(x, y, size)
    return int(ix.min()), int(iy.min()), int(ix.max()), int(iy.max())


def _centres_wgs84(cx, cy, size, srid):
    if len(cx) == 0:
        return np.zeros(0), np.zeros(0)
    x, y = dens.cell_centres(cx, cy, size)
    return transformer(f"EPSG:{srid}", "EPSG:4326").transform(x, y)


def _squares_wgs84(cx, cy, size, srid):
    """The cells as GeoJSON polygons in WGS-84 (corners projected back)."""
    if len(cx) == 0:
        return []
    squares = dens.cell_polygons(cx, cy, size)
    to_wgs84 = transformer(f"EPSG:{srid}", "EPSG:4326")
    squares = shapely.transform(
        squares, lambda xy: np.column_stack(to_wgs84.transform(xy[:, 0], xy[:, 1])))
    return [{"type": "Polygon", "coordinates": [
        [[round(a, 7), round(b, 7)] for a, b in shapely.get_coordinates(s).tolist()]]}
        for s in squares]


# Hot spots -------------------------------------------------------------------------

class _GridSet:
    """The grids of one level in code order, with their contiguity (built once
    per set of boundaries: the cost of Gi* over 20,000 micro-grids)."""

    def __init__(self, codes, names, geoms):
        self.codes, self.names, self.geoms = codes, names, geoms
        self._weights = {}

    def weights(self, rook):
        if rook not in self._weights:
            self._weights[rook] = hs.contiguity_weights(self.geoms, rook=rook)
        return self._weights[rook]


def _grid_set(conn, token, level):
    key = conn.execute(
        "SELECT count(*), max(valid_from), sum(version) FROM grids WHERE level = %s",
        (level,)).fetchone()
    hit = _grid_sets.get((token, level))
    if hit is not None and hit[0] == key:
        return hit[1]
    rows = conn.execute(
        "SELECT code, name, ST_AsBinary(geom) FROM grids WHERE level = %s "
        "ORDER BY code COLLATE \"C\"", (level,)).fetchall()
    codes = [r[0] for r in rows]
    found = _GridSet(codes, [r[1] for r in rows],
                     shapely.from_wkb([bytes(r[2]) for r in rows]))
    with _lock:
        if len(_grid_sets) >= 16:
            _grid_sets.clear()
        _grid_sets[(token, level)] = (key, found)
    return found


def _root(conn, principal, grid):
    """The code under which units are taken: ``grid`` if it is in the user's
    jurisdiction (else NotFound), the jurisdiction otherwise."""
    if not grid:
        return principal.grid_code or ""
    row = conn.execute(
        "SELECT code FROM grids WHERE code = %(grid)s AND code LIKE %(scope)s",
        {"grid": grid, "scope": principal.prefix}).fetchone()
    if row is None:
        raise NotFound(say("err_no_grid_here", code=grid))
    return row[0]


def hotspots(conn, principal, level, day_from=None, day_to=None, categories=None,
             grid=None, cell_m=None, rook=False, band_m=None):
    """Getis-Ord Gi* hot and cold spots of incident counts.

    Parameters
    ----------
    level : int (1–4) or "cells"
        The units: the grids of a level, or square cells of ``cell_m``.
    grid : str or None
        Only the units under this grid (default: the whole jurisdiction).
    rook : bool
        Contiguity by shared edges only (default queen: shared corners count).
    band_m : float or None
        For cells: neighbours within this distance of the centre instead of
        contiguity.

    Returns
    -------
    dict
        A GeoJSON FeatureCollection; each feature's properties ``count``, ``z``,
        ``p`` (two-sided), ``bin`` (+3…-3) and ``class`` (``hot_99`` …
        ``not_significant``); with ``numberMatched`` units analysed. Past
        ``MAX_CELLS`` units only the significant ones are returned, strongest
        first.
    """
    root = _root(conn, principal, grid)
    token = _state(conn)[0]
    c, srid, (code, ix, iy, n) = _window(conn, principal, day_from, day_to,
                                         categories, root)
    echo = _echo(day_from, day_to, categories)
    if level == "cells":
        units, y, w, extra = _cell_units(conn, root, c, srid, ix, iy, n,
                                         cell_m, rook, band_m)
        weights = f"band {band_m:g} m" if band_m else ("rook" if rook else "queen")
    else:
        units, y, w = _grid_units(conn, token, level, root, c, code, n, rook)
        extra = {}
        weights = "rook" if rook else "queen"
    if len(y) < 3:
        raise Invalid(say("err_hotspot_units", n=len(y), level=level,
                          root=root or 'the deployment'), field="level")
    z, p = hs.gi_star(y, w)
    bins = hs.classify(z, p)
    order = np.arange(len(y))
    note = None
    if len(y) > MAX_CELLS:
        order = np.flatnonzero(bins != 0)
        order = order[np.argsort(-np.abs(z[order]), kind="stable")][:MAX_CELLS]
        note = "more units than a map draws: only the significant ones"
    features = units(order, z, p, bins, y)
    legend = [{"bin": b, "class": code_, "label_zh": zh, "label_en": en,
               "count": int((bins == b).sum())}
              for b, (code_, zh, en) in hs.CLASSES.items()]
    return {"type": "FeatureCollection", "features": features,
            "level": level, "weights": weights, **extra, **echo,
            "numberMatched": int(len(y)), "numberReturned": len(features),
            "note": note, "mean": float(np.mean(y)), "legend": legend}


def _properties(i, z, p, bins, y):
    finite = bool(np.isfinite(z[i]))
    return {"count": int(y[i]),
            "z": round(float(z[i]), 4) if finite else None,
            "p": round(float(p[i]), 6) if finite else None,
            "bin": int(bins[i]), "class": hs.CLASSES[int(bins[i])][0]}


def _grid_units(conn, token, level, root, c, code, n, rook):
    grids = _grid_set(conn, token, level)
    lo = bisect.bisect_left(grids.codes, root)
    hi = bisect.bisect_left(grids.codes, root + "\x7f")
    if len(root) > 6 + 3 * level:  # the level is above the jurisdiction
        lo = hi = 0
    width = 6 + 3 * level
    index = {k: i for i, k in enumerate(grids.codes)}
    # each incident grid's unit: the code of its ancestor (or itself) at `level`
    unit_of = np.array([index.get(k[:width], -1) if len(k) >= width else -1
                        for k in c.codes], dtype=np.int64)
    units = unit_of[code] if len(code) else np.zeros(0, dtype=np.int64)
    inside = units >= 0
    y = np.bincount(units[inside], weights=n[inside],
                    minlength=len(grids.codes))[lo:hi]
    w = grids.weights(rook)[lo:hi, lo:hi]

    def features(order, z, p, bins, y_):
        picked = [grids.codes[lo + i] for i in order.tolist()]
        shapes = dict(conn.execute(
            "SELECT code, ST_AsGeoJSON(geom, 6)::json FROM grids "
            "WHERE code = ANY(%s)", (picked,)).fetchall())
        return [{"type": "Feature", "id": grids.codes[lo + i],
                 "geometry": shapes.get(grids.codes[lo + i]),
                 "properties": {"code": grids.codes[lo + i],
                                "name": grids.names[lo + i]}
                 | _properties(i, z, p, bins, y_)} for i in order.tolist()]

    return features, y, w


def _cell_units(conn, root, c, srid, ix, iy, n, cell_m, rook, band_m):
    """Square cells covering the study area (centre inside it) or holding one
    of its incidents; their counts and weights."""
    if srid is None:
        return (lambda *a: []), np.zeros(0), None, {"cell_m": cell_m}
    # the root grid, or for the whole deployment the towns
    row = conn.execute(
        "SELECT ST_AsBinary(ST_Transform(ST_Union(geom), %(srid)s::integer)) "
        "FROM grids WHERE (%(root)s = '' AND level = 1) OR code = %(root)s",
        {"root": root, "srid": srid}).fetchone()
    area = shapely.from_wkb(bytes(row[0])) if row and row[0] else None
    finest = c.cell_m
    if cell_m is None:
        factor = 1
        if area is not None:  # the finest power of two giving <= MAX_CELLS
            x0, y0, x1, y1 = area.bounds
            while ((x1 - x0) / (finest * factor)) * ((y1 - y0) / (finest * factor)) \
                    > MAX_CELLS:
                factor *= 2
    else:
        factor = int(round(cell_m / finest))
        if factor < 1 or factor * finest != cell_m:
            raise Invalid(say("err_cell_multiple", finest=finest),
                          field="cell_m")
    size = finest * factor
    cx, cy, count = dens.bin_cells(ix, iy, n, factor)
    keys = [np.column_stack([cx, cy])]
    if area is not None:
        x0, y0, x1, y1 = area.bounds
        gx, gy = np.meshgrid(np.arange(np.floor(x0 / size), np.floor(x1 / size) + 1),
                             np.arange(np.floor(y0 / size), np.floor(y1 / size) + 1))
        gx, gy = gx.ravel().astype(np.int64), gy.ravel().astype(np.int64)
        mx, my = dens.cell_centres(gx, gy, size)
        shapely.prepare(area)
        inside = shapely.contains_xy(area, mx, my)
        keys.append(np.column_stack([gx[inside], gy[inside]]))
    cells = np.unique(np.concatenate(keys), axis=0)
    y = np.zeros(len(cells))
    if len(cx):
        at = {(a, b): i for i, (a, b) in enumerate(cells.tolist())}
        y[[at[k] for k in zip(cx.tolist(), cy.tolist(), strict=True)]] = count
    if band_m:
        mx, my = dens.cell_centres(cells[:, 0], cells[:, 1], size)
        w = hs.distance_band_weights(mx, my, band_m)
    else:
        w = hs.lattice_weights(cells[:, 0], cells[:, 1], rook=rook)

    def features(order, z, p, bins, y_):
        picked = cells[order]
        rings = _squares_wgs84(picked[:, 0], picked[:, 1], size, srid)
        return [{"type": "Feature", "id": f"{a}_{b}", "geometry": ring,
                 "properties": {"cell": f"{a}_{b}"} | _properties(i, z, p, bins, y_)}
                for (a, b), i, ring in zip(picked.tolist(), order.tolist(), rings,
                                           strict=True)]

    return features, y, w, {"cell_m": size, "crs": f"EPSG:{srid}"}
