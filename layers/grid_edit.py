"""Saving an edit of the grids: boundaries, history, the points that change grid.

Preview and save run the very same code in one transaction: the preview rolls it
back, the save commits it. So what the planner previewed is what is saved, and a
failing save changes nothing.

Every edit stays inside the user's jurisdiction (:mod:`layers.grid_scope`) and
takes its locks in one order: the parent of the grids it edits, then all the
parent's children in code order, then the grids below them.

Above level 4 a split or merge keeps the grids below as they are and moves some
of them under another parent; as codes are prefixes of their children's, those
get new codes (:mod:`layers.grid_recode`), and everything naming them follows;
``grid_lineage`` (migration 0010) records what each old code became.
"""

import shapely
from psycopg import sql
from psycopg.rows import dict_row

from geo import edit as geo_edit
from geo.catalogue import say
from layers import audit, check, grid_recode
from layers.access import like_prefix
from layers.assign import FOLLOWERS
from layers.errors import Conflict, Invalid, NotFound, Unprocessable
from layers.grid_recode import COUNTED, taken_codes
from layers.grid_scope import check_editable, refuse_outside, refuse_reaching_out

__all__ = [
    "run_edit", "redraw", "create", "delete", "split", "merge", "replace_children",
    "check_version",
]


def _geom(wkb):
    return shapely.from_wkb(wkb)


def _read_grids(conn, principal, codes, field="code"):
    """The rows of grids ``codes`` in code order; NotFound for one that is unknown
    or outside the jurisdiction."""
    rows = conn.cursor(row_factory=dict_row).execute(
        "SELECT code, name, level, parent_code, version, ST_AsBinary(geom) AS wkb"
        " FROM grids WHERE code = ANY(%s) AND code LIKE %s ORDER BY code",
        (list(codes), principal.prefix)).fetchall()
    found = {r["code"] for r in rows}
    for code in sorted(codes):
        if code not in found:
            raise NotFound(say("err_no_grid_code", code=code), field=field)
    return rows


def _lock_family(conn, principal, codes, field="code"):
    """Lock sibling grids ``codes`` for an edit: their parent first, then all its
    children in code order. Returns the rows of ``codes`` (as now committed, in
    code order) and code -> geometry of every sibling.

    Every edit takes its locks in this one order (a parent before its children,
    children in code order), so two edits of neighbours queue, and the second
    finds the first's new versions (409), instead of each holding its own grid
    while waiting for the other's (a deadlock, a 500).
    """
    for code in codes:
        check_editable(principal, code, field=field)
    rows = _read_grids(conn, principal, codes, field)
    parents = {r["parent_code"] for r in rows}
    if len(parents) != 1:
        raise Unprocessable(say("err_grids_edited_together_merged"), field="codes")
    (parent,) = parents
    if parent is not None:
        conn.execute("SELECT 1 FROM grids WHERE code = %s FOR UPDATE", (parent,))
    siblings = _children(conn, parent)
    return _read_grids(conn, principal, codes, field), siblings


def _lock_level3(conn, principal, code, field):
    """The locked row of comprehensive grid ``code``: micro-grids are created and
    replaced under a level-3 grid only (which may be the jurisdiction's root)."""
    check_editable(principal, code, root_ok=True, field=field)
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT code, name, level, parent_code, version, ST_AsBinary(geom) AS wkb"
        " FROM grids WHERE code = %s AND code LIKE %s FOR UPDATE",
        (code, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("err_no_grid_code", code=code), field=field)
    if row["level"] != 3:
        raise Unprocessable(say("err_create_under_level3"), field=field)
    return row


