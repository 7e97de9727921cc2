"""The coverage layer: camera views and covered shares per grid, cached in PostGIS.

What is cached, and how it stays right (``migrations/0005_coverage.sql``):

- ``coverage_leaf``: per leaf grid (one without children, normally a micro-grid)
  its area, covered area, households, covered households and blind spots. A grid
  above is the sum of its leaves: children tile their parent. Computed by
  ``geo.coverage`` in the deployment's Gauss-Krüger zone for the leaves a request
  needs and finds missing, then read by code prefix.
- ``camera_views``: each camera's view polygon in EPSG:4326, for maps and for
  the SQL list of households no camera sees.

Invalidation is by triggers (statement-level, with transition tables) on cameras,
households and grids: they delete the rows a change touches, so a cached answer is
never stale and costs one indexed scan. A computation checks the generation of
the three tables (the sum of their ``tile_generations`` slots) before it stores
its result: if anything changed while it ran, the result is returned but not kept.

Coverage counts every installed camera whatever its status (an offline camera is a
repair job, not a blind spot to plan a new camera for); ``online_cameras`` says
how many are working.
"""

import io

import numpy as np
import shapely
from psycopg import sql
from psycopg.rows import dict_row

from geo import coverage as geo_coverage
from geo.catalogue import say
from geo.crs import gk_zone_epsg
from layers import audit
from layers.access import like_prefix
from layers.errors import Invalid, NotFound
from layers.households import FIELDS as HOUSEHOLD_FIELDS

__all__ = [
    "MAX_FEATURES", "shares", "coverage", "blind_spots", "uncovered_households",
    "views", "recommend", "refresh", "metric_epsg",
]

MAX_FEATURES = 5000
# candidate sites of the recommendation: at most this many lattice points (the
# spacing grows beyond), so that a whole district stays a few seconds' work
MAX_SITES = 40_000
_M_PER_DEG = 111_320.0
# incidents of the last months count as places that need seeing
INCIDENT_MONTHS = 12


def metric_epsg(conn):
    """The deployment's CGCS2000 Gauss-Krüger zone, ``"EPSG:45xx"``, from the
    extent of its top-level grids."""
    (lon,) = conn.execute(
        "SELECT (ST_XMin(e) + ST_XMax(e)) / 2 FROM"
        " (SELECT ST_Extent(geom) AS e FROM grids WHERE parent_code IS NULL) t"
    ).fetchone()
    if lon is None:
        raise NotFound(say("err_no_grids"), field="grid")
    return f"EPSG:{gk_zone_epsg(lon)}"


def _grid(conn, principal, code):
    """``{code, name, level}`` of ``code`` inside the jurisdiction (None: the
    jurisdiction's root, or everything for a user without one)."""
    code = code or principal.grid_code
    if code is None:
        return {"code": None, "name": "全部 All", "level": 0}
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT code, name, level FROM grids WHERE code = %(code)s"
        " AND code LIKE %(scope)s", {"code": code, "scope": principal.prefix}
    ).fetchone()
    if row is None:
        raise NotFound(say("err_no_grid_here", code=code), field="grid")
    return row


def _under(code):
    return like_prefix(code or "")


# The caches depend on grids, cameras and households: their tile generations
# (migrations 0007, 0009) sum to a number that grows with every write to them.
_GENERATION = ("SELECT generation FROM tile_generations"
               " WHERE layer IN ('grids', 'cameras', 'households')")


def _generation(conn):
    return sum(g for (g,) in conn.execute(_GENERATION))


def _unchanged_since(conn, generation):
    """Inside a transaction: whether nothing the caches depend on changed since
    ``generation`` was read; the share lock on the slots keeps it so until the
    commit (a writer bumping a slot waits for it)."""
    rows = conn.execute(_GENERATION + " FOR SHARE")
    return sum(g for (g,) in rows) == generation


def _wkb(rows):
    return shapely.from_wkb(np.array([bytes(r) for r in rows], dtype=object))


