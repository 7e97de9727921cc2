"""The import targets that are not plain points: a worker's patrol track and grid
polygons. :func:`layers.imports.run_import` hands them over with its ``_Job``
(the same-file refusal, the ``imports`` row, the report), so that every target
goes through the same preview, commit and record.

Tracks are cleaned by :func:`geo.tracks.clean` and stored by
:func:`layers.tracks.save` (the one track store); the points it drops become
rejected rows. Grids are upserted by code in one transaction, and the subtrees
they change pass :func:`layers.check.check_subtree` (the check ``gridgov check``
runs) before the points under them follow their new micro-grids.
"""

import types

import numpy as np
import pandas as pd
import shapely

from geo import tracks as geo_tracks
from geo.assign import assign_codes
from geo.crs import metric_crs_for
from layers import assign, check, tracks
from layers.access import like_prefix
from layers.errors import Unprocessable
from layers.import_checks import check as check_rows
from layers.import_messages import say

__all__ = ["run_tracks", "run_grids"]

PREVIEW_ROWS = 20
POINTS_SHOWN = 2000
# problems of the hierarchy check that do not refuse an import of grids: a
# micro-grid's household count is a planning target, not a topology error
_ADVISORY = {"households"}


# Tracks ---------------------------------------------------------------------------

def run_tracks(job, staff_id):
    """Check, clean and (unless a dry run) store one worker's track points."""
    conn, result = job.conn, job.result
    frame = result.frame
    warnings = []
    if "kind" in frame:  # a GPX: waypoints and routes are not where one walked
        others = int((frame["kind"] != "track_point").sum())
        frame = frame[frame["kind"] == "track_point"]
        if others:
            warnings.append(say("track_not_points", n=others))
    frame = frame.reset_index(drop=True)
    checked, values = check_rows(types.SimpleNamespace(frame=frame), "tracks",
                                 job.mapping)
    rows = frame["row"].to_numpy()
    rejected = list(result.rejected) + checked.rejected(rows)
    points = frame[checked.ok].assign(time=values["time"][checked.ok])
    cleaned = geo_tracks.clean(points.assign(worker=staff_id))
    rejected += _dropped(points, cleaned)
    rejected.sort(key=lambda r: r["row"])
    with conn.transaction(force_rollback=job.dry_run):
        job.refuse_repeat()
        import_id = None if job.dry_run else job.reserve()
        saved = tracks.save(conn, job.principal, staff_id, points,
                            name=job.file_name, import_id=import_id)
        counts = {"read": len(result.frame) + len(result.rejected),
                  "added": saved["points"], "updated": 0, "unchanged": 0,
                  "rejected": len(rejected)}
        if import_id is not None:
            job.record(counts, rejected, import_id)
    kept = cleaned.points
    xy = shapely.get_coordinates(kept.geometry.values)
    grid = _micro_grid_codes(conn, job.principal, kept.geometry.values)
    days = geo_tracks.local_day(kept["time"]).astype(str)
    local = kept["time"].dt.tz_convert(geo_tracks.CHINA_TZ)
    preview = [{"row": int(kept["row"].iat[i]), "time": local.iat[i].isoformat(),
                "day": days.iat[i], "grid_code": grid[i],
                "lon": xy[i, 0], "lat": xy[i, 1]}
               for i in range(min(PREVIEW_ROWS, len(kept)))]
    shown = [{"row": int(kept["row"].iat[i]), "lon": xy[i, 0], "lat": xy[i, 1],
              "grid_code": grid[i]} for i in range(min(POINTS_SHOWN, len(kept)))]
    report = job.report(counts, rejected, import_id, preview, shown,
                        tracks={"staff": staff_id, "stored": saved["tracks"],
                                "days": {str(k): int(v) for k, v in
                                         days.value_counts().sort_index().items()}})
    report["warnings"] += warnings
    return report


