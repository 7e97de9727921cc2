"""网格公示牌 (issue 17): what a grid's printed notice shows, and its two fields.

A notice is printed for a comprehensive grid (level 3) or a micro-grid (level 4):
its name, code and parent chain, its boundary with the neighbouring grids of its
level as context, its people with the number each chose for public notices
(公示电话), its service hours (服务时间) and its household count.

The people of a grid are those whose ``grid_staff.grid_code`` is the grid or one
of its ancestors below the town (the demo's: the village's 网格长, the
comprehensive grid's 专职/兼职网格员, the micro-grid's 联络员 and 志愿者), so a
micro-grid's notice names who answers for it at every level. Phone numbers are
staff data, not household data: reading them needs ``staff:contact`` (every role
that prints has it) and writes no audit row, like the staff of ``locate``.

This module is SQL only; the page is drawn by ``layers/notice_print.py``.
"""

import re

import shapely
from psycopg.rows import dict_row

from geo import vocab
from geo.catalogue import say
from layers import audit
from layers.access import like_prefix
from layers.errors import Invalid, NotFound, Unprocessable
from layers.grid_edit import check_version
from layers.grid_scope import check_editable

__all__ = ["LEVELS", "MAX_SERVICE_HOURS", "PHONE_CHOICES", "MAX_NOTICES",
           "notice", "notice_codes", "set_service_hours", "set_notice_phone"]

LEVELS = (3, 4)  # the grids that post a notice
MAX_SERVICE_HOURS = 200  # characters: what the notice's box holds (0027's CHECK)
# 公示电话: the work phone (default), another number the person gave, or none
PHONE_CHOICES = ("work", "other", "none")
# pages of one PDF (~0.5 s of drawing each): a town of the seeds (25–180
# comprehensive grids and ~90 micro-grids) fits; a district is printed village
# by village
MAX_NOTICES = 300
_PHONE = r"^[0-9+\- ]{5,20}$"
# neighbours drawn for context: the grids of the same level within this share of
# the grid's larger extent around it
_CONTEXT = 0.6
_ROLE_ORDER = list(vocab.STAFF_ROLES)

_GRID = """
SELECT g.code, g.name, g.level, g.service_hours, ST_AsBinary(g.geom) AS wkb,
       (SELECT count(*) FROM households h
        WHERE h.grid_code LIKE %(below)s) AS households
FROM grids g WHERE g.code = %(code)s AND g.code LIKE %(scope)s
"""

_CHAIN = """
SELECT code, name, level FROM grids
WHERE code = ANY(%(ancestors)s) ORDER BY level
"""

_STAFF = """
SELECT s.id, s.name, s.role, s.grid_code, s.phone, s.notice_phone_choice,
       s.notice_phone,
       CASE s.notice_phone_choice WHEN 'work' THEN s.phone
            WHEN 'other' THEN s.notice_phone END AS shown_phone
FROM grid_staff s
WHERE s.active AND s.grid_code = ANY(%(chain)s)
ORDER BY array_position(%(roles)s, s.role), length(s.grid_code) DESC, s.id
"""

# the same level's grids around it (in the user's jurisdiction), simplified
_NEIGHBOURS = """
WITH me AS (SELECT geom, ST_Expand(geom, %(pad)s) AS box FROM grids
            WHERE code = %(code)s)
SELECT g.code, g.name,
       ST_AsBinary(ST_SimplifyPreserveTopology(g.geom, %(detail)s)) AS wkb
FROM grids g, me
WHERE g.level = %(level)s AND g.code <> %(code)s AND g.code LIKE %(scope)s
  AND g.geom && me.box
ORDER BY g.code
"""


def notice(conn, principal, code):
    """What the notice of grid ``code`` shows.

    Returns
    -------
    dict
        ``code, name, level, service_hours, households``; ``geometry`` (shapely,
        EPSG:4326); ``chain`` (the ancestors ``[{code, name, level}]``, town
        first); ``staff`` (``[{id, name, role, grid_code, phone,
        notice_phone_choice, notice_phone, shown_phone}]``, chiefs first;
        ``shown_phone`` is what the notice prints, None for none);
        ``neighbours`` (``[{code, name, geometry}]``: the same level's grids
        around it, for context).

    Raises
    ------
    NotFound
        Unknown, or outside the user's jurisdiction (alike).
    Unprocessable
        A town or a village: their notices are their grids' (``notices.pdf``).
    """
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(_GRID, {"code": code, "scope": principal.prefix,
                              "below": like_prefix(code)}).fetchone()
    if row is None:
        raise NotFound(say("err_no_grid_code", code=code), field="code")
    if row["level"] not in LEVELS:
        raise Unprocessable(say("err_notice_level", code=code), field="code")
    geom = shapely.from_wkb(bytes(row.pop("wkb")))
    ancestors = [code[:n] for n in range(9, len(code), 3)]
    chain = cur.execute(_CHAIN, {"ancestors": ancestors}).fetchall()
    staff = cur.execute(_STAFF, {"chain": [code, *ancestors[1:]],
                                 "roles": _ROLE_ORDER}).fetchall()
    x0, y0, x1, y1 = geom.bounds
    extent = max(x1 - x0, y1 - y0)
    neighbours = [
        {"code": r["code"], "name": r["name"],
         "geometry": shapely.from_wkb(bytes(r["wkb"]))}
        for r in cur.execute(_NEIGHBOURS, {
            "code": code, "level": row["level"], "scope": principal.prefix,
            "pad": _CONTEXT * extent, "detail": extent / 2000})]
    return {**row, "geometry": geom, "chain": chain, "staff": staff,
            "neighbours": neighbours}


