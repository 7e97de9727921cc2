"""Users, their passwords and API tokens, and login throttling."""

import hashlib
import secrets

from psycopg import sql
from psycopg.rows import dict_row
from werkzeug.security import check_password_hash, generate_password_hash

from layers import audit
from layers.access import ROLES, Principal
from layers.errors import Conflict, Invalid, NotFound, TooManyRequests

__all__ = [
    "MIN_PASSWORD_LENGTH", "add_user", "set_password", "set_active", "get_user",
    "list_users", "login", "create_token", "revoke_token", "principal_for_token",
    "principal_for_user", "list_tokens",
]

MIN_PASSWORD_LENGTH = 10
# Failed logins tolerated in the window, per account and per client address.
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 20
WINDOW = "15 minutes"
TOKEN_PREFIX = "ggv_"

_SELECT_USERS = sql.SQL(
    "SELECT id, username, display_name, role, grid_code, active, created_at,"
    " last_login_at FROM users")


def _check_password(password):
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(f"the password must have at least {MIN_PASSWORD_LENGTH} "
                      "characters", field="password")


def add_user(conn, actor, username, role, grid_code=None, password=None,
             display_name=None):
    """Create a user; returns its id. ``password`` None leaves it unable to log in
    (a token-only account, for a field device or a script)."""
    if role not in ROLES:
        raise Invalid(f"unknown role {role!r}: one of {', '.join(ROLES)}", field="role")
    if grid_code is not None and conn.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM grids WHERE code = %s)",
            (grid_code,)).fetchone()[0]:
        raise Invalid(f"no grid with code {grid_code}", field="grid")
    if password is not None:
        _check_password(password)
    with conn.transaction():
        if conn.execute("SELECT 1 FROM users WHERE username = %s",
                        (username,)).fetchone():
            raise Conflict(f"user {username} exists already", field="username")
        user_id = conn.execute(
            "INSERT INTO users (username, display_name, role, grid_code, password_hash)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (username, display_name, role, grid_code,
             None if password is None else generate_password_hash(password)),
        ).fetchone()[0]
        audit.record(conn, actor, "create", "users", username,
                     after={"role": role, "grid_code": grid_code})
    return user_id


def get_user(conn, username):
    row = conn.cursor(row_factory=dict_row).execute(
        sql.SQL("{} WHERE username = %s").format(_SELECT_USERS), (username,)
    ).fetchone()
    if row is None:
        raise NotFound(f"no user {username}", field="username")
    return row


def list_users(conn):
    return conn.cursor(row_factory=dict_row).execute(
        sql.SQL("{} ORDER BY username").format(_SELECT_USERS)).fetchall()


def set_password(conn, actor, username, password):
    _check_password(password)
    with conn.transaction():
        get_user(conn, username)
        conn.execute("UPDATE users SET password_hash = %s WHERE username = %s",
                     (generate_password_hash(password), username))
        audit.record(conn, actor, "update", "users", username,
                     after={"password": "changed"})


def set_active(conn, actor, username, active):
    """Enable or disable a user; disabling also revokes the user's tokens."""
    with conn.transaction():
        user = get_user(conn, username)
        conn.execute("UPDATE users SET active = %s WHERE username = %s",
                     (active, username))
        if not active:
            conn.execute("UPDATE api_tokens SET revoked_at = now()"
                         " WHERE user_id = %s AND revoked_at IS NULL", (user["id"],))
        audit.record(conn, actor, "update", "users", username,
                     before={"active": user["active"]}, after={"active": active})


