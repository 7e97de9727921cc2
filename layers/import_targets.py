"""The steps of the import targets that are not plain upserts: a worker's
patrol track, grid polygons, households and incidents. Their
:class:`layers.import_kinds.Target` hands them its ``_Job`` (the same-file
refusal, the ``imports`` row, the report), so that every target goes through
the same preview, commit and record.

Households without an id are keyed by their normalised address
(:func:`geo.address.normalize_address`) within their micro-grid.

Tracks are cleaned by :func:`geo.tracks.clean` and stored by
:func:`layers.tracks.save` (the one track store); the points it drops become
rejected rows. Grids are upserted by code in one transaction, and the subtrees
they change pass :func:`layers.check.check_subtree` (the check ``gridgov check``
runs) before the points under them follow their new micro-grids. Incidents
follow the incident loop (:mod:`layers.incidents`): new ones are registered,
each with its event; a registered one is never rewritten, and its status
changes only by the state machine's actions, each with its event.
"""

import datetime as dt
import json
import types

import numpy as np
import pandas as pd
import shapely
from psycopg import sql

from geo import tracks as geo_tracks
from geo import vocab, workdays
from geo.address import normalize_address
from geo.assign import assign_codes
from geo.crs import metric_crs_for
from geo.deployment import Area, round_km
from layers import (
    assign,
    check,
    import_bulk,
    import_places,
    incidents,
    partitions,
    tracks,
    webhooks,
)
from layers import disputes as incident_concerns
from layers.access import like_prefix
from layers.errors import LayerError, Unprocessable
from layers.import_checks import check as check_rows
from layers.import_checks import field_label
from layers.import_messages import area_text, say

__all__ = ["IMPORT_ACTIONS", "WALKED", "run_tracks", "run_grids", "write_households",
           "write_incidents"]