def notice_codes(conn, principal, code):
    """The level-3 and level-4 grids under grid ``code`` (itself included when of
    those levels) in the user's jurisdiction, in code order: the pages of its
    notices' PDF. NotFound for a grid unknown or outside the jurisdiction;
    Unprocessable for none, or past ``MAX_NOTICES`` pages."""
    found = conn.execute(
        "SELECT 1 FROM grids WHERE code = %s AND code LIKE %s",
        (code, principal.prefix)).fetchone()
    if found is None:
        raise NotFound(say("err_no_grid_code", code=code), field="code")
    codes = [r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE code LIKE %s AND code LIKE %s"
        " AND level = ANY(%s) ORDER BY code",
        (like_prefix(code), principal.prefix, list(LEVELS)))]
    if not codes:
        raise Unprocessable(say("err_notices_none", code=code), field="code")
    if len(codes) > MAX_NOTICES:
        raise Unprocessable(say("err_notices_too_many", code=code, n=len(codes),
                                limit=MAX_NOTICES), field="code")
    return codes


def _locked(conn, query, params, missing):
    """The row ``query`` reads FOR UPDATE within the user's jurisdiction (its
    parameters ``params``), as a dict; ``missing`` raised when there is none (one
    unknown and one outside alike)."""
    row = conn.cursor(row_factory=dict_row).execute(query, params).fetchone()
    if row is None:
        raise missing
    return row


def set_service_hours(conn, principal, code, hours, version):
    """Set grid ``code``'s service hours (None or blank: none); returns the new
    version. Checked like every grid edit: strictly below the root of the user's
    jurisdiction (403), unknown or outside it 404, a stale ``version`` 409."""
    if hours is not None and not isinstance(hours, str):
        raise Invalid(say("err_service_hours_text"), field="service_hours")
    hours = (hours or "").strip() or None
    if hours is not None and len(hours) > MAX_SERVICE_HOURS:
        raise Invalid(say("err_service_hours_long", n=len(hours),
                          limit=MAX_SERVICE_HOURS), field="service_hours")
    check_editable(principal, code)
    with conn.transaction():
        row = _locked(conn, "SELECT code, version, service_hours FROM grids"
                            " WHERE code = %s AND code LIKE %s FOR UPDATE",
                      (code, principal.prefix),
                      NotFound(say("err_no_grid_code", code=code), field="code"))
        check_version(row, version)
        new_version = conn.execute(
            "UPDATE grids SET service_hours = %s WHERE code = %s RETURNING version",
            (hours, code)).fetchone()[0]
        audit.record(conn, principal, "update", "grids", code,
                     before={"service_hours": row["service_hours"]},
                     after={"service_hours": hours}, grid_code=code)
    return new_version


def set_notice_phone(conn, principal, staff_id, choice, phone=None):
    """Set which number of grid staff person ``staff_id`` goes on notices:
    ``work`` (the work phone), ``other`` (``phone``, required) or ``none``.
    The person must be of a grid in the user's jurisdiction (404 otherwise, as
    for one who does not exist). Returns the person's notice fields."""
    if choice not in PHONE_CHOICES:
        raise Invalid(say("err_notice_phone_choice", v=choice,
                          choices=", ".join(PHONE_CHOICES)),
                      field="notice_phone_choice")
    if choice == "other":
        if not isinstance(phone, str) or not phone.strip():
            raise Invalid(say("err_notice_phone_required"), field="notice_phone")
        phone = phone.strip()

        if not re.fullmatch(_PHONE, phone):
            raise Invalid(say("err_notice_phone_format", v=phone),
                          field="notice_phone")
    else:
        phone = None
    with conn.transaction():
        row = _locked(conn, "SELECT id, grid_code, notice_phone_choice, notice_phone"
                            " FROM grid_staff WHERE id = %s AND grid_code LIKE %s"
                            " FOR UPDATE", (staff_id, principal.prefix),
                      NotFound(say("err_grid_staff", staff_id=staff_id),
                               field="staff"))
        conn.execute(
            "UPDATE grid_staff SET notice_phone_choice = %s, notice_phone = %s"
            " WHERE id = %s", (choice, phone, staff_id))
        after = {"notice_phone_choice": choice, "notice_phone": phone}
        audit.record(conn, principal, "update", "grid_staff", staff_id,
                     before={k: row[k] for k in after}, after=after,
                     grid_code=row["grid_code"])
    return {"id": staff_id, **after}
