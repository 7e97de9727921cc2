"""Topology check of the grid hierarchy: every problem, with where it is and its area.

The four levels (镇 → 村 → 综合网格 → 微网格) must each tile their parent: children
valid, not overlapping one another, covering their parent without gaps and not
sticking out of it, with codes that start with their parent's, and micro-grids of
50–100 households. :func:`check_hierarchy` lists every departure from that, each
part of an overlap, gap or protrusion on its own, with its area in m² (computed in
the CGCS2000 Gauss-Krüger zone of the data) and its location as GeoJSON in
EPSG:4326; parts smaller than a tolerance are set apart as slivers.

How it stays fast on a city (24,000 grids): the exact overlay (intersections,
differences) is the expensive part, so it runs only where a cheap, exact test
fails. For every level, GEOS's coverage validator (``shapely.coverage_invalid_edges``)
flags each grid whose edges do not match its neighbours' vertex for vertex or that
overlaps one (a valid coverage has no overlap); for every parent whose children
pass, the coverage union of the children (``shapely.coverage_union_all``, linear in
the edges) is compared with the parent vertex for vertex after normalisation.
Families that pass both have no overlap, gap or protrusion at all; the others go
through the exact overlay: sibling pairs from an ``STRtree`` query whose interiors
meet (DE-9IM ``T********``) and their intersections; each child not covered by its
parent minus that parent; each parent not equal to the union of its children minus
that union. Parts thinner than a millimetre on average are dropped as the noise of the
coordinate transformations (see ``NOISE_WIDTH_M``).
"""

import json
import math
import re

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.crs import WGS84, metric_crs_for

__all__ = ["NOISE_WIDTH_M", "KINDS", "HOUSEHOLD_RANGE", "check_hierarchy"]

# The kinds of problem, in the order a report lists them.
KINDS = ("invalid_geometry", "code_prefix", "level", "overlap", "gap",
         "outside_parent", "households")

# The households a micro-grid (四级网格) holds: 50–100 (the seeds' rule).
HOUSEHOLD_RANGE = (50, 100)

_COLUMNS = ("code", "level", "parent_code", "geometry")
_POLYGON = shapely.GeometryType.POLYGON
_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)
# A part of an overlap, gap or protrusion thinner than this on average (twice its
# area over its perimeter) is numerical noise, not a sliver: a vertex that lies on
# its neighbour's edge in degrees lies a few nanometres (up to tenths of a
# millimetre over long edges) off it in metres, since an edge straight in one CRS is
# slightly curved in the other. No survey or drawing is that precise.
NOISE_WIDTH_M = 0.001
# GEOS's reasons end with the location: "Self-intersection[119.705 31.205]"
_REASON = re.compile(r"^(?P<what>[^\[]*)(?:\[(?P<x>\S+) (?P<y>\S+)\])?")


