"""Household visits (入户走访): who visited which household, when and where, the
distance from the household's recorded location (metres, on the spheroid: PostGIS
``geography``), and the tags a visit proposes, pending until a dispatcher or an
administrator confirms them (``confirm_tag``). Scoped to the user's jurisdiction:
a household or visit elsewhere is NotFound.
"""

import datetime as dt

from psycopg.rows import dict_row

from geo import vocab, workdays
from geo.catalogue import say
from layers import audit
from layers.errors import Conflict, Invalid, NotFound

__all__ = ["MAX_NOTE", "record", "confirm_tag", "pending_tags"]

MAX_NOTE = 2000


def _int(value, field, low, high, required=False):
    if value is None:
        if required:
            raise Invalid(say("err_required", field=field),
                          field=field)
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not (
            low <= value <= high):
        raise Invalid(say("err_whole_number_from", field=field, low=low,
                          high=high), field=field)
    return value


def _clean(fields):
    note = fields.get("note")
    if note is not None and (not isinstance(note, str) or len(note) > MAX_NOTE):
        raise Invalid(say("err_note_text_most_characters",
                          MAX_NOTE=MAX_NOTE), field="note")
    tag = fields.get("tag_proposed") or None
    if tag is not None and (not isinstance(tag, str)
                            or tag not in vocab.HOUSEHOLD_TAGS):
        raise Invalid(say("err_unknown_tag", tag=tag,
                          v=', '.join(vocab.HOUSEHOLD_TAGS)),
                      field="tag_proposed")
    return {"household_id": _int(fields.get("household_id"), "household_id", 1,
                                 2**62, required=True),
            "note": (note or "").strip() or None,
            "size_seen": _int(fields.get("size_seen"), "size_seen", 0, 50),
            "tag_proposed": tag}


def record(conn, principal, fields, point=None, accuracy_m=None, visited_at=None):
    """Record a visit; ``point`` (lon, lat) WGS-84 where the phone was, or None.

    Returns ``{"id", "distance_m"}`` (None without a point).
    """
    clean = _clean(fields)
    at = visited_at or dt.datetime.now(dt.UTC)
    if at > dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5):
        raise Invalid(say("err_visited_future"), field="visited_at")
    lon, lat = point if point is not None else (None, None)
    with conn.transaction():
        row = conn.execute(
            "SELECT h.grid_code, u.staff_id FROM households h, users u"
            " WHERE h.id = %s AND h.grid_code LIKE %s AND u.id = %s",
            (clean["household_id"], principal.prefix, principal.user_id)).fetchone()
        if row is None:
            raise NotFound(say("err_no_household", household_id=clean['household_id']),
                           field="household_id")
        grid, staff = row
        visit_id, distance = conn.execute(
            "INSERT INTO visits (household_id, grid_code, user_id, username, staff_id,"
            " visited_at, note, size_seen, geom, accuracy_m, distance_m,"
            " tag_proposed, tag_state)"
            " SELECT h.id, h.grid_code, %(user)s, %(username)s, %(staff)s, %(at)s,"
            "  %(note)s, %(size_seen)s, p.g, %(accuracy)s,"
            "  round(ST_Distance(h.geom::geography, p.g::geography)::numeric, 1),"
            "  %(tag_proposed)s,"
            "  CASE WHEN %(tag_proposed)s::text IS NOT NULL THEN 'pending' END"
            " FROM households h, (SELECT CASE WHEN %(lon)s::float8 IS NOT NULL THEN"
            "  ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) END AS g) p"
            " WHERE h.id = %(household_id)s RETURNING id, distance_m",
            clean | {"user": principal.user_id, "username": principal.username,
                     "staff": staff, "at": at, "accuracy": accuracy_m, "lon": lon,
                     "lat": lat}).fetchone()
        audit.record(conn, principal, "create", "visits", visit_id,
                     after=clean | {"distance_m": distance, "visited_at":
                                    at.astimezone(workdays.CHINA_TZ).isoformat()},
                     geom_after=None if point is None else f"POINT({lon} {lat})",
                     grid_code=grid)
    return {"id": visit_id, "distance_m": distance}


def confirm_tag(conn, principal, visit_id):
    """Add the tag a visit proposed to its household's tags (once). Returns
    ``{"id", "household_id", "tag", "tags"}``."""
    with conn.transaction():
        visit = conn.cursor(row_factory=dict_row).execute(
            "SELECT v.id, v.household_id, v.tag_proposed, v.tag_state, h.tags,"
            " h.grid_code FROM visits v JOIN households h ON h.id = v.household_id"
            " WHERE v.id = %s AND h.grid_code LIKE %s FOR UPDATE OF v, h",
            (visit_id, principal.prefix)).fetchone()
        if visit is None:
            raise NotFound(say("err_visit", visit_id=visit_id), field="id")
        if visit["tag_state"] != "pending":
            raise Conflict(say("err_visit_has_tag_awaiting", visit_id=visit_id),
                field="id", state=visit["tag_state"])
        tag = visit["tag_proposed"]
        tags = visit["tags"] if tag in visit["tags"] else [*visit["tags"], tag]
        conn.execute("UPDATE households SET tags = %s, updated_at = now()"
                     " WHERE id = %s", (tags, visit["household_id"]))
        conn.execute("UPDATE visits SET tag_state = 'confirmed', tag_decided_by = %s,"
                     " tag_decided_at = now() WHERE id = %s",
                     (principal.username, visit_id))
        audit.record(conn, principal, "update", "households", visit["household_id"],
                     before={"tags": visit["tags"]},
                     after={"tags": tags, "visit": visit_id},
                     grid_code=visit["grid_code"])
    return {"id": visit_id, "household_id": visit["household_id"], "tag": tag,
            "tags": tags}


def pending_tags(conn, principal, limit=200):
    """The visits of the user's jurisdiction whose proposed tag awaits
    confirmation, oldest first: ``[{id, household_id, address, grid_code, tag,
    tag_label, username, visited_at, note}]`` (the tag is sensitive: audited)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT v.id, v.household_id, h.address, h.grid_code, v.tag_proposed AS tag,"
        " v.username, v.visited_at, v.note FROM visits v"
        " JOIN households h ON h.id = v.household_id"
        " WHERE v.tag_state = 'pending' AND h.grid_code LIKE %s"
        " ORDER BY v.visited_at, v.id LIMIT %s", (principal.prefix, limit)).fetchall()
    audit.record_read(conn, principal, "visits", {"via": "pending_tags"}, len(rows))
    return [r | {"tag_label": vocab.label(vocab.HOUSEHOLD_TAGS, r["tag"]),
                 "visited_at": r["visited_at"].astimezone(
                     workdays.CHINA_TZ).isoformat()} for r in rows]
