"""Editing a level of the grid hierarchy so that it stays a tiling.

An edit is computed on the siblings of the grid it touches (the children of one
parent) and then carried down to their children, so that every level keeps tiling
its parent: an edit that pushes into a sibling takes that area from it; an edit that
pulls back leaves a gap, reported for the caller to refuse. Set operations run in
the storage CRS (EPSG:4326), so that untouched shared boundaries keep their exact
vertices; areas are measured in the metric Gauss-Krüger zone.

No library offers a hierarchy-preserving edit of a polygon coverage, hence this
module; it is built on shapely's set operations.
"""

import json
from dataclasses import dataclass, field

import numpy as np
import shapely
from pyproj import Transformer
from shapely.ops import split as split_along

from geo.catalogue import say
from geo.crs import gk_zone_epsg

__all__ = [
    "EditError", "Edit", "BORDER_DEGREES", "boundary_from_geojson", "redraw",
    "redraw_together", "gap_neighbours", "create", "split", "split_with_children",
    "merge", "replace_children",
    "cascade", "area_m2", "free_codes", "recode",
]

# Below this, an intersection is a touch or a rounding error, not an overlap.
_TOUCH_M2 = 0.01
# How far (degrees, about 10 cm) a drawn vertex may lie from an existing one and
# still be taken as that vertex.
SNAP_DEGREES = 1e-6
# How far (degrees, about 1 m) a drawn boundary may stray across the edge of the
# user's jurisdiction before it counts as reaching into a grid outside it: a
# boundary rounded by a client strays by centimetres, an edit that takes ground
# from a neighbour by metres.
BORDER_DEGREES = 1e-5

# A boundary the API served (9 decimals) or that a client rounded further (QGIS
# writes its layer's precision) can come back crossing itself where two of its
# edges ran a hair apart. Such a polygon is repaired (shapely.make_valid, the
# crossed-over specks dropped) when the repair changes its area by less than
# this share of it or less than REPAIR_M2; a polygon drawn crossing itself (a
# bow-tie) changes by a whole lobe and is refused.
REPAIR_SHARE = 1e-5
REPAIR_M2 = 1.0

# A split line may stray this share of a child's area across the child's edge
# and still be taken as following that edge: a line drawn by hand in the browser
# has no snapping, and tracing a 1 km edge 10 m off already cuts 1 % of a 1 km²
# grid. Anything more is a child the line crosses.
CROSS_SHARE = 0.05

# Where a grid of a Chinese deployment can be (a generous box around the country):
# coordinates outside it come from a wrong CRS or swapped axes.
_CHINA = (73.0, 3.0, 136.0, 54.0)