def _cameras_near(conn, extent_sql, params):
    """Cameras whose reach may touch the box ``extent_sql`` (a geometry)."""
    query = sql.SQL("""
        WITH box AS ({extent}), reach AS (SELECT coalesce(max(range_m), 0) AS m
                                          FROM cameras)
        SELECT c.id, ST_X(c.geom), ST_Y(c.geom), c.kind, c.bearing, c.fov_deg,
               c.range_m
        FROM cameras c, box, reach
        WHERE box.e IS NOT NULL AND c.geom && ST_Expand(box.e,
            reach.m * 1.01 / (%(m)s * greatest(cos(radians(ST_YMax(box.e))), 0.01)),
            reach.m * 1.01 / %(m)s)
    """).format(extent=extent_sql)
    rows = conn.execute(query, params | {"m": _M_PER_DEG}).fetchall()
    if not rows:
        return np.empty(0, dtype=np.int64), None
    ids, lon, lat, kind, bearing, fov, reach = zip(*rows, strict=True)
    arrays = (np.array(lon, dtype=float), np.array(lat, dtype=float),
              np.array(kind, dtype=object),
              np.array([np.nan if b is None else b for b in bearing], dtype=float),
              np.array(fov, dtype=float), np.array(reach, dtype=float))
    return np.array(ids, dtype=np.int64), arrays


def _points(conn, query, params):
    """``(codes, x, y)`` of a ``COPY (query) TO STDOUT`` of code, lon, lat rows:
    a million households come through COPY in a fraction of the time of rows."""
    import pandas as pd

    buffer = io.BytesIO()
    with conn.cursor() as cur:
        with cur.copy(sql.SQL("COPY ({}) TO STDOUT").format(query), params) as copy:
            for block in copy:
                buffer.write(block)
    if buffer.tell() == 0:
        return np.empty(0, dtype=object), np.empty(0), np.empty(0)
    buffer.seek(0)
    frame = pd.read_csv(buffer, sep="\t", header=None, names=["code", "x", "y"],
                        dtype={"code": str, "x": float, "y": float})
    return frame["code"].to_numpy(), frame["x"].to_numpy(), frame["y"].to_numpy()


def refresh(conn, code=None):
    """Compute and cache the coverage of the leaves under ``code`` (everything for
    None) that the cache lacks; return how many were computed.

    Not scoped: the cache is physical fact shared by every user; callers scope what
    they read from it.
    """
    params = {"under": _under(code)}
    generation = _generation(conn)
    missing = conn.execute("""
        SELECT g.code, ST_AsBinary(g.geom) FROM grids g
        WHERE g.code LIKE %(under)s
          AND NOT EXISTS (SELECT 1 FROM grids k WHERE k.parent_code = g.code)
          AND NOT EXISTS (SELECT 1 FROM coverage_leaf l WHERE l.code = g.code)
        ORDER BY g.code""", params).fetchall()
    if not missing:
        return 0
    codes = np.array([r[0] for r in missing], dtype=object)
    epsg = metric_epsg(conn)
    grids = geo_coverage.project(_wkb(r[1] for r in missing), "EPSG:4326", epsg)
    _, cams = _cameras_near(conn, sql.SQL(
        "SELECT ST_Extent(geom) AS e FROM grids WHERE code = ANY(%(codes)s)"),
        {"codes": list(codes)})
    views = (geo_coverage.metric_views(*cams, epsg) if cams is not None
             else np.empty(0, dtype=object))
    hh_code, hh_x, hh_y = _points(conn, sql.SQL(
        "SELECT grid_code, ST_X(geom), ST_Y(geom) FROM households"
        " WHERE grid_code = ANY(%(codes)s)"), {"codes": list(codes)})
    hh_x, hh_y = geo_coverage.transformer("EPSG:4326", epsg).transform(hh_x, hh_y)
    order = np.argsort(codes)
    at = np.searchsorted(codes[order], hh_code)
    hh_grid = order[np.minimum(at, len(codes) - 1)]
    hh_grid[codes[hh_grid] != hh_code] = -1
    out = geo_coverage.coverage_by_grid(
        grids, views, np.column_stack([hh_x, hh_y]), hh_grid)
    blind = out["blind"]
    present = ~shapely.is_missing(blind)
    blind_wgs = np.full(len(blind), None, dtype=object)
    blind_wgs[present] = geo_coverage.project(blind[present], epsg, "EPSG:4326")
    _store(conn, codes, out, blind_wgs, generation)
    return len(codes)


