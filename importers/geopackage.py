"""GeoPackage: one layer, chosen with ``layer=`` when the file holds several.

The layer's CRS is the file's (``gpkg_spatial_ref_sys``). Bytes are written to a
temporary file first (GDAL reads SQLite from a file).
"""

import os
import tempfile
from pathlib import Path

from .messages import say
from .ogr import open_errors, read_layer
from .result import MAX_FILE_BYTES, ImportRefused, check_file, load_bytes

__all__ = ["read", "MAGIC"]

MAGIC = b"SQLite format 3\x00"


def read(source, *, layer=None, crs=None, swap=False, bbox=None, mapping=None,
         max_bytes=MAX_FILE_BYTES):
    """Read one layer of a GeoPackage.

    Parameters
    ----------
    source : path, bytes or binary file object
    layer : the layer's name; needed when there are several with geometries
    crs, swap, bbox, mapping, max_bytes : as in :func:`importers.csvfile.read`

    Returns
    -------
    Result
    """
    options = dict(crs=crs, swap=swap, bbox=bbox, mapping=mapping)
    if isinstance(source, (str, os.PathLike)):
        path = Path(source)
        check_file(path, max_bytes)
        with open(path, "rb") as head:
            _check(head.read(len(MAGIC)))
        return _read(str(path), layer, options)
    data = load_bytes(source, max_bytes)
    _check(data)
    with tempfile.TemporaryDirectory(prefix="gridgov-gpkg-") as folder:
        path = Path(folder) / "upload.gpkg"
        path.write_bytes(data)
        return _read(str(path), layer, options)


def _check(data):
    if not data.startswith(MAGIC):
        raise ImportRefused(say("gpkg_not"))


def _read(path, layer, options):
    import pyogrio

    try:
        layers = [(str(n), g) for n, g in pyogrio.list_layers(path)]
    except open_errors() as exc:
        raise ImportRefused(say("gpkg_unreadable", error=exc)) from None
    spatial = [n for n, g in layers if g]
    listed = "、".join(f"{n} ({g or 'no geometry'})" for n, g in layers) or "none"
    if layer is None:
        if len(spatial) != 1:
            raise ImportRefused(say("gpkg_several", n=len(spatial), listed=listed))
        layer = spatial[0]
    elif layer not in spatial:
        raise ImportRefused(say("gpkg_no_layer", layer=layer, listed=listed))
    return read_layer(path, fmt="gpkg",
                      where=(f"the layer {layer}'s CRS", f"图层 {layer} 的坐标系"),
                      layer=layer, **options)