class EditError(ValueError):
    """An edit that cannot be made as asked; ``field`` names the input at fault."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


@dataclass
class Edit:
    """The outcome of an edit at one level, before it is carried down.

    ``changed``: code → new geometry for existing grids whose boundary changes;
    ``created``: code → geometry of new grids; ``removed``: codes that disappear;
    ``gaps``: the parts of the parent no grid covers any more.
    """

    changed: dict = field(default_factory=dict)
    created: dict = field(default_factory=dict)
    removed: list = field(default_factory=list)
    gaps: list = field(default_factory=list)
    # removed code -> the grid that inherits what still names it (staff …)
    successor: dict = field(default_factory=dict)
    # child code -> code of its new parent, for children that change parent (the
    # split-off part of a grid with children); their codes then change too
    adopted: dict = field(default_factory=dict)
    # old code -> new code of every grid re-coded under a new parent, parents
    # before children (filled by the caller, which knows the descendants)
    recoded: dict = field(default_factory=dict)
    # False when the changed boundaries are unions of the grids below, which keep
    # theirs (split and merge): carrying them down would hand a merged-away
    # grid's area to the kept grid's children
    carry_down: bool = True
    # the grid that was split (its code lives on in one part; ``created`` is the
    # other): the lineage of a split
    split_from: str | None = None
    # per gap (same order as ``gaps``): the siblings it borders, longest border
    # first, as they would be after the edit: who can be handed that gap
    gap_borders: list = field(default_factory=list)


def boundary_from_geojson(value, kinds=("Polygon", "MultiPolygon"),
                          field="geometry"):
    """Parse a GeoJSON geometry (dict) into a valid shapely geometry, or say why not.

    Raises EditError naming ``field`` for: not a geometry, the wrong type,
    coordinates outside China (a wrong CRS or swapped axes), an invalid polygon
    (with the reason and the place, e.g. a self-intersection). A third coordinate
    (height: QGIS often writes one) is dropped; a polygon whose only defects are
    of rounding size is repaired (see ``REPAIR_SHARE``).

    >>> boundary_from_geojson({"type": "Polygon", "coordinates": [[
    ...     [120, 31, 5], [120.01, 31, 5], [120.01, 31.01, 5], [120, 31, 5]]]}).wkt
    'POLYGON ((120 31, 120.01 31, 120.01 31.01, 120 31))'
    """
    if not isinstance(value, dict) or "type" not in value:
        raise EditError(f"'{field}' must be a GeoJSON geometry object", field=field)
    if value["type"] not in kinds:
        raise EditError(f"'{field}' must be a {' or '.join(kinds)}, got "
                        f"{value['type']!r}", field=field)
    try:
        geom = shapely.from_geojson(json.dumps(value))
    except (shapely.errors.GEOSException, ValueError, TypeError) as exc:
        raise EditError(f"'{field}' is not valid GeoJSON: {exc}", field=field) \
            from None
    geom = shapely.force_2d(geom)
    if geom.is_empty:
        raise EditError(f"'{field}' is empty", field=field)
    x0, y0, x1, y1 = geom.bounds
    if not (_CHINA[0] <= x0 and x1 <= _CHINA[2] and _CHINA[1] <= y0
            and y1 <= _CHINA[3]):
        hint = " (latitude and longitude look swapped)" if (
            _CHINA[0] <= y0 and y1 <= _CHINA[2]) else ""
        raise EditError(f"'{field}' has coordinates outside China: longitude/latitude "
                        f"in degrees (WGS-84) expected{hint}", field=field)
    if not shapely.is_valid(geom):
        fixed = _rounding_repaired(geom)
        if fixed is None:
            raise EditError(f"'{field}' is not a valid polygon: "
                            f"{shapely.is_valid_reason(geom)}", field=field)
        geom = fixed
    return geom


def _rounding_repaired(geom):
    """``geom`` made valid when its defects are of rounding size, else None.

    The parts the repair makes that are under the tolerance (specks, and the
    bits where the ring crossed over) are dropped; the repair may change the
    area by less than the tolerance: ``REPAIR_M2`` or ``REPAIR_SHARE`` of it.
    """
    if geom.geom_type not in ("Polygon", "MultiPolygon"):
        return None
    parts = list(shapely.get_parts(_polygonal(shapely.make_valid(geom))))
    areas = area_m2(parts)
    tolerance = max(REPAIR_M2, REPAIR_SHARE * float(areas.sum()))
    kept = [p for p, a in zip(parts, areas, strict=True) if a >= tolerance]
    if not kept:
        return None
    fixed = shapely.union_all(kept)
    before, after = area_m2([geom, fixed])
    return fixed if abs(after - before) < tolerance else None


def area_m2(geoms):
    """Areas in m² of EPSG:4326 geometries, in their Gauss-Krüger zone."""
    geoms = np.atleast_1d(np.asarray(geoms, dtype=object))
    full = ~shapely.is_empty(geoms) if geoms.size else np.zeros(0, bool)
    if not full.any():
        return np.zeros(geoms.size)
    centre = shapely.centroid(shapely.union_all(shapely.envelope(geoms[full])))
    to_metric = Transformer.from_crs(4326, gk_zone_epsg(centre.x), always_xy=True)
    metric = shapely.transform(geoms, lambda xy: np.column_stack(
        to_metric.transform(xy[:, 0], xy[:, 1])))
    return shapely.area(metric)


def _polygonal(geom):
    """Keep the polygons of a set operation's result (drop stray lines and points)."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    parts = [g for g in shapely.get_parts(geom)
             if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.make_valid(shapely.union_all(parts)) if parts else \
        shapely.MultiPolygon()


def _parts_over(geom, sliver_m2):
    parts = [p for p in shapely.get_parts(_polygonal(geom)) if not p.is_empty]
    if not parts:
        return []
    areas = area_m2(parts)
    return [p for p, a in zip(parts, areas, strict=True) if a >= sliver_m2]