def check_hierarchy(grids, household_counts=None, sliver_m2=1.0,
                    household_range=HOUSEHOLD_RANGE):
    """Check the grid hierarchy and list every problem.

    Parameters
    ----------
    grids : geopandas.GeoDataFrame
        Columns ``code``, ``level``, ``parent_code`` (None for a top grid) and
        ``geometry`` (Polygon or MultiPolygon), in EPSG:4326 (another CRS is
        transformed to it). A grid whose parent is not in the frame is a top grid:
        the top grids are checked as siblings of one another (no overlap), not
        against a parent. A parent with no child in the frame is not checked for
        gaps (its children may not be drawn yet).
    household_counts : mapping of str to int, optional
        Households per level-4 grid code (a missing code counts 0). Without it,
        household counts are not checked.
    sliver_m2 : float
        Parts of overlaps, gaps and protrusions smaller than this (m²) are
        reported under ``"slivers"``, not ``"errors"``.
    household_range : (int, int)
        The inclusive range of households a micro-grid must have.

    Returns
    -------
    dict
        ``{"errors": [...], "slivers": [...]}``; each problem is a dict with
        ``kind`` (one of :data:`KINDS`), ``codes`` (the grids concerned: the pair
        for an overlap; for a gap, the parent then the children that border it;
        the child then its parent for a protrusion, a code or a level),
        ``message`` (Chinese, then English, with the numbers), ``area_m2``
        (float, or None for a problem without area) and ``geometry`` (GeoJSON in
        EPSG:4326: the overlap, gap or protruding part; the point where a
        geometry is invalid; a point inside the grid otherwise). Problems are in
        :data:`KINDS` order, then by codes.

    Raises
    ------
    ValueError
        If a column is missing, codes repeat, the frame has no CRS or lies
        outside China, or ``sliver_m2`` / ``household_range`` are not sensible.

    Examples
    --------
    >>> from shapely import box
    >>> from pyproj import Transformer
    >>> to_deg = Transformer.from_crs("EPSG:4549", WGS84, always_xy=True).transform
    >>> def square(x, y, size):   # metres in the zone of CM 120°E
    ...     return shapely.transform(box(x, y, x + size, y + size), to_deg,
    ...                              interleaved=False)
    >>> grids = geopandas.GeoDataFrame({
    ...     "code": ["320282105", "320282105001", "320282105002"],
    ...     "level": [1, 2, 2],
    ...     "parent_code": [None, "320282105", "320282105"],
    ...     "geometry": [square(500_000, 3_460_000, 100),
    ...                  square(500_000, 3_460_000, 50),
    ...                  square(500_050, 3_460_050, 50)]}, crs=WGS84)
    >>> report = check_hierarchy(grids)
    >>> [(p["kind"], round(p["area_m2"])) for p in report["errors"]]
    [('gap', 2500), ('gap', 2500)]
    """
    lo, hi = household_range
    sliver_m2 = float(sliver_m2)
    if not math.isfinite(sliver_m2) or sliver_m2 < 0:
        raise ValueError(f"sliver_m2 must be a number >= 0, got {sliver_m2}")
    if not 0 <= lo <= hi:
        raise ValueError(f"household_range must be (low, high) with 0 <= low <= "
                         f"high, got {household_range}")
    tree = _Tree(grids)
    report = _Report(sliver_m2)
    if tree.n:
        _check_geometry(tree, report)
        _check_codes(tree, report)
        if household_counts is not None:
            _check_households(tree, report, household_counts, lo, hi)
        _check_coverage(tree, report)
    return report.result()


class _Tree:
    """The frame as parallel arrays: codes, levels, parent indices, geometries."""

    def __init__(self, grids):
        missing = [c for c in _COLUMNS if c not in grids.columns]
        if missing:
            raise ValueError(f"the grids lack the column(s) {', '.join(missing)}")
        if grids.crs is None:
            raise ValueError("the grids have no CRS: set it (EPSG:4326) first")
        if grids.crs.to_epsg() != 4326:
            grids = grids.to_crs(WGS84)
        self.n = len(grids)
        self.code = grids["code"].astype(str).to_numpy(dtype=object)
        duplicated = pd.Index(self.code).duplicated()
        if duplicated.any():
            dupes = sorted(set(self.code[duplicated]))[:5]
            raise ValueError(f"grid codes repeat: {', '.join(dupes)}")
        self.level = grids["level"].to_numpy(dtype=np.int64)
        parent_code = grids["parent_code"].astype(object)
        parent_code = parent_code.where(parent_code.notna(), None).to_numpy()
        self.parent = pd.Index(self.code).get_indexer(
            pd.Index(parent_code, dtype=object))
        # siblings share a parent_code; the top grids (parent absent) included
        self.family, _ = pd.factorize(
            np.array(["\0" if p is None else p for p in parent_code], dtype=object))
        self.wgs84 = np.asarray(grids.geometry.array, dtype=object)
        self.crs = metric_crs_for(grids) if self.n else None
        self.metric = self.bad = None  # set by _check_geometry

    def point_inside(self, i):
        """A point inside grid ``i`` (EPSG:4326), or None for an empty one."""
        g = self.wgs84[i]
        if g is None or g.is_empty:
            return None
        try:
            return shapely.point_on_surface(g)
        except shapely.errors.GEOSException:  # some invalid shapes
            return shapely.centroid(shapely.envelope(g))