def _dropped(points, cleaned):
    """Rejected rows for the points :func:`geo.tracks.clean` drops; a GPS jump
    says how far from the last kept point in how long."""
    if cleaned.dropped.empty:
        return []
    metric = points.geometry.to_crs(metric_crs_for(points))
    x, y = metric.x.to_numpy(), metric.y.to_numpy()
    t = (points["time"] - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    kept = np.zeros(len(points), dtype=bool)
    kept[points.index.get_indexer(cleaned.points.index)] = True
    order = np.argsort(t, kind="stable")
    out = []
    for label, why in cleaned.dropped.items():
        i = points.index.get_loc(label)
        reason = _DROPPED.get(why, why)
        if why == "speed":
            before = [j for j in order if kept[j] and t[j] < t[i]]
            if before:
                j = before[-1]
                km = float(np.hypot(x[i] - x[j], y[i] - y[j])) / 1000
                reason = say("track_jump", km=f"{km:.1f}",
                             seconds=f"{t[i] - t[j]:.0f}")
            else:
                reason = say("track_jump_first")
        out.append({"row": int(points["row"].iat[i]), "field": "geometry",
                    "value": None, "reason": reason})
    return out


# geo.tracks.clean's reasons for a dropped point
_DROPPED = {"no position": say("track_no_position"), "no time": say("track_no_time"),
            "duplicate time": say("track_duplicate_time")}


def _micro_grid_codes(conn, principal, points):
    """The micro-grid of each point among the jurisdiction's (None outside):
    for the preview only, a patrol may cross the jurisdiction's edge."""
    rows = conn.execute(
        "SELECT code, ST_AsBinary(geom) FROM grids WHERE level = 4 AND code LIKE %s"
        " ORDER BY code", (principal.prefix,)).fetchall()
    codes = np.array([r[0] for r in rows], dtype=object)
    polygons = shapely.from_wkb([bytes(r[1]) for r in rows])
    return assign_codes(np.asarray(points, dtype=object), polygons, codes)


# Grids ----------------------------------------------------------------------------

def run_grids(job, checked, values):
    """Upsert grid polygons by code; refuse the lot if the hierarchy check of the
    changed subtrees finds an error; move the points under them."""
    conn, principal, frame = job.conn, job.principal, job.result.frame
    geoms = np.asarray(frame.geometry.values, dtype=object)
    kinds = shapely.get_type_id(geoms)
    checked.reject(~np.isin(kinds, (3, 6)), "geometry", lambda g: say(
        "grid_not_polygon", kind=g.geom_type), geoms)
    code = values["code"].to_numpy(dtype=object, na_value=None)
    level = values["level"].to_numpy(dtype=object, na_value=None)
    parent = np.array([c[:6 + 3 * (lv - 1)] if c and lv and lv > 1 else None
                       for c, lv in zip(code, level, strict=True)], dtype=object)
    _check_place(conn, principal, checked, code, parent)
    rows = frame["row"].to_numpy()
    ok = np.flatnonzero(checked.ok)
    rejected = list(job.result.rejected) + job.rejections(checked)
    rejected.sort(key=lambda r: r["row"])
    multi = [shapely.to_wkb(_multi(g), hex=True) for g in geoms[ok]]
    staged = [(int(rows[i]), code[i], values["name"].iat[i], int(level[i]),
               parent[i], w) for i, w in zip(ok, multi, strict=True)]
    with conn.transaction(force_rollback=job.dry_run):
        job.refuse_repeat()
        change = _upsert_grids(conn, staged)
        roots = _roots([parent[i] for i in ok if change[code[i]] != "unchanged"])
        problems = _check(conn, principal, roots)
        counts = {"read": len(frame) + len(job.result.rejected),
                  "added": sum(v == "added" for v in change.values()),
                  "updated": sum(v == "updated" for v in change.values()),
                  "unchanged": sum(v == "unchanged" for v in change.values()),
                  "rejected": len(rejected)}
        moved = None
        if problems["errors"]:
            if not job.dry_run:
                raise Unprocessable(say("grids_fail_check", detail="; ".join(
                    p["message"] for p in problems["errors"][:10])),
                    field="geometry", check=problems)
        else:
            moved = _follow(conn, principal, roots)
        import_id = job.record(counts | {"moved": moved}, rejected)
    preview = [{"row": int(r[0]), "code": r[1], "name": r[2], "level": r[3],
                "parent_code": r[4], "change": change[r[1]]}
               for r in staged[:PREVIEW_ROWS]]
    centre = shapely.point_on_surface(geoms[ok])
    xy = shapely.get_coordinates(centre)
    points = [{"row": int(rows[i]), "lon": xy[k, 0], "lat": xy[k, 1],
               "grid_code": code[i]} for k, i in enumerate(ok[:POINTS_SHOWN])]
    shapes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": shapely.geometry.mapping(geoms[i]),
         "properties": {"code": code[i], "name": values["name"].iat[i],
                        "level": int(level[i]), "change": change[code[i]]}}
        for i in ok[:POINTS_SHOWN]]}
    return job.report(counts, rejected, import_id, preview, points,
                      check=problems, can_commit=not problems["errors"],
                      moved=moved, shapes=shapes)