def redraw(siblings, code, geometry, parent, sliver_m2=1.0):
    """Give grid ``code`` the boundary ``geometry`` among its ``siblings``.

    Parameters
    ----------
    siblings : dict of str to Polygon/MultiPolygon
        Every child of the parent, the edited one included (EPSG:4326).
    geometry : Polygon or MultiPolygon
        The new boundary; what lies outside ``parent`` is cut off.
    parent : Polygon or MultiPolygon
        The parent grid (None at level 1: nothing to clip against).
    """
    if _same_boundary(geometry, siblings.get(code)):
        return Edit()  # the boundary it has, sent back (GET then PUT, QGIS)
    # A boundary that went through a client comes back rounded (GeoJSON, a few
    # decimals): put its vertices that are within a few centimetres of a neighbour's
    # or the parent's vertex back on that vertex, or every rounded shared edge would
    # read as a thin overlap and a thin gap.
    reference = shapely.union_all(
        [g.boundary for g in siblings.values()]
        + ([parent.boundary] if parent is not None else []))
    geometry = _polygonal(shapely.make_valid(
        shapely.snap(geometry, reference, SNAP_DEGREES)))
    new = _polygonal(geometry if parent is None else
                     shapely.intersection(geometry, parent))
    if new.is_empty:
        raise EditError("the new boundary does not overlap the parent grid",
                        field="geometry")
    edit = Edit(changed={code: new})
    others = {c: g for c, g in siblings.items() if c != code}
    for c, g in others.items():
        # a neighbour that only touches the new boundary (or overlaps it by a
        # rounding error) keeps its geometry as it is
        if not shapely.intersects(g, new) or \
                area_m2([shapely.intersection(g, new)])[0] < _TOUCH_M2:
            continue
        rest = _polygonal(shapely.difference(g, new))
        if rest.is_empty or area_m2([rest])[0] < sliver_m2:
            raise EditError(f"the new boundary covers the whole of grid {c}: merge "
                            "it instead", field="geometry")
        edit.changed[c] = rest
    if parent is not None:
        covered = shapely.union_all(
            [edit.changed.get(c, g) for c, g in siblings.items()])
        edit.gaps = _parts_over(shapely.difference(parent, covered), sliver_m2)
        after = siblings | edit.changed
        edit.gap_borders = [gap_neighbours(g, after) for g in edit.gaps]
    return edit


def redraw_together(siblings, geometries, parent, give=(), sliver_m2=1.0):
    """New boundaries for several siblings at once, and gaps handed to neighbours.

    The planner's topological edit: a vertex shared by neighbouring grids was
    moved in all of them (the page pins coincident vertices, see
    ``web/static/plan_edit.js``), so their new boundaries still tile the parent;
    each is applied as a :func:`redraw` in turn (in code order), so what one of
    them still pushes into another is taken from it, as for a single redraw.

    Why the page moves the shared vertices instead of the server guessing who
    gets a pulled-back area: the planner sees the very boundaries that will be
    saved while dragging, a junction of three grids gives each neighbour its
    own triangle (a server-side rule would hand the whole freed area to one of
    them), and every grid the edit changes is sent, version-checked and shown.

    Parameters
    ----------
    siblings : dict of str to Polygon/MultiPolygon
        Every child of the parent (EPSG:4326).
    geometries : dict of str to Polygon/MultiPolygon
        The new boundaries, code → geometry (codes among ``siblings``).
    parent : Polygon or MultiPolygon or None
    give : sequence of (Point, str)
        Gaps handed to a neighbour: the gap holding the point (as left by the
        redraws) is added to grid ``code``, which must border it.

    Returns
    -------
    Edit
        ``changed`` holds every grid that changes; ``gaps`` what is left
        uncovered, with ``gap_borders``.

    Examples
    --------
    >>> a = shapely.box(120.0, 31.0, 120.01, 31.01)
    >>> b = shapely.box(120.01, 31.0, 120.02, 31.01)
    >>> moved = {"a": shapely.box(120.0, 31.0, 120.005, 31.01),
    ...          "b": shapely.box(120.005, 31.0, 120.02, 31.01)}
    >>> edit = redraw_together({"a": a, "b": b}, moved, shapely.union(a, b))
    >>> sorted(edit.changed), edit.gaps
    (['a', 'b'], [])
    """
    current = dict(siblings)
    changed = {}
    for code in sorted(geometries):
        if code not in siblings:
            raise EditError(say("err_grid_not_sibling_grids", code=code),
                field="neighbours")
        step = redraw(current, code, geometries[code], parent, sliver_m2)
        current |= step.changed
        changed |= step.changed
    gaps = [] if parent is None else _parts_over(
        shapely.difference(parent, shapely.union_all(list(current.values()))),
        sliver_m2)
    given = set()
    for point, code in give:
        hit = sorted((i for i, g in enumerate(gaps)
                      if shapely.dwithin(g, point, SNAP_DEGREES)),
                     key=lambda i: shapely.distance(gaps[i], point))
        if not hit or hit[0] in given:
            raise EditError(say("err_there_gap", x=point.x, y=point.y), field="give")
        if code not in current:
            raise EditError(say("err_grid_not_sibling_grids", code=code), field="give")
        gap = gaps[hit[0]]
        if code not in gap_neighbours(gap, current):
            raise EditError(say("err_gap_does_not_border", code=code),
                field="give")
        given.add(hit[0])
        current[code] = changed[code] = _polygonal(shapely.union(current[code], gap))
    edit = Edit(changed={c: changed[c] for c in sorted(changed)},
                gaps=[g for i, g in enumerate(gaps) if i not in given])
    edit.gap_borders = [gap_neighbours(g, current) for g in edit.gaps]
    return edit