class _Report:
    """Collects problems; area problems in metres, transformed back at the end."""

    def __init__(self, sliver_m2):
        self.sliver_m2 = sliver_m2
        self.crs = None  # the metric CRS of the area problems' parts
        self.plain = []  # (kind, codes, message, geometry in EPSG:4326)
        self.areas = []  # (kind, codes, area, metric parts, message builder)

    def add(self, kind, codes, message, geometry):
        self.plain.append((kind, list(codes), message, geometry))

    def add_parts(self, kind, codes, pieces, message, more=None):
        """Report each polygonal part of ``pieces`` (metric geometries) with its
        area and the codes of its row (``codes``: a list of tuples), followed by
        ``more(parts, rows)`` (a tuple of codes per part) when given."""
        if len(pieces) == 0:
            return
        parts, row = shapely.get_parts(pieces, return_index=True)
        keep = shapely.get_type_id(parts) == _POLYGON
        parts, row = parts[keep], row[keep]
        area = shapely.area(parts)
        keep = (area > 0) & (2 * area >= NOISE_WIDTH_M * shapely.length(parts))
        if keep.any():
            parts, row = parts[keep], row[keep]
            extra = more(parts, row) if more else [()] * len(parts)
            self.areas.append((kind, [codes[r] + e for r, e in zip(row, extra,
                                                                   strict=True)],
                               area[keep], parts, message))

    def result(self):
        out = {"errors": [], "slivers": []}
        for kind, codes, message, geometry in self.plain:
            out["errors"].append(_problem(kind, codes, message, None, geometry))
        for kind, codes, areas, parts, message in self.areas:
            for c, a, g in zip(codes, areas, _to_wgs84(parts, self.crs),
                               strict=True):
                a = float(a)
                where = "slivers" if a < self.sliver_m2 else "errors"
                out[where].append(_problem(kind, c, message(c, a), a, g))
        for problems in out.values():
            problems.sort(key=lambda p: (KINDS.index(p["kind"]), p["codes"],
                                         -(p["area_m2"] or 0)))
        return out


def _problem(kind, codes, message, area, geometry):
    return {"kind": kind, "codes": list(codes), "message": message, "area_m2": area,
            "geometry": None if geometry is None else json.loads(
                shapely.to_geojson(geometry))}


def _to_wgs84(parts, crs):
    return geopandas.GeoSeries(parts, crs=crs).to_crs(WGS84).array


def _check_geometry(tree, report):
    """Invalid, empty or non-polygonal geometries; the metric geometries, with
    those repaired (``make_valid``) so the overlay can use them."""
    geoms = tree.wgs84
    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    polygonal = np.isin(shapely.get_type_id(geoms), _POLYGONAL)
    reasons = shapely.is_valid_reason(geoms)
    bad = missing | ~polygonal | (reasons != "Valid Geometry")
    for i in np.flatnonzero(bad):
        code = tree.code[i]
        if missing[i]:
            what, at = "empty geometry", None
        elif not polygonal[i]:
            what, at = f"a {geoms[i].geom_type}, not a polygon", tree.point_inside(i)
        else:
            found = _REASON.match(reasons[i])
            what, at = found["what"].strip(), None
            if found["x"] is not None:
                at = shapely.Point(float(found["x"]), float(found["y"]))
            else:
                at = tree.point_inside(i)
        where = "" if at is None else f"，位于 ({at.x:.6f}, {at.y:.6f})"
        where_en = "" if at is None else f" at ({at.x:.6f}, {at.y:.6f})"
        report.add("invalid_geometry", [code],
                   f"网格 {code} 的几何图形无效：{what}{where}。"
                   f"Invalid geometry of {code}: {what}{where_en}.", at)
    series = geopandas.GeoSeries(np.where(missing, None, geoms), crs=WGS84)
    metric = np.asarray(series.to_crs(tree.crs).array, dtype=object)
    metric[bad] = _repair(metric[bad])
    tree.metric, tree.bad = metric, bad
    report.crs = tree.crs


def _repair(geoms):
    """Valid polygonal versions of ``geoms`` (None where nothing polygonal is left)."""
    out = np.full(len(geoms), None, dtype=object)
    fixed = shapely.make_valid(geoms)
    parts, row = shapely.get_parts(fixed, return_index=True)
    keep = shapely.get_type_id(parts) == _POLYGON
    if keep.any():
        rows = np.unique(row[keep])
        out[rows] = shapely.multipolygons(parts[keep],
                                          indices=np.searchsorted(rows, row[keep]))
    return out


