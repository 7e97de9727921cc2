"""Zip archives (KMZ, zipped shapefiles, XLSX) opened only after their directory
says they are safe: no zip bomb, no path leaving the extraction folder.

The limits are checked on the sizes the central directory declares, before a byte
is decompressed; members are then read with the declared size as a hard cap, so an
archive that lies about its sizes fails instead of filling the disk.
"""

import io
import zipfile
from pathlib import Path, PurePosixPath

from .messages import say, thing
from .result import ImportRefused, human_size

__all__ = ["MAX_UNZIPPED_BYTES", "MAX_RATIO", "RATIO_FLOOR_BYTES", "open_zip",
           "read_member", "extract"]

# The total of the members' uncompressed sizes.
MAX_UNZIPPED_BYTES = 200 * 1024 * 1024
# Uncompressed / compressed, per member and overall; text rarely passes 20 (a
# 42 KB zip bomb reaches a million).
MAX_RATIO = 100
# Members smaller than this are not held to the ratio (a tiny, repetitive file may
# compress well past it and harm nobody).
RATIO_FLOOR_BYTES = 1024 * 1024
_CHUNK = 1024 * 1024


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
