"""研判 records: the levels of the 研判 chain, the items taken to their meetings,
the follow-up tasks, and escalation up the chain (issue 19, migration 0032).

The chain of the field reports is 街镇 → 区综治中心 → 区委平安建设领导小组. The
town (a level-1 grid) is the first level of every deployment; the levels above
it are configured by an administrator of the whole deployment (``save_level``):
ordered by ``rank`` (2, 3 …), each covering some grids (usually towns) or the
whole deployment (``covers`` None, the top).

An item links a warning (``early_warnings``) or a set of incidents to a meeting
at a level: date, participants, assessment, decisions, and follow-up tasks with
an owner (a user) and a deadline, open → done, overdue past the deadline. An
item its level cannot resolve is escalated (``escalate``): a new item at the
next level covering it, linked both ways (``escalated_from`` / ``escalated_to``);
past the top level it is refused.

Who may do what. Reading needs incidents:read and sees the items whose grid lies
in the user's jurisdiction, those of the levels the user sits at, and those
holding a task of the user's. Changing needs judgements:edit and: at the town,
the item's grid in the user's jurisdiction (as every edit); above the town, a
seat at the item's level (``judgement_level_members``). A seat, and not the
user's grid, because a level is not a grid: in a one-town deployment the district
centre and the town share the same grids, and one person may sit at two levels.
A task's owner may mark it done without judgements:edit. Every change writes an
audit row; every read of items (participants are people's names) one read row.

Timestamps leave this module as ISO 8601 in China time (+08:00); ``days_open``
counts China days.
"""

import datetime as dt

from psycopg import sql
from psycopg.rows import dict_row

from geo import vocab
from geo.catalogue import say, text
from geo.localtime import CHINA_TZ
from layers import audit
from layers.access import like_prefix
from layers.errors import Conflict, Forbidden, Invalid, NotFound

__all__ = ["STATUSES", "TASK_STATUSES", "MAX_INCIDENTS", "list_levels", "save_level",
           "delete_level", "create", "for_warning", "get", "list_items", "update",
           "add_task", "set_task", "escalate", "resolve"]

STATUSES = ("open", "resolved", "escalated")
TASK_STATUSES = ("open", "done")
MAX_INCIDENTS = 50
_LIMITS = {"title": 200, "participants": 1000, "assessment": 4000,
           "decisions": 4000, "resolution": 2000, "reason": 1000,
           "description": 1000, "note": 1000, "name": 100}
_MEETING_FIELDS = ("meeting_on", "participants", "assessment", "decisions", "title")


def _now(now):
    return now if now is not None else dt.datetime.now(dt.UTC)


def _json(value):
    if isinstance(value, dt.datetime):
        return value.astimezone(CHINA_TZ).isoformat()
    return value


def _text(value, field, required=False):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(say("err_required", field=field), field=field)
        return None
    if not isinstance(value, str):
        raise Invalid(say("err_must_be_text", field=field), field=field)
    if len(value.strip()) > _LIMITS[field]:
        raise Invalid(say("err_too_long", field=field, limit=_LIMITS[field]),
                      field=field)
    return value.strip()


def _id(value, field):
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**62:
        raise Invalid(say("err_jd_id", field=field), field=field)
    return value


# levels -----------------------------------------------------------------------

_LEVELS = """
    SELECT l.id, l.name, l.rank, l.covers,
           coalesce(array_agg(u.username ORDER BY u.username)
                    FILTER (WHERE u.id IS NOT NULL), '{}') AS members
    FROM judgement_levels l
    LEFT JOIN judgement_level_members m ON m.level_id = l.id
    LEFT JOIN users u ON u.id = m.user_id
    GROUP BY l.id ORDER BY l.rank, l.name
"""


def list_levels(conn):
    """The levels above the town, lowest first: ``[{id, name, rank, covers,
    members}]`` (``covers`` None: the whole deployment; ``members``: user
    names)."""
    return conn.cursor(row_factory=dict_row).execute(_LEVELS).fetchall()