PREVIEW_ROWS = 20
# the GPX points a patrol is made of: track points, and route points that carry
# a time (some phone apps record a walk as a timed route)
WALKED = ("track_point", "route_point")
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
    if "kind" in frame:  # a GPX: waypoints are not where one walked
        walked = frame["kind"].isin(WALKED)
        if "time" in frame:  # route points count when they carry a time
            walked &= (frame["kind"] == "track_point") | frame["time"].notna()
        others = int((~walked).sum())
        frame = frame[walked]
        if others:
            warnings.append(say("track_not_points", n=others))
    frame = frame.reset_index(drop=True)
    checked, values = check_rows(types.SimpleNamespace(frame=frame), "tracks",
                                 job.mapping)
    rejected = list(result.rejected) + job.rejections(checked, frame)
    if not checked.ok.any():
        report = job.nothing(rejected)
        report["warnings"] += warnings
        return report
    points = frame[checked.ok].assign(time=values["time"][checked.ok])
    cleaned = geo_tracks.clean(points.assign(worker=staff_id))
    rejected += _dropped(points, cleaned)
    rejected.sort(key=lambda r: r["row"])
    with conn.transaction(force_rollback=job.dry_run):
        job.refuse_repeat()
        import_id = None if job.dry_run else job.reserve()
        saved = tracks.save(conn, job.principal, staff_id, points,
                            name=job.file_name, import_id=import_id)
        counts = job.counts(saved["points"], 0, 0, rejected)
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
    # the geometry's kind as the value: a geometry is no JSON
    named = np.array([g.geom_type if g is not None else None for g in geoms],
                     dtype=object)
    checked.reject(~np.isin(kinds, (3, 6)), "geometry", lambda k: say(
        "grid_not_polygon", kind=k), named)
    code = values["code"].to_numpy(dtype=object, na_value=None)
    level = values["level"].to_numpy(dtype=object, na_value=None)
    parent = np.array([c[:6 + 3 * (lv - 1)] if c and lv and lv > 1 else None
                       for c, lv in zip(code, level, strict=True)], dtype=object)
    _check_place(conn, principal, checked, code, parent)
    new_areas = _check_area(job, checked, geoms, code, level, values["name"])
    rows = frame["row"].to_numpy()
    ok = np.flatnonzero(checked.ok)
    rejected = list(job.result.rejected) + job.rejections(checked)
    rejected.sort(key=lambda r: r["row"])
    if not ok.size:
        report = job.nothing(rejected)
        report.update(check=None, can_commit=False, moved=None, shapes=None,
                      new_areas=new_areas)
        return report
    multi = [shapely.to_wkb(_multi(g), hex=True) for g in geoms[ok]]
    staged = [(int(rows[i]), code[i], values["name"].iat[i], int(level[i]),
               parent[i], w) for i, w in zip(ok, multi, strict=True)]
    with conn.transaction(force_rollback=job.dry_run):
        job.refuse_repeat()
        change = _upsert_grids(conn, staged)
        roots = _roots([parent[i] for i in ok if change[code[i]] != "unchanged"])
        problems = _check(conn, principal, roots)
        counts = job.counts(sum(v == "added" for v in change.values()),
                            sum(v == "updated" for v in change.values()),
                            sum(v == "unchanged" for v in change.values()),
                            rejected)
        moved = None
        if problems["errors"]:
            if not job.dry_run:
                raise Unprocessable(say("grids_fail_check", detail="; ".join(
                    p["message"] for p in problems["errors"][:10])),
                    field="geometry", check=problems)
        else:
            moved = _follow(conn, principal, roots)
        import_id = job.record(counts | {"moved": moved}, rejected)
    far = {a["code"] for a in new_areas}
    preview = [{"row": int(r[0]), "code": r[1], "name": r[2], "level": r[3],
                "parent_code": r[4], "change": change[r[1]],
                "new_area": r[1] in far}
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
    refusal = None
    if problems["errors"]:  # a dry run: the commit would be refused
        refusal = say("grids_fail_check", detail="; ".join(
            p["message"] for p in problems["errors"][:10]))
    return job.report(counts, rejected, import_id, preview, points,
                      check=problems, can_commit=not problems["errors"],
                      moved=moved, shapes=shapes, new_areas=new_areas,
                      refusal=refusal)


def _check_area(job, checked, geoms, code, level, names):
    """Grids keep to the area (the deployment, or the user's jurisdiction) with
    its margin. A level-1 grid that is new and farther than the margin from the
    deployment is a new area: listed, and rejected unless ``job.new_area``
    confirms it. Before any level-1 grid exists (``job.area`` None: an
    administrator's import) the file's level-1 grids create the deployment.
    Returns the new areas ``[{row, code, name, km, direction_zh, direction}]``."""
    area, where = job.area, job.where
    if area is None:
        return []
    rows = job.result.frame["row"].to_numpy()
    top = checked.ok & (level == 1)
    stored = {r[0] for r in job.conn.execute(
        "SELECT code FROM grids WHERE code = ANY(%s)",
        ([c for c in code[top] if c],))}
    fresh = np.flatnonzero(top & ~np.isin(code, list(stored)))
    new_areas, reasons = [], np.full(len(code), None, dtype=object)
    if where["scope"] == "deployment":
        for i, far in zip(fresh, import_places.far_level1(area, geoms[fresh]),
                          strict=True):
            if far is None:
                continue
            metres, (zh, en) = far
            new_areas.append({"row": int(rows[i]), "code": code[i],
                              "name": names.iat[i], "km": round_km(metres),
                              "direction_zh": zh, "direction": en})
            if not job.new_area:
                reasons[i] = say("new_area_far", code=code[i], km=round_km(metres),
                                 dir_zh=zh, dir=en)
    # the other grids: in the area, or in the file's level-1 grids
    others = np.flatnonzero(checked.ok & (level != 1))
    if others.size:
        tops = [g for i, g in enumerate(geoms) if top[i] and reasons[i] is None]
        inside = Area([*area.polygons, *tops]) if tops else area
        gaps = inside.distance(geoms[others])
        for i, gap in zip(others, gaps, strict=True):
            if gap > area.margin:
                c = shapely.point_on_surface(geoms[i])
                metres, (zh, en) = area.summary([c.x], [c.y])
                reasons[i] = say(f"outside_{where['scope']}", detail=say(
                    "lies_away", km=round_km(gap), dir_zh=zh, dir=en,
                    margin=round_km(area.margin)), where=where["where"],
                    where_zh=where["where_zh"])
    checked.reject(reasons != None, "geometry", reasons)  # noqa: E711
    return new_areas


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
    return {"roots": roots, "grids": checked, "errors": _one_per_pair(errors),
            "advisories": advisories, "slivers": slivers}


def _one_per_pair(problems):
    """The overlaps of one pair of grids as one problem with their total area
    (the hierarchy check reports each part of an intersection, and a pair
    checked in two subtrees twice)."""
    pairs, out = {}, []
    for p in problems:
        if p["kind"] != "overlap":
            out.append(p)
            continue
        pair = tuple(sorted(p["codes"]))
        if pair in pairs:
            pairs[pair].append(p)
        else:
            pairs[pair] = [p]
            out.append(p)  # its place in the list, completed below
    for (a, b), parts in pairs.items():
        first = parts[0]
        if len(parts) == 1:
            continue
        shapes = [shapely.from_geojson(json.dumps(p["geometry"]))
                  for p in parts if p["geometry"]]
        area = sum(p["area_m2"] or 0 for p in parts)
        first.update(codes=[a, b], area_m2=area, message=say(
            "overlap_pair", a=a, b=b, area=area_text(area), n=len(parts)),
            geometry=json.loads(shapely.to_geojson(shapely.union_all(shapes)))
            if shapes else None)
    return out


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


# Households ------------------------------------------------------------------------

# The households an import's micro-grids hold, to match addresses against.
_ADDRESS_BOOK = """
    SELECT id, grid_code, address, external_id FROM households
    WHERE grid_code = ANY(%s) ORDER BY id
"""
# A household found by its address, updated with the row's mapped fields; its
# id is kept (a row's id fills a household that had none).
_UPDATE_MATCHED = """
    UPDATE households t SET {sets}, grid_code = i.grid_code,
        geom = ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326),
        external_id = coalesce(t.external_id, i.external_id), updated_at = now()
    FROM _import i
    WHERE t.id = i.match_id AND ({old}, t.grid_code, ST_AsEWKB(t.geom),
                                 t.external_id)
        IS DISTINCT FROM ({new}, i.grid_code,
                          ST_AsEWKB(ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)),
                          coalesce(t.external_id, i.external_id))
"""


def write_households(job, table, columns, data, phase, bulk_rows):
    """Write the accepted household rows; returns (added, updated, refused).

    A row's key is its id (编号) when it has one, else its normalised address
    (:func:`geo.address.normalize_address`) within its micro-grid: a household
    of that address there is updated (only the fields the file maps: a file
    without phones erases none), else one is added. A row whose id is new but
    whose address a household of its micro-grid has already is flagged
    (已有同址住户) and ``job.on_address_match`` decides: "add" (a warning counts
    them), "update" (that household) or "skip" (the row is refused). Two rows
    without an id at the same address of one micro-grid: the second is refused.
    """
    conn = job.conn
    # the partition key (0035): the county of the row's micro-grid
    data = data.assign(county=partitions.county_of(data["grid_code"]))
    columns = [*columns, "county"]
    noid = data["external_id"].isna().to_numpy()
    # the normalised addresses, of the rows that need one: those without an
    # id, and those with a new id once the micro-grids hold households (a
    # large import into an empty table normalises nothing)
    key = np.full(len(data), None, dtype=object)
    key[noid] = normalize_address(data["address"].to_numpy(dtype=object)[noid])
    grid = data["grid_code"].to_numpy(dtype=object)
    refused = []
    repeat = noid & pd.DataFrame({"g": grid, "k": key}).duplicated().to_numpy() \
        & (key != None)  # noqa: E711
    for i in np.flatnonzero(repeat):
        refused.append(_row(data, i, "address", say(
            "address_repeats", value=data["address"].iat[i])))
    match = np.full(len(data), None, dtype=object)
    flagged = []
    if _any_household(conn, sorted(set(grid))):
        ids = data["external_id"].to_numpy(dtype=object)
        fresh = ~noid & np.isin(ids, list(_new_ids(conn, ids[~noid])))
        key[fresh] = normalize_address(data["address"].to_numpy(dtype=object)[fresh])
        need = (noid & ~repeat) | fresh
        book = _address_book(conn, sorted(set(grid[need])))
        for i in np.flatnonzero(need):
            found = book.get((grid[i], key[i]))
            if found is None:
                continue
            if noid[i]:
                match[i] = found[0]
                continue
            flagged.append((i, found))
            if job.on_address_match == "update":
                match[i] = found[0]
            elif job.on_address_match == "skip":
                refused.append(_row(data, i, "address", say(
                    "address_match_skipped", address=data["address"].iat[i],
                    id=found[1] or found[0])))
    _flag(job, data, flagged)
    gone = {r["row"] for r in refused}
    keep = ~data["src_row"].isin(gone).to_numpy()
    data = data[keep].assign(match_id=pd.array(match[keep], dtype="Int64"))
    matched = data["match_id"].notna().any()
    bulk = len(data) >= bulk_rows
    if bulk and not matched:  # a county's first households: a detached load
        loaded = import_bulk.load_new_county(conn, table, columns, data, phase,
                                             key="external_id")
        if loaded is not None:
            return (*loaded, refused)
    partitions.ensure(conn, table, partitions.counties_of(data["grid_code"]))
    if bulk:
        import_bulk.lock_for_bulk(conn, table)
    if bulk and import_bulk.is_empty(conn, table):
        return (*import_bulk.load_empty(conn, table, columns, data, phase), refused)
    job.stage(table, columns, data, extra=[("match_id", "bigint")])
    refused += job.outside(table)
    if bulk and not matched and not import_bulk.has_clash(conn, table,
                                                          "external_id"):
        return (*import_bulk.insert_new(conn, table, columns, phase), refused)
    updated = _update_matched(job, columns) if matched else 0
    added, changed = job.upsert(table, columns, "match_id IS NULL")
    return added, changed + updated, refused


def _row(data, i, field, reason):
    return {"row": int(data["src_row"].iat[i]), "field": field,
            "value": data[field].iat[i], "reason": reason,
            "lon": float(data["lon"].iat[i]), "lat": float(data["lat"].iat[i])}


def _any_household(conn, grids):
    return conn.execute("SELECT EXISTS (SELECT FROM households"
                        " WHERE grid_code = ANY(%s))", (grids,)).fetchone()[0]


def _address_book(conn, grids):
    """(micro-grid, normalised address) → (id, external id) of the households
    of ``grids`` (the first by id when several share an address)."""
    rows = conn.execute(_ADDRESS_BOOK, (grids,)).fetchall()
    keys = normalize_address([r[2] for r in rows])
    book = {}
    for (hid, grid, _, external), k in zip(rows, keys, strict=True):
        book.setdefault((grid, k), (hid, external))
    return book


def _new_ids(conn, ids):
    """The ``ids`` no household has yet."""
    ids = sorted({v for v in ids if v is not None})
    if not ids:
        return set()
    taken = {r[0] for r in conn.execute(
        "SELECT external_id FROM households WHERE external_id = ANY(%s)", (ids,))}
    return set(ids) - taken


def _flag(job, data, flagged):
    """Report the rows with a new id at an address a household has already."""
    if not flagged:
        return
    action = job.on_address_match
    job.notes.append(say(f"address_match_{action}", n=len(flagged)))
    job.extra["address_matches"] = [
        {"row": int(data["src_row"].iat[i]), "external_id": data["external_id"].iat[i],
         "address": data["address"].iat[i], "household_id": found[0],
         "household_external_id": found[1], "action": action}
        for i, found in flagged]
    for i, _ in flagged:
        job.flagged[int(data["src_row"].iat[i])] = say("address_match_flag")


def _update_matched(job, columns):
    """Update the households the staged rows matched by address; the count."""
    mapped = [c for c in columns if c in job.mapping and c != "external_id"]
    if not mapped:
        mapped = ["address"]
    ident = sql.Identifier
    query = sql.SQL(_UPDATE_MATCHED).format(
        sets=sql.SQL(", ").join(sql.SQL("{0} = i.{0}").format(ident(c))
                                for c in mapped),
        old=sql.SQL(", ").join(sql.SQL("t.{}").format(ident(c)) for c in mapped),
        new=sql.SQL(", ").join(sql.SQL("i.{}").format(ident(c)) for c in mapped))
    return job.conn.execute(query).rowcount


# Incidents -------------------------------------------------------------------------

# The incident loop's actions an import may take: the forward steps whose result
# a row can state (its status). Escalating changes the level and drops the
# assignee, reopening erases the outcome and the satisfaction: decisions of the
# dispatch desk, not of a spreadsheet's column.
IMPORT_ACTIONS = ("triage", "accept")
# A row's time within a minute of the stored one, its place within a metre, say
# the same as the registered record (exports round times to the minute).
_SAME_SECONDS = 60
_SAME_METRES = 1.0

# The existing incidents the staged rows name, locked, with the parts of their
# registered record (受理登记) that a row would change: a blank optional cell
# changes nothing.
_EXISTING = """
    SELECT i.src_row, t.code, t.status, i.status, array_remove(ARRAY[
        CASE WHEN i.category IS DISTINCT FROM t.category THEN 'category' END,
        CASE WHEN i.subtype IS DISTINCT FROM t.subtype AND i.subtype IS NOT NULL
             THEN 'subtype' END,
        CASE WHEN i.source IS DISTINCT FROM t.source THEN 'source' END,
        CASE WHEN i.reporter IS DISTINCT FROM t.reporter AND i.reporter IS NOT NULL
             THEN 'reporter' END,
        CASE WHEN i.description IS DISTINCT FROM t.description
             AND i.description IS NOT NULL THEN 'description' END,
        CASE WHEN abs(extract(epoch FROM i.created_at - t.created_at))
             >= %(seconds)s THEN 'created_at' END,
        CASE WHEN NOT ST_DWithin(t.geom::geography,
             ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)::geography, %(metres)s)
             THEN 'geometry' END], NULL)
    FROM _import i JOIN incidents t USING (code)
    ORDER BY t.id FOR UPDATE OF t
"""
# The new incidents, registered (their status is reached by the loop's actions
# afterwards), received at the row's time or the import's.
_INSERT = """
    WITH new AS (
        INSERT INTO incidents (code, category, subtype, source, reporter,
                               description, created_at, grid_code, county,
                               deadline, geom)
        SELECT code, category, subtype, source, reporter, description,
               coalesce(created_at, %(now)s), grid_code, county_of(grid_code),
               deadline, ST_SetSRID(ST_MakePoint(lon, lat), 4326)
        FROM _import i WHERE NOT EXISTS (SELECT FROM incidents t
                                         WHERE t.code = i.code)
        ORDER BY grid_code, src_row  -- spatial locality for the GiST index
        ON CONFLICT (code, county) DO NOTHING
        RETURNING id, code)
    SELECT new.id, new.code, i.src_row, i.status
    FROM new JOIN _import i USING (code) ORDER BY i.src_row
"""


def write_incidents(job, table, columns, data, phase, bulk_rows):
    """Write the accepted incident rows; returns (added, updated, refused).

    A new code is registered (受理登记, with its event, as
    :func:`layers.incidents.register` does: the deadline counted in working days
    from the time received, the import's time for a row without one). An
    existing incident's record is what was registered: a row that would change
    it (category, subtype, source, reporter, description, time, place) is
    refused, naming the parts. A status, new or existing incident alike, is
    reached only by :data:`IMPORT_ACTIONS` through
    :func:`layers.incidents.transition` (each step an event and an audit row);
    a status they cannot reach (backwards) refuses the row, and so does a step
    that fails (no staff to triage to): a new incident is then not added.
    ``bulk_rows`` does not apply: every new incident needs its event anyway.
    """
    conn, principal = job.conn, job.principal
    now = dt.datetime.now(dt.UTC)
    data = data.assign(deadline=_deadlines(data["created_at"], data["category"],
                                           now))
    job.stage(table, [*columns, "deadline"], data)
    refused = job.outside(table)
    moves = []
    for row, code, status, wanted, changed in conn.execute(
            _EXISTING, {"seconds": _SAME_SECONDS, "metres": _SAME_METRES}):
        if changed:
            refused.append(_record_fixed(row, code, changed))
        elif wanted is not None and wanted != status:
            path = incidents.steps(status, wanted, IMPORT_ACTIONS)
            if path is None:
                refused.append(_status_back(row, code, status, wanted))
            else:
                moves.append((row, code, path, False))
    phase("inserting")
    new = conn.execute(_INSERT, {"now": now}).fetchall()
    new = _attach_concerns(job, new, refused)
    incidents.record_registrations(conn, principal, [r[0] for r in new],
                                   {"import": job.file_name})
    registered = _registered(conn, [r[1] for r in new])
    told = []  # registered and left so: told at once, in one go
    for _, code, row, wanted in new:
        path = incidents.steps("registered", wanted or "registered",
                               IMPORT_ACTIONS)
        if path:  # an imported status is an open one: always reached
            moves.append((row, code, path, registered[code]))
        else:
            told.append(registered[code])
    webhooks.emit_many(conn, "register", told, now)
    failed, updated = _move(job, moves, now, refused)
    return len(new) - failed, updated, refused


def _attach_concerns(job, new, refused):
    """Store whom and where each new incident concerns (``job.concerns``, by
    file row: :class:`layers.import_kinds.Incidents`); a household outside the
    jurisdiction refuses the row (its incident deleted again). Returns the new
    rows kept."""
    concerns = getattr(job, "concerns", None) or {}
    kept = []
    for incident_id, code, row, status in new:
        concern = concerns.get(int(row))
        if concern is not None:
            grid = job.conn.execute("SELECT grid_code FROM incidents WHERE id = %s",
                                    (incident_id,)).fetchone()[0]
            try:
                resolved = incident_concerns.resolve(job.conn, job.principal,
                                                     concern, grid)
                incident_concerns.attach(job.conn, incident_id, resolved)
            except LayerError as exc:
                refused.append({"row": int(row), "field": exc.field,
                                "value": concern.get(exc.field),
                                "reason": exc.message})
                job.conn.execute("DELETE FROM incidents WHERE id = %s",
                                 (incident_id,))
                continue
        kept.append((incident_id, code, row, status))
    return kept


def _registered(conn, codes):
    """code -> the incident as the webhooks tell a registration of it."""
    return {code: {"code": code, "grid_code": grid, "status": "registered",
                   "external_system": system, "external_ref": ref}
            for code, grid, system, ref in conn.execute(
                "SELECT code, grid_code, external_system, external_ref"
                " FROM incidents WHERE code = ANY(%s)", (list(codes),))}


def _move(job, moves, now, refused):
    """Carry out each row's actions, all or none of them; a failing row is
    refused (a new incident deleted again). ``is_new``: a new incident as its
    registration is told to the webhooks, before its steps and undone with them.
    Returns (new ones failed, existing ones moved)."""
    conn = job.conn
    note = say("incident_import_note", file=job.file_name)
    failed = updated = 0
    for row, code, path, is_new in moves:
        try:
            with conn.transaction():
                if is_new:
                    webhooks.emit(conn, "register", is_new, now)
                for action in path:
                    incidents.transition(conn, job.principal, code, action, note,
                                         now=now)
        except LayerError as exc:
            zh, en = vocab.INCIDENT_ACTIONS[action]
            refused.append({"row": row, "field": "status", "value": None,
                            "reason": say("incident_step_failed", code=code,
                                          action_zh=zh, action=action,
                                          detail=exc.message)})
            if is_new:
                conn.execute("DELETE FROM incidents WHERE code = %s", (code,))
                failed += 1
            continue
        updated += not is_new
    return failed, updated


def _record_fixed(row, code, changed):
    return {"row": row, "field": changed[0], "value": None, "reason": say(
        "incident_record_fixed", code=code, fields=", ".join(changed),
        labels="、".join(field_label("incidents", f) for f in changed))}


def _status_back(row, code, status, wanted):
    table = vocab.INCIDENT_STATUSES
    return {"row": row, "field": "status", "value": wanted, "reason": say(
        "incident_status_back", code=code, old=status, new=wanted,
        old_zh=table[status][0], new_zh=table[wanted][0])}


def _deadlines(received, category, now):
    """Each row's deadline, as :func:`layers.incidents.register` sets it: the
    category's working days (``DEADLINE_WORKDAYS``) after the time received (the
    import's, ``now``, when the row gives none), on the official calendar; one
    calendar walk per distinct day and category."""
    at = pd.Series(received, copy=True)
    at = at.fillna(pd.Timestamp(now).tz_convert(workdays.CHINA_TZ)).dt.tz_convert(
        workdays.CHINA_TZ)
    calendar = workdays.china()
    pairs = pd.DataFrame({"day": at.dt.date, "category": category.to_numpy()},
                         index=at.index)
    offsets = {(day, c): (calendar.add_workdays(day, incidents.DEADLINE_WORKDAYS[c])
                          - day).days
               for day, c in pairs.drop_duplicates().itertuples(index=False)}
    days = [offsets[p] for p in pairs.itertuples(index=False, name=None)]
    return at + pd.to_timedelta(days, unit="D")