def _store(conn, codes, out, blind, generation):
    """Write computed leaves, unless the inputs changed meanwhile."""
    hexes = shapely.to_wkb(shapely.set_srid(blind, 4326), hex=True, include_srid=True)
    with conn.transaction():
        if not _unchanged_since(conn, generation):
            return
        conn.execute("""
            CREATE TEMP TABLE coverage_new (
                code text, area_m2 float8, covered_m2 float8, households int,
                covered_households int, blind geometry) ON COMMIT DROP""")
        with conn.cursor() as cur:
            with cur.copy("COPY coverage_new FROM STDIN") as copy:
                for row in zip(codes, out["area_m2"].tolist(),
                               out["covered_m2"].tolist(), out["points"].tolist(),
                               out["covered_points"].tolist(), hexes, strict=True):
                    copy.write_row(row)
        conn.execute("""
            INSERT INTO coverage_leaf (code, area_m2, covered_m2, households,
                                       covered_households, blind)
            SELECT code, area_m2, covered_m2, households, covered_households,
                   ST_Multi(blind)
            FROM coverage_new
            ON CONFLICT (code) DO UPDATE SET
                area_m2 = EXCLUDED.area_m2, covered_m2 = EXCLUDED.covered_m2,
                households = EXCLUDED.households,
                covered_households = EXCLUDED.covered_households,
                blind = EXCLUDED.blind, computed_at = now()""")
        # dropped here too: inside a caller's transaction this block is a
        # savepoint, and ON COMMIT would come too late for the next call
        conn.execute("DROP TABLE coverage_new")


_SHARES = """
    WITH q AS (SELECT unnest(%(codes)s::text[]) AS code),
    lens AS (SELECT DISTINCT length(code) AS n FROM q),
    leaf AS (
        SELECT left(l.code, lens.n) AS code, sum(l.area_m2) AS area_m2,
               sum(l.covered_m2) AS covered_m2, sum(l.households) AS households,
               sum(l.covered_households) AS covered_households
        FROM coverage_leaf l CROSS JOIN lens
        WHERE l.code LIKE %(scope)s AND left(l.code, lens.n) = ANY(%(codes)s)
        GROUP BY 1),
    cam AS (
        SELECT left(c.grid_code, lens.n) AS code, count(*) AS cameras,
               count(*) FILTER (WHERE c.status = 'online') AS online_cameras
        FROM cameras c CROSS JOIN lens
        WHERE c.grid_code LIKE %(scope)s AND left(c.grid_code, lens.n) = ANY(%(codes)s)
        GROUP BY 1)
    SELECT q.code, leaf.area_m2, leaf.covered_m2, leaf.households,
           leaf.covered_households, coalesce(cam.cameras, 0) AS cameras,
           coalesce(cam.online_cameras, 0) AS online_cameras
    FROM q LEFT JOIN leaf USING (code) LEFT JOIN cam USING (code)
"""


def _figures(row):
    area, covered = row["area_m2"] or 0.0, row["covered_m2"] or 0.0
    households, seen = int(row["households"] or 0), int(row["covered_households"] or 0)
    return {
        "area_share": round(covered / area, 6) if area > 0 else None,
        "household_share": round(seen / households, 6) if households else None,
        "cameras": int(row["cameras"]), "online_cameras": int(row["online_cameras"]),
        "area_m2": round(area, 1), "covered_m2": round(covered, 1),
        "households": households, "uncovered_households": households - seen,
    }


def shares(conn, principal, codes):
    """Coverage figures of each grid in ``codes`` (any levels), computed and cached
    as needed.

    Returns
    -------
    dict
        ``{code: {"area_share", "household_share", "cameras", "online_cameras",
        "area_m2", "covered_m2", "households", "uncovered_households"}}``; shares
        are fractions 0–1 (None for a grid without area or households).

    Raises
    ------
    NotFound
        For a code that is unknown or outside the user's jurisdiction.
    """
    codes = list(dict.fromkeys(codes))
    if not codes:
        return {}
    known = {r[0] for r in conn.execute(
        "SELECT code FROM grids WHERE code = ANY(%(codes)s) AND code LIKE %(scope)s",
        {"codes": codes, "scope": principal.prefix})}
    for code in codes:
        if code not in known:
            raise NotFound(say("err_no_grid_here", code=code), field="grid")
    # refresh under the common prefix only when something is missing there
    for code in _covering_roots(codes):
        refresh(conn, code)
    rows = conn.cursor(row_factory=dict_row).execute(
        _SHARES, {"codes": codes, "scope": principal.prefix}).fetchall()
    return {r["code"]: _figures(r) for r in rows}