def _level(conn, level_id, field="level_id"):
    for level in list_levels(conn):
        if level["id"] == level_id:
            return level
    raise NotFound(say("err_jd_no_level", id=level_id), field=field)


def _global_admin(principal):
    if principal.grid_code is not None:
        raise Forbidden(say("err_jd_levels_global"), field="level_id")


def _covers(conn, value):
    if value is None:
        return None
    if not isinstance(value, list) or not value or len(value) > 500:
        raise Invalid(say("err_jd_covers"), field="covers")
    codes = []
    for code in value:
        if not isinstance(code, str) or not code.isdigit() or len(code) > 18:
            raise Invalid(say("err_jd_covers"), field="covers")
        codes.append(code)
    known = {r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE code = ANY(%s)", (codes,))}
    missing = [c for c in codes if c not in known]
    if missing:
        raise Invalid(say("err_no_grid_code", code=missing[0]), field="covers")
    return sorted(set(codes))


def _members(conn, value):
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > 500 or not all(
            isinstance(v, str) for v in value):
        raise Invalid(say("err_jd_members"), field="members")
    found = dict(conn.execute(
        "SELECT username, id FROM users WHERE username = ANY(%s)",
        (list(value),)).fetchall())
    missing = [v for v in value if v not in found]
    if missing:
        raise Invalid(say("err_user", username=missing[0]), field="members")
    return sorted({found[v] for v in value})


def save_level(conn, principal, fields, level_id=None):
    """Create (``level_id`` None) or change a level: ``name``, ``rank`` (2–20),
    ``covers`` (grid codes; null: the whole deployment), ``members`` (user
    names). An administrator of the whole deployment only. Returns the level."""
    _global_admin(principal)
    name = _text(fields.get("name"), "name",
                 required=level_id is None or "name" in fields)
    rank = fields.get("rank")
    if rank is not None or level_id is None:
        if isinstance(rank, bool) or not isinstance(rank, int) or not 2 <= rank <= 20:
            raise Invalid(say("err_jd_rank"), field="rank")
    with conn.transaction():
        covers = _covers(conn, fields.get("covers"))
        members = _members(conn, fields.get("members"))
        before = None if level_id is None else _level(conn, level_id)
        if name is not None and conn.execute(
                "SELECT 1 FROM judgement_levels WHERE name = %s AND id <> %s",
                (name, level_id or 0)).fetchone():
            raise Conflict(say("err_jd_level_name_taken", name=name), field="name")
        if before is None:
            level_id = conn.execute(
                "INSERT INTO judgement_levels (name, rank, covers) VALUES (%s, %s, %s)"
                " RETURNING id", (name, rank, covers)).fetchone()[0]
        else:
            changes = {"name": name, "rank": rank}
            if "covers" in fields:
                changes["covers"] = covers
            changes = {k: v for k, v in changes.items()
                       if v is not None or k == "covers"}
            if changes:
                conn.execute(sql.SQL("UPDATE judgement_levels SET {} WHERE id = {}")
                             .format(sql.SQL(", ").join(
                                 sql.SQL("{} = {}").format(sql.Identifier(k),
                                                           sql.Placeholder(k))
                                 for k in changes), sql.Placeholder("id")),
                             changes | {"id": level_id})
        if members is not None:
            conn.execute("DELETE FROM judgement_level_members WHERE level_id = %s",
                         (level_id,))
            conn.execute("INSERT INTO judgement_level_members (level_id, user_id)"
                         " SELECT %s, unnest(%s::bigint[])", (level_id, members))
        after = _level(conn, level_id)
        audit.record(conn, principal, "create" if before is None else "update",
                     "judgement_levels", level_id, before=before, after=after)
    return after


def delete_level(conn, principal, level_id):
    """Remove a level that holds no items (409 otherwise)."""
    _global_admin(principal)
    with conn.transaction():
        before = _level(conn, level_id)
        if conn.execute("SELECT 1 FROM judgement_items WHERE level_id = %s LIMIT 1",
                        (level_id,)).fetchone():
            raise Conflict(say("err_jd_level_has_items", name=before["name"]),
                           field="level_id")
        conn.execute("DELETE FROM judgement_levels WHERE id = %s", (level_id,))
        audit.record(conn, principal, "delete", "judgement_levels", level_id,
                     before=before)


def _seats(conn, principal):
    """The ids of the levels the user sits at."""
    if principal.user_id is None:
        return []
    return [r[0] for r in conn.execute(
        "SELECT level_id FROM judgement_level_members WHERE user_id = %s",
        (principal.user_id,))]


def _covering(level, codes):
    return level["covers"] is None or all(
        any(code.startswith(c) for c in level["covers"]) for code in codes)


# items: reading -----------------------------------------------------------------

_SELECT = """
    SELECT j.id, j.level_id, coalesce(l.rank, 1) AS rank, l.name AS level_name,
           j.town_code, t.name AS town_name, j.grid_code, g.name AS grid_name,
           j.warning_id, j.incidents, j.title, j.meeting_on, j.participants,
           j.assessment, j.decisions, j.status, j.resolution, j.escalated_from,
           (SELECT u.id FROM judgement_items u WHERE u.escalated_from = j.id)
               AS escalated_to,
           j.escalation_reason, j.created_by, j.created_at, j.closed_at,
           (SELECT count(*) FROM judgement_tasks k WHERE k.item_id = j.id
              AND k.status = 'open') AS open_tasks,
           (SELECT count(*) FROM judgement_tasks k WHERE k.item_id = j.id
              AND k.status = 'open' AND k.deadline < %(now)s) AS overdue_tasks
    FROM judgement_items j
    LEFT JOIN judgement_levels l ON l.id = j.level_id
    LEFT JOIN grids t ON t.code = j.town_code
    LEFT JOIN grids g ON g.code = j.grid_code
"""
_VISIBLE = """(j.grid_code LIKE %(scope)s OR j.level_id = ANY(%(seats)s)
    OR EXISTS (SELECT 1 FROM judgement_tasks k WHERE k.item_id = j.id
               AND k.owner_id = %(uid)s))"""
_TASKS = """
    SELECT k.id, k.item_id, k.description, u.username AS owner,
           u.display_name AS owner_name, k.deadline, k.status, k.note, k.done_by,
           k.done_at, k.created_by, k.created_at,
           (k.status = 'open' AND k.deadline < %(now)s) AS overdue
    FROM judgement_tasks k JOIN users u ON u.id = k.owner_id
    WHERE k.item_id = ANY(%(ids)s)
    ORDER BY (k.status = 'open' AND k.deadline < %(now)s) DESC, k.status,
             k.deadline, k.id
"""


def _params(conn, principal, now):
    return {"scope": principal.prefix, "seats": _seats(conn, principal),
            "uid": principal.user_id or 0, "now": _now(now)}


def _out(row, tasks, now):
    today = _now(now).astimezone(CHINA_TZ).date()
    end = row["closed_at"].astimezone(CHINA_TZ).date() if row["closed_at"] else today
    row = {k: _json(v) for k, v in row.items()}
    row["level_label"] = row["level_name"] or text("jd_town_level")
    row["days_open"] = (end - dt.datetime.fromisoformat(row["created_at"]).date()).days
    row["tasks"] = [{k: _json(v) for k, v in t.items() if k != "item_id"}
                    for t in tasks]
    return row


def _with_tasks(conn, rows, params):
    cur = conn.cursor(row_factory=dict_row)
    tasks = {}
    if rows:
        for t in cur.execute(_TASKS, {"ids": [r["id"] for r in rows],
                                      "now": params["now"]}):
            tasks.setdefault(t["item_id"], []).append(t)
    return [_out(r, tasks.get(r["id"], []), params["now"]) for r in rows]


def list_items(conn, principal, status="open", level=None, grid=None, limit=100,
               now=None):
    """The items the user may read (see the module), those with overdue tasks
    first, then the oldest: ``{"total", "items"}``, each with its tasks, its
    ``days_open`` and its counts of open and overdue tasks. ``status``: one of
    ``STATUSES`` or "all"; ``level``: a level's id, or 0 for the towns';
    ``grid``: a subtree. The read is audited (one row)."""
    params = _params(conn, principal, now) | {"limit": limit}
    where = [sql.SQL(_VISIBLE)]
    if status != "all":
        if status not in STATUSES:
            raise Invalid(say("err_param_one_of", name="status", raw=status,
                              allowed=", ".join(("all", *STATUSES))), field="status")
        params["status"] = status
        where.append(sql.SQL("j.status = %(status)s"))
    if level == 0:
        where.append(sql.SQL("j.level_id IS NULL"))
    elif level is not None:
        params["level"] = level
        where.append(sql.SQL("j.level_id = %(level)s"))
    if grid:
        params["grid"] = like_prefix(grid)
        where.append(sql.SQL("j.grid_code LIKE %(grid)s"))
    condition = sql.SQL(" AND ").join(where)
    cur = conn.cursor(row_factory=dict_row)
    total = cur.execute(sql.SQL("SELECT count(*) AS n FROM judgement_items j"
                                " WHERE {}").format(condition), params).fetchone()["n"]
    rows = cur.execute(sql.SQL(" ").join([
        sql.SQL(_SELECT), sql.SQL("WHERE"), condition,
        sql.SQL("ORDER BY overdue_tasks DESC, j.created_at, j.id"
                " LIMIT %(limit)s")]), params).fetchall()
    audit.record_read(conn, principal, "judgement_items",
                      {"status": status, "level": level, "grid": grid,
                       "limit": limit}, len(rows))
    return {"total": total, "items": _with_tasks(conn, rows, params)}


def _row(conn, principal, item_id, now=None, lock=False):
    params = _params(conn, principal, now) | {"id": item_id}
    query = sql.SQL(" ").join([sql.SQL(_SELECT), sql.SQL(
        "WHERE j.id = %(id)s AND"), sql.SQL(_VISIBLE)])
    if lock:
        conn.execute("SELECT 1 FROM judgement_items WHERE id = %s FOR UPDATE",
                     (item_id,))
    row = conn.cursor(row_factory=dict_row).execute(query, params).fetchone()
    if row is None:
        raise NotFound(say("err_jd_not_found", id=item_id), field="judgement_id")
    return row, params


def get(conn, principal, item_id, now=None, audited=True):
    """One item the user may read, with its tasks (404 otherwise)."""
    row, params = _row(conn, principal, item_id, now)
    if audited:
        audit.record(conn, principal, "read", "judgement_items", item_id,
                     after={"query": {"via": "get"}}, grid_code=row["grid_code"],
                     records=1)
    return _with_tasks(conn, [row], params)[0]


# items: changing ------------------------------------------------------------------

def _may_edit(conn, principal, row):
    """Refuse (403) a change of the item by a user who may read it but not
    change it: judgements:edit, and at the town its grid in the jurisdiction,
    above the town a seat at its level."""
    if not principal.can("judgements:edit"):
        raise Forbidden(say("err_jd_no_permission"), field="judgement_id")
    if row["level_id"] is None:
        if not row["grid_code"].startswith(principal.grid_code or ""):
            raise Forbidden(say("err_jd_outside", code=row["grid_code"]),
                            field="judgement_id")
    elif row["level_id"] not in _seats(conn, principal):
        raise Forbidden(say("err_jd_not_member", level=row["level_name"]),
                        field="judgement_id")


def _owner(conn, username, grid_code, level_id):
    """The user id of a task's owner: an active user who may read the item (its
    jurisdiction and the item's grid overlap, or a seat at its level)."""
    if not isinstance(username, str) or not username.strip():
        raise Invalid(say("err_required", field="owner"), field="owner")
    row = conn.execute(
        "SELECT u.id, u.active, u.grid_code, EXISTS (SELECT 1 FROM"
        " judgement_level_members m WHERE m.user_id = u.id AND m.level_id = %s)"
        " FROM users u WHERE u.username = %s", (level_id, username.strip())
    ).fetchone()
    if row is None or not row[1]:
        raise Invalid(say("err_jd_owner_unknown", username=username), field="owner")
    user_id, _, root, seated = row
    if not (seated or root is None or grid_code.startswith(root)
            or root.startswith(grid_code)):
        raise Invalid(say("err_jd_owner_outside", username=username,
                          code=grid_code), field="owner")
    return user_id


def _check_task(fields, now):
    """A task's fields, checked: ``description``, ``owner`` (a user name) and
    ``deadline`` (an aware datetime, not before now)."""
    if not isinstance(fields, dict):
        raise Invalid(say("err_jd_task_object"), field="tasks")
    description = _text(fields.get("description"), "description", required=True)
    deadline = fields.get("deadline")
    if not isinstance(deadline, dt.datetime) or deadline.tzinfo is None:
        raise Invalid(say("err_required", field="deadline"), field="deadline")
    if deadline < _now(now) - dt.timedelta(days=1):
        raise Invalid(say("err_jd_deadline_past"), field="deadline")
    return description, fields.get("owner"), deadline


def _insert_task(conn, principal, row, fields, now):
    description, owner, deadline = _check_task(fields, now)
    owner_id = _owner(conn, owner, row["grid_code"], row["level_id"])
    task_id = conn.execute(
        "INSERT INTO judgement_tasks (item_id, description, owner_id, deadline,"
        " created_by) VALUES (%s, %s, %s, %s, %s) RETURNING id",
        (row["id"], description, owner_id, deadline, principal.username)
    ).fetchone()[0]
    audit.record(conn, principal, "create", "judgement_tasks", task_id,
                 after={"item": row["id"], "description": description,
                        "owner": owner, "deadline": deadline.isoformat()},
                 grid_code=row["grid_code"])
    return task_id


def _meeting(fields):
    """The meeting's fields given (``meeting_on`` a date or None)."""
    found = {}
    for name in ("title", "participants", "assessment", "decisions"):
        if name in fields:
            found[name] = _text(fields[name], name)
    if "meeting_on" in fields:
        day = fields["meeting_on"]
        if day is not None and not isinstance(day, dt.date):
            raise Invalid(say("err_date_yyyy_mm_dd", name="meeting_on", raw=day),
                          field="meeting_on")
        found["meeting_on"] = day
    return found


def _common_grid(codes):
    """The deepest grid code (6 + 3k digits) that every code starts with."""
    first = min(codes)
    last = max(codes)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:max(6, n - (n - 6) % 3)] if n >= 6 else first[:n]


