"""Street-level context for printed maps, from the offline basemap (issue 17).

The offline basemap is a PMTiles archive of vector tiles (``BASEMAP_FILE``) with
the layers ``roads`` (lines; ``kind`` major|minor, ``name``), ``water`` (polygons
and lines; ``name``) and ``places`` (points; ``name``, ``kind`` town|village).
A notice draws them under the grid's boundary: this module reads the tiles that
cover the map (the ``pmtiles`` package's reader over a memory map of the file),
decodes them (``mapbox_vector_tile``) and gives their features in EPSG:4326.

Not SQL, but a reader of a data file of the deployment, like the layers' SQL
reads the database; no drawing here (``layers/notice_print.py``). Online raster
basemaps are never fetched: a printed page is made from what is on the server.
Tiles are in the Web Mercator XYZ grid, the basemap's coordinates WGS-84
(the offline basemap is made that way; a GCJ-02 basemap has no offline file).
"""

import gzip
import logging
import math
import mmap

import shapely

__all__ = ["LAYERS", "MAX_TILES", "tiles_for", "context"]

LAYERS = ("water", "roads", "places")
MAX_TILES = 16  # tiles read for one map: the deepest zoom that covers it in these

log = logging.getLogger(__name__)


def _tile_xy(lon, lat, z):
    """The (fractional) tile x, y of a point at zoom ``z`` (Web Mercator)."""
    n = 2 ** z
    lat = max(min(lat, 85.0511), -85.0511)
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return (lon + 180) / 360 * n, y


def tiles_for(bounds, min_zoom, max_zoom, limit=MAX_TILES):
    """``(z, [(x, y), …])``: the deepest zoom in ``[min_zoom, max_zoom]`` whose
    tiles covering ``bounds`` (lon/lat) are at most ``limit``; at ``min_zoom``
    whatever their number is not above ``limit``, else none.

    >>> tiles_for((0.0, 0.0, 1.0, 1.0), 0, 14, 4)[0]
    8
    """
    x0, y0, x1, y1 = bounds
    for z in range(max_zoom, min_zoom - 1, -1):
        tx0, ty1 = _tile_xy(x0, y0, z)  # south-west: the larger y
        tx1, ty0 = _tile_xy(x1, y1, z)
        xs = range(int(tx0), int(tx1) + 1)
        ys = range(int(ty0), int(ty1) + 1)
        if len(xs) * len(ys) <= limit:
            return z, [(x, y) for x in xs for y in ys]
    return min_zoom, []


def context(path, bounds):
    """The basemap's features over ``bounds`` (lon/lat, ``(x0, y0, x1, y1)``).

    Returns
    -------
    dict
        ``{layer: [(shapely geometry in EPSG:4326, properties), …]}`` for
        ``LAYERS``; empty when there is no file at ``path`` (the default: no
        basemap) or it cannot be read as a vector PMTiles archive (logged: a
        notice is still printed, with the neighbouring grids as its context).
    """
    if not path:
        return {}
    try:
        with open(path, "rb") as f, \
                mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _read(data, bounds)
    except FileNotFoundError:
        return {}
    except Exception:  # noqa: BLE001 - a broken basemap must not stop the notice
        log.warning("basemap %s could not be read for a printed map", path,
                    exc_info=True)
        return {}


def _read(data, bounds):
    import mapbox_vector_tile
    import numpy as np
    from pmtiles.reader import Reader
    from pmtiles.tile import Compression, TileType

    def get_bytes(offset, length):
        return data[offset:offset + length]

    reader = Reader(get_bytes)
    header = reader.header()
    if header["tile_type"] != TileType.MVT:
        return {}
    z, tiles = tiles_for(bounds, header["min_zoom"], header["max_zoom"])
    out = {layer: [] for layer in LAYERS}
    seen = set()
    for x, y in tiles:
        raw = reader.get(z, x, y)
        if not raw:
            continue
        if header["tile_compression"] == Compression.GZIP:
            raw = gzip.decompress(raw)
        decoded = mapbox_vector_tile.decode(
            raw, default_options={"y_coord_down": True})
        for layer in LAYERS:
            found = decoded.get(layer)
            if not found:
                continue
            extent = found.get("extent", 4096)
            n = 2 ** z

            def to_lonlat(coords, x=x, y=y, extent=extent, n=n):
                fx = (x + coords[:, 0] / extent) / n
                fy = (y + coords[:, 1] / extent) / n
                lat = np.degrees(np.arctan(np.sinh(np.pi * (1 - 2 * fy))))
                return np.column_stack([fx * 360 - 180, lat])

            for feature in found["features"]:
                geom = shapely.transform(shapely.geometry.shape(feature["geometry"]),
                                         to_lonlat)
                if layer == "places":  # a point repeats in the tiles' buffers
                    key = (feature["properties"].get("name"),
                           round(geom.x, 5), round(geom.y, 5))
                    if key in seen:
                        continue
                    seen.add(key)
                out[layer].append((geom, feature["properties"]))
    return out
