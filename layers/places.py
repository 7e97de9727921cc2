"""The local gazetteer: find a place by the words a caller uses, no online geocoder.

A dispatcher hears "后渎村三组", "新华路 12 号" or a head of household's name; this
finds the grids (towns, villages, grids) by name, the cameras by name (they are
named after the spot they watch: 学校门口, 村委会), and the households by address or,
for a role that may see names, by head of household. Each hit has a point to put
on the map (a grid's point on its surface, the household's or camera's position).

Matching is ``ILIKE '%words%'`` on trigram indexes (migration 0008); hits are
ordered exact match first, then prefix, then by similarity, then shortest name.
Addresses and heads of household are personal data: a search that looked
households up writes one audit row (the words, how many households it found).
"""

from psycopg import sql
from psycopg.rows import dict_row

from geo.catalogue import say
from layers import audit
from layers.errors import Invalid
from layers.grids import scope_params

__all__ = ["find_places", "MAX_QUERY"]

MAX_QUERY = 60

# rank: 0 exact, 1 prefix, 2 inside; then pg_trgm similarity, then shorter text.
_RANK = sql.SQL(
    "CASE WHEN {t} = %(q)s THEN 0 WHEN {t} ILIKE %(prefix)s THEN 1 ELSE 2 END")

_GRIDS = sql.SQL("""
    SELECT 'grid' AS kind, code, name AS label, level, NULL::text AS detail,
           ST_X(p) AS lon, ST_Y(p) AS lat,
           {rank} AS rank, similarity(name, %(q)s) AS sim
    FROM grids g, ST_PointOnSurface(g.geom) AS p
    WHERE g.name ILIKE %(inside)s
      AND (g.code LIKE %(scope)s OR left(%(root)s, length(g.code)) = g.code)
    ORDER BY rank, sim DESC, length(name), code LIMIT %(limit)s
""").format(rank=_RANK.format(t=sql.Identifier("name")))

_CAMERAS = sql.SQL("""
    SELECT 'camera' AS kind, code, name AS label, NULL::smallint AS level,
           grid_code AS detail, ST_X(geom) AS lon, ST_Y(geom) AS lat,
           {rank} AS rank, similarity(name, %(q)s) AS sim
    FROM cameras
    WHERE name ILIKE %(inside)s AND grid_code LIKE %(scope)s
    ORDER BY rank, sim DESC, length(name), code LIMIT %(limit)s
""").format(rank=_RANK.format(t=sql.Identifier("name")))

# The address always; the head of household's name only for a role that may see
# names unmasked (a masked user must not learn a name by searching for it). The
# name in the answer is masked as the households layer masks it.
_HOUSEHOLDS = sql.SQL("""
    SELECT 'household' AS kind, id::text AS code, address AS label,
           NULL::smallint AS level,
           CASE WHEN %(personal)s THEN head_name
                ELSE left(head_name, 1)
                     || repeat('*', greatest(char_length(head_name) - 1, 1))
           END AS detail,
           ST_X(geom) AS lon, ST_Y(geom) AS lat, grid_code,
           least({rank_address}, CASE WHEN %(personal)s THEN {rank_name} ELSE 9 END)
               AS rank,
           greatest(similarity(address, %(q)s),
                    CASE WHEN %(personal)s THEN similarity(head_name, %(q)s)
                         ELSE 0 END) AS sim
    FROM households
    WHERE grid_code LIKE %(scope)s
      AND (address ILIKE %(inside)s
           OR (%(personal)s AND head_name ILIKE %(inside)s))
    ORDER BY rank, sim DESC, length(address), id LIMIT %(limit)s
""").format(rank_address=_RANK.format(t=sql.Identifier("address")),
            rank_name=_RANK.format(t=sql.Identifier("head_name")))


def _escape(text):
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_places(conn, principal, q, limit=10):
    """Places matching ``q`` in the user's jurisdiction, best first per kind.

    Returns
    -------
    dict
        ``grids``, ``cameras`` and (with households:read) ``households``: lists of
        ``{kind, code, label, level, detail, lon, lat}``. For households ``code``
        is the household id and ``detail`` the head of household (masked unless
        the role may see names).
    """
    words = " ".join((q or "").split())
    if not words:
        raise Invalid(say("err_q_required"), field="q")
    if len(words) > MAX_QUERY:
        raise Invalid(say("err_q_too_long", limit=MAX_QUERY),
                      field="q")
    params = scope_params(principal) | {
        "q": words, "prefix": _escape(words) + "%",
        "inside": "%" + _escape(words) + "%", "limit": limit,
        "personal": principal.can("households:personal")}
    cur = conn.cursor(row_factory=dict_row)
    out = {"grids": _rows(cur.execute(_GRIDS, params)),
           "cameras": _rows(cur.execute(_CAMERAS, params))}
    if principal.can("households:read"):
        out["households"] = _rows(cur.execute(_HOUSEHOLDS, params))
        # Addresses and heads of household are personal data: one audit row per
        # search that looked households up, zero hits included (a name probed).
        audit.record_read(conn, principal, "households",
                          {"via": "places", "q": words, "limit": limit},
                          len(out["households"]))
    return out


def _rows(cur):
    rows = cur.fetchall()
    for row in rows:
        row.pop("rank")
        row.pop("sim")
    return rows