def _covering_roots(codes):
    """The fewest codes whose subtrees hold all of ``codes``' subtrees."""
    roots = []
    for code in sorted(codes, key=len):
        if not any(code.startswith(r) for r in roots):
            roots.append(code)
    return roots


def coverage(conn, principal, code=None):
    """Coverage of grid ``code`` (default: the jurisdiction's root) and of each of
    its children: ``{"grid": {code, name, level, …figures}, "children": [...]}``."""
    grid = _grid(conn, principal, code)
    refresh(conn, grid["code"])
    if grid["code"] is None:
        children = conn.cursor(row_factory=dict_row).execute(
            "SELECT code, name, level FROM grids WHERE parent_code IS NULL"
            " ORDER BY code").fetchall()
    else:
        children = conn.cursor(row_factory=dict_row).execute(
            "SELECT code, name, level FROM grids WHERE parent_code = %(code)s"
            " AND code LIKE %(scope)s ORDER BY code",
            {"code": grid["code"], "scope": principal.prefix}).fetchall()
    codes = [c["code"] for c in children]
    if grid["code"] is not None:
        codes.append(grid["code"])
    rows = conn.cursor(row_factory=dict_row).execute(
        _SHARES, {"codes": codes, "scope": principal.prefix}).fetchall()
    figures = {r["code"]: _figures(r) for r in rows}
    if grid["code"] is None:  # everything: the sum of the top-level grids
        total = conn.cursor(row_factory=dict_row).execute(
            "SELECT sum(area_m2) AS area_m2, sum(covered_m2) AS covered_m2,"
            " sum(households) AS households,"
            " sum(covered_households) AS covered_households,"
            " (SELECT count(*) FROM cameras) AS cameras,"
            " (SELECT count(*) FROM cameras WHERE status = 'online')"
            " AS online_cameras FROM coverage_leaf").fetchone()
        figures[None] = _figures(total)
    return {"grid": grid | figures[grid["code"]],
            "children": [c | figures[c["code"]] for c in children]}


def blind_spots(conn, principal, code=None):
    """The uncovered parts of the leaf grids under ``code`` as a GeoJSON
    FeatureCollection: one Feature per leaf with blind spots (MultiPolygon,
    simplified to 0.5 m), with ``code``, ``name``, ``blind_m2`` and
    ``uncovered_households``.

    Raises
    ------
    Invalid
        When more than :data:`MAX_FEATURES` leaves would come (ask for a lower
        grid: the browser cannot draw more).
    """
    grid = _grid(conn, principal, code)
    refresh(conn, grid["code"])
    params = {"under": _under(grid["code"]), "scope": principal.prefix,
              "limit": MAX_FEATURES + 1}
    (features,) = conn.execute("""
        WITH page AS (
            SELECT l.code, g.name, l.area_m2 - l.covered_m2 AS blind_m2,
                   l.households - l.covered_households AS uncovered, l.blind
            FROM coverage_leaf l JOIN grids g USING (code)
            WHERE l.code LIKE %(under)s AND l.code LIKE %(scope)s
              AND l.blind IS NOT NULL
            ORDER BY l.code LIMIT %(limit)s)
        SELECT coalesce(json_agg(json_build_object(
            'type', 'Feature', 'id', code,
            'geometry', ST_AsGeoJSON(blind, 6)::json,
            'properties', json_build_object(
                'code', code, 'name', name, 'blind_m2', round(blind_m2::numeric, 1),
                'uncovered_households', uncovered)) ORDER BY code), '[]')
        FROM page""", params).fetchone()
    if len(features) > MAX_FEATURES:
        raise Invalid(say("err_too_many_blind", limit=MAX_FEATURES,
                          grid=grid['code'] or 'the whole deployment'), field="grid")
    return {"type": "FeatureCollection", "grid": grid["code"],
            "numberReturned": len(features), "features": features}


