"""``@idempotent``: the one Idempotency-Key mechanism of the API.

A state-changing route the phone may send again wears it (inside ``requires``):
with an ``Idempotency-Key`` header, the first successful answer (2xx) is kept
with the request's sha256 (method, path, query and body; for multipart uploads
the form fields and each file's content, not the boundary) and a resend by the
same user gets that answer again (same status and body, header
``Idempotent-Replayed: true``) and runs nothing; the same key with another
request is 422 ``idempotency_mismatch``. A failed request (4xx, 5xx) keeps
nothing: it changed nothing, and may be sent again. Without the header the route
runs as always. The table is ``layers/idempotency.py``'s.

The route's own transaction and the answer's row are two commits: a process that
dies between them leaves a claim without answer, which a resend may take over
after ``layers.idempotency.STALE_SECONDS`` (and then runs the route again). The
routes that matter most are safe even then: a photo is stored once per content,
a report made twice would show as a duplicate in the preview.
"""

import functools
import hashlib

from flask import make_response, request

from api.auth import current
from api.db import connection
from layers import idempotency

__all__ = ["idempotent", "HEADER"]

HEADER = "Idempotency-Key"


def _request_sha256():
    h = hashlib.sha256()
    h.update(f"{request.method} {request.path}?{request.query_string.decode()}\n"
             .encode())
    if request.files:
        for name, value in sorted(request.form.items(multi=True)):
            h.update(f"form {name}={value}\n".encode())
        for name, upload in sorted(request.files.items(multi=True),
                                   key=lambda item: item[0]):
            content = upload.stream.read()
            upload.stream.seek(0)
            h.update(f"file {name} {hashlib.sha256(content).hexdigest()}\n".encode())
    else:
        h.update(request.get_data(cache=True))
    return h.hexdigest()


def idempotent(view):
    """Answer a resend of the same request (same user, same Idempotency-Key)
    with the first answer, running nothing."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        key = request.headers.get(HEADER)
        principal = current()
        if key is None or principal is None or principal.user_id is None:
            return view(*args, **kwargs)
        key = idempotency.check_key(key)
        user = principal.user_id
        with connection() as conn:
            first = idempotency.begin(conn, user, key, _request_sha256())
        if first is not None:
            status, content_type, body = first
            return make_response(body, status, {"Content-Type": content_type,
                                                "Idempotent-Replayed": "true"})
        try:
            response = make_response(view(*args, **kwargs))
        except BaseException:
            with connection() as conn:
                idempotency.abandon(conn, user, key)
            raise
        with connection() as conn:
            if 200 <= response.status_code < 300:
                idempotency.finish(conn, user, key, response.status_code,
                                   response.content_type,
                                   response.get_data(as_text=True))
            else:
                idempotency.abandon(conn, user, key)
        return response

    return wrapper
