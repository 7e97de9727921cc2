"""Zip archives (KMZ, zipped shapefiles, XLSX) opened only after their directory
says they are safe: no zip bomb, no path leaving the extraction folder; gzip files
(``track.gpx.gz``) unpacked within the same limits.

The limits are checked on the sizes the central directory declares, before a byte
is decompressed; members are then read with the declared size as a hard cap, so an
archive that lies about its sizes fails instead of filling the disk. A gzip file
declares no size worth trusting: it is unpacked with the limit as the cap.
"""

import gzip
import io
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from .messages import say, thing
from .result import ImportRefused, human_size

__all__ = ["MAX_UNZIPPED_BYTES", "MAX_RATIO", "RATIO_FLOOR_BYTES", "GZIP_MAGIC",
           "open_zip", "read_member", "extract", "gunzip"]

# The total of the members' uncompressed sizes.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
# Uncompressed / compressed, per member and overall; text rarely passes 20 (a
# 42 KB zip bomb reaches a million).
MAX_RATIO = 100
# Members smaller than this are not held to the ratio (a tiny, repetitive file may
# compress well past it and harm nobody).
RATIO_FLOOR_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024
GZIP_MAGIC = b"\x1f\x8b"


def open_zip(data, what="zip archive"):
    """A :class:`zipfile.ZipFile` over ``data`` once its directory passes the limits.

    Raises
    ------
    ImportRefused
        If ``data`` is not a zip, or a member or the whole would exceed
        :data:`MAX_UNZIPPED_BYTES` or :data:`MAX_RATIO`, or a member's path is
        absolute or climbs out with ``..``.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError) as exc:
        raise ImportRefused(say("zip_broken", what=what, what_zh=thing(what),
                                error=exc)) from None
    members = archive.infolist()
    total = sum(m.file_size for m in members)
    packed = sum(m.compress_size for m in members)
    if total > MAX_UNZIPPED_BYTES:
        raise ImportRefused(say("zip_too_big", what=what, what_zh=thing(what),
                                size=human_size(total),
                                limit=human_size(MAX_UNZIPPED_BYTES)))
    for member in members:
        _check_ratio(member.file_size, member.compress_size, what, member.filename)
        path = PurePosixPath(member.filename.replace("\\", "/"))
        if path.is_absolute() or ".." in path.parts or ":" in member.filename:
            raise ImportRefused(say("zip_outside", what=what, what_zh=thing(what),
                                    name=member.filename))
    _check_ratio(total, packed, what, None)
    return archive


def _check_ratio(size, packed, what, name):
    if size >= RATIO_FLOOR_BYTES and size > MAX_RATIO * max(packed, 1):
        where = f"{name} in the {what}" if name else f"the {what}"
        where_zh = f"{thing(what)}中的 {name} " if name else thing(what)
        raise ImportRefused(say("zip_ratio", where=where, where_zh=where_zh,
                                ratio=f"{size / max(packed, 1):.0f}",
                                limit=MAX_RATIO))


def read_member(archive, name):
    """The bytes of member ``name``, never more than its declared size."""
    info = archive.getinfo(name)
    with archive.open(info) as stream:
        data = stream.read(info.file_size + 1)
    if len(data) > info.file_size:
        raise ImportRefused(say("zip_member_lies", name=name))
    return data


def extract(archive, folder):
    """Write every member under ``folder`` (checked by :func:`open_zip`), capped."""
    folder = Path(folder)
    for info in archive.infolist():
        if info.is_dir():
            continue
        target = folder / PurePosixPath(info.filename.replace("\\", "/"))
        target.parent.mkdir(parents=True, exist_ok=True)
        left = info.file_size
        with archive.open(info) as stream, open(target, "wb") as out:
            while chunk := stream.read(min(_CHUNK, left + 1)):
                left -= len(chunk)
                if left < 0:
                    raise ImportRefused(say("zip_member_lies", name=info.filename))
                out.write(chunk)
    return folder


def gunzip(data, what="gzip file"):
    """The content of the gzip file ``data``, never more than the limits allow.

    It is unpacked up to :data:`MAX_UNZIPPED_BYTES`, or :data:`MAX_RATIO` times
    its size when that is smaller (and over :data:`RATIO_FLOOR_BYTES`), plus one
    byte: a file that has more is refused without being unpacked further.

    Raises
    ------
    ImportRefused
        If ``data`` is a broken gzip file or would pass a limit.
    """
    by_ratio = max(RATIO_FLOOR_BYTES, MAX_RATIO * len(data))
    cap = min(MAX_UNZIPPED_BYTES, by_ratio)
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(data)) as stream:
            out = stream.read(cap + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ImportRefused(say("zip_broken", what=what, what_zh=thing(what),
                                error=exc)) from None
    if len(out) > cap and cap == MAX_UNZIPPED_BYTES:
        raise ImportRefused(say("gzip_too_big", what=what, what_zh=thing(what),
                                limit=human_size(MAX_UNZIPPED_BYTES)))
    if len(out) > cap:
        raise ImportRefused(say("gzip_ratio", what=what, what_zh=thing(what),
                                limit=MAX_RATIO))
    return out