def _ensure_views(conn, code):
    """Fill ``camera_views`` for the cameras that may see into grid ``code``."""
    generation = _generation(conn)
    ids, cams = _cameras_near(conn, sql.SQL(
        "SELECT ST_Extent(geom) AS e FROM grids WHERE code LIKE %(under)s"),
        {"under": _under(code)})
    if cams is None:
        return
    have = {r[0] for r in conn.execute(
        "SELECT camera_id FROM camera_views WHERE camera_id = ANY(%(ids)s)",
        {"ids": ids.tolist()})}
    need = np.array([i not in have for i in ids.tolist()], dtype=bool)
    if not need.any():
        return
    epsg = metric_epsg(conn)
    views = geo_coverage.metric_views(*(a[need] for a in cams), epsg)
    wgs = shapely.set_srid(geo_coverage.project(views, epsg, "EPSG:4326"), 4326)
    with conn.transaction():
        if _unchanged_since(conn, generation):
            conn.execute("""
                INSERT INTO camera_views (camera_id, geom)
                SELECT id, ST_GeomFromEWKB(wkb)
                FROM unnest(%(ids)s::bigint[], %(wkb)s::bytea[]) AS t(id, wkb)
                ON CONFLICT (camera_id) DO NOTHING""",
                {"ids": ids[need].tolist(),
                 "wkb": list(shapely.to_wkb(wgs, include_srid=True))})


_UNCOVERED = """
    FROM households t
    WHERE t.grid_code LIKE %(under)s AND t.grid_code LIKE %(scope)s
      AND NOT EXISTS (SELECT 1 FROM camera_views v
                      WHERE ST_Intersects(v.geom, t.geom))
"""


def uncovered_households(conn, principal, code=None, limit=100, offset=0):
    """Households under ``code`` that no camera sees: ``{"total", "items"}``, the
    items masked as the households layer masks them; without households:read the
    count only (``items`` None). A list is a read of personal data: audited."""
    grid = _grid(conn, principal, code)
    _ensure_views(conn, grid["code"])
    params = {"under": _under(grid["code"]), "scope": principal.prefix,
              "personal": principal.can("households:personal"),
              "tags": principal.can("households:tags"),
              "limit": limit, "offset": offset}
    total = conn.execute(sql.SQL("SELECT count(*) {}").format(sql.SQL(_UNCOVERED)),
                         params).fetchone()[0]
    items = None
    if principal.can("households:read"):
        items = conn.cursor(row_factory=dict_row).execute(
            sql.SQL("SELECT {} {} ORDER BY t.id LIMIT %(limit)s OFFSET %(offset)s")
            .format(HOUSEHOLD_FIELDS, sql.SQL(_UNCOVERED)), params).fetchall()
        audit.record_read(conn, principal, "households", {
            "via": "coverage", "grid": grid["code"], "limit": limit,
            "offset": offset}, len(items))
    return {"grid": grid["code"], "total": total, "items": items}


def views(conn, principal, code=None):
    """The views of the cameras of grid ``code`` as a GeoJSON FeatureCollection
    (``code``, ``kind``, ``status``), at most :data:`MAX_FEATURES`."""
    grid = _grid(conn, principal, code)
    _ensure_views(conn, grid["code"])
    params = {"under": _under(grid["code"]), "scope": principal.prefix,
              "limit": MAX_FEATURES}
    matched, features = conn.execute("""
        WITH m AS (SELECT c.code, c.kind, c.status, v.geom
                   FROM cameras c JOIN camera_views v ON v.camera_id = c.id
                   WHERE c.grid_code LIKE %(under)s AND c.grid_code LIKE %(scope)s),
        page AS (SELECT * FROM m ORDER BY code LIMIT %(limit)s)
        SELECT (SELECT count(*) FROM m),
               coalesce((SELECT json_agg(json_build_object(
                   'type', 'Feature', 'id', code,
                   'geometry', ST_AsGeoJSON(geom, 6)::json,
                   'properties', json_build_object(
                       'code', code, 'kind', kind, 'status', status))
                   ORDER BY code) FROM page), '[]')""", params).fetchone()
    return {"type": "FeatureCollection", "grid": grid["code"],
            "numberMatched": matched, "numberReturned": len(features),
            "features": features}