def gap_neighbours(gap, grids):
    """Codes of ``grids`` (code → geometry) that border ``gap``, longest shared
    border first: those that can be handed it without becoming two pieces.

    >>> gap_neighbours(shapely.box(0, 0, 1, 1), {"left": shapely.box(-1, 0, 0, 1),
    ...     "below": shapely.box(0, -1, 3, 0), "far": shapely.box(5, 5, 6, 6)})
    ['below', 'left']
    """
    near = {c: g for c, g in grids.items()
            if not g.is_empty and shapely.dwithin(gap, g, SNAP_DEGREES)}
    border = {c: shapely.length(shapely.intersection(
        gap.boundary, shapely.buffer(g, SNAP_DEGREES))) for c, g in near.items()}
    return sorted((c for c, n in border.items() if n > 10 * SNAP_DEGREES),
                  key=lambda c: (-border[c], c))


def _same_boundary(geometry, old):
    """True when ``geometry`` differs from ``old`` only by slivers thinner than
    ``SNAP_DEGREES``: the same boundary, rounded by a client (and repaired where
    the rounding made it cross itself)."""
    if old is None or old.is_empty:
        return False
    differ = shapely.symmetric_difference(geometry, old)
    return shapely.buffer(differ, -SNAP_DEGREES / 2).is_empty


def create(siblings, new_code, geometry, parent, sliver_m2=1.0):
    """A new grid ``new_code`` with boundary ``geometry`` among ``siblings``: it
    takes its area from them (what lies outside ``parent`` is cut off)."""
    edit = redraw(siblings | {new_code: shapely.Polygon()}, new_code, geometry,
                  parent, sliver_m2)
    edit.created = {new_code: edit.changed.pop(new_code)}
    edit.gaps = []  # a new grid only takes area: the gaps are those found before
    return edit


def split(geometry, line, code, new_code):
    """Split one grid along a drawn line into two: ``code`` keeps the part with the
    larger area, ``new_code`` gets the other."""
    a, b = sorted(_cut(geometry, line), key=lambda p: -p.area)
    return Edit(changed={code: _polygonal(a)}, created={new_code: _polygonal(b)},
                split_from=code)


