"""Users, their passwords, API tokens and sessions, and login throttling.

Scope: every function that lists or changes accounts takes the acting
``Principal``. An administrator scoped to a grid manages only the accounts of that
grid's subtree and grants only grids within it, never the whole deployment (an
empty grid); anything else is refused with ``Forbidden`` (403). Audit rows about
an account carry the account's grid, so that scoped administrators read them.

Sessions are rows of ``sessions`` (migration 0015): the cookie holds a random id,
the table its sha256. Logout deletes the row; a change of password, role,
jurisdiction or state deletes all of the user's rows (a trigger of the table).
The grids an administrator may grant, and the accounts left on grids that no
longer exist, are read in ``layers.jurisdictions``.
"""

import datetime as dt
import functools
import hashlib
import math
import re
import secrets

from psycopg import sql
from psycopg.rows import dict_row
from werkzeug.security import check_password_hash, generate_password_hash

from geo.catalogue import say
from layers import audit
from layers.access import ROLES, Principal, like_prefix
from layers.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests

__all__ = [
    "MIN_PASSWORD_LENGTH", "USERNAME_RULE", "add_user", "set_password", "set_active",
    "set_access", "unlock", "get_user", "list_users", "login", "create_token",
    "revoke_token", "principal_for_token", "list_tokens", "start_session",
    "end_session", "principal_for_session", "link_staff", "digest",
]

MIN_PASSWORD_LENGTH = 10
# As the users table's CHECK (migration 0002): what a user name may hold.
USERNAME = re.compile(r"[A-Za-z0-9_.@-]{2,64}")
USERNAME_RULE = "2–64 letters (A–Z, a–z), digits or the characters _ . @ -"
GRID_CODE = re.compile(r"[0-9]{9}(?:[0-9]{3}){0,3}")  # as users.grid_code's CHECK
MAX_LABEL = 100
TOKEN_PREFIX = "ggv_"

# Login throttling. After n recent failures of one (account, address) pair that
# pair waits 2**(n-1) s (1, 2, 4 … at most an hour) before its next try; the owner
# at another address is not slowed down. Past MAX_FAILURES_PER_ACCOUNT failures in
# the window from any addresses the account is locked, until an administrator
# unlocks it (``unlock``) or the failures age out of the window.
WINDOW_SECONDS = 3600
MAX_FAILURES_PER_ACCOUNT = 50
MAX_DELAY_SECONDS = 3600
# A session, however active, ends this long after its login (then log in again).
MAX_SESSION_AGE = dt.timedelta(days=7)
_LOGIN_LOCK = 0x6C6F67  # advisory-lock namespace of logins ("log")

_SELECT_USERS = sql.SQL(
    "SELECT id, username, display_name, role, grid_code, active, created_at,"
    " last_login_at, staff_id FROM users")


# checks of the values a form or the command line brings --------------------------

def _check_username(username):
    if not isinstance(username, str) or not USERNAME.fullmatch(username):
        raise Invalid(say("err_user_name_username",
                          USERNAME_RULE=USERNAME_RULE), field="username")


def _check_password(password):
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(say("err_password_have_least_characters",
                          MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH),
            field="password")


def _check_text(value, field, zh_name):
    if value is not None and not (0 < len(value) <= MAX_LABEL and value.isprintable()):
        raise Invalid(say("err_printable_characters", zh_name=zh_name,
                          MAX_LABEL=MAX_LABEL, field=field), field=field)


def _check_role(role):
    if role not in ROLES:
        raise Invalid(say("err_unknown_role", role=role,
                          v=', '.join(ROLES)), field="role")


def _check_grid_code(grid_code):
    if grid_code is not None and not GRID_CODE.fullmatch(grid_code):
        raise Invalid(say("err_jurisdiction_grid_grid_code"),
            field="grid")


def _check_grid_exists(conn, grid_code):
    if grid_code is not None and conn.execute(
            "SELECT NOT EXISTS (SELECT 1 FROM grids WHERE code = %s)",
            (grid_code,)).fetchone()[0]:
        raise Invalid(say("err_no_grid_code", code=grid_code), field="grid")


# scope --------------------------------------------------------------------------

def _within(actor, grid_code):
    """True when ``grid_code`` (None: everywhere) lies in the actor's subtree."""
    return actor.grid_code is None or (
        grid_code is not None and grid_code.startswith(actor.grid_code))


def _may_grant(actor, grid_code):
    if not _within(actor, grid_code):
        raise Forbidden(say("err_jurisdiction_grid_may_neither",
                            grid_code=actor.grid_code), field="grid")


