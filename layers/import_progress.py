"""Where a running import has got to (migration 0012), for the page that sent it.

An import is one transaction: nothing it writes is visible before it commits. Its
phases (reading, checking, assigning, writing …) are therefore recorded by the
caller on a second connection, in autocommit, under a token the page chose, and
read back by the page while it waits. Only the user who sent the import reads its
progress. Rows older than a day are cleared as new ones come in.
"""

import re

from psycopg.rows import dict_row

from geo.catalogue import say
from layers.errors import Invalid

__all__ = ["check_token", "record", "read"]

_TOKEN = re.compile(r"[A-Za-z0-9_-]{8,64}")


def check_token(token, field="progress"):
    """The token, or Invalid naming ``field``."""
    if not isinstance(token, str) or not _TOKEN.fullmatch(token):
        raise Invalid(say("err_progress_key", field=field), field=field)
    return token


def record(conn, principal, token, phase, rows=None, seconds=0.0):
    """Note that the import under ``token`` has reached ``phase`` (autocommit
    ``conn``: not the import's own transaction)."""
    conn.execute("DELETE FROM import_progress"
                 " WHERE updated_at < now() - interval '1 day'")
    conn.execute(
        "INSERT INTO import_progress (token, user_id, phase, rows, seconds)"
        " VALUES (%(token)s, %(user)s, %(phase)s, %(rows)s, %(seconds)s)"
        " ON CONFLICT (token) DO UPDATE SET phase = excluded.phase,"
        "   rows = excluded.rows, seconds = excluded.seconds, updated_at = now()"
        " WHERE import_progress.user_id = excluded.user_id",
        {"token": token, "user": principal.user_id, "phase": phase,
         "rows": rows, "seconds": float(seconds)})


def read(conn, principal, token):
    """``{phase, rows, seconds, updated_at}`` of the user's import ``token``;
    phase ``waiting`` when nothing is recorded under it for this user (not yet
    started — a page polls from the end of its upload — or someone else's)."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT phase, rows, seconds, updated_at FROM import_progress"
        " WHERE token = %s AND user_id = %s", (token, principal.user_id)).fetchone()
    return row or {"phase": "waiting", "rows": None, "seconds": 0.0,
                   "updated_at": None}
