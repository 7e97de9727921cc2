"""Accounts' jurisdictions, as an administrator reads them: grids by name.

An administrator grants a jurisdiction by picking a grid by its name, never by
typing a code (the users page's picker): :func:`grid_choices` finds the grids of
the administrator's own subtree (its root included: a scoped administrator may
grant it) whose name holds the words, each with its name chain (镇 › 村 › 综合网格
› 微网格). :func:`chains` names the grids of listed accounts the same way.

A merge ends a grid's code without widening its accounts to the kept grid
(``layers.grid_edit``): such an account's jurisdiction matches nothing until an
administrator reassigns it. :func:`orphaned` lists the accounts of the
administrator's subtree whose grid no longer exists, with the grid's last name
(``grid_history``) and the grids its lineage leads to now (``grid_lineage``), to
reassign them with ``layers.users.set_access``.
"""

from psycopg import sql
from psycopg.rows import dict_row

from geo.catalogue import say
from layers.errors import Invalid

__all__ = ["MAX_QUERY", "grid_choices", "chains", "orphaned"]

MAX_QUERY = 60

# The names of a grid and its ancestors, root first: the ancestors' codes are
# the prefixes of 9, 12 and 15 digits of its code.
_CHAIN = sql.SQL("""ARRAY(SELECT a.name FROM grids a
                  WHERE a.code IN (left(g.code, 9), left(g.code, 12),
                                   left(g.code, 15), g.code)
                  ORDER BY length(a.code))""")

_CHOICES = sql.SQL("""
    SELECT g.code, g.name, g.level, {chain} AS chain
    FROM grids g
    WHERE g.code LIKE %(scope)s AND g.name ILIKE %(inside)s
    ORDER BY CASE WHEN g.name = %(q)s THEN 0 WHEN g.name ILIKE %(prefix)s THEN 1
                  ELSE 2 END, g.level, g.code
    LIMIT %(limit)s
""").format(chain=_CHAIN)


def _escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def grid_choices(conn, actor, q, limit=20):
    """The grids ``actor`` may grant whose name holds the words ``q`` (exact
    name first, then names that start with it, then by level and code), as
    ``[{code, name, level, chain}]`` (``chain``: the names from the top grid
    down to it). Without words, the top of the subtree (its root first)."""
    words = " ".join((q or "").split())
    if len(words) > MAX_QUERY:
        raise Invalid(say("err_q_too_long",
                          limit=MAX_QUERY), field="q")
    return conn.cursor(row_factory=dict_row).execute(_CHOICES, {
        "scope": actor.prefix, "q": words, "prefix": _escape(words) + "%",
        "inside": "%" + _escape(words) + "%", "limit": limit}).fetchall()


def chains(conn, codes):
    """``{code: [names from the top down]}`` of the existing grids among
    ``codes`` (a code that no longer exists is left out)."""
    codes = sorted({c for c in codes if c})
    if not codes:
        return {}
    return dict(conn.execute(
        sql.SQL("SELECT g.code, {chain} FROM grids g WHERE g.code = ANY(%s)")
        .format(chain=_CHAIN), (codes,)).fetchall())


_ORPHANED = sql.SQL("""
    WITH RECURSIVE gone AS (
        SELECT u.username, u.role, u.grid_code, u.active
        FROM users u
        WHERE u.grid_code IS NOT NULL AND u.grid_code LIKE %(scope)s
          AND NOT EXISTS (SELECT 1 FROM grids g WHERE g.code = u.grid_code)),
    chain(start, code, depth) AS (
        SELECT DISTINCT grid_code, grid_code, 0 FROM gone
        UNION
        SELECT c.start, l.new_code, c.depth + 1
        FROM grid_lineage l JOIN chain c ON l.old_code = c.code
        WHERE c.depth < 50)
    SELECT o.username, o.role, o.grid_code, o.active,
           (SELECT h.name FROM grid_history h WHERE h.code = o.grid_code
            ORDER BY h.valid_to DESC LIMIT 1) AS old_name,
           coalesce((SELECT jsonb_agg(jsonb_build_object(
                         'code', g.code, 'name', g.name,
                         'chain', {chain}) ORDER BY g.code)
                     FROM grids g
                     WHERE g.code LIKE %(scope)s AND g.code IN (
                         SELECT c.code FROM chain c
                         WHERE c.start = o.grid_code AND c.depth > 0)),
                    '[]'::jsonb) AS now
    FROM gone o ORDER BY o.grid_code, o.username
""").format(chain=_CHAIN)


def orphaned(conn, actor):
    """The accounts of ``actor``'s subtree whose grid no longer exists (merged
    away, deleted, re-coded without them): ``[{username, role, grid_code,
    active, old_name, now}]``, ``now`` the grids of the subtree its lineage leads
    to (``[{code, name, chain}]``, empty when the lineage says nothing)."""
    return conn.cursor(row_factory=dict_row).execute(
        _ORPHANED, {"scope": actor.prefix}).fetchall()