def _may_manage(actor, user):
    if not _within(actor, user["grid_code"]):
        raise Forbidden(say("err_user_outside_jurisdiction", username=user['username'],
                            grid_code=actor.grid_code), field="username")


def _scope_filter(actor, column):
    """A WHERE fragment confining ``column`` (a grid code) to the actor's subtree."""
    if actor.grid_code is None:
        return sql.SQL("TRUE"), {}
    return (sql.SQL("{} LIKE %(scope)s").format(sql.Identifier(*column.split("."))),
            {"scope": like_prefix(actor.grid_code)})


# accounts -----------------------------------------------------------------------

def add_user(conn, actor, username, role, grid_code=None, password=None,
             display_name=None, staff_id=None):
    """Create a user; returns its id. ``password`` None leaves it unable to log in
    (a token-only account, for a field device or a script); ``staff_id`` links
    it to that grid staff person (:func:`link_staff`)."""
    _check_username(username)
    _check_role(role)
    _check_grid_code(grid_code)
    _may_grant(actor, grid_code)  # before asking whether it exists: tells nothing
    _check_grid_exists(conn, grid_code)
    if password is not None:
        _check_password(password)
    _check_text(display_name, "display_name", "显示名称")
    with conn.transaction():
        if conn.execute("SELECT 1 FROM users WHERE username = %s",
                        (username,)).fetchone():
            raise Conflict(say("err_user_exists_already", username=username),
                           field="username")
        user_id = conn.execute(
            "INSERT INTO users (username, display_name, role, grid_code, password_hash)"
            " VALUES (%s, %s, %s, %s, %s) RETURNING id",
            (username, display_name, role, grid_code,
             None if password is None else generate_password_hash(password)),
        ).fetchone()[0]
        audit.record(conn, actor, "create", "users", username,
                     after={"role": role, "grid_code": grid_code},
                     grid_code=grid_code)
        if staff_id is not None:
            link_staff(conn, actor, username, staff_id)
    return user_id


def link_staff(conn, actor, username, staff_id):
    """Make ``username`` the account of grid staff person ``staff_id`` (None:
    unlink). The person must be of the actor's jurisdiction and linked to no
    other account; the user's device tokens are revoked (migration 0022)."""
    if staff_id is not None and (isinstance(staff_id, bool)
                                 or not isinstance(staff_id, int)):
        raise Invalid(say("err_staff_staff_id"),
                      field="staff")
    with conn.transaction():
        user = _managed_user(conn, actor, username)
        if staff_id is not None:
            staff = conn.execute(
                "SELECT grid_code, (SELECT username FROM users WHERE staff_id = s.id"
                "  AND id <> %s) FROM grid_staff s WHERE id = %s",
                (user["id"], staff_id)).fetchone()
            if staff is None or not _within(actor, staff[0]):
                raise NotFound(say("err_grid_staff", staff_id=staff_id), field="staff")
            if staff[1] is not None:
                raise Conflict(say("err_grid_staff_linked_account", staff_id=staff_id,
                                   v=staff[1]), field="staff")
        conn.execute("UPDATE users SET staff_id = %s WHERE id = %s",
                     (staff_id, user["id"]))
        audit.record(conn, actor, "update", "users", username,
                     after={"staff_id": staff_id}, grid_code=user["grid_code"])


def get_user(conn, username):
    row = None
    if isinstance(username, str) and USERNAME.fullmatch(username):
        row = conn.cursor(row_factory=dict_row).execute(
            sql.SQL("{} WHERE username = %s").format(_SELECT_USERS), (username,)
        ).fetchone()
    if row is None:
        raise NotFound(say("err_user", username=username),
                       field="username")
    return row


def _managed_user(conn, actor, username):
    """The user ``username``, locked for the change, if the actor may manage it."""
    user = get_user(conn, username)
    _may_manage(actor, user)
    conn.execute("SELECT 1 FROM users WHERE id = %s FOR UPDATE", (user["id"],))
    return user


def list_users(conn, actor):
    """The users of the actor's subtree, with their failed logins in the window
    (``locked`` past the ceiling)."""
    where, params = _scope_filter(actor, "grid_code")
    return conn.cursor(row_factory=dict_row).execute(sql.SQL(
        "SELECT u.*, u.failures >= %(ceiling)s AS locked FROM ("
        " SELECT id, username, display_name, role, grid_code, active, created_at,"
        "  last_login_at, staff_id, (SELECT count(*) FROM login_attempts a"
        "   WHERE a.username = users.username AND NOT a.ok AND a.at > greatest("
        "    now() - make_interval(secs => %(window)s), users.unlocked_at))"
        "  AS failures"
        " FROM users WHERE {}) u ORDER BY username").format(where),
        {**params, "window": WINDOW_SECONDS, "ceiling": MAX_FAILURES_PER_ACCOUNT},
    ).fetchall()


