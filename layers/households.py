"""The households layer: personal data, masked, scoped, and its reads audited.

Masking happens in SQL, so unmasked names, phones and ID numbers never leave the
database for a user whose role may not see them.
"""

from psycopg import sql
from psycopg.rows import dict_row

from geo.catalogue import say
from layers import audit
from layers.access import like_prefix
from layers.errors import NotFound

__all__ = ["FIELDS", "scope_params", "positions", "list_households", "get_household",
           "describe"]

# Masks (the usual Chinese practice): 张三丰 → 张**, 13812345678 → 138****5678,
# 320282199001011234 → 320282********1234.
FIELDS = sql.SQL("""
    t.id, t.external_id, t.address, t.size, t.grid_code,
    ST_X(t.geom) AS lon, ST_Y(t.geom) AS lat,
    CASE WHEN %(personal)s THEN t.head_name
         ELSE left(t.head_name, 1) || repeat('*', greatest(char_length(t.head_name) - 1, 1))
    END AS head_name,
    CASE WHEN %(personal)s THEN t.phone
         ELSE left(t.phone, 3) || '****' || right(t.phone, 4) END AS phone,
    CASE WHEN %(personal)s THEN t.id_number
         ELSE left(t.id_number, 6) || repeat('*', greatest(char_length(t.id_number) - 10, 0))
              || right(t.id_number, 4) END AS id_number,
    CASE WHEN %(tags)s THEN t.tags END AS tags
""")  # noqa: E501


def positions(conn, principal, limit=20000):
    """Return ``[[lat, lon], ...]`` of the user's households, nothing else."""
    rows = conn.execute(
        "SELECT ST_Y(geom), ST_X(geom) FROM households WHERE grid_code LIKE %s"
        " ORDER BY id LIMIT %s", (principal.prefix, limit))
    return [[round(lat, 6), round(lon, 6)] for lat, lon in rows]


def scope_params(principal):
    """The parameters :data:`FIELDS` and the scope (``%(scope)s``) read for
    ``principal``: what its role may see unmasked, and its jurisdiction."""
    return {"personal": principal.can("households:personal"),
            "tags": principal.can("households:tags"), "scope": principal.prefix}


def list_households(conn, principal, grid=None, limit=100, offset=0, via=None):
    """Households of the user's jurisdiction (optionally of one grid's subtree),
    masked per role; ``{"total": n, "items": [...]}``. The read is audited: one
    row per call, however many households (none included); ``via`` says how, when
    not a listing (``{"via": "export", "format": "xlsx"}``)."""
    params = scope_params(principal) | {"grid": like_prefix(grid or ""),
                                        "limit": limit, "offset": offset}
    cur = conn.cursor(row_factory=dict_row)
    total = cur.execute(
        "SELECT count(*) AS n FROM households t"
        " WHERE t.grid_code LIKE %(scope)s AND t.grid_code LIKE %(grid)s",
        params).fetchone()["n"]
    items = cur.execute(
        sql.SQL("SELECT {} FROM households t"
                " WHERE t.grid_code LIKE %(scope)s AND t.grid_code LIKE %(grid)s"
                " ORDER BY t.id LIMIT %(limit)s OFFSET %(offset)s").format(FIELDS),
        params).fetchall()
    audit.record_read(conn, principal, "households",
                      {"via": "list", "grid": grid, "limit": limit, "offset": offset}
                      | (via or {}), len(items))
    return {"total": total, "items": items}


def describe(conn, principal, ids, query):
    """Address and head of household of the households ``ids`` of the user's
    jurisdiction, masked per role (for a list of households, such as those an
    edit of the grids moves): ``{id: {"address", "head_name"}}``. The read is
    audited like a listing: one row, ``query`` its parameters."""
    params = scope_params(principal) | {"ids": list(ids)}
    rows = conn.cursor(row_factory=dict_row).execute(
        sql.SQL("SELECT {} FROM households t"
                " WHERE t.id = ANY(%(ids)s) AND t.grid_code LIKE %(scope)s").format(
            FIELDS), params).fetchall()
    audit.record_read(conn, principal, "households", query, len(rows))
    return {r["id"]: {"address": r["address"], "head_name": r["head_name"]}
            for r in rows}


def get_household(conn, principal, household_id):
    """One household's full record (masked per role); the read is audited.

    A household outside the user's jurisdiction is NotFound, like a missing one.
    """
    params = scope_params(principal) | {"id": household_id}
    row = conn.cursor(row_factory=dict_row).execute(
        sql.SQL("SELECT {} FROM households t"
                " WHERE t.id = %(id)s AND t.grid_code LIKE %(scope)s").format(FIELDS),
        params).fetchone()
    if row is None:
        raise NotFound(say("err_no_household", household_id=household_id), field="id")
    audit.record(conn, principal, "read", "households", household_id,
                 after={"query": {"via": "get", "id": household_id}},
                 grid_code=row["grid_code"], records=1)
    return row