def _check_codes(tree, report):
    """Codes that do not start with the parent's; levels not the parent's plus one."""
    for i in np.flatnonzero(tree.parent >= 0):
        p = tree.parent[i]
        code, parent = tree.code[i], tree.code[p]
        if not code.startswith(parent):
            report.add("code_prefix", [code, parent],
                       f"网格编码 {code} 未以上级网格编码 {parent} 开头。"
                       f"Code {code} does not start with its parent's code {parent}.",
                       tree.point_inside(i))
        if tree.level[i] != tree.level[p] + 1:
            report.add("level", [code, parent],
                       f"网格 {code} 为第 {tree.level[i]} 级，其上级 {parent} 为第 "
                       f"{tree.level[p]} 级。Grid {code} is at level {tree.level[i]}"
                       f" but its parent {parent} is at level {tree.level[p]}.",
                       tree.point_inside(i))


def _check_households(tree, report, counts, lo, hi):
    for i in np.flatnonzero(tree.level == 4):
        code = tree.code[i]
        k = int(counts.get(code, 0))
        if not lo <= k <= hi:
            report.add("households", [code],
                       f"微网格 {code} 有 {k} 户，应为 {lo}–{hi} 户。"
                       f"Micro-grid {code} has {k} households, not {lo}–{hi}.",
                       tree.point_inside(i))


def _check_coverage(tree, report):
    """Overlaps between siblings, gaps inside parents, children sticking out."""
    suspect, matched = _suspect_families(tree)
    members = np.flatnonzero(suspect[tree.family])
    if len(members) == 0:
        return
    geoms = tree.metric.copy()
    # the zone's projection can, rarely, make a valid shape invalid: repair those
    involved = np.union1d(members, tree.parent[members][tree.parent[members] >= 0])
    broken = involved[~shapely.is_valid(geoms[involved]) & ~tree.bad[involved]]
    geoms[broken] = _repair(geoms[broken])
    # a repaired shape no longer shares its neighbours' vertices: the coverage
    # union (linear, edges must match) would fail on its family
    matched = matched.copy()
    matched[tree.family[broken]] = False
    _overlaps(tree, report, geoms, members)
    child = members[tree.parent[members] >= 0]
    _outside(tree, report, geoms, child)
    _gaps(tree, report, geoms, child, matched)


def _overlaps(tree, report, geoms, members):
    """Sibling pairs whose interiors intersect (bounding boxes from an STRtree,
    then the exact DE-9IM test), and the parts of their intersection."""
    candidates = geoms[members]
    a, b = shapely.STRtree(candidates).query(candidates)
    a, b = members[a], members[b]
    pair = (a < b) & (tree.family[a] == tree.family[b])
    a, b = a[pair], b[pair]
    inside = shapely.relate_pattern(geoms[a], geoms[b], "T********")
    a, b = a[inside], b[inside]
    report.add_parts("overlap", list(zip(tree.code[a], tree.code[b], strict=True)),
                     shapely.intersection(geoms[a], geoms[b]),
                     lambda c, area: (f"网格 {c[0]} 与 {c[1]} 重叠 {_m2(area)}。"
                                      f"Siblings {c[0]} and {c[1]} overlap by "
                                      f"{_m2(area)}."))


def _outside(tree, report, geoms, child):
    """Each child minus its parent, where the (prepared) parent does not cover it."""
    parent = tree.parent[child]
    shapely.prepare(geoms[np.unique(parent)])
    out = child[~shapely.covers(geoms[parent], geoms[child])]
    report.add_parts("outside_parent",
                     list(zip(tree.code[out], tree.code[tree.parent[out]],
                              strict=True)),
                     shapely.difference(geoms[out], geoms[tree.parent[out]]),
                     lambda c, area: (f"网格 {c[0]} 有 {_m2(area)} 超出上级网格 "
                                      f"{c[1]}。{_m2(area)} of {c[0]} lies outside "
                                      f"its parent {c[1]}."))