def set_password(conn, actor, username, password):
    """Set a password; the user's sessions end (the sessions trigger)."""
    _check_password(password)
    with conn.transaction():
        user = _managed_user(conn, actor, username)
        conn.execute("UPDATE users SET password_hash = %s WHERE id = %s",
                     (generate_password_hash(password), user["id"]))
        audit.record(conn, actor, "update", "users", username,
                     after={"password": "changed"}, grid_code=user["grid_code"])


def set_active(conn, actor, username, active):
    """Enable or disable a user; disabling also revokes the user's tokens and
    ends its sessions."""
    with conn.transaction():
        user = _managed_user(conn, actor, username)
        conn.execute("UPDATE users SET active = %s WHERE id = %s",
                     (active, user["id"]))
        if not active:
            conn.execute("UPDATE api_tokens SET revoked_at = now()"
                         " WHERE user_id = %s AND revoked_at IS NULL", (user["id"],))
        audit.record(conn, actor, "update", "users", username,
                     before={"active": user["active"]}, after={"active": active},
                     grid_code=user["grid_code"])


def set_access(conn, actor, username, role, grid_code):
    """Give ``username`` the role ``role`` and the jurisdiction ``grid_code``
    (None: the whole deployment), within the actor's rules: the account must be
    the actor's to manage, the grid one the actor may grant (never the whole
    deployment for a scoped administrator), and no administrator changes their
    own role or jurisdiction (no one locks themselves out or widens themselves).
    A change ends the user's sessions and phones (the users trigger) and is
    audited with before and after; nothing changed, nothing is written. Returns
    whether anything changed."""
    _check_role(role)
    _check_grid_code(grid_code)
    with conn.transaction():
        user = _managed_user(conn, actor, username)
        if user["username"] == actor.username:
            raise Forbidden(say("err_you_may_not_change"), field="username")
        _may_grant(actor, grid_code)  # before asking whether it exists
        _check_grid_exists(conn, grid_code)
        before = {"role": user["role"], "grid_code": user["grid_code"]}
        after = {"role": role, "grid_code": grid_code}
        if before == after:
            return False
        conn.execute("UPDATE users SET role = %s, grid_code = %s WHERE id = %s",
                     (role, grid_code, user["id"]))
        audit.record(conn, actor, "update", "users", username, before=before,
                     after=after, grid_code=grid_code)
    return True


def unlock(conn, actor, username):
    """Forget the user's failed logins so far: lifts the account's lock and every
    (account, address) pair's delay."""
    with conn.transaction():
        user = _managed_user(conn, actor, username)
        conn.execute("UPDATE users SET unlocked_at = now() WHERE id = %s",
                     (user["id"],))
        audit.record(conn, actor, "update", "users", username,
                     after={"unlocked": True}, grid_code=user["grid_code"])


# logging in ---------------------------------------------------------------------

@functools.cache
def _dummy_hash():
    """A hash of the current method and cost, checked when there is no account
    (or no password): an unknown user name takes as long as a wrong password."""
    return generate_password_hash(secrets.token_urlsafe(16))


def pair_delay(failures):
    """Seconds an (account, address) pair waits after ``failures`` recent failures.

    >>> [pair_delay(n) for n in (0, 1, 2, 3, 5, 13)]
    [0, 1, 2, 4, 16, 3600]
    """
    return 0 if failures < 1 else min(2 ** (failures - 1), MAX_DELAY_SECONDS)


# Failures since the later of the window's start and the account's unlock: all of
# them (the ceiling), and the pair's since its last success, with the age of the
# pair's last failure; then the account, if there is one.
_LOGIN_STATE = sql.SQL("""
WITH u AS (SELECT id, password_hash, role, grid_code, active, unlocked_at
           FROM users WHERE username = %(u)s),
recent AS (SELECT address, ok, at FROM login_attempts
           WHERE username = %(u)s AND at > greatest(
               now() - make_interval(secs => %(w)s), (SELECT unlocked_at FROM u))),
pair AS (SELECT at, ok FROM recent WHERE address IS NOT DISTINCT FROM %(a)s),
pair_fail AS (SELECT at FROM pair WHERE NOT ok AND at > coalesce(
                  (SELECT max(at) FROM pair WHERE ok), '-infinity'))
SELECT (SELECT count(*) FROM recent WHERE NOT ok),
       (SELECT count(*) FROM pair_fail),
       (SELECT extract(epoch FROM now() - max(at)) FROM pair_fail),
       u.id, u.password_hash, u.role, u.grid_code, u.active
FROM (SELECT 1) AS one LEFT JOIN u ON TRUE
""")


