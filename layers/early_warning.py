"""Early warnings (预警): the daily run over the incident cube, and acting on them.

:func:`run` reads the heatmap's copy of ``incident_cells`` (``layers.density``:
counts per category, day, micro-grid and 50 m cell), builds every series -- each
grid at each level, by category, its micro-grids summed -- and the lattice of
250 m cells, asks ``geo.early_warning`` which are warming up, and writes the
answers to ``early_warnings`` (migration 0030): a series still warming up
updates its live row; a new one adds a row. :func:`list_warnings` reads them in
the user's jurisdiction; :func:`handle` records what was done, audited.
"""

import datetime as dt

import numpy as np
from psycopg import sql
from psycopg.rows import dict_row

from geo import early_warning as ew
from geo import vocab
from geo.catalogue import say
from geo.localtime import CHINA_TZ
from layers import audit, density, judgements
from layers.access import like_prefix
from layers.errors import Conflict, Invalid, NotFound

__all__ = ["STATUSES", "ACTIONS", "run", "list_warnings", "get", "handle"]

HISTORY_DAYS = 395            # 13 months: every month of the year seen once
SCAN_CELL_M = 250.0
MAX_SCAN_CELLS = 400          # a side of the scanned lattice at most
MAX_INCIDENTS = 50            # codes kept with a warning
STATUSES = ("open", "acknowledged", "assessing", "dismissed")
# action -> the status it leaves
ACTIONS = {"acknowledge": "acknowledged", "assess": "assessing",
           "dismiss": "dismissed"}
_LIVE = ("open", "acknowledged", "assessing")
_EPOCH = dt.date(1970, 1, 1)


def _rows(cube):
    """Every (category, day, code, ix, iy, n) of the cube, changes included."""
    columns = [cube.category, cube.day, cube.code, cube.ix, cube.iy, cube.n]
    if cube.changes:
        columns = [np.concatenate([a, b]) for a, b in zip(columns, cube.changes,
                                                          strict=True)]
    return columns


def _series(conn, cube, rows, first, today):
    """Counts of every grid x category by day, with each series' level."""
    category, day, code, _, _, n = rows
    keep = (day >= first) & (day <= today)
    grids = conn.execute("SELECT code, level FROM grids ORDER BY code").fetchall()
    index = {c: i for i, (c, _) in enumerate(grids)}
    levels = np.array([lv for _, lv in grids], dtype=np.int16)
    n_cat, n_days = len(cube.categories), today - first + 1
    counts = np.zeros((len(grids) * n_cat, n_days), dtype=np.int32)
    micro = np.asarray(cube.codes, dtype=object)[code[keep]]
    cat, d, k = category[keep].astype(np.int64), (day[keep] - first), n[keep]
    # each incident counts in its grid and in every grid above it (codes extend
    # their parent's: level L has 6 + 3L digits)
    for width in (9, 12, 15, 18):
        owner = np.array([index.get(c[:width], -1) if len(c) >= width else -1
                          for c in micro], dtype=np.int64)
        ok = owner >= 0
        np.add.at(counts, (owner[ok] * n_cat + cat[ok], d[ok]), k[ok])
    series = [(c, cube.categories[j]) for c, _ in grids for j in range(n_cat)]
    series_levels = np.repeat(levels, n_cat)
    series_cats = np.tile(np.arange(n_cat), len(grids))
    return series, series_levels, series_cats, counts


