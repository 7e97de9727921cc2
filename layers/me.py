"""The phone user's own view: who they are, their micro-grids, their tasks and
their households (``GET /api/v1/me``, ``/me/tasks``, ``/me/households``).

A user linked to a grid staff person (``users.staff_id``, migration 0022) works
the staff record's grid and its micro-grids; an account without a link works the
micro-grids of its jurisdiction. Everything stays inside the jurisdiction.
"""

import datetime as dt

from psycopg import sql
from psycopg.rows import dict_row

from geo import vocab, workdays
from layers import audit, households, incidents, photos
from layers.access import ROLE_PERMISSIONS, like_prefix

__all__ = ["MAX_GRIDS", "MAX_TASKS", "MAX_HOUSEHOLDS", "staff_of", "describe",
           "micro_grids", "tasks", "my_households", "iso"]

MAX_GRIDS = 1000
MAX_TASKS = 500
MAX_HOUSEHOLDS = 5000


def iso(value):
    return (value.astimezone(workdays.CHINA_TZ).isoformat()
            if isinstance(value, dt.datetime) else value)


def staff_of(conn, principal):
    """The grid staff person of the user (``{id, name, role, phone, grid_code}``)
    or None."""
    return conn.cursor(row_factory=dict_row).execute(
        "SELECT s.id, s.name, s.role, s.phone, s.grid_code FROM users u"
        " JOIN grid_staff s ON s.id = u.staff_id WHERE u.id = %s",
        (principal.user_id,)).fetchone()


def micro_grids(conn, principal, staff=None):
    """The micro-grids (level 4) the user works: under the staff person's grid
    (itself when it is one), else under the jurisdiction's root."""
    root = like_prefix(staff["grid_code"]) if staff else principal.prefix
    return conn.cursor(row_factory=dict_row).execute(
        "SELECT code, name, level FROM grids WHERE level = 4 AND code LIKE %s"
        " AND code LIKE %s ORDER BY code LIMIT %s",
        (root, principal.prefix, MAX_GRIDS)).fetchall()


def describe(conn, principal):
    """``<me>`` of the phone API contract."""
    user = conn.cursor(row_factory=dict_row).execute(
        "SELECT username, display_name, role, grid_code FROM users WHERE id = %s",
        (principal.user_id,)).fetchone()
    staff = staff_of(conn, principal)
    return user | {
        "role_label": ROLE_PERMISSIONS[principal.role][0],
        "staff": None if staff is None else {
            k: staff[k] for k in ("id", "name", "role", "phone")},
        "permissions": sorted(principal.permissions),
        "grids": micro_grids(conn, principal, staff),
    }


_TASKS = sql.SQL("""
SELECT i.id, i.code, i.category, i.subtype, i.description, i.status, i.deadline,
       (i.closed_at IS NULL AND i.deadline < now()) AS overdue, i.grid_code,
       g.name AS grid_name, ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.created_at,
       i.assignee_id
FROM incidents i LEFT JOIN grids g ON g.code = i.grid_code
WHERE i.grid_code LIKE %(scope)s
  AND (i.assignee_id = %(staff)s
       OR (i.closed_at IS NULL AND i.grid_code = ANY(%(grids)s)))
ORDER BY (i.closed_at IS NULL) DESC, i.deadline NULLS LAST, i.id
LIMIT %(limit)s
""")


def tasks(conn, principal):
    """Incidents assigned to the user's staff person, or open in the user's
    micro-grids: each with labels, its photos and the actions the user may do."""
    staff = staff_of(conn, principal)
    codes = [g["code"] for g in micro_grids(conn, principal, staff)]
    rows = conn.cursor(row_factory=dict_row).execute(_TASKS, {
        "scope": principal.prefix, "staff": staff and staff["id"], "grids": codes,
        "limit": MAX_TASKS}).fetchall()
    pictures = photos.of_incidents(conn, [r["id"] for r in rows])
    items = []
    for r in rows:
        assignee = r.pop("assignee_id")
        mine = staff is not None and assignee == staff["id"]
        items.append({k: iso(v) for k, v in r.items()} | {
            "category_label": vocab.label(vocab.INCIDENT_CATEGORIES, r["category"]),
            "status_label": vocab.label(vocab.INCIDENT_STATUSES, r["status"]),
            "assigned_to_me": mine,
            "photos": pictures.get(r["id"], []),
            "actions": incidents.actions_for(principal, r["status"], mine)})
    return items


def my_households(conn, principal):
    """The households of the user's micro-grids, masked per role, never tags,
    with the time of their last visit: one audited read."""
    staff = staff_of(conn, principal)
    codes = [g["code"] for g in micro_grids(conn, principal, staff)]
    rows = conn.cursor(row_factory=dict_row).execute(
        sql.SQL("SELECT {}, (SELECT max(v.visited_at) FROM visits v"
                " WHERE v.household_id = t.id) AS last_visit_at"
                " FROM households t WHERE t.grid_code LIKE %(scope)s"
                " AND t.grid_code = ANY(%(grids)s) ORDER BY t.grid_code, t.id"
                " LIMIT %(limit)s").format(households.FIELDS),
        {"personal": principal.can("households:personal"), "tags": False,
         "scope": principal.prefix, "grids": codes, "limit": MAX_HOUSEHOLDS}
    ).fetchall()
    keep = ("id", "address", "head_name", "size", "grid_code", "lon", "lat",
            "last_visit_at")
    audit.record_read(conn, principal, "households",
                      {"via": "me", "grids": len(codes)}, len(rows),
                      grid_code=staff["grid_code"] if staff else None)
    return [{k: iso(r[k]) for k in keep} for r in rows]