def split_with_children(geometry, line, code, new_code, children, households=None,
                        sliver_m2=1.0):
    """Split a grid that has children along a drawn line into two.

    The children keep their boundaries: each goes whole to the side of the line
    holding (nearly) all of it, and the two new boundaries are the unions of the
    children on each side, so the hierarchy stays an exact tiling and the line
    only has to follow the children's edges roughly (within ``CROSS_SHARE`` of
    each child's area). A child the line crosses is refused rather than split
    too: splitting it would mean splitting its own children in turn, down to the
    micro-grids, with their households, staff and history; the planner splits or
    redraws it first, where the preview shows what that does.

    Parameters
    ----------
    geometry : Polygon or MultiPolygon
        The grid (one piece).
    line : LineString
        The drawn line; it must cut the grid in two.
    children : dict of str to Polygon/MultiPolygon
        The grid's children, tiling it.
    households : dict of str to int, optional
        Households per child: the part holding more keeps ``code`` (the larger
        area when equal), ``new_code`` names the other.

    Returns
    -------
    Edit
        ``changed={code: part}``, ``created={new_code: part}``, ``adopted``: the
        children of the new part → ``new_code``; ``carry_down`` False.

    Examples
    --------
    >>> square = shapely.box(120.0, 31.0, 120.02, 31.01)
    >>> kids = {"a": shapely.box(120.0, 31.0, 120.01, 31.01),
    ...         "b": shapely.box(120.01, 31.0, 120.02, 31.01)}
    >>> cut = shapely.LineString([(120.01, 30.9), (120.01, 31.1)])
    >>> edit = split_with_children(square, cut, "x", "y", kids, {"a": 1, "b": 9})
    >>> edit.adopted
    {'a': 'y'}
    """
    if not children:
        raise EditError(f"grid {code} has no children: split it as a micro-grid",
                        field="code")
    pieces = _cut(geometry, line)
    codes = sorted(children)
    geoms = [children[c] for c in codes]
    areas = area_m2(geoms)
    shares = np.array([area_m2([shapely.intersection(g, p) for g in geoms])
                       for p in pieces])  # piece × child, m²
    minor = shares.min(axis=0)
    crossed = [c for c, m, a in zip(codes, minor, areas, strict=True)
               if m >= max(sliver_m2, CROSS_SHARE * a)]
    if crossed:
        raise EditError(
            f"the split line crosses grid(s) {', '.join(crossed)} below {code}: "
            "split or redraw them first, or draw the line along their edges",
            field="line")
    side = shares.argmax(axis=0)
    groups = [[c for c, s in zip(codes, side, strict=True) if s == i] for i in (0, 1)]
    if not all(groups):
        raise EditError(f"the split line leaves every grid below {code} on one "
                        "side: draw it along the edges of the grids below",
                        field="line")
    parts = [_polygonal(shapely.union_all([children[c] for c in g])) for g in groups]
    weight = [(sum((households or {}).get(c, 0) for c in g), float(area_m2([p])[0]))
              for g, p in zip(groups, parts, strict=True)]
    kept = 0 if weight[0] >= weight[1] else 1
    return Edit(changed={code: parts[kept]}, created={new_code: parts[1 - kept]},
                adopted=dict.fromkeys(groups[1 - kept], new_code), carry_down=False,
                split_from=code)


def _cut(geometry, line):
    """The two pieces of ``geometry`` on either side of ``line``."""
    if not shapely.intersects(geometry, line):
        raise EditError("the split line does not cross the grid", field="line")
    pieces = list(shapely.get_parts(split_along(_single(geometry), line)))
    if len(pieces) < 2:
        raise EditError("the split line must cross the grid from edge to edge",
                        field="line")
    if len(pieces) > 2:
        raise EditError(f"the split line cuts the grid into {len(pieces)} parts; "
                        "draw a line that cuts it in two", field="line")
    return pieces


def merge(grids, keep):
    """Merge adjacent sibling grids into ``keep``; the others are removed."""
    union = _polygonal(shapely.union_all(list(grids.values())))
    if len(shapely.get_parts(union)) != 1:
        raise EditError("the grids to merge are not adjacent: together they do not "
                        "form one connected area", field="codes")
    removed = sorted(c for c in grids if c != keep)
    return Edit(changed={keep: union}, removed=removed,
                successor=dict.fromkeys(removed, keep), carry_down=False)


def replace_children(children, polygons, parent, new_codes, sliver_m2=1.0):
    """Replace all ``children`` of ``parent`` by ``polygons`` (a proposal).

    Each polygon takes over the code of the old child it overlaps most (so that
    identities, staff and history carry over); polygons left over get codes from
    ``new_codes``; old children left over are removed, each succeeded by the
    polygon that took most of its area. Overlaps between the polygons, parts
    outside the parent and gaps are refused.
    """
    polygons = [_polygonal(shapely.intersection(p, parent)) for p in polygons]
    if any(p.is_empty for p in polygons):
        raise EditError("a proposed grid lies outside the parent", field="grids")
    areas = area_m2(polygons)
    union = shapely.union_all(polygons)
    overlap = float(areas.sum() - area_m2([union])[0])
    if overlap >= sliver_m2:
        raise EditError(f"the proposed grids overlap each other by {overlap:.1f} m²",
                        field="grids")
    gaps = _parts_over(shapely.difference(parent, union), sliver_m2)
    codes = sorted(children)
    shared = np.array([[area_m2([shapely.intersection(p, children[c])])[0]
                        for c in codes] for p in polygons])
    edit = Edit(gaps=gaps)
    taken = set()
    # greedy matching, largest shared area first
    for flat in np.argsort(-shared, axis=None):
        i, j = np.unravel_index(flat, shared.shape)
        if shared[i, j] <= 0 or i in taken or codes[j] in edit.changed:
            continue
        edit.changed[codes[j]] = polygons[i]
        taken.add(i)
    fresh = iter(new_codes)
    for i, p in enumerate(polygons):
        if i not in taken:
            edit.created[next(fresh)] = p
    owner = {id(g): c for c, g in (edit.changed | edit.created).items()}
    for j, code in enumerate(codes):
        if code not in edit.changed:
            edit.removed.append(code)
            edit.successor[code] = owner[id(polygons[int(shared[:, j].argmax())])]
    return edit


