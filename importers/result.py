"""What every reader returns, the one exception they raise, and the size limit.

A reader turns a file into a :class:`Result`: the accepted rows as a GeoDataFrame in
EPSG:4326 (the source's row number in the column ``row``), the rejected rows with
a reason each, the CRS it used and where that came from, the column mapping and
the warnings. Whatever makes the whole file unusable (hostile XML, a zip bomb, no
coordinate columns, an unknown CRS) raises :class:`ImportRefused` with a plain
message instead.
"""

import dataclasses
import io
import os
from pathlib import Path

from .messages import say

__all__ = ["MAX_FILE_BYTES", "CrsUsed", "ImportRefused", "Result", "load_bytes",
           "check_file", "human_size", "source_name", "parse_mapping"]

# The largest file a reader accepts (a 1 M-row CSV of points is about 50 MB).
MAX_FILE_BYTES = 256 * 1024 * 1024


class ImportRefused(ValueError):
    """The file cannot be imported at all; ``message`` says why in plain words."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


@dataclasses.dataclass
class CrsUsed:
    """The CRS the coordinates were read in.

    ``name`` is ``wgs84``, ``cgcs2000``, ``gcj02``, ``bd09`` or ``EPSG:n`` (or a
    CRS's own name when it has no EPSG code); ``source`` is where it came from:
    ``file`` (the file says so), ``format`` (the format's specification, e.g. GPX
    and KML are WGS-84), ``option`` (the caller's ``crs=``), ``detected`` (from
    the values, e.g. an easting with a zone prefix) or ``default`` (WGS-84 when
    nothing says otherwise); ``note`` tells more in a sentence.
    """

    name: str
    source: str
    note: str = ""


@dataclasses.dataclass
class Result:
    """Accepted rows, rejected rows and how the file was read.

    Attributes
    ----------
    frame : geopandas.GeoDataFrame
        The accepted rows in EPSG:4326, with the source row number in ``row``.
    rejected : list of dict
        ``{"row": n, "field": name or None, "reason": sentence}``, one per row.
    crs : CrsUsed
    columns : dict
        The mapping used, target field → source column (guessed or given).
    warnings : list of str
    format : str
        The reader: ``csv``, ``xlsx``, ``gpx``, ``geojson``, ``kml``, ``kmz``,
        ``shapefile`` or ``gpkg``.
    encoding : str or None
        The text encoding the file was decoded with, when that was a question.
    """

    frame: object
    rejected: list
    crs: CrsUsed
    columns: dict
    warnings: list
    format: str
    encoding: str | None = None


def source_name(source, name=None):
    """The file name of ``source`` (for messages and extension checks), or ``name``."""
    if name:
        return str(name)
    if isinstance(source, (str, os.PathLike)):
        return Path(source).name
    return getattr(source, "name", None) or ""


def load_bytes(source, max_bytes=MAX_FILE_BYTES):
    """The content of ``source`` (a path, bytes or a binary file object).

    Raises
    ------
    ImportRefused
        If it is larger than ``max_bytes`` (checked before reading a path), or is
        missing.
    """
    if isinstance(source, (bytes, bytearray, memoryview)):
        data = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        check_file(source, max_bytes)
        return Path(source).read_bytes()
    elif isinstance(source, io.IOBase) or hasattr(source, "read"):
        data = source.read(max_bytes + 1)
        if isinstance(data, str):
            raise ImportRefused(say("file_not_binary"))
    else:
        raise ImportRefused(say("file_not_a_file", kind=type(source).__name__))
    _check_size(len(data), max_bytes, source_name(source))
    return data


def check_file(path, max_bytes=MAX_FILE_BYTES):
    """Refuse a missing file, or one larger than ``max_bytes``; return its size."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImportRefused(say("file_unreadable", name=path.name,
                                error=exc.strerror)) from None
    _check_size(size, max_bytes, path.name)
    return size


def _check_size(size, max_bytes, name):
    if size > max_bytes:
        what = f"the file {name}" if name else "the file"
        raise ImportRefused(say("file_too_large", what=what,
                                what_zh=f"文件 {name} " if name else "该文件",
                                size=human_size(size), limit=human_size(max_bytes)))


def human_size(n):
    """``512 bytes``, ``100 KB``, ``3.2 MB`` (binary units)."""
    if n < 1024:
        return f"{n} bytes"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n / 2**20:.1f} MB"


def parse_mapping(mapping):
    """A column mapping as a dict, from a dict or ``"address=地址,size=人口"``."""
    if not mapping:
        return {}
    if isinstance(mapping, dict):
        return {str(k): str(v) for k, v in mapping.items()}
    pairs = {}
    for part in str(mapping).split(","):
        target, sep, column = part.partition("=")
        if not sep or not target.strip() or not column.strip():
            raise ImportRefused(say("mapping_unreadable", part=part))
        pairs[target.strip()] = column.strip()
    return pairs