def _multi(geom):
    return shapely.MultiPolygon([geom]) if geom.geom_type == "Polygon" else geom


def _check_place(conn, principal, checked, code, parent):
    """Reject grids outside the jurisdiction (its root too: redrawing it changes
    the grid above), and grids whose parent is neither stored nor in the file."""
    root = principal.grid_code
    if root is not None:
        outside = np.array([c is not None and (c == root or not c.startswith(root))
                            for c in code], dtype=bool)
        checked.reject(outside, "code", lambda c: say(
            "grid_not_below", code=c, root=root), code)
    wanted = sorted({p for p in parent[checked.ok] if p is not None})
    stored = {r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE code = ANY(%s)", (wanted,))}
    known = stored | {c for c in code[checked.ok] if c is not None}
    orphan = np.array([p is not None and p not in known for p in parent], dtype=bool)
    checked.reject(orphan, "code", lambda c: say(
        "grid_orphan", code=c, parent=c[:-3] if len(c) > 12 else c[:9]), code)


def _upsert_grids(conn, staged):
    """Insert the new grids (parents first), update those whose name or boundary
    changed (the history trigger keeps the old version); code → added, updated or
    unchanged."""
    conn.execute("CREATE TEMP TABLE _grid_import (src_row int, code text, name text,"
                 " level smallint, parent_code text, geom geometry(MultiPolygon, 4326))"
                 " ON COMMIT DROP")
    with conn.cursor() as cur, cur.copy(
            "COPY _grid_import (src_row, code, name, level, parent_code, geom)"
            " FROM STDIN") as copy:
        for row in staged:
            copy.write_row(row)
    # the rows about to change, locked against a concurrent edit
    conn.execute("SELECT 1 FROM grids g JOIN _grid_import i USING (code)"
                 " ORDER BY g.code FOR UPDATE OF g")
    change = {code: "unchanged" for _, code, *_ in staged}
    for code, in conn.execute(
            "UPDATE grids g SET name = i.name, geom = i.geom FROM _grid_import i"
            " WHERE g.code = i.code AND NOT (g.name = i.name AND g.level = i.level"
            " AND ST_Equals(g.geom, i.geom)) RETURNING g.code"):
        change[code] = "updated"
    for code, in conn.execute(
            "INSERT INTO grids (code, name, level, parent_code, geom)"
            " SELECT code, name, level, parent_code, geom FROM _grid_import i"
            " WHERE NOT EXISTS (SELECT FROM grids g WHERE g.code = i.code)"
            " ORDER BY level, code RETURNING code"):
        change[code] = "added"
    return change


def _roots(parents):
    """The roots of the subtrees to check: the parents of the changed grids (None
    for a top grid: every top grid), without those inside another."""
    found = set(parents)
    if None in found:
        return [None]
    return sorted(p for p in found
                  if not any(q != p and p.startswith(q) for q in found))


def _check(conn, principal, roots):
    """The hierarchy check of each subtree; errors refuse, advisories inform."""
    errors, advisories, slivers, checked = [], [], [], 0
    for root in roots:
        report = check.check_subtree(conn, principal, root)
        checked += report["grids"]
        for problem in report["errors"]:
            (advisories if problem["kind"] in _ADVISORY else errors).append(problem)
        slivers += report["slivers"]
    return {"roots": roots, "grids": checked, "errors": errors,
            "advisories": advisories, "slivers": slivers}


def _follow(conn, principal, roots):
    """Households and cameras under the changed subtrees go to the micro-grid
    that now holds them (layers.assign.reassign), open incidents too (closed
    ones keep the grid they were handled in, as in a grid edit)."""
    moved = {"households": 0, "cameras": 0, "open_incidents": 0}
    for root in roots:
        prefix = principal.prefix if root is None else like_prefix(root)
        for table in ("households", "cameras"):
            moved[table] += assign.reassign(conn, table, prefix)
        moved["open_incidents"] += assign.reassign(conn, "incidents", prefix)
    return moved
