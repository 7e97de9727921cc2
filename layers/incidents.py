"""The incident loop: 受理登记 → 审核分流 → 处置反馈 → 办结 → 考核评价, with 跟踪督办.

One explicit state machine (``TRANSITIONS``) says which action may run in which
state; every action appends an ``incident_events`` row and an audit row, in one
transaction. Deadlines are counted in working days (``geo.workdays``) from the
moment the report was received, per category (``DEADLINE_WORKDAYS``). Every read
and change is restricted to the user's jurisdiction (``principal.prefix`` on the
incident's micro-grid code): an incident elsewhere is NotFound, like a missing one.

Timestamps leave this module as ISO 8601 strings in China Standard Time (+08:00).
"""

import datetime as dt
import hashlib
import json
import math

from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from geo import vocab, workdays
from geo.catalogue import say
from layers import audit, disputes, photos, webhooks
from layers.access import like_prefix
from layers.errors import Conflict, Forbidden, Invalid, NotFound

__all__ = [
    "DEADLINE_WORKDAYS", "TRANSITIONS", "ALIASES", "OPEN", "register", "transition",
    "list_incidents", "get_incident", "allowed_actions", "queue_counts", "QUEUES",
    "record_registrations", "steps", "FIELD_ACTIONS", "actions_for", "FIELDS",
    "FROM", "to_json", "external_reference",
]

# 跟踪督办: working days from receipt to the deadline, per category.
DEADLINE_WORKDAYS = {"dispute": 10, "public_order": 3, "environment": 5,
                     "illegal_building": 15}

OPEN = ("registered", "dispatched", "handling")
# action -> (states it may start from, state it leads to; None keeps the state).
# Escalation (提级) hands the incident to the next level up, whose desk triages it
# again: it goes back to "registered" in that level's queue.
TRANSITIONS = {
    "triage": (("registered", "dispatched"), "dispatched"),  # 审核分流
    "escalate": (OPEN, "registered"),                       # 提级
    "accept": (("dispatched",), "handling"),                 # 接收处置
    "feedback": (("handling",), None),                       # 处置反馈
    "remind": (OPEN, None),                                  # 督办
    "close": (("handling",), "closed"),                      # 办结
    "evaluate": (("closed",), "evaluated"),                  # 考核评价
    "reopen": (("closed", "evaluated"), "handling"),         # 重新办理
}
ALIASES = {"dispatch": "triage", "handle": "accept"}
# The actions of a field role (incidents:report without incidents:edit: the
# liaison), on the tasks assigned to its staff person only; the desk's actions
# (triage, escalate, close …) need incidents:edit.
FIELD_ACTIONS = ("accept", "feedback")
_EXTRA = {"triage": {"assignee_id", "department"}, "close": {"outcome"},
          "feedback": {"outcome"},  # the outcome the grid worker proposes
          "evaluate": {"satisfaction"}}
_CODE_LOCK = 0x1C1D  # advisory lock serialising the day's incident numbers
_TEXT_LIMITS = {"reporter": 100, "description": 2000, "note": 2000, "department": 100}

FIELDS = sql.SQL("""
    i.id, i.code, i.category, i.subtype, i.source, i.reporter, i.description,
    ST_X(i.geom) AS lon, ST_Y(i.geom) AS lat, i.grid_code, i.status,
    i.escalation_level, i.assignee_id, s.name AS assignee_name, i.department,
    i.created_at, i.deadline, i.closed_at, i.outcome, i.satisfaction,
    i.external_system, i.external_ref,
    (i.closed_at IS NULL AND i.deadline < %(now)s) AS overdue
""")
"""The columns of an incident ``i`` as every read returns them (``%(now)s``
decides ``overdue``); with :data:`FROM`."""
FROM = sql.SQL("incidents i LEFT JOIN grid_staff s ON s.id = i.assignee_id")
"""The incidents ``i`` with their assignee ``s``, for :data:`FIELDS`."""


def _now(now):
    return now if now is not None else dt.datetime.now(dt.UTC)


def to_json(row):
    """A row with its timestamps as ISO strings in China time."""
    return {k: (v.astimezone(workdays.CHINA_TZ).isoformat()
                if isinstance(v, dt.datetime) else v) for k, v in row.items()}


