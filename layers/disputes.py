"""Whom and where incidents concern, and the recurring disputes (重点关注).

An incident may concern a household (picked from the gazetteer, within the
user's jurisdiction) or a free address, and name its parties (0..n). They live
in ``incident_subjects`` and ``incident_parties`` (migration 0031: no foreign
keys, a household that goes keeps the address snapshot). The parties' names are
personal data: masked in SQL like households' names (张三丰 → 张**) unless the
role may see households unmasked (``households:personal``), every read that
returns them audited (one row per request), every query scoped to the user's
jurisdiction by the incident's grid.

The same household, address (normalised) or pair of parties with ``count``
disputes or more in ``days`` days (:func:`rule`: 3 in 90 by default, a
deployment setting kept in ``meta``; the categories and the window's edge:
``geo.disputes``) is recurring: :func:`recurring` lists each group with its
history (every incident, its status, who handled it) and whether a visit is due
(no visit to its households since its last dispute: recording one in the
existing visit flow clears it until the next dispute).
"""

import datetime as dt
import unicodedata

from psycopg import sql
from psycopg.rows import dict_row

from geo import vocab, workdays
from geo.address import normalize_address
from geo.catalogue import say
from geo.disputes import (
    DEFAULT_RULE,
    DISPUTE_CATEGORIES,
    MAX_NAME,
    MAX_PARTIES,
    normalize_name,
)
from layers import audit, households
from layers.access import like_prefix
from layers.errors import Invalid

__all__ = ["MAX_ADDRESS", "MAX_GROUPS", "clean", "resolve", "attach", "of_incident",
           "rule", "recurring", "visits_due"]

MAX_ADDRESS = 200
MAX_GROUPS = 500

# a name column, masked unless %(personal)s (as layers/households.py masks)
_MASK = ("CASE WHEN %(personal)s THEN {c} ELSE left({c}, 1)"
         " || repeat('*', greatest(char_length({c}) - 1, 1)) END")


def _mask(column):
    return _MASK.format(c=column)


def _plain(text):
    """No control or format characters (a full-width space is fine)."""
    return not any(unicodedata.category(c)[0] == "C" for c in text)


def clean(fields):
    """The concern of a registration's ``fields``, checked: ``{household_id,
    address, parties}`` (None / [] when not given). 400 naming the field."""
    household = fields.get("household_id")
    if household in (None, ""):
        household = None
    elif isinstance(household, str) and household.strip().isdigit():
        household = int(household.strip())
    if household is not None and (isinstance(household, bool)
                                  or not isinstance(household, int)
                                  or not 1 <= household < 2**62):
        raise Invalid(say("err_concern_household_id"), field="household_id")
    address = fields.get("address")
    if address is not None and not isinstance(address, str):
        raise Invalid(say("err_must_be_text", field="address"), field="address")
    address = (address or "").strip() or None
    if address is not None and (len(address) > MAX_ADDRESS or not _plain(address)):
        raise Invalid(say("err_concern_address", limit=MAX_ADDRESS), field="address")
    return {"household_id": household, "address": address,
            "parties": _parties(fields.get("parties"))}


def _parties(value):
    if value is None or value == "":
        return []
    if isinstance(value, str):  # one name per line, or separated by 、，,;
        value = [v for v in value.replace("、", "\n").replace("，", "\n")
                 .replace(",", "\n").replace(";", "\n").replace("；", "\n")
                 .splitlines()]
    if not isinstance(value, list):
        raise Invalid(say("err_parties_list", limit=MAX_PARTIES), field="parties")
    names, seen = [], set()
    for i, name in enumerate(value, start=1):
        if not isinstance(name, str):
            raise Invalid(say("err_party_name", n=i, limit=MAX_NAME), field="parties")
        name = name.strip()
        if not name:
            continue
        if len(name) > MAX_NAME or not _plain(name):
            raise Invalid(say("err_party_name", n=i, limit=MAX_NAME), field="parties")
        key = normalize_name(name)
        if key not in seen:
            seen.add(key)
            names.append(name)
    if len(names) > MAX_PARTIES:
        raise Invalid(say("err_parties_list", limit=MAX_PARTIES), field="parties")
    return names


