"""Saving an edit of the grids: boundaries, history, the points that change grid.

Preview and save run the very same code in one transaction: the preview rolls it
back, the save commits it. So what the planner previewed is what is saved, and a
failing save changes nothing.
"""

import shapely
from psycopg import sql
from psycopg.rows import dict_row

from geo import edit as geo_edit
from layers import audit, check
from layers.errors import Conflict, Invalid, NotFound, Unprocessable

__all__ = [
    "run_edit", "redraw", "create", "delete", "split", "merge", "replace_children",
]

# The points that follow their micro-grid: table -> extra condition.
_FOLLOWERS = {
    "households": sql.SQL("TRUE"),
    "cameras": sql.SQL("TRUE"),
    "incidents": sql.SQL("t.closed_at IS NULL"),  # closed incidents keep their grid
}


def _geom(wkb):
    return shapely.from_wkb(wkb)


def _lock_grid(conn, principal, code):
    """The grid row, locked; NotFound when unknown or outside the jurisdiction."""
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT code, name, level, parent_code, version, ST_AsBinary(geom) AS wkb"
        " FROM grids WHERE code = %s AND code LIKE %s FOR UPDATE",
        (code, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(f"no grid with code {code}", field="code")
    return row


def _lock_level3(conn, principal, code, field):
    """The locked row of comprehensive grid ``code``: micro-grids are created and
    replaced under a level-3 grid only."""
    row = _lock_grid(conn, principal, code)
    if row["level"] != 3:
        raise Unprocessable("micro-grids are created under a comprehensive grid "
                            "(level 3): give its code", field=field)
    return row


def _check_version(row, version):
    if version is None:
        raise Invalid("'version' is required: the version you started from",
                      field="version")
    if int(version) != row["version"]:
        raise Conflict(f"grid {row['code']} was changed by someone else (now version "
                       f"{row['version']}, you started from {version}): reload it",
                       field="version", current_version=row["version"])


def _children(conn, parent_code, level=None):
    """code -> geometry of the children of ``parent_code`` (level-1 grids for None),
    locked against concurrent edits."""
    if parent_code is None:
        rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM grids"
                            " WHERE parent_code IS NULL ORDER BY code FOR UPDATE")
    else:
        rows = conn.execute("SELECT code, ST_AsBinary(geom) FROM grids"
                            " WHERE parent_code = %s ORDER BY code FOR UPDATE",
                            (parent_code,))
    return {code: _geom(wkb) for code, wkb in rows}


def _parent_geom(conn, parent_code):
    if parent_code is None:
        return None
    wkb = conn.execute("SELECT ST_AsBinary(geom) FROM grids WHERE code = %s",
                       (parent_code,)).fetchone()[0]
    return _geom(wkb)


def run_edit(conn, principal, dry_run, build):
    """Run ``build(conn) -> (level, parent_code, Edit, new_names)`` and apply it."""
    with conn.transaction(force_rollback=dry_run):
        try:
            level, parent_code, edit, names = build(conn)
            changed = _carry_down(conn, level, edit.changed)
        except geo_edit.EditError as exc:
            raise Unprocessable(str(exc), field=exc.field) from None
        result = {"gaps": [shapely.geometry.mapping(g) for g in edit.gaps],
                  "gap_area_m2": round(float(geo_edit.area_m2(edit.gaps).sum()), 1)}
        if edit.gaps and not dry_run:
            raise Unprocessable(
                f"the edit leaves {len(edit.gaps)} gap(s) of "
                f"{result['gap_area_m2']} m² in the parent grid that no grid covers: "
                "give that area to a neighbour first", field="geometry", **result)
        grids = _apply(conn, principal, level, parent_code, edit, changed, names)
        micro = [c for c, lv in grids.items() if lv == 4]
        kept = [c for c in micro if c not in edit.removed]
        moves = {table: _reassign(conn, table, cond, micro, kept)
                 for table, cond in _FOLLOWERS.items()}
        _remove(conn, principal, edit)
        result |= {
            "can_save": not edit.gaps,
            "grids": _features(conn, list(grids)),
            "removed": edit.removed,
            "moves": moves,
            "check": _check_parent(conn, principal, parent_code),
        }
    return result


def _check_parent(conn, principal, parent_code):
    """The affected parent as it would be (or now is), checked in full; None when
    the parent lies above the user's jurisdiction."""
    if parent_code is None:
        return None
    try:
        return check.check_subtree(conn, principal, parent_code)
    except NotFound:
        return None


def _carry_down(conn, level, changed):
    """Every grid below a changed one that changes with it: code -> geometry."""
    out, frontier = dict(changed), dict(changed)
    for _ in range(level, 4):
        below = {}
        for code, geom in frontier.items():
            children = _children(conn, code)
            if children:
                below |= geo_edit.cascade(children, geom)
        out |= below
        frontier = below
        if not frontier:
            break
    return out