def _text(value, field, required=False):
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Invalid(say("err_required", field=field), field=field)
        return None
    if not isinstance(value, str):
        raise Invalid(say("err_must_be_text", field=field), field=field)
    if len(value) > _TEXT_LIMITS[field]:
        raise Invalid(say("err_too_long", field=field, limit=_TEXT_LIMITS[field]),
                      field=field)
    return value.strip()


def _choice(value, table, field, required=True):
    if value is None or value == "":
        if required:
            raise Invalid(say("err_required_choice", field=field,
                              choices=', '.join(table)),
                          field=field)
        return None
    if value not in table:
        raise Invalid(say("err_unknown_choice", field=field, value=value,
                          choices=', '.join(table)),
                      field=field)
    return value


def _clean(fields):
    category = _choice(fields.get("category"), vocab.INCIDENT_CATEGORIES, "category")
    subtypes = vocab.INCIDENT_CATEGORIES[category][2]
    subtype = _choice(fields.get("subtype"), subtypes, "subtype", required=False)
    if subtype is None and len(subtypes) == 1:
        subtype = next(iter(subtypes))
    return {
        "category": category, "subtype": subtype,
        "source": _choice(fields.get("source"), vocab.INCIDENT_SOURCES, "source"),
        "reporter": _text(fields.get("reporter"), "reporter"),
        "description": _text(fields.get("description"), "description", True),
    }


def _point(point):
    try:
        lon, lat = (float(v) for v in point)
    except (TypeError, ValueError):
        raise Invalid(say("err_location_two_numbers"),
                      field="lon") from None
    for name, v, limit in (("lon", lon, 180), ("lat", lat, 90)):
        if not math.isfinite(v) or abs(v) > limit:
            raise Invalid(say("err_between_limits", name=name, limit=limit),
                          field=name)
    return lon, lat


def _grid_of(conn, principal, lon, lat):
    row = conn.execute(
        "SELECT code FROM grids WHERE level = 4 AND code LIKE %s"
        " AND ST_Intersects(geom, ST_SetSRID(ST_MakePoint(%s, %s), 4326))"
        " ORDER BY code LIMIT 1", (principal.prefix, lon, lat)).fetchone()
    if row is None:
        raise Invalid(say("err_location_no_micro", lon=lon, lat=lat), field="lon")
    return row[0]


def duplicates(conn, principal, category, lon, lat, at, radius_m=50, days=7):
    """Open incidents of ``category`` within ``radius_m`` of the point, received in
    the ``days`` before ``at``, nearest first (within the user's jurisdiction)."""
    # a degree box around the point first (served by the GiST index), then metres
    degrees = radius_m / (111_320 * max(math.cos(math.radians(lat)), 0.01)) * 1.01
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(
        "SELECT i.code, i.status, i.category, i.subtype, i.description, i.grid_code,"
        " i.created_at, i.deadline,"
        " (SELECT min(f.id) FROM incident_photos f WHERE f.incident_id = i.id)"
        "   AS first_photo_id,"
        " round(ST_Distance(i.geom::geography, p.g::geography)::numeric, 1)::float"
        "   AS distance_m"
        " FROM incidents i,"
        "  (SELECT ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326) AS g) p"
        " WHERE i.closed_at IS NULL AND i.category = %(category)s"
        "  AND i.grid_code LIKE %(scope)s"
        "  AND i.created_at >= %(since)s AND i.created_at <= %(at)s"
        "  AND ST_DWithin(i.geom, p.g, %(degrees)s)"
        "  AND ST_DWithin(i.geom::geography, p.g::geography, %(radius)s)"
        " ORDER BY distance_m, i.created_at DESC LIMIT 20",
        {"lon": lon, "lat": lat, "category": category, "scope": principal.prefix,
         "since": at - dt.timedelta(days=days), "at": at, "degrees": degrees,
         "radius": radius_m}).fetchall()
    for r in rows:
        first = r.pop("first_photo_id")
        r["photo_url"] = None if first is None else photos.url(first)
    return [to_json(r) for r in rows]


