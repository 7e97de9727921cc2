"""Shapefiles, loose (the path of the .shp) or zipped (path or bytes of a .zip).

The .prj gives the CRS. The attributes' encoding comes from the .cpg when there is
one; without it the .dbf's bytes decide: UTF-8 when they decode strictly as UTF-8,
else GB18030 (which reads GBK, the encoding of most Chinese shapefiles made
without a .cpg). A zip passes :mod:`importers.safezip`'s limits before it is
unpacked in a temporary folder; with several shapefiles in it, ``layer=`` (the
name without .shp) chooses one.
"""

import os
import tempfile
from pathlib import Path, PurePosixPath

from .messages import say
from .ogr import read_layer
from .result import MAX_FILE_BYTES, ImportRefused, human_size, load_bytes
from .safezip import extract, open_zip

__all__ = ["read", "dbf_encoding"]


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
    notes = []
    if encoding is None and ".cpg" in sidecars:
        label = sidecars[".cpg"].read_text("ascii", errors="replace").strip()
        label = f"{label} (from the .cpg)"
    elif encoding is None:
        encoding = dbf_encoding(sidecars[".dbf"].read_bytes())
        label = encoding
        if encoding == "GB18030":
            notes.append(say("dbf_gb18030"))
    else:
        label = encoding
    result = read_layer(str(shp), fmt="shapefile", where="the .prj",
                        encoding=encoding, warnings=notes, **options)
    result.encoding = label
    return result


def dbf_encoding(dbf):
    """``UTF-8`` or ``GB18030``, from the field names and records of a .dbf's bytes.

    Examples
    --------
    >>> head = bytes(8) + (65).to_bytes(2, "little") + bytes(22)
    >>> dbf_encoding(head + "名称".encode("gbk").ljust(32, b"\\0") + b"\\r")
    'GB18030'
    """
    header = int.from_bytes(dbf[8:10], "little")
    names = b"".join(dbf[i:i + 11].split(b"\0")[0] for i in range(32, header - 1, 32))
    try:
        (names + dbf[header:]).decode("utf-8")
        return "UTF-8"
    except UnicodeDecodeError:
        return "GB18030"