def login(conn, username, password, address):
    """Check a password; return the user's Principal, or None when it is wrong
    (the failed attempt is recorded: commit the transaction either way).

    Raises TooManyRequests when the account or the address failed too often in the
    last minutes (checked before the password, so guessing gains nothing).
    """
    with conn.transaction():
        failures = conn.execute(
            "SELECT count(*) FILTER (WHERE username = %(u)s),"
            "       count(*) FILTER (WHERE address = %(a)s)"
            " FROM login_attempts WHERE NOT ok AND at > now() - %(w)s::interval"
            " AND (username = %(u)s OR address = %(a)s)",
            {"u": username, "a": address, "w": WINDOW}).fetchone()
        if failures[0] >= MAX_FAILURES_PER_USER or \
                failures[1] >= MAX_FAILURES_PER_ADDRESS:
            raise TooManyRequests("too many failed logins: wait 15 minutes and try "
                                  "again", field="username")
        row = conn.execute(
            "SELECT id, password_hash, role, grid_code, active FROM users"
            " WHERE username = %s", (username,)).fetchone()
        ok = bool(row and row[4] and row[1] and check_password_hash(row[1], password))
        conn.execute("INSERT INTO login_attempts (username, address, ok)"
                     " VALUES (%s, %s, %s)", (username, address, ok))
        if ok:
            conn.execute("UPDATE users SET last_login_at = now() WHERE id = %s",
                         (row[0],))
    if not ok:
        return None
    return Principal(username=username, role=row[2], grid_code=row[3], user_id=row[0])


def principal_for_user(conn, user_id, also=()):
    """The Principal of an active user (a session's), or None.

    ``also``: scalar queries without parameters (SQL constants of the layers)
    whose values come back in the same statement: then ``(principal, values)``.
    A hot path (locate) saves a round trip with it.
    """
    row = conn.execute(sql.SQL(
        "SELECT username, role, grid_code{also} FROM users WHERE id = %s AND active"
    ).format(also=_also(also)), (user_id,)).fetchone()
    found = None if row is None else Principal(row[0], row[1], row[2], user_id)
    return (found, row and tuple(row[3:])) if also else found


def _also(queries):
    return sql.SQL("").join(sql.SQL(", ({})").format(sql.SQL(q)) for q in queries)


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(conn, actor, username, name="token"):
    """Create an API token for ``username``; return it (shown once, stored hashed)."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        user = get_user(conn, username)
        if not user["active"]:
            raise Conflict(f"user {username} is disabled", field="username")
        token_id = conn.execute(
            "INSERT INTO api_tokens (user_id, name, token_sha256, created_by)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (user["id"], name, _digest(token), actor.username)).fetchone()[0]
        audit.record(conn, actor, "token", "api_tokens", token_id,
                     after={"user": username, "name": name})
    return token


def revoke_token(conn, actor, token_id):
    with conn.transaction():
        done = conn.execute("UPDATE api_tokens SET revoked_at = now()"
                            " WHERE id = %s AND revoked_at IS NULL RETURNING id",
                            (token_id,)).fetchone()
        if done is None:
            raise NotFound(f"no active token {token_id}", field="token")
        audit.record(conn, actor, "delete", "api_tokens", token_id)


def principal_for_token(conn, token, also=()):
    """The Principal of a valid token of an active user, or None (``also``: as
    :func:`principal_for_user`)."""
    if not token.startswith(TOKEN_PREFIX):
        return (None, None) if also else None
    # last_used_at is refreshed at most once a minute: a device polling the API
    # should not cost a row update per request.
    row = conn.execute(sql.SQL(
        "WITH found AS ("
        "  SELECT t.id, t.last_used_at, u.username, u.role, u.grid_code, u.id AS uid"
        "  FROM api_tokens t JOIN users u ON u.id = t.user_id"
        "  WHERE t.token_sha256 = %s AND t.revoked_at IS NULL AND u.active),"
        " touched AS ("
        "  UPDATE api_tokens SET last_used_at = now()"
        "  WHERE id = (SELECT id FROM found) AND (last_used_at IS NULL"
        "    OR last_used_at < now() - interval '1 minute'))"
        " SELECT username, role, grid_code, uid{also} FROM found"
    ).format(also=_also(also)), (_digest(token),)).fetchone()
    found = None if row is None else Principal(row[0], row[1], row[2], row[3])
    return (found, row and tuple(row[4:])) if also else found


def list_tokens(conn):
    """Active tokens and their owners (never the token: only its hash is kept)."""
    return conn.cursor(row_factory=dict_row).execute(
        "SELECT t.id, u.username, t.name, t.created_at, t.created_by, t.last_used_at"
        " FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.revoked_at IS NULL ORDER BY u.username, t.id").fetchall()
