"""Pick the reader by the content of a file, not only by its name.

The first bytes decide (a zip's member names, an XML root element, JSON, SQLite,
a shapefile's magic number); the extension only breaks ties and is contradicted
with a warning when the content says otherwise. A gzip file (``track.gpx.gz``)
is unpacked within :mod:`importers.safezip`'s limits and its content sniffed.
"""

import inspect
import io
import os
import zipfile
from pathlib import Path

from . import csvfile, geojson, geopackage, gpx, kml, shapefile, xlsx
from .messages import say, thing
from .result import MAX_FILE_BYTES, ImportRefused, check_file, load_bytes, source_name
from .safexml import root_name
from .safezip import GZIP_MAGIC, gunzip

__all__ = ["READERS", "EXTENSIONS", "sniff", "read_any"]

READERS = {"csv": csvfile, "xlsx": xlsx, "gpx": gpx, "geojson": geojson, "kml": kml,
           "kmz": kml, "shapefile": shapefile, "gpkg": geopackage}
EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx",
              ".gpx": "gpx", ".geojson": "geojson", ".json": "geojson", ".kml": "kml",
              ".kmz": "kmz", ".shp": "shapefile", ".zip": "shapefile",
              ".gpkg": "gpkg"}
_HEAD = 64 * 1024
_SHP_MAGIC = b"\x00\x00\x27\x0a"
_OLE = b"\xd0\xcf\x11\xe0"


def sniff(head, name="", members=None):
    """The format of a file from its first bytes (and a zip's member names).

    Examples
    --------
    >>> sniff(b'<?xml version="1.0"?>\\n<gpx version="1.1">'), sniff(b"lon,lat\\n")
    ('gpx', 'csv')
    """
    ext = Path(name).suffix.lower()
    if head.startswith(b"PK\x03\x04"):
        lower = [m.lower() for m in members or ()]
        if "xl/workbook.xml" in lower:
            return "xlsx"
        if any(m.endswith(".kml") for m in lower):
            return "kmz"
        if any(m.endswith(".shp") for m in lower):
            return "shapefile"
        held = "、".join(members or ()) or "nothing"
        raise ImportRefused(say("zip_nothing_readable", held=held))
    if head.startswith(geopackage.MAGIC):
        return "gpkg"
    if head.startswith(_SHP_MAGIC):
        return "shapefile"
    if head.startswith(_OLE):
        raise ImportRefused(say("old_xls"))
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(b"<"):
        root = root_name(text)
        if root in ("gpx", "kml"):
            return root
        if root is None and ext in (".gpx", ".kml"):
            return EXTENSIONS[ext]
        raise ImportRefused(say("xml_root", root=root))
    if text[:1] in (b"{", b"["):
        return "geojson"
    if head[:2] in (b"\xff\xfe", b"\xfe\xff") or b"\0" not in head:
        return "csv"
    raise ImportRefused(say("unknown_format", name=name or "the file",
                            name_zh=f"{name} " if name else "该文件"))


def read_any(path_or_bytes, name=None, **options):
    """Read any supported file: sniff its format, call that reader's ``read``.

    Parameters
    ----------
    path_or_bytes : a path, bytes or a binary file object
    name : the file's name when ``path_or_bytes`` is not a path (an upload)
    **options : passed on to the reader (``crs``, ``bbox``, ``swap``, ``lon``,
        ``lat``, ``mapping``, ``layer``, ``sheet``, ``encoding``, ``max_bytes``);
        those the reader does not take are dropped with a warning. ``stream=True``
        asks for a file its reader hands over part by part
        (:class:`importers.csvfile.Streamed`, for ``layers.imports.run_import``):
        a CSV; any other file is read whole as without it.

    Returns
    -------
    Result, or a Streamed CSV

    Raises
    ------
    ImportRefused
    """
    source = path_or_bytes
    name = source_name(source, name)
    max_bytes = options.get("max_bytes", MAX_FILE_BYTES)
    if isinstance(source, (str, os.PathLike)):
        check_file(source, max_bytes)
        with open(source, "rb") as stream:
            head = stream.read(_HEAD)
    else:
        source = load_bytes(source, max_bytes)
        head = source[:_HEAD]
    if head.startswith(GZIP_MAGIC):
        source, name = _gunzip(load_bytes(source, max_bytes), name, max_bytes)
        head = source[:_HEAD]
    members = _members(source) if head.startswith(b"PK\x03\x04") else None
    fmt = sniff(head, name, members)
    notes = []
    said = EXTENSIONS.get(Path(name).suffix.lower())
    if said and said != fmt and {said, fmt} != {"kml", "kmz"}:
        notes.append(say("named_like", name=name, said=said, fmt=fmt))
    if fmt == "shapefile" and not head.startswith(b"PK") and not isinstance(
            source, (str, os.PathLike)):
        raise ImportRefused(say("loose_shp"))
    reader = READERS[fmt].read
    accepted = inspect.signature(reader).parameters
    if "stream" not in accepted:  # a wish, not an option: the file is read whole
        options.pop("stream", None)
    for option in [o for o in options if o not in accepted]:
        notes.append(say("option_ignored", option=option, fmt=fmt))
        del options[option]
    result = reader(source, **options)
    result.warnings[:0] = notes
    return result


def _gunzip(data, name, max_bytes):
    """The content of a gzip file and its name without ``.gz``."""
    inner = gunzip(data)
    if inner.startswith(GZIP_MAGIC):
        raise ImportRefused(say("gzip_nested", what="gzip file",
                                what_zh=thing("gzip file")))
    load_bytes(inner, max_bytes)  # the size limit holds for the content too
    path = Path(name)
    return inner, str(path.with_suffix("")) if path.suffix.lower() in (
        ".gz", ".gzip") else name


def _members(source):
    stream = open(source, "rb") if isinstance(source, (str, os.PathLike)) else (
        io.BytesIO(source))
    try:
        with stream, zipfile.ZipFile(stream) as archive:
            return archive.namelist()
    except zipfile.BadZipFile as exc:
        raise ImportRefused(say("zip_broken", what="zip archive",
                                what_zh=thing("zip archive"), error=exc)) from None