def _apply(conn, principal, level, parent_code, edit, changed, names):
    """Write the geometries; return code -> level of every grid touched."""
    touched = {}
    for code, geom in changed.items():
        before = conn.execute(
            "SELECT version, ST_AsText(geom), level FROM grids WHERE code = %s",
            (code,)).fetchone()
        conn.execute("UPDATE grids SET geom = ST_Multi(ST_GeomFromWKB(%s, 4326))"
                     " WHERE code = %s", (shapely.to_wkb(geom), code))
        audit.record(conn, principal, "update", "grids", code,
                     before={"version": before[0]}, after={"version": before[0] + 1},
                     geom_before=before[1], geom_after=geom.wkt)
        touched[code] = before[2]
    for code, geom in edit.created.items():
        conn.execute(
            "INSERT INTO grids (code, name, level, parent_code, geom)"
            " VALUES (%s, %s, %s, %s, ST_Multi(ST_GeomFromWKB(%s, 4326)))",
            (code, names.get(code, code), level, parent_code, shapely.to_wkb(geom)))
        audit.record(conn, principal, "create", "grids", code,
                     after={"name": names.get(code, code), "level": level},
                     geom_after=geom.wkt)
        touched[code] = level
    for code in edit.removed:
        touched[code] = level
    return touched


def _remove(conn, principal, edit):
    """Delete merged-away grids (their points have moved; staff go to the kept one).
    The history trigger keeps their last boundary."""
    for code in edit.removed:
        keep = edit.successor[code]
        for table in ("grid_staff", "households", "cameras", "incidents"):
            # what still names it (closed incidents, anything on no new grid)
            conn.execute(sql.SQL("UPDATE {} SET grid_code = %s WHERE grid_code = %s")
                         .format(sql.Identifier(table)), (keep, code))
        wkt = conn.execute(
            "DELETE FROM grids WHERE code = %s RETURNING ST_AsText(geom)",
            (code,)).fetchone()[0]
        audit.record(conn, principal, "delete", "grids", code,
                     after={"merged_into": keep}, geom_before=wkt)


def _reassign(conn, table, condition, from_codes, to_codes):
    """Move the points of the touched micro-grids ``from_codes`` to the one of
    ``to_codes`` now holding them; return the moves ``[{id, from, to}]``."""
    if not from_codes:
        return []
    query = sql.SQL("""
        WITH target AS (
            SELECT DISTINCT ON (t.id) t.id, t.grid_code AS old, g.code AS new
            FROM {table} t
            JOIN grids g ON g.level = 4 AND g.code = ANY(%(to)s)
                        AND ST_Intersects(g.geom, t.geom)
            WHERE t.grid_code = ANY(%(from)s) AND {condition}
            ORDER BY t.id, g.code)
        UPDATE {table} t SET grid_code = target.new FROM target
        WHERE t.id = target.id AND target.old IS DISTINCT FROM target.new
        RETURNING t.id, target.old, target.new
    """).format(table=sql.Identifier(table), condition=condition)
    rows = conn.execute(query, {"from": from_codes, "to": to_codes}).fetchall()
    return [{"id": i, "from": old, "to": new} for i, old, new in sorted(rows)]


def _features(conn, codes):
    rows = conn.execute(
        "SELECT json_build_object('type', 'Feature', 'id', code,"
        " 'geometry', ST_AsGeoJSON(geom, 9)::json,"
        " 'properties', json_build_object('code', code, 'name', name,"
        " 'level', level, 'parent', parent_code, 'version', version,"
        " 'area_m2', round(ST_Area(geom::geography)::numeric, 1)))"
        " FROM grids WHERE code = ANY(%s) ORDER BY code", (codes,)).fetchall()
    return {"type": "FeatureCollection", "features": [r[0] for r in rows]}


def redraw(conn, principal, code, geometry, version, dry_run=False, sliver_m2=1.0):
    """Give grid ``code`` a new boundary (shapely, EPSG:4326)."""

    def build(conn):
        row = _lock_grid(conn, principal, code)
        _check_version(row, version)
        siblings = _children(conn, row["parent_code"])
        parent = _parent_geom(conn, row["parent_code"])
        edit = geo_edit.redraw(siblings, code, geometry, parent, sliver_m2)
        return row["level"], row["parent_code"], edit, {}

    return run_edit(conn, principal, dry_run, build)