def check_version(row, version):
    """Refuse an edit of ``row`` (a dict with ``code`` and ``version``, read FOR
    UPDATE) made from ``version``: Invalid naming ``version`` when it is missing or
    no whole number, Conflict (409) with the current one when it is stale."""
    if version is None:
        raise Invalid(say("err_version_required"),
                      field="version")
    try:
        version = int(version)
    except (TypeError, ValueError):
        raise Invalid(say("err_version_whole", version=version),
                      field="version") from None
    if version != row["version"]:
        raise Conflict(say("err_grid_changed", code=row['code'], version=row['version'],
                           yours=version),
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
            changed = _carry_down(conn, level, edit.changed) if edit.carry_down \
                else dict(edit.changed)
        except geo_edit.EditError as exc:
            raise Unprocessable(str(exc), field=exc.field) from None
        refuse_outside(principal, edit, changed)
        result = {"gaps": [shapely.geometry.mapping(g) for g in edit.gaps],
                  "gap_area_m2": round(float(geo_edit.area_m2(edit.gaps).sum()), 1),
                  "gap_info": _gap_info(edit)}
        if edit.gaps and not dry_run:
            raise Unprocessable(
                say("err_edit_gaps", n=len(edit.gaps),
                    gap_area_m2=result['gap_area_m2']), field="geometry", **result)
        grids = _apply(conn, principal, level, parent_code, edit, changed, names)
        recoded, counts, accounts = grid_recode.recode(conn, principal, edit.recoded)
        micro = [c for c, lv in grids.items() if lv == 4]
        kept = [c for c in micro if c not in edit.removed]
        moves = {table: _reassign(conn, table, cond, micro, kept)
                 for table, cond in FOLLOWERS.items()}
        left, ended = _remove(conn, principal, edit)
        grid_recode.record_lineage(conn, principal, edit)
        # a micro-grid saved out of 50–100 households keeps a warning until fixed
        warned = check.refresh_warnings(conn, principal, [
            *grids, *edit.recoded, *edit.recoded.values()])
        # every row whose grid changes: moved in space, re-coded, or left on a
        # merged-away grid (three disjoint sets)
        spatial = {k: len(moves[t]) for k, t in (
            ("households", "households"), ("cameras", "cameras"),
            ("incidents", "incidents"), ("open_incidents", "incidents"))}
        counts = {k: n + left[k] + spatial.get(k, 0) for k, n in counts.items()}
        result |= {
            "can_save": not edit.gaps,
            "grids": _features(conn, list(grids)),
            "removed": edit.removed,
            "moves": moves,
            "recoded": recoded,
            "counts": counts,
            "accounts": accounts + ended,
            "check": _check_parent(conn, principal, parent_code),
            "warnings": warned,
        }
    return result


def _gap_info(edit):
    """Per gap: a point inside it and the grids that border it (longest border
    first), for handing it to one of them (``give`` of a redraw)."""
    areas = geo_edit.area_m2(edit.gaps) if edit.gaps else []
    borders = edit.gap_borders or [[] for _ in edit.gaps]
    return [{"at": [round(p.x, 9), round(p.y, 9)], "area_m2": round(float(a), 1),
             "neighbours": n}
            for p, a, n in zip((g.representative_point() for g in edit.gaps), areas,
                               borders, strict=True)]


def _check_parent(conn, principal, parent_code):
    """The affected parent as it would be (or now is), checked in full; None when
    the parent lies above the user's jurisdiction."""
    try:
        # level 1 has no parent: the check of the user's whole jurisdiction
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
    The history trigger keeps their last boundary. Returns the counts of what
    still named them and moved to the successor, and the accounts whose
    jurisdiction ends with them."""
    left, ended = dict.fromkeys(COUNTED, 0), []
    for code in edit.removed:
        keep = edit.successor[code]
        counts = grid_recode.move_references(conn, [code], [keep], users=False)
        left = {k: n + counts[k] for k, n in left.items()}
        # an account of the merged-away grid is not widened to the kept one
        # without an administrator: its jurisdiction now matches nothing
        ended += [{"username": u, "from": code, "to": None} for (u,) in conn.execute(
            "SELECT username FROM users WHERE grid_code = %s ORDER BY username",
            (code,))]
        wkt = conn.execute(
            "DELETE FROM grids WHERE code = %s RETURNING ST_AsText(geom)",
            (code,)).fetchone()[0]
        audit.record(conn, principal, "delete", "grids", code,
                     after={"merged_into": keep}, geom_before=wkt)
    return left, ended


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


def redraw(conn, principal, code, geometry, version, dry_run=False, sliver_m2=1.0,
           neighbours=None, give=()):
    """Give grid ``code`` a new boundary (shapely, EPSG:4326).

    ``neighbours``: code → (geometry, version) of siblings redrawn with it (a
    shared vertex moved in all of them); ``give``: (Point, code, version) of
    gaps handed to a sibling. Every grid named is locked, version-checked and
    checked against the jurisdiction like ``code``
    (:func:`geo.edit.redraw_together`).
    """
    neighbours = neighbours or {}
    versions = {c: v for c, (_, v) in neighbours.items()}
    for _, target, v in give:
        if target != code and target not in neighbours:
            versions[target] = v
    named = sorted({code, *versions})

    def build(conn):
        rows, siblings = _lock_family(conn, principal, named)
        row = next(r for r in rows if r["code"] == code)
        check_version(row, version)
        for other in rows:
            if other["code"] != code:
                check_version(other, versions[other["code"]])
        for c, geom in [(code, geometry), *((c, g) for c, (g, _) in
                                             sorted(neighbours.items()))]:
            refuse_reaching_out(conn, principal, geom, row["level"],
                                "geometry" if c == code else "neighbours")
        parent = _parent_geom(conn, row["parent_code"])
        if not neighbours and not give:
            edit = geo_edit.redraw(siblings, code, geometry, parent, sliver_m2)
        else:
            new = {code: geometry} | {c: g for c, (g, _) in neighbours.items()}
            edit = geo_edit.redraw_together(
                siblings, new, parent, [(p, c) for p, c, _ in give], sliver_m2)
        return row["level"], row["parent_code"], edit, {}

    return run_edit(conn, principal, dry_run, build)


def split(conn, principal, code, line, version, name=None, dry_run=False):
    """Split grid ``code`` along ``line``; one part becomes a new sibling with the
    next free code under the same parent.

    A micro-grid keeps its code on the larger part. A grid with children (levels
    1–3) keeps it on the part holding more households (the larger when equal);
    its children go whole to the side that holds them (a child the line crosses
    is refused, see :func:`geo.edit.split_with_children`) and those of the new
    part are re-coded under it, with everything below them and everything that
    names them.
    """

    def build(conn):
        # the siblings locked: one new code at a time
        (row,), _ = _lock_family(conn, principal, [code])
        check_version(row, version)
        prefix = _parent_prefix(row)
        (new_code,) = geo_edit.free_codes(prefix, taken_codes(conn, prefix), 1)
        geometry = _geom(row["wkb"])
        children = _children(conn, code) if row["level"] < 4 else {}
        if not children:
            edit = geo_edit.split(geometry, line, code, new_code)
        else:
            edit = geo_edit.split_with_children(
                geometry, line, code, new_code, children,
                _households_below(conn, children))
            # the new part has no children yet: the adopted ones number from 001
            edit.recoded = geo_edit.recode(
                edit.adopted, set(), _descendants(conn, list(edit.adopted)))
        return row["level"], row["parent_code"], edit, \
            {new_code: name or f"{row['name']}（分）"}

    return run_edit(conn, principal, dry_run, build)


def merge(conn, principal, codes, versions, keep=None, dry_run=False):
    """Merge adjacent sibling grids into ``keep`` (default: the lowest code).

    The children of the merged-away grids are re-coded under the kept one (the
    next free codes), with everything below them and everything that names them;
    the merged-away grids end (their last boundary stays in the history).
    """
    if len(codes) < 2 or len(set(codes)) != len(codes):
        raise Invalid(say("err_merge_two"), field="codes")
    keep = min(codes) if keep is None else keep
    if keep not in codes:
        raise Invalid(say("err_keep_in_merge", keep=keep),
                      field="keep")

    def build(conn):
        rows, _ = _lock_family(conn, principal, codes, field="codes")
        for row in rows:
            check_version(row, (versions or {}).get(row["code"]))
        edit = geo_edit.merge({r["code"]: _geom(r["wkb"]) for r in rows}, keep)
        gone = [c for c in codes if c != keep]
        adopted = {child: keep for child in _child_codes(conn, gone)}
        if adopted:
            edit.recoded = geo_edit.recode(
                adopted, taken_codes(conn, keep), _descendants(conn, list(adopted)))
        return rows[0]["level"], rows[0]["parent_code"], edit, {}

    return run_edit(conn, principal, dry_run, build)


def create(conn, principal, parent_code, name, geometry, dry_run=False):
    """A new micro-grid under level-3 grid ``parent_code``, taking its area from
    its siblings; the households, cameras and open incidents inside it follow."""
    if not (name or "").strip():
        raise Invalid(say("err_new_grid_name"), field="name")

    def build(conn):
        parent = _lock_level3(conn, principal, parent_code, "parent")
        refuse_reaching_out(conn, principal, geometry, 4, "geometry")
        siblings = _children(conn, parent_code)
        (code,) = geo_edit.free_codes(parent_code, taken_codes(conn, parent_code), 1)
        edit = geo_edit.create(siblings, code, geometry, _geom(parent["wkb"]))
        return 4, parent_code, edit, {code: name.strip()}

    return run_edit(conn, principal, dry_run, build)


def delete(conn, principal, code, version, into=None, dry_run=False):
    """Delete micro-grid ``code``: its area and everything in it go to the sibling
    ``into`` (default: the one sharing the longest border with it)."""

    def build(conn):
        (row,), siblings = _lock_family(conn, principal, [code])
        check_version(row, version)
        if row["level"] != 4:
            raise Unprocessable(say("err_delete_micro_only"),
                                field="code")
        geom = siblings.pop(code)
        heir = into or max(siblings, default=None, key=lambda c: shapely.length(
            shapely.intersection(geom.boundary, siblings[c].boundary)))
        if heir not in siblings:
            raise Unprocessable(say("err_not_sibling", heir=heir,
                                    code=code), field="into")
        edit = geo_edit.merge({heir: siblings[heir], code: geom}, heir)
        return 4, row["parent_code"], edit, {}

    return run_edit(conn, principal, dry_run, build)


def replace_children(conn, principal, code, polygons, versions, dry_run=False):
    """Replace the micro-grids of level-3 grid ``code`` by ``polygons`` (an adopted
    proposal): codes carry over to the polygons that overlap them most."""

    def build(conn):
        row = _lock_level3(conn, principal, code, "code")
        refuse_reaching_out(conn, principal, shapely.union_all(polygons), 4, "grids")
        children = _children(conn, code)
        for child in children:
            check_version({"code": child, "version": _version_of(conn, child)},
                           (versions or {}).get(child))
        new_codes = geo_edit.free_codes(code, taken_codes(conn, code), len(polygons))
        edit = geo_edit.replace_children(children, polygons, _geom(row["wkb"]),
                                         new_codes)
        names = {c: f"{row['name']}-{c[-3:]}微网格" for c in edit.created}
        return 4, code, edit, names

    return run_edit(conn, principal, dry_run, build)


def _parent_prefix(row):
    """The code a grid's siblings start with: its parent's, or for a town (no
    parent) the county's six digits."""
    return row["parent_code"] or row["code"][:6]


def _child_codes(conn, parents):
    """Codes of the children of ``parents``, locked."""
    return [r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE parent_code = ANY(%s) ORDER BY code"
        " FOR UPDATE", (parents,))]


def _descendants(conn, codes):
    """Codes of every grid below ``codes`` (not themselves), locked."""
    if not codes:
        return []
    return [r[0] for r in conn.execute(
        "SELECT g.code FROM grids g"
        " JOIN unnest(%s::text[]) AS a(code)"
        " ON g.code LIKE a.code || '%%' AND g.code <> a.code"
        " ORDER BY g.code FOR UPDATE OF g", (codes,))]


def _households_below(conn, children):
    """Households per child, in one pass over the parent's households: each names
    its micro-grid, whose code starts with the child's (siblings' codes have one
    length)."""
    if not children:
        return {}
    some = next(iter(children))
    return dict(conn.execute(
        "SELECT left(grid_code, %s), count(*) FROM households"
        " WHERE grid_code LIKE %s GROUP BY 1",
        (len(some), like_prefix(some[:-3]))).fetchall())


def _version_of(conn, code):
    return conn.execute("SELECT version FROM grids WHERE code = %s",
                        (code,)).fetchone()[0]