def login(conn, username, password, address):
    """Check a password; return the user's Principal, or None when it is wrong
    (the failed attempt is recorded: commit the transaction either way).

    Raises TooManyRequests (``retry_after`` seconds, ``locked``) when the account
    passed its ceiling of failures, or when this (account, address) pair must
    still wait: both checked before the password, so guessing gains nothing.
    Unknown users and accounts without a password cost a password check too.
    """
    if not (isinstance(username, str) and USERNAME.fullmatch(username)):
        check_password_hash(_dummy_hash(), password)  # no such account can exist
        return None
    with conn.transaction():
        # one login of an account at a time: parallel guesses queue, then wait
        conn.execute("SELECT pg_advisory_xact_lock(%s::integer, hashtext(%s))",
                     (_LOGIN_LOCK, username))
        failures, pair_failures, since_last, *row = conn.execute(
            _LOGIN_STATE, {"u": username, "a": address, "w": WINDOW_SECONDS}
        ).fetchone()
        if failures >= MAX_FAILURES_PER_ACCOUNT:
            raise TooManyRequests(say("err_too_many_failed_logins"),
                field="username", retry_after=WINDOW_SECONDS, locked=True)
        wait = math.ceil(pair_delay(pair_failures) - float(since_last or 0))
        if pair_failures and wait > 0:
            raise TooManyRequests(say("err_too_many_failed_logins_2", wait=wait),
                field="username", retry_after=wait, locked=False)
        user_id, hashed, role, grid_code, active = row
        good = check_password_hash(hashed or _dummy_hash(), password)
        ok = bool(user_id is not None and active and hashed and good)
        conn.execute("INSERT INTO login_attempts (username, address, ok)"
                     " VALUES (%s, %s, %s)", (username, address, ok))
        if ok:
            conn.execute("UPDATE users SET last_login_at = now() WHERE id = %s",
                         (user_id,))
    if not ok:
        return None
    return Principal(username=username, role=role, grid_code=grid_code,
                     user_id=user_id)


# sessions -----------------------------------------------------------------------

def start_session(conn, principal, lifetime_seconds, address=None):
    """Open a session of ``principal`` that ends after ``lifetime_seconds`` without
    a request (see :func:`principal_for_session`); return its id (for the signed
    cookie; only its sha256 is stored). Expired sessions are dropped."""
    sid = secrets.token_urlsafe(32)
    with conn.transaction():
        conn.execute("DELETE FROM sessions WHERE expires_at < now()")
        conn.execute(
            "INSERT INTO sessions (id_sha256, user_id, idle, expires_at, address)"
            " VALUES (%(sid)s, %(uid)s, make_interval(secs => %(idle)s),"
            "         now() + make_interval(secs => %(idle)s), %(address)s)",
            {"sid": _digest(sid), "uid": principal.user_id,
             "idle": lifetime_seconds, "address": address})
    return sid


def end_session(conn, sid):
    """End one session (logout); other sessions of the user go on."""
    with conn.transaction():
        conn.execute("DELETE FROM sessions WHERE id_sha256 = %s", (_digest(sid),))


def principal_for_session(conn, sid, also=()):
    """The Principal of a live session of an active user, or None.

    A session expires after its idle lifetime without a request (the lifetime set
    at login, kept in ``idle``); each request that finds less than half of it left
    pushes the expiry on again (one row update at most every half-lifetime, not one
    per request), never past ``MAX_SESSION_AGE`` after login: a dispatcher's
    twelve-hour duty is not cut at hour eight, and no cookie lives for ever.

    ``also``: scalar queries without parameters (SQL constants of the layers)
    whose values come back in the same statement: then ``(principal, values)``.
    A hot path (locate) saves a round trip with it.
    """
    row = conn.execute(sql.SQL(
        "WITH found AS ("
        "  SELECT s.id_sha256, s.expires_at, s.created_at, s.idle,"
        "         u.username, u.role, u.grid_code, u.id AS uid"
        "  FROM sessions s JOIN users u ON u.id = s.user_id"
        "  WHERE s.id_sha256 = %(sid)s AND s.expires_at > now() AND u.active),"
        " touched AS ("
        "  UPDATE sessions s SET expires_at = least(now() + f.idle,"
        "                                           f.created_at + %(max_age)s)"
        "  FROM found f WHERE s.id_sha256 = f.id_sha256"
        "    AND f.expires_at < now() + f.idle / 2)"
        " SELECT username, role, grid_code, uid{also} FROM found"
    ).format(also=_also(also)),
        {"sid": _digest(str(sid)), "max_age": MAX_SESSION_AGE}).fetchone()
    found = None if row is None else Principal(row[0], row[1], row[2], row[3])
    return (found, row and tuple(row[4:])) if also else found