def split(conn, principal, code, line, version, name=None, dry_run=False):
    """Split micro-grid ``code`` along ``line``; the smaller part becomes a new
    micro-grid with the next free code under the same parent."""

    def build(conn):
        row = _lock_grid(conn, principal, code)
        _check_version(row, version)
        if row["level"] != 4:
            raise Unprocessable("only micro-grids (level 4) can be split for now: "
                                "split the grids below first", field="code")
        siblings = _children(conn, row["parent_code"])
        (new_code,) = _free_codes(row["parent_code"],
                                  _codes_ever(conn, row["parent_code"], siblings), 1)
        edit = geo_edit.split(_geom(row["wkb"]), line, code, new_code)
        return 4, row["parent_code"], edit, {new_code: name or f"{row['name']}（分）"}

    return run_edit(conn, principal, dry_run, build)


def merge(conn, principal, codes, versions, dry_run=False):
    """Merge adjacent sibling micro-grids into the first of ``codes``."""
    if len(codes) < 2:
        raise Invalid("give at least two grids to merge", field="codes")

    def build(conn):
        rows = [_lock_grid(conn, principal, c) for c in codes]
        for row in rows:
            _check_version(row, (versions or {}).get(row["code"]))
        if len({r["parent_code"] for r in rows}) != 1:
            raise Unprocessable("the grids to merge are not siblings (they have "
                                "different parents)", field="codes")
        if any(r["level"] != 4 for r in rows):
            raise Unprocessable("only micro-grids (level 4) can be merged for now",
                                field="codes")
        edit = geo_edit.merge({r["code"]: _geom(r["wkb"]) for r in rows}, codes[0])
        return 4, rows[0]["parent_code"], edit, {}

    return run_edit(conn, principal, dry_run, build)


def create(conn, principal, parent_code, name, geometry, dry_run=False):
    """A new micro-grid under level-3 grid ``parent_code``, taking its area from
    its siblings; the households, cameras and open incidents inside it follow."""
    if not (name or "").strip():
        raise Invalid("'name' is required for a new grid", field="name")

    def build(conn):
        parent = _lock_level3(conn, principal, parent_code, "parent")
        siblings = _children(conn, parent_code)
        (code,) = _free_codes(parent_code, _codes_ever(conn, parent_code, siblings), 1)
        edit = geo_edit.create(siblings, code, geometry, _geom(parent["wkb"]))
        return 4, parent_code, edit, {code: name.strip()}

    return run_edit(conn, principal, dry_run, build)


def delete(conn, principal, code, version, into=None, dry_run=False):
    """Delete micro-grid ``code``: its area and everything in it go to the sibling
    ``into`` (default: the one sharing the longest border with it)."""

    def build(conn):
        row = _lock_grid(conn, principal, code)
        _check_version(row, version)
        if row["level"] != 4:
            raise Unprocessable("only micro-grids (level 4) can be deleted for now",
                                field="code")
        siblings = _children(conn, row["parent_code"])
        geom = siblings.pop(code)
        heir = into or max(siblings, default=None, key=lambda c: shapely.length(
            shapely.intersection(geom.boundary, siblings[c].boundary)))
        if heir not in siblings:
            raise Unprocessable(f"{heir} is not a sibling of {code}", field="into")
        edit = geo_edit.merge({heir: siblings[heir], code: geom}, heir)
        return 4, row["parent_code"], edit, {}

    return run_edit(conn, principal, dry_run, build)


def _free_codes(parent_code, siblings, count):
    """The next ``count`` unused child codes under ``parent_code`` (never reusing
    a code still in the history, so that an old code keeps one meaning)."""
    used = {int(c[-3:]) for c in siblings}
    free = [n for n in range(1, 1000) if n not in used][:count]
    if len(free) < count:
        raise Unprocessable("no free code left under this parent", field="code")
    return [f"{parent_code}{n:03d}" for n in free]


def replace_children(conn, principal, code, polygons, versions, dry_run=False):
    """Replace the micro-grids of level-3 grid ``code`` by ``polygons`` (an adopted
    proposal): codes carry over to the polygons that overlap them most."""

    def build(conn):
        row = _lock_level3(conn, principal, code, "code")
        children = _children(conn, code)
        for child in children:
            _check_version({"code": child, "version": _version_of(conn, child)},
                           (versions or {}).get(child))
        new_codes = _free_codes(code, _codes_ever(conn, code, children), len(polygons))
        edit = geo_edit.replace_children(children, polygons, _geom(row["wkb"]),
                                         new_codes)
        names = {c: f"{row['name']}-{c[-3:]}微网格" for c in edit.created}
        return 4, code, edit, names

    return run_edit(conn, principal, dry_run, build)


def _codes_ever(conn, parent_code, children):
    """Codes of the children now and in the history of ``parent_code``."""
    return set(children) | {r[0] for r in conn.execute(
        "SELECT DISTINCT code FROM grid_history WHERE parent_code = %s",
        (parent_code,))}


def _version_of(conn, code):
    return conn.execute("SELECT version FROM grids WHERE code = %s",
                        (code,)).fetchone()[0]