def _subject(conn, principal, fields):
    """What an item is about: ``(warning_id, incidents, grids, grid_code,
    title)`` (``grids``: the grids it concerns; ``grid_code``: the deepest grid
    holding them all)."""
    warning_id, incidents = fields.get("warning_id"), fields.get("incidents")
    if (warning_id is None) == (incidents is None or incidents == []):
        raise Invalid(say("err_jd_subject"), field="warning_id")
    if warning_id is not None:
        _id(warning_id, "warning_id")
        row = conn.execute(
            "SELECT w.grid_code, w.category, w.incidents, g.name FROM early_warnings w"
            " LEFT JOIN grids g ON g.code = w.grid_code"
            " WHERE w.id = %s AND w.grid_code LIKE %s",
            (warning_id, principal.prefix)).fetchone()
        if row is None:
            raise NotFound(say("ew_not_found", id=warning_id), field="warning_id")
        code, category, codes, name = row
        label = (vocab.label(vocab.INCIDENT_CATEGORIES, category) if category
                 else text("ew_all_categories"))
        title = text("jd_title_warning", "zh", grid=name or code, category=label)
        return warning_id, list(codes), [code], code, title
    if not isinstance(incidents, list) or len(incidents) > MAX_INCIDENTS or not all(
            isinstance(c, str) and 0 < len(c) <= 40 for c in incidents):
        raise Invalid(say("err_jd_incidents", limit=MAX_INCIDENTS), field="incidents")
    codes = sorted(set(incidents))
    found = dict(conn.execute(
        "SELECT code, grid_code FROM incidents WHERE code = ANY(%s)"
        " AND grid_code LIKE %s", (codes, principal.prefix)).fetchall())
    missing = [c for c in codes if c not in found]
    if missing:
        raise NotFound(say("err_no_incident", code=missing[0]), field="incidents")
    grids = sorted(set(found.values()))
    title = text("jd_title_incidents", "zh", n=len(codes), first=codes[0])
    return None, codes, grids, _common_grid(grids), title


