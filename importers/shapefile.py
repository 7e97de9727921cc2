"""Shapefiles, loose (the path of the .shp) or zipped (path or bytes of a .zip).

The .prj gives the CRS. The attributes' encoding is chosen by
:func:`importers.codepage.choose` from the .cpg, the .dbf's LDID and the bytes
themselves (a .cpg is often wrong), with a warning whenever they disagree. A
zip passes :mod:`importers.safezip`'s limits before it is unpacked in a
temporary folder; with several shapefiles in it, ``layer=`` (the name without
.shp) chooses one.
"""

import os
import tempfile
from pathlib import Path, PurePosixPath

from . import codepage
from .messages import say
from .ogr import read_layer
from .result import MAX_FILE_BYTES, ImportRefused, human_size, load_bytes
from .safezip import extract, open_zip

__all__ = ["read"]


def read(source, *, layer=None, encoding=None, crs=None, swap=False, bbox=None,
         mapping=None, max_bytes=MAX_FILE_BYTES):
    """Read a shapefile.

    Parameters
    ----------
    source : the path of a .shp or a .zip, or the bytes of a .zip
    layer : the shapefile to read in a zip that holds several
    encoding : of the .dbf, instead of the .cpg or the sniffing
    crs, swap, bbox, mapping, max_bytes : as in :func:`importers.csvfile.read`;
        ``crs`` applies when there is no .prj

    Returns
    -------
    Result
    """
    options = dict(crs=crs, swap=swap, bbox=bbox, mapping=mapping)
    if isinstance(source, (str, os.PathLike)) and Path(source).suffix.lower() == ".shp":
        shp = Path(source)
        size = sum(p.stat().st_size for p in shp.parent.glob(f"{shp.stem}.*"))
        if size > max_bytes:
            raise ImportRefused(say("shp_too_large", name=shp.name,
                                    size=human_size(size),
                                    limit=human_size(max_bytes)))
        return _read_shp(shp, encoding, options)
    data = load_bytes(source, max_bytes)
    if data[:4] != b"PK\x03\x04":
        raise ImportRefused(say("shp_needs_zip"))
    with open_zip(data, "zipped shapefile") as archive:
        member = _choose(archive.namelist(), layer)
        with tempfile.TemporaryDirectory(prefix="gridgov-shp-") as folder:
            extract(archive, folder)
            return _read_shp(Path(folder) / member, encoding, options)


def _choose(names, layer):
    shps = [n for n in names if n.lower().endswith(".shp")]
    stems = [PurePosixPath(n).stem for n in shps]
    if not shps:
        raise ImportRefused(say("shp_none", held="、".join(names) or "nothing"))
    if layer is not None:
        if layer not in stems:
            raise ImportRefused(say("shp_no_such", layer=layer,
                                    stems="、".join(stems)))
        return shps[stems.index(layer)]
    if len(shps) > 1:
        raise ImportRefused(say("shp_several", n=len(shps), stems="、".join(stems)))
    return shps[0]


def _read_shp(shp, encoding, options):
    sidecars = {p.suffix.lower(): p for p in shp.parent.glob(f"{shp.stem}.*")}
    if ".dbf" not in sidecars or ".shx" not in sidecars:
        raise ImportRefused(say("shp_sidecar", stem=shp.stem, ext=(
            ".dbf" if ".dbf" not in sidecars else ".shx")))
    notes, label = [], encoding
    if encoding is None:
        cpg = None
        if ".cpg" in sidecars:
            cpg = _cpg_text(sidecars[".cpg"].read_bytes()[:200])
        encoding, label, notes = codepage.choose(cpg, _dbf_head(sidecars[".dbf"]))
    result = read_layer(str(shp), fmt="shapefile", where="the .prj",
                        encoding=encoding, warnings=notes, **options)
    result.encoding = label
    return result


def _cpg_text(data):
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _dbf_head(path):
    """The header of a .dbf and up to :data:`codepage.SAMPLE_BYTES` of records."""
    with open(path, "rb") as stream:
        head = stream.read(32)
        size = int.from_bytes(head[8:10], "little")
        return head + stream.read(max(0, size - 32) + codepage.SAMPLE_BYTES)