def cascade(children, new_parent, sliver_m2=1.0):
    """Carry a parent's new boundary down to its children.

    Each child is clipped to the new boundary; each piece the parent gained goes
    to the child sharing the longest border with it (the nearest one for an island).
    Returns code → new geometry for the children that change; raises EditError when
    a child would vanish.
    """
    clipped = {c: _polygonal(shapely.intersection(g, new_parent))
               for c, g in children.items()}
    for c, g in clipped.items():
        if g.is_empty or area_m2([g])[0] < sliver_m2:
            raise EditError(f"grid {c} would lie wholly outside its parent's new "
                            "boundary: redraw or merge it first", field="geometry")
    gained = shapely.difference(new_parent, shapely.union_all(list(clipped.values())))
    for piece in shapely.get_parts(_polygonal(gained)):
        borders = {c: shapely.length(shapely.intersection(piece.boundary, g.boundary))
                   for c, g in clipped.items()}
        best = max(borders, key=borders.get)
        if borders[best] == 0:
            best = min(clipped, key=lambda c: shapely.distance(piece, clipped[c]))
        clipped[best] = _polygonal(shapely.union(clipped[best], piece))
    return {c: g for c, g in clipped.items()
            if area_m2([shapely.symmetric_difference(g, children[c])])[0] >= _TOUCH_M2}


def free_codes(parent_code, used, count):
    """The next ``count`` child codes under ``parent_code`` not in ``used``.

    Codes are the parent's code and three digits (GB/T 31000), numbered from 001;
    ``used`` holds the codes taken now and in the history, so that an old code
    keeps one meaning.

    >>> free_codes("320282105", {"320282105001", "320282105003"}, 2)
    ['320282105002', '320282105004']
    """
    taken = {int(c[-3:]) for c in used if c[:-3] == parent_code}
    free = [n for n in range(1, 1000) if n not in taken][:count]
    if len(free) < count:
        raise EditError(f"no free code left under {parent_code}", field="code")
    return [f"{parent_code}{n:03d}" for n in free]


def recode(adopted, used, descendants=()):
    """New codes for children that change parent, and for everything below them.

    Parameters
    ----------
    adopted : dict of str to str
        Child code → code of its new parent.
    used : dict of str to set, or set
        Per new parent, the child codes taken under it (now and in the history);
        a set when there is one new parent.
    descendants : iterable of str
        Codes of the grids below the adopted children: each keeps its own last
        digits under its re-coded ancestor (a whole subtree moves, so they stay
        unique), as codes are prefixes of their descendants'.

    Returns
    -------
    dict
        Old code → new code, parents before children (the order to insert in).

    >>> recode({"320282105003002": "320282105009"}, set(),
    ...        ["320282105003002001", "320282105003002002"])
    ... # doctest: +NORMALIZE_WHITESPACE
    {'320282105003002': '320282105009001',
     '320282105003002001': '320282105009001001',
     '320282105003002002': '320282105009001002'}
    """
    out = {}
    for parent in sorted(set(adopted.values())):
        taken = used.get(parent, set()) if isinstance(used, dict) else used
        moving = sorted(c for c, p in adopted.items() if p == parent)
        out |= zip(moving, free_codes(parent, taken, len(moving)), strict=True)
    below = {}
    for code in sorted(descendants, key=lambda c: (len(c), c)):
        head = next((c for c in out if code.startswith(c)), None)
        if head is None:
            raise EditError(f"grid {code} is not below a re-coded grid", field="code")
        below[code] = out[head] + code[len(head):]
    return out | below


def _single(geometry):
    parts = shapely.get_parts(geometry)
    if len(parts) != 1:
        raise EditError("only a grid in one piece can be split", field="code")
    return parts[0]
