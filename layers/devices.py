"""Device tokens: the phone page's login (``POST /api/v1/devices``).

A device token is an ``api_tokens`` row of kind 'device' valid ``DEVICE_DAYS``
days, issued after the login checks of ``layers.users.login`` (throttling,
lockout), revoked by its phone (logout), by an administrator (/admin/users), or
by a password, role, jurisdiction, state or staff-link change of its user (a
trigger of migration 0022). A revoked or expired device token is refused with
``DeviceRevoked`` (401 ``device_revoked``): the phone then wipes what it holds.
"""

import secrets

from geo.catalogue import say
from layers import audit, users
from layers.errors import Invalid, Unauthorized

__all__ = ["DEVICE_DAYS", "DeviceRevoked", "issue", "revoke", "was_device", "refused"]

DEVICE_DAYS = 30


class DeviceRevoked(Unauthorized):
    code = "device_revoked"


def issue(conn, principal, label):
    """A new device token of ``principal`` (just logged in): ``(token,
    expires_at)``; the token is shown once, its sha256 kept."""
    label = (label or "").strip() or "phone"
    if len(label) > users.MAX_LABEL or not label.isprintable():
        raise Invalid(say("err_label_printable_characters", MAX_LABEL=users.MAX_LABEL),
            field="label")
    token = users.TOKEN_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        token_id, expires_at = conn.execute(
            "INSERT INTO api_tokens (user_id, name, token_sha256, created_by, kind,"
            " expires_at) VALUES (%s, %s, %s, %s, 'device',"
            " now() + make_interval(days => %s)) RETURNING id, expires_at",
            (principal.user_id, label, users.digest(token), principal.username,
             DEVICE_DAYS)).fetchone()
        audit.record(conn, principal, "token", "api_tokens", token_id,
                     after={"user": principal.username, "name": label,
                            "kind": "device"}, grid_code=principal.grid_code)
    return token, expires_at


def revoke(conn, principal, token):
    """Revoke the calling device token (the phone's logout)."""
    with conn.transaction():
        row = conn.execute(
            "UPDATE api_tokens SET revoked_at = now() WHERE token_sha256 = %s"
            " AND user_id = %s AND kind = 'device' AND revoked_at IS NULL"
            " RETURNING id", (users.digest(token), principal.user_id)).fetchone()
        if row is None:
            raise Invalid(say("err_request_carries_device_token"),
                field="Authorization")
        audit.record(conn, principal, "delete", "api_tokens", row[0],
                     after={"user": principal.username, "kind": "device"},
                     grid_code=principal.grid_code)


def was_device(conn, token):
    """True when ``token`` is (was) a device token: after a refused lookup, tells
    a revoked or expired phone (``device_revoked``) from any other bad token."""
    return token.startswith(users.TOKEN_PREFIX) and conn.execute(
        "SELECT EXISTS (SELECT 1 FROM api_tokens WHERE token_sha256 = %s"
        " AND kind = 'device')", (users.digest(token),)).fetchone()[0]


def refused():
    return DeviceRevoked(say("err_device_was_logged_out"),
        field="Authorization")