def _next_code(conn, at):
    """SJ + local date + 4-digit number of the day, as the demo numbers them."""
    local = at.astimezone(workdays.CHINA_TZ)
    day = local.strftime("%Y%m%d")
    after = (local + dt.timedelta(days=1)).strftime("%Y%m%d")
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CODE_LOCK,))
    # the range lets the code's index serve it (LIKE alone does not, outside
    # the C collation: 150 ms on the city's million incidents, python -m bench
    # field; 0.03 ms so)
    last = conn.execute("SELECT max(substr(code, 11)) FROM incidents"
                        " WHERE code >= %s AND code < %s AND code LIKE %s"
                        " AND length(code) = 14",
                        ("SJ" + day, "SJ" + after, "SJ" + day + "%")).fetchone()[0]
    seq = int(last) + 1 if last and last.isdigit() else 1
    if seq > 9999:
        raise Conflict(say("err_too_many_incidents_day", day=day), field="code")
    return f"SJ{day}{seq:04d}"


def _event(conn, principal, incident_id, action, status, note, details, at):
    # the incident's county: the events are partitioned with it (0035)
    conn.execute(
        "INSERT INTO incident_events (incident_id, county, at, action, status, actor,"
        " note, details) SELECT id, county, %s, %s, %s, %s, %s, %s FROM incidents"
        " WHERE id = %s",
        (at, action, status, principal.username, note,
         None if details is None else Jsonb(details), incident_id))


def record_registrations(conn, principal, incident_ids, details=None):
    """The 受理登记 event of each incident just written by a bulk load (an
    import), as :func:`register` writes it: at the time received, the description
    as note, source and reporter (and ``details``) beside it."""
    conn.execute(
        "INSERT INTO incident_events (incident_id, county, at, action, status, actor,"
        " note, details) SELECT id, county, created_at, 'register', 'registered', %s,"
        " description,"
        " jsonb_build_object('source', source, 'reporter', reporter) || %s"
        " FROM incidents WHERE id = ANY(%s) ORDER BY id",
        (principal.username, Jsonb(details or {}), list(incident_ids)))


_EXTERNAL_LIMIT = 100


def external_reference(fields):
    """``(external_system, external_ref)`` of an inbound case's body, or None
    when neither is given: both, 1–100 printable characters."""
    system, ref = fields.get("external_system"), fields.get("external_ref")
    if system in (None, "") and ref in (None, ""):
        return None
    if system in (None, "") or ref in (None, ""):
        raise Invalid(say("err_external_pair"),
                      field="external_ref" if ref in (None, "") else "external_system")
    for name, value in (("external_system", system), ("external_ref", ref)):
        if not (isinstance(value, str) and value.strip().isprintable()
                and 0 < len(value.strip()) <= _EXTERNAL_LIMIT):
            raise Invalid(say("err_external_text", field=name, limit=_EXTERNAL_LIMIT),
                          field=name)
    return system.strip(), ref.strip()