def _lattice(cube, rows, first, today):
    """Counts per 250 m cell and day over the deployment (all categories), the
    cell size used, and the lattice's origin (ix, iy of its first cell)."""
    _, day, code, ix, iy, n = rows
    keep = (day >= first) & (day <= today) & (n != 0)
    if not keep.any():
        return None
    factor = max(1, round(SCAN_CELL_M / cube.cell_m))
    cx, cy = ix[keep] // factor, iy[keep] // factor
    side = max(cx.max() - cx.min(), cy.max() - cy.min()) + 1
    if side > MAX_SCAN_CELLS:  # a larger deployment: coarser cells
        grow = -(-side // MAX_SCAN_CELLS)
        factor *= grow
        cx, cy = ix[keep] // factor, iy[keep] // factor
    x0, y0 = cx.min(), cy.min()
    lattice = np.zeros((cy.max() - y0 + 1, cx.max() - x0 + 1, today - first + 1),
                       dtype=np.int32)
    np.add.at(lattice, (cy - y0, cx - x0, day[keep] - first), n[keep])
    return lattice, factor * cube.cell_m, (x0, y0), (cx, cy, code[keep],
                                                     day[keep] - first, n[keep])


def run(conn, today=None, replicas=99):
    """Compute the day's warnings and store them; ``{"grids": n, "clusters": m}``
    (how many series are warned). ``today``: a date (China time); default today."""
    today = today or dt.datetime.now(CHINA_TZ).date()
    cube, srid = density.cube(conn)
    found = {"grids": 0, "clusters": 0}
    if srid is None:
        return found
    last = (today - _EPOCH).days
    first = last - HISTORY_DAYS + 1
    days = np.arange(np.datetime64(today) - HISTORY_DAYS + 1,
                     np.datetime64(today) + 1)
    rows = _rows(cube)
    series, levels, cats, counts = _series(conn, cube, rows, first, last)
    groups = list(zip(levels.tolist(), cats.tolist(), strict=True))
    warnings = ew.warn(series, today, counts, days, groups, cats)
    with conn.transaction():
        for w in warnings:
            code, category = w["series"]
            _store(conn, "grid", code, category, today, w, None)
        found["grids"] = len(warnings)
        grid = _lattice(cube, rows, first, last)
        if grid is not None:
            lattice, size, (x0, y0), cells = grid
            clusters = ew.emerging_clusters(lattice, days, today, replicas=replicas)
            for c in clusters:
                code = _cluster_grid(cube, cells, c, x0, y0)
                square = _square(conn, c, size, x0, y0, srid)
                w = {"window": c["days"], "observed": c["observed"],
                     "expected": c["expected"], "p": c["p"], "q": None,
                     "since": c["since"]}
                _store(conn, "cluster", code, None, today, w, square)
            found["clusters"] = len(clusters)
    return found


def _cluster_grid(cube, cells, cluster, x0, y0):
    """The micro-grid holding most of the cluster's recent incidents."""
    cx, cy, code, day, n = cells
    r = cluster["radius"]
    inside = ((np.abs(cx - x0 - cluster["ix"]) <= r)
              & (np.abs(cy - y0 - cluster["iy"]) <= r)
              & (day >= day.max() - cluster["days"] + 1))
    if not inside.any():
        inside = np.ones(len(code), dtype=bool)
    totals = np.bincount(code[inside], weights=n[inside])
    return cube.codes[int(np.argmax(totals))]


def _square(conn, cluster, size, x0, y0, srid):
    r = cluster["radius"]
    xmin = (x0 + cluster["ix"] - r) * size
    ymin = (y0 + cluster["iy"] - r) * size
    side = (2 * r + 1) * size
    return conn.execute(
        "SELECT ST_AsText(ST_Transform(ST_MakeEnvelope(%s, %s, %s, %s, %s), 4326))",
        (xmin, ymin, xmin + side, ymin + side, srid)).fetchone()[0]


def _incidents(conn, kind, code, category, since, today, square):
    """Codes of the incidents behind a warning (newest first)."""
    until = dt.datetime.combine(today + dt.timedelta(days=1), dt.time(), CHINA_TZ)
    start = dt.datetime.combine(since, dt.time(), CHINA_TZ)
    if kind == "grid":
        found = conn.execute(
            "SELECT code FROM incidents WHERE grid_code LIKE %s AND category = %s"
            " AND created_at >= %s AND created_at < %s"
            " ORDER BY created_at DESC LIMIT %s",
            (like_prefix(code), category, start, until, MAX_INCIDENTS))
    else:
        found = conn.execute(
            "SELECT code FROM incidents WHERE ST_Intersects(geom,"
            " ST_GeomFromText(%s, 4326)) AND created_at >= %s AND created_at < %s"
            " ORDER BY created_at DESC LIMIT %s",
            (square, start, until, MAX_INCIDENTS))
    return [r[0] for r in found]


def _store(conn, kind, code, category, today, w, square):
    incidents = _incidents(conn, kind, code, category, w["since"], today, square)
    values = {"kind": kind, "code": code, "category": category, "today": today,
              "since": w["since"], "window": w["window"], "observed": w["observed"],
              "expected": w["expected"], "p": w["p"], "q": w["q"], "geom": square,
              "incidents": incidents}
    updated = conn.execute(
        """UPDATE early_warnings SET last_day = %(today)s,
               since = least(since, %(since)s), window_days = %(window)s,
               observed = %(observed)s, expected = %(expected)s, p = %(p)s,
               q = %(q)s, geom = ST_GeomFromText(%(geom)s, 4326),
               incidents = %(incidents)s
           WHERE kind = %(kind)s AND grid_code = %(code)s
             AND coalesce(category, '') = coalesce(%(category)s, '')
             AND status <> 'dismissed'""", values).rowcount
    if updated:
        return
    # dismissed with a reason: not raised again for what the dismissal saw
    dismissed = conn.execute(
        """SELECT 1 FROM early_warnings WHERE kind = %(kind)s
             AND grid_code = %(code)s
             AND coalesce(category, '') = coalesce(%(category)s, '')
             AND status = 'dismissed' AND last_day + window_days > %(today)s""",
        values).fetchone()
    if dismissed:
        return
    conn.execute(
        """INSERT INTO early_warnings (kind, grid_code, category, first_day, last_day,
               since, window_days, observed, expected, p, q, geom, incidents)
           VALUES (%(kind)s, %(code)s, %(category)s, %(today)s, %(today)s,
               %(since)s, %(window)s, %(observed)s, %(expected)s, %(p)s, %(q)s,
               ST_GeomFromText(%(geom)s, 4326), %(incidents)s)""", values)


_SELECT = """
    SELECT w.id, w.kind, w.grid_code, g.name AS grid_name, g.level, w.category,
           w.first_day, w.last_day, w.since, w.window_days, w.observed, w.expected,
           w.p, w.q, ST_AsGeoJSON(w.geom, 7)::json AS geometry, w.incidents,
           w.status, w.reason, w.handled_by, w.handled_at
    FROM early_warnings w LEFT JOIN grids g ON g.code = w.grid_code
"""


def _out(row):
    row = dict(row)
    row["category_label"] = (vocab.label(vocab.INCIDENT_CATEGORIES, row["category"])
                             if row["category"] else say("ew_all_categories"))
    return row


def list_warnings(conn, principal, status=None, grid=None, at=None, limit=100):
    """Warnings in the user's jurisdiction, the newest rise first.

    ``status``: one of ``STATUSES`` or ``"live"`` (default: open, acknowledged,
    assessing); ``grid``: a subtree; ``at``: a grid code whose chain is wanted
    (the grid and every grid above it -- the dispatcher's spot).
    """
    where, params = ["w.grid_code LIKE %(scope)s"], {"scope": principal.prefix,
                                                       "limit": limit}
    if status in (None, "live"):
        params["status"] = list(_LIVE)
    elif status in STATUSES:
        params["status"] = [status]
    else:
        raise Invalid(say("ew_bad_status", allowed=", ".join(("live",) + STATUSES)),
                      field="status")
    where.append("w.status = ANY(%(status)s)")
    if grid:
        params["grid"] = like_prefix(grid)
        where.append("w.grid_code LIKE %(grid)s")
    if at:
        params["chain"] = [at[:w] for w in (9, 12, 15, 18) if len(at) >= w]
        where.append("(w.grid_code = ANY(%(chain)s) OR w.grid_code LIKE %(at)s)")
        params["at"] = like_prefix(at)
    query = sql.SQL(" ").join([
        sql.SQL(_SELECT), sql.SQL("WHERE"),
        sql.SQL(" AND ").join(sql.SQL(w) for w in where),
        sql.SQL("ORDER BY w.since DESC, w.q NULLS LAST, w.id LIMIT %(limit)s")])
    cur = conn.cursor(row_factory=dict_row)
    return [_out(r) for r in cur.execute(query, params)]


def handle(conn, principal, warning_id, action, reason=None):
    """Acknowledge a warning, send it to 研判, or dismiss it (a reason required);
    audited. Returns the warning as listed; sent to 研判 ("assess"), with the
    ``judgement_id`` of its 研判 item (``layers.judgements``: made at the town's
    level the first time, by a user who may record one)."""
    if action not in ACTIONS:
        raise Invalid(say("ew_bad_action", allowed=", ".join(ACTIONS)), field="action")
    reason = (reason or "").strip() or None
    if action == "dismiss" and not reason:
        raise Invalid(say("ew_reason_needed"), field="reason")
    if reason is not None and len(reason) > 500:
        raise Invalid(say("ew_reason_too_long"), field="reason")
    cur = conn.cursor(row_factory=dict_row)
    with conn.transaction():
        before = cur.execute(
            "SELECT id, status, grid_code FROM early_warnings"
            " WHERE id = %s AND grid_code LIKE %s FOR UPDATE",
            (warning_id, principal.prefix)).fetchone()
        if before is None:
            raise NotFound(say("ew_not_found", id=warning_id))
        if before["status"] == "dismissed":
            raise Conflict(say("ew_already_dismissed"))
        status = ACTIONS[action]
        conn.execute(
            "UPDATE early_warnings SET status = %s, reason = coalesce(%s, reason),"
            " handled_by = %s, handled_at = now() WHERE id = %s",
            (status, reason, principal.username, warning_id))
        audit.record(conn, principal, "update", "early_warnings", key=warning_id,
                     before={"status": before["status"]},
                     after={"status": status, "reason": reason},
                     grid_code=before["grid_code"])
        item = None
        if status == "assessing" and principal.can("judgements:edit"):
            item = judgements.for_warning(conn, principal, warning_id)
    found = get(conn, principal, warning_id)
    return found if item is None else found | {"judgement_id": item}


def get(conn, principal, warning_id):
    """One warning of the user's jurisdiction (404 outside it)."""
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(sql.SQL(" ").join([
        sql.SQL(_SELECT), sql.SQL("WHERE w.id = %s AND w.grid_code LIKE %s")]),
                      (warning_id, principal.prefix)).fetchone()
    if row is None:
        raise NotFound(say("ew_not_found", id=warning_id))
    return _out(row)