def _gaps(tree, report, geoms, child, matched):
    """Each parent minus the union of its children, where the two differ.

    The union is a coverage union (linear) for families whose edges match.
    """
    parent = tree.parent[child]
    parents, first = np.unique(parent, return_index=True)
    table = _table(geoms, child, parent, parents)
    fast = matched[tree.family[child[first]]]
    unions = np.empty(len(parents), dtype=object)
    if fast.any():
        unions[fast] = shapely.coverage_union_all(table[fast], axis=1)
    if (~fast).any():
        unions[~fast] = shapely.union_all(table[~fast], axis=1)
    differ = ~shapely.equals(unions, geoms[parents])
    parents, unions = parents[differ], unions[differ]

    def bordering(parts, row):
        """The codes of the children of the gap's parent that touch the gap."""
        on = child[np.isin(parent, parents)]
        g, c = shapely.STRtree(geoms[on]).query(parts, predicate="dwithin",
                                                distance=NOISE_WIDTH_M)
        mine = tree.parent[on[c]] == parents[row[g]]
        found = [[] for _ in parts]
        for i, j in zip(g[mine], on[c[mine]], strict=True):
            found[i].append(tree.code[j])
        return [tuple(sorted(f)) for f in found]

    report.add_parts("gap", [(c,) for c in tree.code[parents]],
                     shapely.difference(geoms[parents], unions), _gap_message,
                     more=bordering)


def _gap_message(codes, area):
    parent, near = codes[0], codes[1:]
    if not near:
        return (f"网格 {parent} 内有 {_m2(area)} 不属于任何下级网格。"
                f"{_m2(area)} of {parent} is covered by none of its children.")
    return (f"网格 {parent} 内有 {_m2(area)} 不属于任何下级网格（邻接 "
            f"{'、'.join(near)}）。{_m2(area)} of {parent} is covered by none of "
            f"its children (next to {', '.join(near)}).")


def _suspect_families(tree):
    """Families (sets of siblings) whose exact overlay is needed, and those whose
    edges match (a valid coverage: no overlap, a linear union).

    A family passes when no member is invalid, its members' edges match their
    neighbours' at their level (``coverage_invalid_edges``: no overlap), and the
    coverage union of the members equals the parent vertex for vertex.
    """
    geoms = tree.metric
    suspect_grid = tree.bad.copy()
    for level in np.unique(tree.level):
        idx = np.flatnonzero((tree.level == level) & ~tree.bad)
        edges = shapely.coverage_invalid_edges(geoms[idx])
        suspect_grid[idx[~shapely.is_empty(edges)]] = True
    n_families = tree.family.max() + 1
    suspect = np.zeros(n_families, dtype=bool)
    suspect[tree.family[suspect_grid]] = True
    matched = ~suspect
    # families with their parent in the frame, still clean: compare unions
    child = np.flatnonzero((tree.parent >= 0) & ~suspect[tree.family])
    if len(child):
        parent = tree.parent[child]
        parents = np.unique(parent)
        unions = shapely.coverage_union_all(_table(geoms, child, parent, parents),
                                            axis=1)
        same = shapely.equals_exact(_normal(unions), _normal(geoms[parents]),
                                    tolerance=0)
        same &= ~tree.bad[parents]
        differ = np.isin(parent, parents[~same])
        suspect[tree.family[child[differ]]] = True
    return suspect, matched


def _table(geoms, child, parent, parents):
    """A (len(parents), most children) table of the children's geometries, None
    padded, for the unions along axis 1."""
    row = np.searchsorted(parents, parent)
    order = np.argsort(row, kind="stable")
    count = np.bincount(row, minlength=len(parents))
    rank = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count)
    table = np.full((len(parents), max(count.max(initial=0), 1)), None, dtype=object)
    table[row[order], rank] = geoms[child[order]]
    return table


def _normal(geoms):
    """MultiPolygons in normal form, so equal shapes compare equal vertex for vertex."""
    parts, row = shapely.get_parts(geoms, return_index=True)
    out = np.full(len(geoms), None, dtype=object)
    rows = np.unique(row)
    out[rows] = shapely.multipolygons(parts, indices=np.searchsorted(rows, row))
    return shapely.normalize(out)


def _m2(area):
    """An area for a sentence: 200 m², 12.5 m², 0.0031 m²."""
    if area >= 100:
        return f"{area:,.0f} m²"
    if area >= 1:
        return f"{area:.1f} m²"
    return f"{area:.2g} m²"