def _place(conn, principal, level_id, grids, grid_code):
    """``(level_id, town_code, level_name)`` of a new item: the town holding
    its grids (``level_id`` None), or a level the user sits at covering them."""
    if level_id is None:
        if len(grid_code) < 9:
            raise Invalid(say("err_jd_several_towns"), field="incidents")
        return None, grid_code[:9], None
    _id(level_id, "level_id")
    level = _level(conn, level_id)
    if not _covering(level, grids):
        raise Invalid(say("err_jd_level_not_covering", level=level["name"]),
                      field="level_id")
    if level_id not in _seats(conn, principal):
        raise Forbidden(say("err_jd_not_member", level=level["name"]),
                        field="level_id")
    return level_id, None, level["name"]


def create(conn, principal, fields, now=None):
    """Record an item: ``warning_id`` or ``incidents`` (codes), ``level_id``
    (None: the town's 研判), the meeting (``title``, ``meeting_on`` a date,
    ``participants``, ``assessment``, ``decisions``) and ``tasks`` ([{description,
    owner, deadline}]). Returns the item."""
    if not principal.can("judgements:edit"):
        raise Forbidden(say("err_jd_no_permission"), field="judgement_id")
    meeting = _meeting(fields)
    tasks = fields.get("tasks") or []
    if not isinstance(tasks, list) or len(tasks) > 50:
        raise Invalid(say("err_jd_task_object"), field="tasks")
    with conn.transaction():
        warning_id, incidents, grids, grid_code, title = _subject(
            conn, principal, fields)
        level_id, town, _ = _place(conn, principal, fields.get("level_id"), grids,
                                   grid_code)
        values = {"title": title} | meeting | {
            "level_id": level_id, "town_code": town, "grid_code": grid_code,
            "warning_id": warning_id, "incidents": incidents,
            "created_by": principal.username}
        values["title"] = values["title"] or title
        item_id = conn.execute(sql.SQL(
            "INSERT INTO judgement_items ({}) VALUES ({}) RETURNING id").format(
                sql.SQL(", ").join(map(sql.Identifier, values)),
                sql.SQL(", ").join(map(sql.Placeholder, values))), values
        ).fetchone()[0]
        row, _ = _row(conn, principal, item_id, now)
        for task in tasks:
            _insert_task(conn, principal, row, task, now)
        audit.record(conn, principal, "create", "judgement_items", item_id,
                     after={k: (v.isoformat() if isinstance(v, dt.date) else v)
                            for k, v in values.items()}, grid_code=grid_code)
        return get(conn, principal, item_id, now, audited=False)