def resolve(conn, principal, concern, grid_code):
    """The concern ready to store: a household of the user's jurisdiction (400
    naming household_id otherwise) gives its address as the snapshot; a free
    address alone is linked to the one household of the incident's micro-grid
    at that (normalised) address, if exactly one."""
    concern = dict(concern)
    if concern["household_id"] is not None:
        row = conn.execute(
            "SELECT address FROM households WHERE id = %s AND grid_code LIKE %s",
            (concern["household_id"], principal.prefix)).fetchone()
        if row is None:
            raise Invalid(say("err_concern_no_household",
                              household_id=concern["household_id"]),
                          field="household_id")
        concern["address"] = concern["address"] or row[0][:MAX_ADDRESS]
    elif concern["address"] is not None:
        key = normalize_address([concern["address"]])[0]
        rows = conn.execute("SELECT id, address FROM households WHERE grid_code = %s",
                            (grid_code,)).fetchall()
        found = [r for r, a in zip(rows, normalize_address([r[1] for r in rows]),
                                   strict=True) if a == key]
        if len(found) == 1:
            concern["household_id"] = found[0][0]
    return concern


def attach(conn, incident_id, concern):
    """Store a resolved concern of a new incident (nothing when it is empty)."""
    if concern["household_id"] is not None or concern["address"] is not None:
        conn.execute(
            "INSERT INTO incident_subjects (incident_id, household_id, address,"
            " address_key) VALUES (%s, %s, %s, %s)",
            (incident_id, concern["household_id"], concern["address"],
             normalize_address([concern["address"]])[0]))
    if concern["parties"]:
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO incident_parties (incident_id, position, name, name_key)"
                " VALUES (%s, %s, %s, %s)",
                [(incident_id, n, name, normalize_name(name))
                 for n, name in enumerate(concern["parties"], start=1)])


_OF_INCIDENT = sql.SQL("""
SELECT s.household_id, s.address,
       (SELECT coalesce(array_agg({name} ORDER BY p.position), '{{}}')
          FROM incident_parties p WHERE p.incident_id = %(id)s) AS parties
FROM (SELECT %(id)s::bigint AS id) x
LEFT JOIN incident_subjects s ON s.incident_id = x.id
""").format(name=sql.SQL(_mask("p.name")))


def of_incident(conn, principal, incident_id):
    """``{household, address, parties}`` of an incident the caller has already
    read within the jurisdiction (its read is audited there): the household
    masked per role (None when none, or gone), the parties' names masked per
    role."""
    params = households.scope_params(principal) | {"id": incident_id}
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(_OF_INCIDENT, params).fetchone()
    household = None
    if row["household_id"] is not None:
        household = cur.execute(
            sql.SQL("SELECT {} FROM households t WHERE t.id = %(hid)s"
                    " AND t.grid_code LIKE %(scope)s").format(households.FIELDS),
            params | {"hid": row["household_id"], "tags": False}).fetchone()
        household = household and {k: household[k] for k in (
            "id", "address", "head_name", "phone", "grid_code")}
    return {"household_id": row["household_id"], "household": household,
            "address": row["address"], "parties": row["parties"]}


def rule(conn):
    """``{count, days}``: the recurring rule of the deployment (``meta``
    ``recurring_disputes``, migration 0031), the defaults where unset."""
    row = conn.execute(
        "SELECT value FROM meta WHERE key = 'recurring_disputes'").fetchone()
    found = dict(DEFAULT_RULE)
    for name, value in ((row and row[0]) or {}).items():
        if name in found and isinstance(value, int) and value >= 1:
            found[name] = value
    return found


