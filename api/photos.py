"""/api/v1/incidents/<code>/photos and /api/v1/photos/<id>: incident photos.

An upload is checked and re-encoded by ``api/photo_store.py`` and recorded by
``layers/photos.py``; the same picture of the same incident is stored once, so a
resend (with or without Idempotency-Key) adds nothing.
"""

from flask import Blueprint, jsonify, request

from api import photo_store
from api.auth import current, requires
from api.db import connection
from api.idempotency import idempotent
from api.openapi import INTEGER, STRING, file, obj
from api.params import accepts
from geo.catalogue import say
from layers import photos
from layers.errors import Invalid

bp = Blueprint("photos", __name__)


@bp.post("/incidents/<code>/photos")
@requires("incidents:report")
@idempotent
@accepts(body=obj(required=("file",), file={"type": "string", "format": "binary"}),
         content_type="multipart/form-data", errors=(422,), responses={201: obj(
             "{id, url}", required=("id", "url"), id=INTEGER, url=STRING)})
def upload(code):
    """Add a photo to an incident (multipart field 'file'; JPEG, PNG or WebP, ≤ 10
    MB, ≤ 40 MP; stored re-encoded as JPEG without EXIF; the same picture twice
    is one photo)"""
    with connection() as conn:  # the incident first: nothing stored for a 404
        incident = photos.incident_id(conn, current(), code)
    sent = request.files.get("file")
    if sent is None:
        raise Invalid(say("err_photo_send_form_field"),
                      field="file")
    picture = photo_store.prepare(sent.read(photo_store.MAX_BYTES + 1))
    photo_store.store().put(picture.sha256, picture.jpeg)
    with connection() as conn:
        photo, _ = photos.add(conn, current(), incident, picture.sha256,
                              picture.width, picture.height, len(picture.jpeg))
    return jsonify(photo), 201


@bp.get("/photos/<int:photo_id>")
@requires("incidents:read")
@accepts(responses={200: file("image/jpeg")})
def read(photo_id):
    """A photo (JPEG), read within its incident's scope"""
    with connection() as conn:
        photo = photos.get(conn, current(), photo_id)
    data = photo_store.store().read(photo["sha256"])
    return data, 200, {"Content-Type": "image/jpeg",
                       "Cache-Control": "private, max-age=86400",
                       "ETag": f'"{photo["sha256"]}"'}