def for_warning(conn, principal, warning_id):
    """The 研判 item of a warning sent to 研判 ("assess"): its latest, or a new
    one at the town's level; its id."""
    found = conn.execute(
        "SELECT max(id) FROM judgement_items WHERE warning_id = %s",
        (warning_id,)).fetchone()[0]
    if found is not None:
        return found
    return create(conn, principal, {"warning_id": warning_id})["id"]


def _words(key):
    """A word of the catalogue as ``{"zh": …, "en": …}`` for a sentence's
    placeholders ``{zh}`` and ``{en}``."""
    return {"zh": text(key, "zh"), "en": text(key, "en")}


def _closed(item_id, status):
    return Conflict(say("err_jd_closed", id=item_id, **_words("jd_status_" + status)),
                    field="judgement_id", state=status)


def _open_row(conn, principal, item_id, now=None):
    row, _ = _row(conn, principal, item_id, now, lock=True)
    _may_edit(conn, principal, row)
    if row["status"] != "open":
        raise _closed(item_id, row["status"])
    return row


def update(conn, principal, item_id, fields, now=None):
    """Change the meeting's fields of an open item; returns it."""
    unknown = sorted(set(fields) - set(_MEETING_FIELDS))
    if unknown:
        raise Invalid(say("err_jd_unknown_field", name=unknown[0],
                          fields=", ".join(_MEETING_FIELDS)), field=unknown[0])
    changes = _meeting(fields)
    if "title" in changes and changes["title"] is None:
        raise Invalid(say("err_required", field="title"), field="title")
    with conn.transaction():
        row = _open_row(conn, principal, item_id, now)
        if changes:
            conn.execute(sql.SQL("UPDATE judgement_items SET {} WHERE id = {}").format(
                sql.SQL(", ").join(sql.SQL("{} = {}").format(
                    sql.Identifier(k), sql.Placeholder(k)) for k in changes),
                sql.Placeholder("id")), changes | {"id": item_id})
            audit.record(conn, principal, "update", "judgement_items", item_id,
                         before={k: _json(row[k]) if not isinstance(row[k], dt.date)
                                 else row[k].isoformat() for k in changes},
                         after={k: v.isoformat() if isinstance(v, dt.date) else v
                                for k, v in changes.items()},
                         grid_code=row["grid_code"])
        return get(conn, principal, item_id, now, audited=False)