# The groups: incidents of the dispute categories received in the window, in
# the jurisdiction (and a subtree), by household, by normalised address and by
# pair of parties (the names as the latest incident spelt them); keys opaque (an
# md5: no name or address in a URL).
_GROUPS = sql.SQL("""
WITH d AS (
  SELECT i.id, i.created_at FROM incidents i
  WHERE i.category = ANY(%(categories)s) AND i.grid_code LIKE %(scope)s
    AND i.grid_code LIKE %(grid)s
    AND i.created_at >= %(since)s AND i.created_at <= %(now)s
)
SELECT 'household' AS kind, 'h' || s.household_id AS key,
       array_agg(d.id ORDER BY d.created_at, d.id) AS ids, NULL::text[] AS names
FROM d JOIN incident_subjects s ON s.incident_id = d.id
WHERE s.household_id IS NOT NULL
GROUP BY s.household_id HAVING count(*) >= %(count)s
UNION ALL
SELECT 'address', 'a' || left(md5(s.address_key), 16),
       array_agg(d.id ORDER BY d.created_at, d.id), NULL
FROM d JOIN incident_subjects s ON s.incident_id = d.id
WHERE s.address_key IS NOT NULL
GROUP BY s.address_key HAVING count(*) >= %(count)s
UNION ALL
SELECT 'parties', 'p' || left(md5(a.name_key || '|' || b.name_key), 16),
       array_agg(d.id ORDER BY d.created_at, d.id),
       ARRAY[{a}, {b}]
FROM d JOIN incident_parties a ON a.incident_id = d.id
JOIN incident_parties b ON b.incident_id = d.id AND a.name_key < b.name_key
GROUP BY a.name_key, b.name_key HAVING count(*) >= %(count)s
LIMIT %(limit)s
""").format(a=sql.SQL(_mask("(array_agg(a.name ORDER BY d.created_at DESC))[1]")),
           b=sql.SQL(_mask("(array_agg(b.name ORDER BY d.created_at DESC))[1]")))

# Every incident of the groups: the history (status, who handled it: the
# assignee or department, and the users who acted on it), its concern (parties
# masked per role).
_HISTORY = sql.SQL("""
SELECT i.id, i.code, i.category, i.subtype, i.status, i.created_at, i.closed_at,
       i.outcome, i.grid_code, g.name AS grid_name, st.name AS assignee_name,
       i.department, s.household_id, s.address,
       (SELECT coalesce(array_agg({name} ORDER BY p.position), '{{}}')
          FROM incident_parties p WHERE p.incident_id = i.id) AS parties,
       (SELECT coalesce(array_agg(DISTINCT e.actor), '{{}}')
          FROM incident_events e WHERE e.incident_id = i.id) AS actors
FROM incidents i
LEFT JOIN incident_subjects s ON s.incident_id = i.id
LEFT JOIN grids g ON g.code = i.grid_code
LEFT JOIN grid_staff st ON st.id = i.assignee_id
WHERE i.id = ANY(%(ids)s) AND i.grid_code LIKE %(scope)s
""").format(name=sql.SQL(_mask("p.name")))

_HOUSEHOLDS = sql.SQL("""
SELECT {}, (SELECT max(v.visited_at) FROM visits v WHERE v.household_id = t.id)
       AS last_visit_at
FROM households t WHERE t.id = ANY(%(hids)s) AND t.grid_code LIKE %(scope)s
""").format(households.FIELDS)

_ORDER = {"household": 0, "address": 1, "parties": 2}


def _iso(value):
    return (value.astimezone(workdays.CHINA_TZ).isoformat()
            if isinstance(value, dt.datetime) else value)


def _fold(groups):
    """Groups whose incidents are all in another's are dropped (a household's
    disputes are also its address's): the larger set stays, and of equal sets
    the household first, then the address, then the pair."""
    kept = []
    for g in groups:
        ids = set(g["ids"])
        if not any(h is not g and ids <= set(h["ids"])
                   and (ids != set(h["ids"]) or _ORDER[h["kind"]] < _ORDER[g["kind"]])
                   for h in groups):
            kept.append(g)
    return kept


