"""Idempotency keys: a state-changing request sent again (a phone's queue after a
lost answer) gets the first answer and changes nothing.

One row per (user, key) of ``idempotency_keys`` (migration 0022): the request's
sha256, then the answer's status and body. ``begin`` claims a key or says what to
replay; ``finish`` stores the answer; ``abandon`` frees a key whose request
failed, so that the phone may try again. The decorator that uses them is
``api/idempotency.py``.
"""

from geo.catalogue import say
from layers.errors import Conflict, Invalid, Unprocessable

__all__ = ["KEEP_DAYS", "STALE_SECONDS", "Mismatch", "InProgress", "check_key",
           "begin", "finish", "abandon"]

KEEP_DAYS = 30  # a device token's life: no phone holds a request longer
STALE_SECONDS = 300  # a claim older than this, without answer, died with its process
MAX_KEY = 200


class Mismatch(Unprocessable):
    code = "idempotency_mismatch"


class InProgress(Conflict):
    code = "idempotency_in_progress"


def check_key(key):
    if not (0 < len(key) <= MAX_KEY and key.isprintable()):
        raise Invalid(say("err_idempotency_key_header_printable", MAX_KEY=MAX_KEY),
            field="Idempotency-Key")
    return key


def begin(conn, user_id, key, request_sha256):
    """Claim ``key`` for this request: None when the request should run, or
    ``(status, content_type, body)`` of the first answer to replay.

    Raises Mismatch (422) when the key came with another request, InProgress
    (409) while the first request is still running.
    """
    with conn.transaction():
        claimed = conn.execute(
            "INSERT INTO idempotency_keys (user_id, key, request_sha256)"
            " VALUES (%s, %s, %s) ON CONFLICT DO NOTHING RETURNING 1",
            (user_id, key, request_sha256)).fetchone()
        if claimed:
            return None
        digest, status, content_type, body, stale = conn.execute(
            "SELECT request_sha256, status, content_type, body,"
            " created_at < now() - make_interval(secs => %s)"
            " FROM idempotency_keys WHERE user_id = %s AND key = %s FOR UPDATE",
            (STALE_SECONDS, user_id, key)).fetchone()
        if digest != request_sha256:
            raise Mismatch(say("err_idempotency_key_was_used"),
                field="Idempotency-Key")
        if status is None:
            if not stale:
                raise InProgress(say("err_same_request_being_processed"),
                    field="Idempotency-Key")
            conn.execute("UPDATE idempotency_keys SET created_at = now()"
                         " WHERE user_id = %s AND key = %s", (user_id, key))
            return None
        return status, content_type, body


def finish(conn, user_id, key, status, content_type, body):
    """Keep the answer of the request that claimed ``key``; drop keys past
    KEEP_DAYS (one index range, at most as often as answers are kept)."""
    with conn.transaction():
        conn.execute(
            "UPDATE idempotency_keys SET status = %s, content_type = %s, body = %s"
            " WHERE user_id = %s AND key = %s",
            (status, content_type, body, user_id, key))
        conn.execute("DELETE FROM idempotency_keys"
                     " WHERE created_at < now() - make_interval(days => %s)",
                     (KEEP_DAYS,))


def abandon(conn, user_id, key):
    """Free ``key`` after its request failed (nothing was done)."""
    conn.execute("DELETE FROM idempotency_keys WHERE user_id = %s AND key = %s"
                 " AND status IS NULL", (user_id, key))