def recommend(conn, principal, code=None, k=5, range_m=100.0, kind="ptz",
              fov_deg=90.0, incident_weight=1.0):
    """Where to add ``k`` cameras in grid ``code``: candidate sites are the
    micro-grids' interior points and a square lattice of ``range_m`` spacing (no
    road data exists), scored by the households and the incidents of the last
    :data:`INCIDENT_MONTHS` months that no camera sees yet (the existing cameras
    are locked in), chosen greedily (``geo.coverage.greedy_max_cover``).

    Returns
    -------
    dict
        ``grid``, ``households`` / ``incidents`` (total, covered now),
        ``spacing_m``, ``sites`` (candidates tried) and ``picks``: in the order
        chosen, ``{rank, lon, lat, bearing, gain, households, incidents,
        household_share_after}`` — the gains never increase.
    """
    grid = _grid(conn, principal, code)
    params = {"under": _under(grid["code"]), "scope": principal.prefix}
    epsg = metric_epsg(conn)
    area_rows = conn.execute("""
        SELECT ST_AsBinary(ST_Union(geom)) FROM grids
        WHERE code LIKE %(under)s AND code LIKE %(scope)s
          AND NOT EXISTS (SELECT 1 FROM grids k WHERE k.parent_code = grids.code)
    """, params).fetchone()
    if area_rows[0] is None:
        raise NotFound(say("err_no_grid_for_cameras"), field="grid")
    area = geo_coverage.project(_wkb([area_rows[0]]), "EPSG:4326", epsg)[0]
    centres = conn.execute("""
        SELECT ST_X(p), ST_Y(p) FROM (
            SELECT ST_PointOnSurface(geom) AS p FROM grids
            WHERE level = 4 AND code LIKE %(under)s AND code LIKE %(scope)s) t
    """, params).fetchall()
    spacing = max(float(range_m), float(np.sqrt(area.area / MAX_SITES)))
    sites = [geo_coverage.lattice(area, spacing)]
    if centres:
        cx, cy = geo_coverage.transformer("EPSG:4326", epsg).transform(
            *np.array(centres, dtype=float).T)
        sites.insert(0, np.column_stack([cx, cy]))
    sites = np.vstack(sites)

    tr = geo_coverage.transformer("EPSG:4326", epsg)
    _, hx, hy = _points(conn, sql.SQL(
        "SELECT grid_code, ST_X(geom), ST_Y(geom) FROM households"
        " WHERE grid_code LIKE %(under)s AND grid_code LIKE %(scope)s"), params)
    _, ix, iy = _points(conn, sql.SQL(
        "SELECT grid_code, ST_X(geom), ST_Y(geom) FROM incidents"
        " WHERE grid_code LIKE %(under)s AND grid_code LIKE %(scope)s"
        " AND created_at >= now() - make_interval(months => %(months)s)"),
        params | {"months": INCIDENT_MONTHS})
    xy = np.column_stack(tr.transform(np.concatenate([hx, ix]),
                                      np.concatenate([hy, iy])))
    n_hh = len(hx)
    _, cams = _cameras_near(conn, sql.SQL(
        "SELECT ST_Extent(geom) AS e FROM grids WHERE code LIKE %(under)s"
        " AND code LIKE %(scope)s"), params)
    existing = (geo_coverage.metric_views(*cams, epsg) if cams is not None
                else np.empty(0, dtype=object))
    seen = geo_coverage.covered_points(xy, existing)
    weights = np.where(np.arange(len(xy)) < n_hh, 1.0, float(incident_weight))
    weights[seen] = 0.0
    picks = geo_coverage.recommend(sites, xy, weights, k, range_m, kind=kind,
                                   fov_deg=fov_deg)
    back = geo_coverage.transformer(epsg, "EPSG:4326")
    seen_hh = int(seen[:n_hh].sum())
    out = []
    for rank, pick in enumerate(picks, 1):
        lon, lat = back.transform(*sites[pick["site"]])
        hh = int(np.count_nonzero(pick["points"] < n_hh))
        seen_hh += hh
        out.append({
            "rank": rank, "lon": round(float(lon), 7), "lat": round(float(lat), 7),
            "bearing": pick["bearing"], "gain": round(pick["gain"], 3),
            "households": hh, "incidents": len(pick["points"]) - hh,
            "household_share_after": round(seen_hh / n_hh, 6) if n_hh else None,
        })
    return {
        "grid": grid["code"], "kind": kind, "range_m": range_m,
        "fov_deg": None if kind == "ptz" else fov_deg,
        "incident_weight": incident_weight, "incident_months": INCIDENT_MONTHS,
        "spacing_m": round(spacing, 1), "sites": len(sites),
        "households": {"total": n_hh, "covered": int(seen[:n_hh].sum())},
        "incidents": {"total": len(ix), "covered": int(seen[n_hh:].sum())},
        "picks": out,
    }