def _fingerprint(clean, lon, lat, received_at):
    """What a resend of the same case repeats: its fields, place and time."""
    return hashlib.sha256(json.dumps(
        clean | {"lon": round(lon, 7), "lat": round(lat, 7),
                 "received_at": received_at and received_at.isoformat()},
        sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _registered_before(conn, principal, external, fingerprint):
    """The incident an inbound case's reference registered already (its resend),
    or None; Conflict when the reference came with another case."""
    row = conn.execute(
        "SELECT code, external_sha256 FROM incidents WHERE external_system = %s"
        " AND external_ref = %s", external).fetchone()
    if row is None:
        return None
    if row[1] != fingerprint:
        raise Conflict(say("err_external_ref_other_case", system=external[0],
                           ref=external[1], code=row[0]), field="external_ref")
    return get_incident(conn, principal, row[0]) | {"existing": True}


def register(conn, principal, fields, point, link_to=None, dry_run=False, *,
             received_at=None, calendar=None, radius_m=50, days=7):
    """Register (受理登记) a report at ``point`` = (lon, lat), WGS-84.

    The micro-grid comes from the location (within the user's jurisdiction), the
    deadline from the category's working days after ``received_at`` (default now).
    ``dry_run`` saves nothing and returns ``{"duplicates", "grid_code",
    "deadline"}``: open incidents of the same category within ``radius_m`` received
    in the last ``days``. ``link_to`` (a code) adds the report to that open
    incident as a ``link`` event instead of opening another and returns
    ``{"linked_to": code, "incident": ...}``. Otherwise returns the new incident
    with its first event.

    ``fields`` may name whom and where it concerns (:func:`layers.disputes.clean`:
    ``household_id`` of the jurisdiction, ``address``, ``parties``), stored with
    it (``incident_subjects`` / ``incident_parties``); the answer's ``concern``.

    An inbound case (``external_system`` and ``external_ref`` in ``fields``)
    registers once: a resend of the same case, however late, returns the
    incident it made with ``"existing": True`` (``False`` on the first), and
    another case under the same reference is a Conflict naming external_ref.
    Every registration tells the webhooks that want it (``webhooks.emit``), in
    its transaction.
    """
    clean = _clean(fields)
    concern = disputes.clean(fields)  # whom and where it concerns (issue 19)
    external = external_reference(fields)
    if external is not None and link_to is not None:
        raise Invalid(say("err_external_ref_link"), field="link_to")
    lon, lat = _point(point)
    fingerprint = external and _fingerprint(clean, lon, lat, received_at)
    at = _now(received_at)
    if at.tzinfo is None:
        raise Invalid(say("err_received_tz"), field="received_at")
    grid = _grid_of(conn, principal, lon, lat)
    concern = disputes.resolve(conn, principal, concern, grid)
    limit = DEADLINE_WORKDAYS[clean["category"]]
    deadline = (calendar or workdays.china()).add_workdays(at, limit)
    if dry_run:
        found = duplicates(conn, principal, clean["category"], lon, lat, at,
                           radius_m, days)
        return {"duplicates": found, "grid_code": grid,
                "deadline": to_json({"d": deadline})["d"], "deadline_workdays": limit}
    if link_to is not None:
        return _link(conn, principal, link_to, clean, lon, lat, at)
    with conn.transaction():
        code = _next_code(conn, at)  # its lock serialises registrations
        if external is not None:
            before = _registered_before(conn, principal, external, fingerprint)
            if before is not None:
                return before
        incident_id = conn.execute(
            "INSERT INTO incidents (code, category, subtype, source, reporter,"
            " description, geom, grid_code, county, deadline, created_at,"
            " external_system, external_ref, external_sha256)"
            " VALUES (%(code)s, %(category)s, %(subtype)s, %(source)s, %(reporter)s,"
            " %(description)s, ST_SetSRID(ST_MakePoint(%(lon)s, %(lat)s), 4326),"
            " %(grid)s, county_of(%(grid)s), %(deadline)s, %(at)s, %(system)s,"
            " %(ref)s, %(sha)s)"
            " RETURNING id",
            clean | {"code": code, "lon": lon, "lat": lat, "grid": grid,
                     "deadline": deadline, "at": at, "sha": fingerprint,
                     "system": external and external[0],
                     "ref": external and external[1]}).fetchone()[0]
        disputes.attach(conn, incident_id, concern)
        _event(conn, principal, incident_id, "register", "registered",
               clean["description"], {"source": clean["source"],
                                      "reporter": clean["reporter"]}, at)
        created = get_incident(conn, principal, code, events=True, audited=False)
        audit.record(conn, principal, "create", "incidents", code,
                     after=_audit_view(created),
                     geom_after=f"POINT({lon} {lat})")
        webhooks.emit(conn, "register", created)
    if external is not None:
        created["existing"] = False
    return created


def _link(conn, principal, code, clean, lon, lat, at):
    with conn.transaction():
        row = _locked(conn, principal, code, field="link_to")
        if row["status"] not in OPEN:
            raise Conflict(say("err_link_closed", code=code, status=row['status']),
                           field="link_to", state=row["status"])
        details = clean | {"lon": lon, "lat": lat, "received_at": at.isoformat()}
        _event(conn, principal, row["id"], "link", row["status"],
               clean["description"], details, _now(None))
        audit.record(conn, principal, "update", "incidents", code,
                     after={"linked_report": details},
                     geom_after=f"POINT({lon} {lat})")
        incident = get_incident(conn, principal, code, events=True, audited=False)
    return {"linked_to": code, "incident": incident}


def _key(code):
    """Look an incident up by its code, or by its numeric id."""
    if isinstance(code, int) or (isinstance(code, str) and code.isdigit()):
        return sql.Identifier("i", "id"), int(code)
    return sql.Identifier("i", "code"), code


def _locked(conn, principal, code, field="code"):
    column, value = _key(code)
    row = conn.cursor(row_factory=dict_row).execute(
        sql.SQL("SELECT i.* , ST_AsText(i.geom) AS wkt FROM incidents i"
                " WHERE {} = %s AND i.grid_code LIKE %s FOR UPDATE").format(column),
        (value, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_no_incident", code=code), field=field)
    return row


def get_incident(conn, principal, code, events=True, now=None, audited=True):
    """One incident of the user's jurisdiction (with its events, oldest first).

    The reporter (a citizen's name, often a phone) is personal data: the read is
    audited unless ``audited`` is False (the answer of a change, itself audited).
    """
    column, value = _key(code)
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(
        sql.SQL("SELECT {} FROM {} WHERE {} = %(key)s AND i.grid_code LIKE %(scope)s"
                ).format(FIELDS, FROM, column),
        {"key": value, "scope": principal.prefix, "now": _now(now)}).fetchone()
    if row is None:
        raise NotFound(say("err_no_incident", code=code), field="code")
    row = to_json(row)
    if audited:
        audit.record(conn, principal, "read", "incidents", row["code"],
                     after={"query": {"via": "get", "code": str(code)}},
                     grid_code=row["grid_code"], records=1)
    row["actions"] = allowed_actions(row["status"])
    row["photos"] = photos.of_incidents(conn, [row["id"]]).get(row["id"], [])
    # the household / address and parties (masked per role; this read's audit
    # row covers them)
    row["concern"] = disputes.of_incident(conn, principal, row["id"])
    row |= _context(conn, row)
    if events:
        row["events"] = [to_json(e) for e in cur.execute(
            "SELECT id, at, action, status, actor, note, details"
            " FROM incident_events WHERE incident_id = %s ORDER BY at, id",
            (row["id"],)).fetchall()]
    return row


# The incident's grid chain by name (town first), the active staff of that chain
# (the micro-grid's first: whom the desk may assign it to, as _triage checks) and
# the outcome the last 处置反馈 proposed (none once the incident is reopened after
# it), for the dispatcher's card.
_CHAIN = """
    SELECT level, code, name FROM grids
    WHERE code IN (left(%(g)s, 9), left(%(g)s, 12), left(%(g)s, 15), left(%(g)s, 18))
    ORDER BY level
"""
_CHAIN_STAFF = """
    SELECT s.id, s.name, s.role, s.grid_code, length(s.grid_code) / 3 - 2 AS level
    FROM grid_staff s
    WHERE s.active AND s.grid_code IN (left(%(g)s, 9), left(%(g)s, 12),
                                       left(%(g)s, 15), left(%(g)s, 18))
    ORDER BY length(s.grid_code) DESC,
        array_position(
            ARRAY['grid_chief', 'full_time', 'part_time', 'liaison', 'volunteer'],
            s.role),
        s.id
"""
_PROPOSED = """
    SELECT e.details ->> 'outcome' AS outcome FROM incident_events e
    WHERE e.incident_id = %(id)s AND e.action = 'feedback'
      AND e.details ->> 'outcome' IS NOT NULL
      AND NOT EXISTS (SELECT 1 FROM incident_events r
                      WHERE r.incident_id = e.incident_id AND r.action = 'reopen'
                        AND (r.at, r.id) > (e.at, e.id))
    ORDER BY e.at DESC, e.id DESC LIMIT 1
"""


def _context(conn, row):
    """``grid_chain``, ``staff`` and ``proposed_outcome`` of an incident."""
    params = {"g": row["grid_code"], "id": row["id"]}
    cur = conn.cursor(row_factory=dict_row)
    chain = cur.execute(_CHAIN, params).fetchall()
    staff = cur.execute(_CHAIN_STAFF, params).fetchall()
    proposed = cur.execute(_PROPOSED, params).fetchone()
    return {"grid_chain": chain, "staff": staff,
            "proposed_outcome": proposed and proposed["outcome"]}


def allowed_actions(status):
    """The actions the state machine allows from ``status``."""
    return [a for a, (sources, _) in TRANSITIONS.items() if status in sources]


def actions_for(principal, status, assigned_to_me):
    """The actions ``principal`` may do now on an incident in ``status``
    (``assigned_to_me``: assigned to the user's staff person)."""
    allowed = allowed_actions(status)
    if principal.can("incidents:edit"):
        return allowed
    if not (principal.can("incidents:report") and assigned_to_me):
        return []
    return [a for a in allowed if a in FIELD_ACTIONS]


def _may_act(conn, principal, row, action):
    """A field role acts only with FIELD_ACTIONS and on its own tasks."""
    if principal.can("incidents:edit"):
        return
    if action not in FIELD_ACTIONS:
        raise Forbidden(say("err_field_role_action", action=action,
                            role=principal.role,
                            allowed=" and ".join(FIELD_ACTIONS)), field="action")
    staff = conn.execute("SELECT staff_id FROM users WHERE id = %s",
                         (principal.user_id,)).fetchone()
    if staff is None or staff[0] is None or staff[0] != row["assignee_id"]:
        raise Forbidden(say("err_not_assigned_to_you", code=row["code"]),
                        field="code")


def steps(status, wanted, actions=tuple(TRANSITIONS)):
    """The shortest list of ``actions`` that the state machine allows to lead
    from ``status`` to ``wanted`` (``[]`` when they are the same), None when
    none does.

    >>> steps("registered", "handling", ("triage", "accept"))
    ['triage', 'accept']
    >>> steps("handling", "registered", ("triage", "accept")) is None
    True
    """
    paths, todo = {status: []}, [status]
    while todo and wanted not in paths:
        state = todo.pop(0)
        for action in actions:
            sources, target = TRANSITIONS[action]
            if state in sources and target is not None and target not in paths:
                paths[target] = [*paths[state], action]
                todo.append(target)
    return paths.get(wanted)


def _audit_view(row):
    return {k: v for k, v in row.items() if k not in ("events", "actions")}


def transition(conn, principal, code, action, note=None, *, now=None, **extra):
    """Carry out ``action`` on incident ``code`` (see ``TRANSITIONS``).

    ``triage`` takes ``assignee_id`` (staff of the incident's grid chain) and/or
    ``department``; without either, the staff of the grid at the incident's level
    (liaison of a micro-grid, full-time worker of a comprehensive grid, chief of a
    village) is chosen. ``close`` needs ``outcome``, ``evaluate`` ``satisfaction``
    (1–5), ``feedback`` a note and may propose an ``outcome`` (checked as at
    closing, kept on the event; the card shows it as ``proposed_outcome``). An
    action the current state does not allow raises Conflict naming the state.
    Returns the incident with its events.
    """
    action = ALIASES.get(action, action)
    if action not in TRANSITIONS:
        raise Invalid(say("err_unknown_action", action=action,
                          actions=', '.join(TRANSITIONS)), field="action")
    extra = {k: v for k, v in extra.items() if v is not None}
    for name in extra.keys() - _EXTRA.get(action, set()):
        raise Invalid(say("err_field_not_for_action", name=name,
                          action=action), field=name)
    note = _text(note, "note", required=action == "feedback")
    at = _now(now)
    with conn.transaction():
        row = _locked(conn, principal, code)
        _may_act(conn, principal, row, action)
        sources, target = TRANSITIONS[action]
        if row["status"] not in sources:
            raise Conflict(
                say("err_action_not_allowed", action=action, code=row['code'],
                    status=row['status'],
                    label=vocab.label(vocab.INCIDENT_STATUSES, row['status']),
                    allowed=', '.join(allowed_actions(row['status'])) or 'nothing'),
                field="action", state=row["status"],
                allowed=allowed_actions(row["status"]))
        changes, details = _changes(conn, row, action, extra, at)
        if target is not None:
            changes["status"] = target
        if changes:
            conn.execute(
                sql.SQL("UPDATE incidents SET {} WHERE id = %(id)s").format(
                    sql.SQL(", ").join(
                        sql.SQL("{} = {}").format(sql.Identifier(c), sql.Placeholder(c))
                        for c in changes)),
                changes | {"id": row["id"]})
        status = changes.get("status", row["status"])
        _event(conn, principal, row["id"], action, status, note, details or None, at)
        after = get_incident(conn, principal, row["code"], events=False, now=at,
                             audited=False)
        audit.record(conn, principal, "update", "incidents", row["code"],
                     before={"status": row["status"], "action": action},
                     after=_audit_view(after) | {"note": note})
        webhooks.emit(conn, action, after, at)
        return get_incident(conn, principal, row["code"], now=at, audited=False)


def _changes(conn, row, action, extra, at):
    """The columns an action changes, and what its event records beside the note."""
    if action == "triage":
        return _triage(conn, row, extra)
    if action == "escalate":
        level = row["escalation_level"]
        if level <= 1:
            raise Conflict(say("err_escalate_top", code=row['code']), field="action",
                           state=row["status"])
        return ({"escalation_level": level - 1, "assignee_id": None,
                 "department": None},
                {"from_level": level, "to_level": level - 1})
    if action == "close":
        outcome = _outcome(row, extra.get("outcome"))
        return {"outcome": outcome, "closed_at": at}, {"outcome": outcome}
    if action == "feedback":  # a proposed outcome, kept on the event only
        outcome = _outcome(row, extra.get("outcome"), required=False)
        return {}, (None if outcome is None else {"outcome": outcome})
    if action == "evaluate":
        stars = extra.get("satisfaction")
        if isinstance(stars, str) and stars.strip().isdigit():
            stars = int(stars)
        if isinstance(stars, bool) or not isinstance(stars, int) or not 1 <= stars <= 5:
            raise Invalid(say("err_satisfaction"),
                          field="satisfaction")
        return {"satisfaction": stars}, {"satisfaction": stars}
    if action == "reopen":
        return ({"closed_at": None, "outcome": None, "satisfaction": None},
                {"outcome": row["outcome"], "satisfaction": row["satisfaction"]})
    if action == "remind":
        overdue = row["deadline"] is not None and row["deadline"] < at
        return {}, {"overdue": overdue}
    return {}, {}


def _outcome(row, value, required=True):
    """An outcome that may close the incident's category (at 办结, or proposed
    at 处置反馈); None when not required and not given."""
    fits = vocab.outcomes_for(row["category"])
    if value is None or value == "":
        if not required:
            return None
        raise Invalid(say("err_outcome_required", choices=", ".join(fits)),
                      field="outcome")
    if value not in fits:
        kind = vocab.INCIDENT_CATEGORIES[row["category"]]
        raise Invalid(say("err_outcome_not_for_category", value=value,
                          category_zh=kind[0], category=kind[1].lower(),
                          choices=", ".join(fits)), field="outcome")
    return value


def _triage(conn, row, extra):
    department = _text(extra.get("department"), "department")
    assignee = extra.get("assignee_id")
    cur = conn.cursor(row_factory=dict_row)
    if assignee is not None:
        if isinstance(assignee, bool) or not isinstance(assignee, int):
            raise Invalid(say("err_assignee_id"), field="assignee_id")
        staff = cur.execute(
            "SELECT id, name, role, grid_code FROM grid_staff WHERE id = %s"
            " AND active AND left(%s, length(grid_code)) = grid_code",
            (assignee, row["grid_code"])).fetchone()
        if staff is None:
            raise Invalid(say("err_assignee_not_staff", assignee=assignee,
                              code=row['code']), field="assignee_id")
    elif department is None:
        staff = cur.execute(
            "SELECT id, name, role, grid_code FROM grid_staff"
            " WHERE active AND grid_code = left(%s, 6 + 3 * %s)"
            " ORDER BY CASE role WHEN 'grid_chief' THEN 0 WHEN 'full_time' THEN 1"
            "  WHEN 'liaison' THEN 2 WHEN 'part_time' THEN 3 ELSE 4 END, id LIMIT 1",
            (row["grid_code"], row["escalation_level"])).fetchone()
        if staff is None:
            raise Invalid(say("err_grid_no_staff",
                              escalation_level=row['escalation_level'],
                              code=row['code']), field="department")
    else:
        staff = None
    details = {"department": department, "level": row["escalation_level"]}
    if staff is not None:
        details |= {"assignee_id": staff["id"], "assignee_name": staff["name"],
                    "assignee_role": staff["role"], "assignee_grid": staff["grid_code"]}
    return ({"assignee_id": None if staff is None else staff["id"],
             "department": department}, details)


# The desks' queues (dispatch page): what waits for each level's desk.
QUEUES = {
    "to_triage": ("待分流", "To triage"),
    "in_hand": ("办理中", "In hand"),
    "overdue": ("已超期", "Overdue"),
    "awaiting_evaluation": ("待评价", "Awaiting evaluation"),
}

_QUEUE_COUNTS = """
    SELECT i.escalation_level AS level,
           count(*) FILTER (WHERE i.status = 'registered') AS to_triage,
           count(*) FILTER (WHERE i.status IN ('dispatched', 'handling')) AS in_hand,
           count(*) FILTER (WHERE i.closed_at IS NULL AND i.deadline < %(now)s)
               AS overdue,
           count(*) FILTER (WHERE i.status = 'closed') AS awaiting_evaluation
    FROM incidents i
    WHERE i.grid_code LIKE %(scope)s AND i.grid_code LIKE %(grid)s
      AND i.status <> 'evaluated'
    GROUP BY i.escalation_level
"""


def queue_counts(conn, principal, grid=None, now=None):
    """Per level's desk (escalation level 1 town … 4 micro-grid), the counts of
    each queue (``QUEUES``) in the user's jurisdiction or a subtree ``grid``:
    ``[{level, to_triage, in_hand, overdue, awaiting_evaluation}]``, all four
    levels, zeros included."""
    params = {"scope": principal.prefix, "grid": like_prefix(grid or ""),
              "now": _now(now)}
    cur = conn.cursor(row_factory=dict_row)
    found = {r["level"]: r for r in cur.execute(_QUEUE_COUNTS, params)}
    return [found.get(level, {"level": level} | dict.fromkeys(QUEUES, 0))
            for level in sorted(vocab.GRID_LEVELS)]


def list_incidents(conn, principal, status=None, overdue=None, level=None,
                   category=None, grid=None, since=None, until=None, limit=100,
                   offset=0, now=None, via=None):
    """Incidents of the user's jurisdiction, ``{"total": n, "items": [...]}``.

    ``overdue`` (True / False) keeps the open incidents past their deadline (the
    supervision list, soonest deadline first) or the others; ``level`` is the
    queue (escalation level 1–4); ``grid`` a subtree; ``since`` / ``until`` bound
    the time received. Newest first otherwise. The read is audited, ``via``
    saying how when not a listing (``{"via": "export", "format": "csv"}``).
    """
    where = [sql.SQL("i.grid_code LIKE %(scope)s")]
    params = {"scope": principal.prefix, "now": _now(now), "limit": limit,
              "offset": offset}
    if status is not None:
        # one status or several, comma-separated ("dispatched,handling": in hand)
        params["status"] = [_choice(s.strip(), vocab.INCIDENT_STATUSES, "status")
                            for s in status.split(",")]
        where.append(sql.SQL("i.status = ANY(%(status)s)"))
    if category is not None:
        params["category"] = _choice(category, vocab.INCIDENT_CATEGORIES, "category")
        where.append(sql.SQL("i.category = %(category)s"))
    if level is not None:
        if level not in vocab.GRID_LEVELS:
            raise Invalid(say("err_level_1_to_4"), field="level")
        params["level"] = level
        where.append(sql.SQL("i.escalation_level = %(level)s"))
    if grid:
        params["grid"] = like_prefix(grid)
        where.append(sql.SQL("i.grid_code LIKE %(grid)s"))
    for name, op, value in (("since", ">=", since), ("until", "<", until)):
        if value is not None:
            params[name] = value
            where.append(sql.SQL("i.created_at {} {}").format(
                sql.SQL(op), sql.Placeholder(name)))
    overdue_sql = sql.SQL("(i.closed_at IS NULL AND i.deadline < %(now)s)")
    if overdue is not None:
        where.append(overdue_sql if overdue
                     else sql.SQL("{} IS NOT TRUE").format(overdue_sql))
    order = sql.SQL("i.deadline, i.id" if overdue else "i.created_at DESC, i.id DESC")
    condition = sql.SQL(" AND ").join(where)
    cur = conn.cursor(row_factory=dict_row)
    total = cur.execute(sql.SQL("SELECT count(*) AS n FROM incidents i WHERE {}"
                                ).format(condition), params).fetchone()["n"]
    items = cur.execute(
        sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY {}"
                " LIMIT %(limit)s OFFSET %(offset)s").format(
            FIELDS, FROM, condition, order), params).fetchall()
    # the reporters are personal data: one audit row per list, however long
    audit.record_read(conn, principal, "incidents", {
        "via": "list", "status": status, "overdue": overdue, "level": level,
        "category": category, "grid": grid,
        "since": since and since.isoformat(), "until": until and until.isoformat(),
        "limit": limit, "offset": offset} | (via or {}), len(items))
    return {"total": total, "items": [to_json(r) for r in items]}