def add_task(conn, principal, item_id, fields, now=None):
    """Add a follow-up task to an open item; returns the item."""
    with conn.transaction():
        row = _open_row(conn, principal, item_id, now)
        _insert_task(conn, principal, row, fields, now)
        return get(conn, principal, item_id, now, audited=False)


def set_task(conn, principal, item_id, task_id, status, note=None, now=None):
    """Mark a task done (its owner, or whoever may change the item) or open
    again (whoever may change the item); returns the item."""
    if status not in TASK_STATUSES:
        raise Invalid(say("err_unknown_choice", field="status", value=status,
                          choices=", ".join(TASK_STATUSES)), field="status")
    note = _text(note, "note")
    at = _now(now)
    with conn.transaction():
        row, _ = _row(conn, principal, item_id, now, lock=True)
        task = conn.execute(
            "SELECT t.status, t.owner_id, u.username FROM judgement_tasks t"
            " JOIN users u ON u.id = t.owner_id WHERE t.id = %s AND t.item_id = %s",
            (task_id, item_id)).fetchone()
        if task is None:
            raise NotFound(say("err_jd_no_task", id=task_id), field="task_id")
        if not (status == "done" and task[1] == principal.user_id):
            _may_edit(conn, principal, row)
        if row["status"] == "resolved":
            raise _closed(item_id, "resolved")
        if task[0] == status:
            raise Conflict(say("err_jd_task_already", **_words("jd_task_" + status)),
                           field="status", state=status)
        conn.execute(
            "UPDATE judgement_tasks SET status = %s, note = coalesce(%s, note),"
            " done_by = %s, done_at = %s WHERE id = %s",
            (status, note, principal.username if status == "done" else None,
             at if status == "done" else None, task_id))
        audit.record(conn, principal, "update", "judgement_tasks", task_id,
                     before={"status": task[0]},
                     after={"status": status, "note": note, "item": item_id},
                     grid_code=row["grid_code"])
        return get(conn, principal, item_id, now, audited=False)


