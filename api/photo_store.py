"""Photo files: checked as images, re-encoded as JPEG, kept by content hash.

``prepare`` decodes an upload with Pillow (the only way to know it is a picture:
its name and declared type say nothing), refuses anything too large, turns it
upright by its EXIF orientation and re-encodes it as a JPEG without metadata (no
EXIF: no GPS position, no phone serial leaves with the picture). The result is
stored under its sha256: the same picture sent twice is one file.

The store is deliberately small (``put``, ``read``), keyed by the sha256 of the
stored JPEG, and is one of two (``SETTINGS``, each ``GRIDGOV_<name>``):
``DirectoryStore``, a directory (``PHOTO_DIR``, by default ``photos/`` under
gridgov's data directory); or, when ``PHOTO_S3_BUCKET`` is set, ``S3Store``, a
bucket of an S3-compatible object store (MinIO, Ceph, a cloud's OSS/COS/S3) at
``PHOTO_S3_ENDPOINT``, through boto3. Either way a picture already stored is not
written again, and a store that cannot be reached is a 503 naming it, never a
500 (nothing is recorded then: the upload may be sent again).
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

from geo.catalogue import say
from layers.errors import Invalid, NotFound, Unavailable, Unprocessable

__all__ = ["MAX_BYTES", "MAX_PIXELS", "SETTINGS", "Prepared", "prepare",
           "DirectoryStore", "S3Store", "store"]

MAX_BYTES = 10 * 1024 * 1024  # an upload; the page sends ≤ 1,600 px JPEGs (~0.5 MB)
MAX_PIXELS = 40_000_000       # 40 MP: past any phone camera
FORMATS = {"JPEG", "PNG", "WEBP"}
QUALITY = 85

# The photo store's settings (config keys; environment GRIDGOV_<key>): default, doc.
SETTINGS = {
    "PHOTO_DIR": (None, "directory of the photos when no bucket is set "
                        "(default: photos/ under the data directory)"),
    "PHOTO_S3_BUCKET": (None, "an S3 bucket: setting it stores the photos there"),
    "PHOTO_S3_ENDPOINT": (None, "URL of the S3-compatible server (MinIO …); "
                                "unset: AWS's own endpoint for the region"),
    "PHOTO_S3_REGION": ("us-east-1", "the bucket's region (MinIO accepts any)"),
    "PHOTO_S3_ACCESS_KEY_ID": (None, "access key; unset: boto3's own chain "
                                     "(AWS_ACCESS_KEY_ID, ~/.aws, instance role)"),
    "PHOTO_S3_SECRET_ACCESS_KEY": (None, "its secret"),
    "PHOTO_S3_PREFIX": ("photos/", "prefix of the objects' keys in the bucket"),
    "PHOTO_S3_TIMEOUT": (5.0, "seconds to connect or read before a 503"),
}


def setting(config, name):
    """The value of photo-store setting ``name`` (``SETTINGS``) in ``config``."""
    return config.get(name, SETTINGS[name][0])


@dataclass(frozen=True)
class Prepared:
    jpeg: bytes
    sha256: str
    width: int
    height: int


def _not_an_image(reason):
    return Invalid(say("err_file_not_readable_image", reason=reason), field="file")


def prepare(data):
    """Check ``data`` as a picture and re-encode it; returns a Prepared."""
    if not data:
        raise Invalid(say("err_photo_send_form_field"),
                      field="file")
    if len(data) > MAX_BYTES:
        raise Unprocessable(say("err_photo_larger_than_mb",
                                v=MAX_BYTES // 2 ** 20), field="file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        if image.format not in FORMATS:
            raise _not_an_image(f"format {image.format}")
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise Unprocessable(say("err_photo_has_too_many", width=width,
                                    height=height,
                                    v=MAX_PIXELS // 10 ** 6), field="file")
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
        raise Unprocessable(say("err_photo_has_too_many_2", v=MAX_PIXELS // 10 ** 6),
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
            raise NotFound(say("err_photo_s_file_missing"),
                           field="id") from None


class S3Store:
    """Photos as objects ``<prefix>ab/cd/<sha256>.jpg`` of an S3 bucket."""

    def __init__(self, bucket, endpoint=None, region="us-east-1", access_key_id=None,
                 secret_access_key=None, prefix="photos/", timeout=5.0):
        try:
            import boto3
            from botocore.config import Config
        except ImportError:  # a deployment that set a bucket without boto3
            raise Unavailable(say("err_photo_s_bucket_set")) from None
        self.bucket, self.endpoint, self.prefix = bucket, endpoint, prefix or ""
        try:
            self.client = boto3.client(
                "s3", endpoint_url=endpoint or None, region_name=region,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=Config(connect_timeout=float(timeout),
                              read_timeout=float(timeout),
                              retries={"max_attempts": 2, "mode": "standard"},
                              s3={"addressing_style": "path"}))  # MinIO's default
        except ValueError as exc:  # e.g. an endpoint that is not a URL
            raise Unavailable(say("err_photo_store_misconfigured_photo",
                                  endpoint=endpoint, exc=exc)) from None

    def key(self, sha256):
        return f"{self.prefix}{sha256[:2]}/{sha256[2:4]}/{sha256}.jpg"

    def _unavailable(self, exc):
        where = f"{self.endpoint or 'S3'} bucket {self.bucket}"
        code = _s3_code(exc)
        why = {"NoSuchBucket": ("存储桶不存在", "the bucket does not exist"),
               "AccessDenied": ("无权访问存储桶", "access to the bucket is denied"),
               "InvalidAccessKeyId": ("访问密钥无效", "the access key is not valid"),
               "SignatureDoesNotMatch": ("访问密钥无效",
                                         "the secret key is not valid"),
               }.get(code, ("无法连接", f"it cannot be reached ({code})"))
        return Unavailable(say("err_photo_store_unavailable", where=where, v=why[0],
                               v2=why[1]))

    def _call(self, method, **kwargs):
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            return getattr(self.client, method)(Bucket=self.bucket, **kwargs)
        except ClientError as exc:
            if _s3_code(exc) in ("404", "NoSuchKey", "NotFound"):
                return None
            raise self._unavailable(exc) from None
        except BotoCoreError as exc:  # no connection, a timeout, bad endpoint …
            raise self._unavailable(exc) from None

    def put(self, sha256, data):
        """Keep ``data`` under ``sha256``; False when it was there already."""
        key = self.key(sha256)
        if self._call("head_object", Key=key) is not None:
            return False
        self._call("put_object", Key=key, Body=data, ContentType="image/jpeg")
        return True

    def read(self, sha256):
        found = self._call("get_object", Key=self.key(sha256))
        if found is None:
            raise NotFound(say("err_photo_s_file_missing"),
                           field="id")
        return found["Body"].read()


def _s3_code(exc):
    """The S3 error code of a botocore exception (its class name otherwise)."""
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code") or type(exc).__name__)


def store():
    """The application's photo store (built on first use): a bucket when
    ``PHOTO_S3_BUCKET`` is set, else the directory ``PHOTO_DIR``."""
    app = current_app
    found = app.extensions.get("gridgov.photo_store")
    if found is not None:
        return found
    config = app.config
    bucket = setting(config, "PHOTO_S3_BUCKET")
    if bucket:
        found = S3Store(bucket, setting(config, "PHOTO_S3_ENDPOINT"),
                        setting(config, "PHOTO_S3_REGION"),
                        setting(config, "PHOTO_S3_ACCESS_KEY_ID"),
                        setting(config, "PHOTO_S3_SECRET_ACCESS_KEY"),
                        setting(config, "PHOTO_S3_PREFIX"),
                        setting(config, "PHOTO_S3_TIMEOUT"))
    else:
        root = setting(config, "PHOTO_DIR")
        if not root:
            from layers.cluster import Cluster

            root = Path(Cluster.default().home) / "photos"
        found = DirectoryStore(root)
    app.extensions["gridgov.photo_store"] = found
    return found