def _also(queries):
    return sql.SQL("").join(sql.SQL(", ({})").format(sql.SQL(q)) for q in queries)


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()


digest = _digest  # the stored form of a token or session id (layers/devices.py)


# API tokens ---------------------------------------------------------------------

def create_token(conn, actor, username, name="token"):
    """Create an API token for ``username``; return it (shown once, stored hashed)."""
    _check_text(name, "label", "令牌用途")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with conn.transaction():
        user = _managed_user(conn, actor, username)
        if not user["active"]:
            raise Conflict(say("err_user_disabled", username=username),
                           field="username")
        token_id = conn.execute(
            "INSERT INTO api_tokens (user_id, name, token_sha256, created_by)"
            " VALUES (%s, %s, %s, %s) RETURNING id",
            (user["id"], name, _digest(token), actor.username)).fetchone()[0]
        audit.record(conn, actor, "token", "api_tokens", token_id,
                     after={"user": username, "name": name},
                     grid_code=user["grid_code"])
    return token


def revoke_token(conn, actor, token_id):
    with conn.transaction():
        found = conn.cursor(row_factory=dict_row).execute(
            "SELECT t.id, u.username, u.grid_code FROM api_tokens t"
            " JOIN users u ON u.id = t.user_id"
            " WHERE t.id = %s AND t.revoked_at IS NULL FOR UPDATE OF t",
            (token_id,)).fetchone()
        if found is None:
            raise NotFound(say("err_active_token", token_id=token_id), field="token")
        _may_manage(actor, found)
        conn.execute("UPDATE api_tokens SET revoked_at = now() WHERE id = %s",
                     (token_id,))
        audit.record(conn, actor, "delete", "api_tokens", token_id,
                     after={"user": found["username"]}, grid_code=found["grid_code"])


def principal_for_token(conn, token, also=()):
    """The Principal of a valid token of an active user, or None (``also``: as
    :func:`principal_for_session`)."""
    if not token.startswith(TOKEN_PREFIX):
        return (None, None) if also else None
    # last_used_at is refreshed at most once a minute: a device polling the API
    # should not cost a row update per request.
    row = conn.execute(sql.SQL(
        "WITH found AS ("
        "  SELECT t.id, t.last_used_at, u.username, u.role, u.grid_code, u.id AS uid"
        "  FROM api_tokens t JOIN users u ON u.id = t.user_id"
        "  WHERE t.token_sha256 = %s AND t.revoked_at IS NULL AND u.active"
        "   AND (t.expires_at IS NULL OR t.expires_at > now())),"
        " touched AS ("
        "  UPDATE api_tokens SET last_used_at = now()"
        "  WHERE id = (SELECT id FROM found) AND (last_used_at IS NULL"
        "    OR last_used_at < now() - interval '1 minute'))"
        " SELECT username, role, grid_code, uid{also} FROM found"
    ).format(also=_also(also)), (_digest(token),)).fetchone()
    found = None if row is None else Principal(row[0], row[1], row[2], row[3])
    return (found, row and tuple(row[4:])) if also else found


def list_tokens(conn, actor):
    """Active tokens of the actor's subtree and their owners (never the token:
    only its hash is kept); ``kind`` 'device' (a phone, until ``expires_at``) or
    'script'."""
    where, params = _scope_filter(actor, "u.grid_code")
    return conn.cursor(row_factory=dict_row).execute(sql.SQL(
        "SELECT t.id, u.username, t.name, t.created_at, t.created_by, t.last_used_at,"
        " t.kind, t.expires_at FROM api_tokens t JOIN users u ON u.id = t.user_id"
        " WHERE t.revoked_at IS NULL AND (t.expires_at IS NULL OR t.expires_at > now())"
        " AND {} ORDER BY u.username, t.id").format(where),
        params).fetchall()