def resolve(conn, principal, item_id, resolution, now=None):
    """Close an item its level has resolved: every task done, a ``resolution``
    said; returns it."""
    resolution = _text(resolution, "resolution", required=True)
    with conn.transaction():
        row = _open_row(conn, principal, item_id, now)
        if row["open_tasks"]:
            raise Conflict(say("err_jd_open_tasks", n=row["open_tasks"]),
                           field="judgement_id", state="open")
        conn.execute("UPDATE judgement_items SET status = 'resolved', resolution = %s,"
                     " closed_at = %s WHERE id = %s", (resolution, _now(now), item_id))
        audit.record(conn, principal, "update", "judgement_items", item_id,
                     before={"status": "open"},
                     after={"status": "resolved", "resolution": resolution},
                     grid_code=row["grid_code"])
        return get(conn, principal, item_id, now, audited=False)


def _next_level(conn, row):
    """The level above the item's that covers it (lowest rank first), or None."""
    grids = [row["grid_code"]]
    if row["incidents"] and len(row["grid_code"]) < 9:
        grids = [r[0] for r in conn.execute(
            "SELECT DISTINCT grid_code FROM incidents WHERE code = ANY(%s)",
            (row["incidents"],))] or grids
    above = [lv for lv in list_levels(conn) if lv["rank"] > row["rank"]
             and _covering(lv, grids)]
    return above[0] if above else None


