"""Photo files: checked as images, re-encoded as JPEG, kept by content hash.

``prepare`` decodes an upload with Pillow (the only way to know it is a picture:
its name and declared type say nothing), refuses anything too large, turns it
upright by its EXIF orientation and re-encodes it as a JPEG without metadata (no
EXIF: no GPS position, no phone serial leaves with the picture). The result is
stored under its sha256: the same picture sent twice is one file.

The store is deliberately small (``put``, ``read``) so that an S3-compatible
store can stand beside ``DirectoryStore`` later; today it is a directory,
``GRIDGOV_PHOTO_DIR`` (config ``PHOTO_DIR``), by default ``photos/`` under
gridgov's data directory.
"""

import hashlib
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from geo.vocab import bilingual
from layers.errors import Invalid, NotFound, Unprocessable

__all__ = ["MAX_BYTES", "MAX_PIXELS", "Prepared", "prepare", "DirectoryStore",
           "store"]

MAX_BYTES = 10 * 1024 * 1024  # an upload; the page sends ≤ 1,600 px JPEGs (~0.5 MB)
MAX_PIXELS = 40_000_000       # 40 MP: past any phone camera
FORMATS = {"JPEG", "PNG", "WEBP"}
QUALITY = 85


@dataclass(frozen=True)
class Prepared:
    jpeg: bytes
    sha256: str
    width: int
    height: int


def _not_an_image(reason):
    return Invalid(bilingual(f"上传的文件不是可识别的图片（JPEG/PNG/WebP）：{reason}",
                             f"the file is not a readable image (JPEG, PNG or "
                             f"WebP): {reason}"), field="file")


def prepare(data):
    """Check ``data`` as a picture and re-encode it; returns a Prepared."""
    if not data:
        raise Invalid(bilingual("缺少照片文件（表单字段 file）",
                                "no photo: send it as the form field 'file'"),
                      field="file")
    if len(data) > MAX_BYTES:
        raise Unprocessable(bilingual(
            f"照片超过 {MAX_BYTES // 2**20} MB", f"the photo is larger than "
            f"{MAX_BYTES // 2**20} MB"), field="file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise _not_an_image(f"format {image.format}")
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise Unprocessable(bilingual(
                f"照片像素过多（{width}×{height}），上限 {MAX_PIXELS // 10**6} MP",
                f"the photo has too many pixels ({width}×{height}); at most "
                f"{MAX_PIXELS // 10**6} MP"), field="file")
        image.load()
        image = ImageOps.exif_transpose(image)
        if image.mode in ("RGBA", "LA", "P"):
            image = image.convert("RGBA")
            flat = Image.new("RGB", image.size, "white")
            flat.paste(image, mask=image.getchannel("A"))
            image = flat
        elif image.mode != "RGB":
            image = image.convert("RGB")
        out = io.BytesIO()
        image.save(out, "JPEG", quality=QUALITY, optimize=True)
    except (Invalid, Unprocessable):
        raise
    except Image.DecompressionBombError:
        raise Unprocessable(bilingual(
            f"照片像素过多，上限 {MAX_PIXELS // 10**6} MP",
            f"the photo has too many pixels; at most {MAX_PIXELS // 10**6} MP"),
            field="file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise _not_an_image(type(exc).__name__) from None
    jpeg = out.getvalue()
    return Prepared(jpeg, hashlib.sha256(jpeg).hexdigest(), *image.size)


class DirectoryStore:
    """Photos as files ``<root>/ab/cd/<sha256>.jpg``."""

    def __init__(self, root):
        self.root = Path(root)

    def _path(self, sha256):
        return self.root / sha256[:2] / sha256[2:4] / f"{sha256}.jpg"

    def put(self, sha256, data):
        """Keep ``data`` under ``sha256``; False when it was there already."""
        path = self._path(sha256)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = tempfile.mkstemp(dir=path.parent, suffix=".part")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(temp, path)  # atomic: a reader never sees half a photo
        except BaseException:
            Path(temp).unlink(missing_ok=True)
            raise
        return True

    def read(self, sha256):
        try:
            return self._path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound(bilingual("照片文件缺失", "the photo's file is missing"),
                           field="id") from None


def store():
    """The application's photo store (built on first use)."""
    app = current_app
    found = app.extensions.get("gridgov.photo_store")
    if found is None:
        root = app.config.get("PHOTO_DIR")
        if not root:
            from layers.cluster import Cluster

            root = Path(Cluster.default().home) / "photos"
        found = app.extensions["gridgov.photo_store"] = DirectoryStore(root)
    return found
