"""Re-coding grids and their lineage (issue "Planners", split and merge above
level 4).

Codes are prefixes of their children's, so a grid that gets another parent gets
another code, and so does everything below it; a trigger refuses to change a code
in place, so a re-coded grid is a new row, what named the old code follows it, and
the old row goes (its last version kept in grid_history). ``grid_lineage``
(migration 0010) records what each old code became, so that "what became of X"
stays answerable.
"""

from psycopg import sql

from geo.catalogue import say
from layers import audit
from layers.access import like_prefix
from layers.errors import NotFound

__all__ = ["COUNTED", "move_references", "recode", "record_lineage", "taken_codes",
           "lineage"]

# What an edit counts as changing grid (incidents: all, and the open ones).
COUNTED = ("households", "cameras", "incidents", "open_incidents", "staff")
# Everything that names a grid by its code and must follow a re-coded grid (the
# caches of 0005/0006 follow by their triggers; grid_history and audit are the
# record of what was, and stay as written). `users` is the accounts' jurisdiction.
_REFERRERS = ("grid_staff", "households", "cameras", "incidents", "users")


def move_references(conn, old, new, users=True):
    """Point every row naming a code of ``old`` at the matching one of ``new``;
    the counts per kind (closed incidents too: the grid they name goes away)."""
    pairs = {"old": old, "new": new}
    counts = {}
    for table in _REFERRERS:
        if table == "users" and not users:
            continue
        query = sql.SQL("""
            WITH m AS (SELECT * FROM unnest(%(old)s::text[], %(new)s::text[])
                       AS m(old, new)),
            u AS (UPDATE {table} t SET grid_code = m.new FROM m
                  WHERE t.grid_code = m.old RETURNING {extra})
            SELECT count(*), count(*) FILTER (WHERE x) FROM u
        """).format(table=sql.Identifier(table), extra=sql.SQL(
            "t.closed_at IS NULL AS x" if table == "incidents" else "TRUE AS x"))
        n, open_ = conn.execute(query, pairs).fetchone()
        counts[table] = n
        if table == "incidents":
            counts["open_incidents"] = open_
    counts["staff"] = counts.pop("grid_staff")
    counts.pop("users", None)
    return counts


def recode(conn, principal, recoded):
    """Give grids new codes (``recoded``: old → new, parents first).

    Codes are identities (a trigger refuses to change one), so each re-coded grid
    is a new row with the old one's name, boundary and attributes; what named the
    old code follows, and the old row is deleted, its last version kept in
    grid_history by the trigger. Returns the pairs, the counts of what followed
    and the accounts whose jurisdiction followed.
    """
    counts = dict.fromkeys(COUNTED, 0)
    if not recoded:
        return [], counts, []
    old, new = list(recoded), list(recoded.values())
    rows = conn.execute(
        "SELECT code, name, level FROM grids WHERE code = ANY(%s)", (old,)).fetchall()
    info = {code: (name, level) for code, name, level in rows}
    for level in sorted({lv for _, lv in info.values()}):
        # one statement per level: each level's parents exist before it
        conn.execute("""
            INSERT INTO grids (code, name, level, parent_code, geom,
                               households_target, notes)
            SELECT m.new, g.name, g.level, left(m.new, length(m.new) - 3), g.geom,
                   g.households_target, g.notes
            FROM unnest(%(old)s::text[], %(new)s::text[]) AS m(old, new)
            JOIN grids g ON g.code = m.old
            WHERE g.level = %(level)s
        """, {"old": old, "new": new, "level": level})
    accounts = [{"username": u, "from": f, "to": recoded[f]} for u, f in conn.execute(
        "SELECT username, grid_code FROM users WHERE grid_code = ANY(%s)"
        " ORDER BY username", (old,))]
    counts |= move_references(conn, old, new)
    for level in sorted({lv for _, lv in info.values()}, reverse=True):
        gone = conn.execute(
            "DELETE FROM grids WHERE code = ANY(%s) AND level = %s"
            " RETURNING code, ST_AsText(geom)", (old, level)).fetchall()
        for code, wkt in gone:
            audit.record(conn, principal, "create", "grids", recoded[code],
                         after={"recoded_from": code, "level": level},
                         geom_after=wkt)
            audit.record(conn, principal, "delete", "grids", code,
                         after={"recoded_to": recoded[code]}, geom_before=wkt)
    pairs = [{"from": o, "to": n, "level": info[o][1], "name": info[o][0]}
             for o, n in recoded.items()]
    return pairs, counts, accounts


def record_lineage(conn, principal, edit):
    """What each old code became (grid_lineage): split-off parts, merged-away
    grids and re-coded ones."""
    rows = [(edit.split_from, new, "split") for new in edit.created
            if edit.split_from]
    rows += [(old, new, "merge") for old, new in edit.successor.items()]
    rows += [(old, new, "recode") for old, new in edit.recoded.items()]
    if rows:
        conn.cursor().executemany(
            "INSERT INTO grid_lineage (old_code, new_code, kind, username)"
            " VALUES (%s, %s, %s, %s)", [(*r, principal.username) for r in rows])


def taken_codes(conn, parent_code):
    """Child codes under ``parent_code`` now and in the history: codes are
    prefixes, so they are the codes one level longer that start with it."""
    params = {"like": like_prefix(parent_code), "length": len(parent_code) + 3}
    return {r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE code LIKE %(like)s"
        " AND length(code) = %(length)s"
        " UNION SELECT code FROM grid_history WHERE code LIKE %(like)s"
        " AND length(code) = %(length)s", params)}


def lineage(conn, principal, code):
    """What grid ``code`` became and came from (grid_lineage), and the grids
    that hold its area now; NotFound when the code is unknown to both the grids
    and the lineage of the user's jurisdiction."""
    scope = principal.prefix
    steps = conn.execute(
        "SELECT old_code, new_code, kind, at, username FROM grid_lineage"
        " WHERE (old_code = %(code)s OR new_code = %(code)s)"
        " AND old_code LIKE %(scope)s AND new_code LIKE %(scope)s ORDER BY id",
        {"code": code, "scope": scope}).fetchall()
    now = [r[0] for r in conn.execute("""
        WITH RECURSIVE chain(code, depth) AS (
            SELECT %(code)s::text, 0
            UNION
            SELECT l.new_code, c.depth + 1
            FROM grid_lineage l JOIN chain c ON l.old_code = c.code
            WHERE c.depth < 50)
        SELECT DISTINCT g.code FROM chain c JOIN grids g ON g.code = c.code
        WHERE g.code LIKE %(scope)s ORDER BY g.code
    """, {"code": code, "scope": scope})]
    if not steps and not now:
        raise NotFound(say("err_no_grid_code", code=code), field="code")

    def step(r, other):
        return {"code": r[other], "kind": r[2], "at": r[3], "username": r[4]}

    return {"code": code, "exists": code in now,
            "became": [step(r, 1) for r in steps if r[0] == code],
            "came_from": [step(r, 0) for r in steps if r[1] == code],
            "now": now}