def escalate(conn, principal, item_id, reason, now=None):
    """提级: the item's level cannot resolve it. A new item at the next level
    covering it, linked both ways; this one is closed as escalated. Past the
    top level, a Conflict. Returns the new item."""
    reason = _text(reason, "reason", required=True)
    at = _now(now)
    with conn.transaction():
        row = _open_row(conn, principal, item_id, now)
        level = _next_level(conn, row)
        if level is None:
            raise Conflict(say("err_jd_top", level=row["level_name"] or text(
                "jd_town_level")), field="judgement_id", state="open")
        new_id = conn.execute(
            "INSERT INTO judgement_items (level_id, grid_code, warning_id, incidents,"
            " title, escalated_from, escalation_reason, created_by, created_at)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s) RETURNING id",
            (level["id"], row["grid_code"], row["warning_id"], row["incidents"],
             row["title"], item_id, reason, principal.username, at)).fetchone()[0]
        conn.execute("UPDATE judgement_items SET status = 'escalated',"
                     " escalation_reason = %s, closed_at = %s WHERE id = %s",
                     (reason, at, item_id))
        audit.record(conn, principal, "update", "judgement_items", item_id,
                     before={"status": "open"},
                     after={"status": "escalated", "escalated_to": new_id,
                            "reason": reason}, grid_code=row["grid_code"])
        audit.record(conn, principal, "create", "judgement_items", new_id,
                     after={"level_id": level["id"], "escalated_from": item_id,
                            "reason": reason}, grid_code=row["grid_code"])
    # the escalating user may not sit at the level above: answered as the
    # system sees it, the read audited under the user
    return _escalated(conn, principal, new_id, now)


def _escalated(conn, principal, new_id, now):
    params = {"scope": "%", "seats": [], "uid": 0, "now": _now(now), "id": new_id}
    row = conn.cursor(row_factory=dict_row).execute(sql.SQL(" ").join([
        sql.SQL(_SELECT), sql.SQL("WHERE j.id = %(id)s")]), params).fetchone()
    return _with_tasks(conn, [row], params)[0]