def recurring(conn, principal, grid=None, now=None, settings=None, grids=None,
              since=None, personal=None, via=None):
    """The recurring disputes of the user's jurisdiction (or of a subtree
    ``grid``) at ``now``: ``{"rule", "as_of", "items": [...]}``, the latest
    dispute first.

    Each item: ``key`` (opaque), ``kind`` (household, address, parties),
    ``count``, ``first_at``, ``last_at``, ``household`` (the latest one named,
    masked per role; None without), ``address``, ``parties`` (masked per role:
    the pair, or everyone the incidents name), ``grid_code``/``grid_name`` (of
    the latest incident), ``last_visit_at`` (to any of its households),
    ``visit_due`` and ``incidents`` (oldest first, each with status and who
    handled it). ``grids`` keeps the groups with an incident in those
    micro-grids, ``since`` those with a dispute at or after it; ``personal``
    False masks names whatever the role (the monthly report). One audit row.
    """
    now = now or dt.datetime.now(dt.UTC)
    settings = settings or rule(conn)
    params = households.scope_params(principal) | {
        "categories": list(DISPUTE_CATEGORIES), "grid": like_prefix(grid or ""),
        "since": now - dt.timedelta(days=settings["days"]), "now": now,
        "count": settings["count"], "limit": MAX_GROUPS * 3, "tags": False}
    if personal is False:
        params["personal"] = False
    cur = conn.cursor(row_factory=dict_row)
    groups = _fold(cur.execute(_GROUPS, params).fetchall())
    ids = sorted({i for g in groups for i in g["ids"]})
    rows = {r["id"]: r for r in cur.execute(_HISTORY, params | {"ids": ids})}
    hids = sorted({r["household_id"] for r in rows.values()
                   if r["household_id"] is not None})
    homes = {h["id"]: h for h in cur.execute(_HOUSEHOLDS, params | {"hids": hids})}
    items = []
    for g in groups:
        history = [rows[i] for i in g["ids"] if i in rows]
        if not history:
            continue
        items.append(_item(g, history, homes))
    if grids is not None:
        wanted = set(grids)
        items = [it for it in items
                 if any(r["grid_code"] in wanted for r in it["incidents"])]
    if since is not None:
        items = [it for it in items if it["last_at"] >= since]
    items.sort(key=lambda it: (it["last_at"], it["key"]), reverse=True)
    items = items[:MAX_GROUPS]
    audit.record_read(conn, principal, "incident_parties",
                      {"via": "recurring", "grid": grid, "as_of": _iso(now)}
                      | (via or {}), len(items))
    return {"rule": settings, "as_of": _iso(now),
            "items": [_json(it) for it in items]}


def _item(group, history, homes):
    last = history[-1]
    named = [r["household_id"] for r in history if r["household_id"] is not None]
    home = next((homes[h] for h in reversed(named) if h in homes), None)
    visits = [homes[h]["last_visit_at"] for h in set(named) if h in homes
              and homes[h]["last_visit_at"] is not None]
    last_visit = max(visits, default=None)
    address = next((r["address"] for r in reversed(history) if r["address"]), None)
    parties = group["names"] or list(dict.fromkeys(
        p for r in history for p in r["parties"]))
    return {
        "key": group["key"], "kind": group["kind"], "count": len(history),
        "first_at": history[0]["created_at"], "last_at": last["created_at"],
        "household": home and {k: home[k] for k in (
            "id", "address", "head_name", "phone", "grid_code")},
        "address": address or (home and home["address"]), "parties": parties,
        "grid_code": last["grid_code"], "grid_name": last["grid_name"],
        "last_visit_at": last_visit,
        "visit_due": last_visit is None or last_visit < last["created_at"],
        "incidents": [_history(r) for r in history],
    }


def _history(r):
    category = vocab.INCIDENT_CATEGORIES[r["category"]]
    subtype = category[2].get(r["subtype"])
    return {
        "code": r["code"], "created_at": r["created_at"], "status": r["status"],
        "status_label": vocab.label(vocab.INCIDENT_STATUSES, r["status"]),
        "subtype": r["subtype"], "subtype_label": subtype[0] if subtype else None,
        "closed_at": r["closed_at"], "outcome": r["outcome"],
        "outcome_label": r["outcome"] and vocab.label(vocab.INCIDENT_OUTCOMES,
                                                      r["outcome"]),
        "grid_code": r["grid_code"], "grid_name": r["grid_name"],
        "assignee_name": r["assignee_name"], "department": r["department"],
        "actors": sorted(r["actors"]), "household_id": r["household_id"],
        "address": r["address"], "parties": r["parties"],
    }


def _json(value):
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json(v) for v in value]
    return _iso(value)


def visits_due(conn, principal, grids, now=None):
    """The recurring disputes of the micro-grids ``grids`` (the phone user's)
    whose households have had no visit since the last dispute: the phone's "a
    visit is due" tasks, ``[{key, kind, count, household, address, parties,
    last_incident, grid_code, grid_name}]``. One audit row."""
    found = recurring(conn, principal, now=now, grids=grids,
                      via={"via": "visits_due", "grids": len(grids)})
    return {"rule": found["rule"], "items": [
        {k: it[k] for k in ("key", "kind", "count", "household", "address",
                            "parties", "grid_code", "grid_name", "last_at")}
        | {"last_incident": it["incidents"][-1]}
        for it in found["items"] if it["visit_due"]]}
