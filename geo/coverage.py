"""Camera coverage: fields of view, covered shares, blind spots, where to add cameras.

A camera sees a polygon: a fixed camera (枪机) or a vehicle checkpoint (卡口) the
sector of its ``fov_deg`` centred on its ``bearing`` (degrees clockwise from north)
out to ``range_m``; a PTZ dome (球机) the disc of ``range_m``, since it turns. The
polygons are built in a metric CRS (the deployment's CGCS2000 Gauss-Krüger zone)
with numpy, all cameras at once: arcs have a vertex every :data:`ARC_STEP_DEG`
degrees and are inscribed in the true arc, so a view never claims ground the camera
does not see (a 4° step loses 0.08 % of the area).

Everything here takes arrays and returns arrays; no SQL, no Flask.
"""

import functools

import numpy as np
import shapely
from pyproj import Geod

__all__ = [
    "ARC_STEP_DEG", "view_polygons", "view_polygons_wgs84", "view_rings_wgs84",
    "metric_views", "project", "transformer", "coverage_by_grid", "covered_points",
    "lattice", "greedy_max_cover", "recommend",
]

_GEOD = Geod(ellps="WGS84")

ARC_STEP_DEG = 4.0
_DISC_KINDS = ("ptz",)
_KINDS = ("fixed", "ptz", "checkpoint")


def _check_views(n, kind, bearing, fov_deg, range_m):
    """Broadcast and check the view parameters of ``n`` cameras; return arrays and
    the mask of discs."""
    kind = np.broadcast_to(np.asarray(kind, dtype=object), (n,))
    bearing, fov, reach = (np.broadcast_to(np.asarray(v, dtype=np.float64), (n,))
                           for v in (bearing, fov_deg, range_m))
    unknown = ~np.isin(kind, _KINDS)
    if unknown.any():
        i = np.flatnonzero(unknown)[0]
        raise ValueError(f"camera {i}: unknown kind {kind[i]!r} "
                         f"(one of {', '.join(_KINDS)})")
    bad = ~(np.isfinite(reach) & (reach > 0))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"camera {i}: range_m must be a positive number, "
                         f"got {reach[i]}")
    disc = np.isin(kind, _DISC_KINDS) | (fov >= 360)
    bad = ~disc & ~(np.isfinite(fov) & (fov > 0) & np.isfinite(bearing))
    if bad.any():
        i = np.flatnonzero(bad)[0]
        raise ValueError(f"camera {i} ({kind[i]}): needs a bearing and a field of "
                         f"view in (0, 360], got bearing {bearing[i]}, "
                         f"fov_deg {fov[i]}")
    return bearing, np.where(disc, 360.0, fov), reach, disc


def view_polygons(x, y, kind, bearing, fov_deg, range_m):
    """The field of view of each camera, in the metric CRS of ``x``, ``y``.

    Parameters
    ----------
    x, y : array_like of float
        Camera positions in metres (a projected CRS whose grid north is north).
    kind : array_like of str
        ``fixed``, ``checkpoint`` (sectors) or ``ptz`` (a disc).
    bearing : array_like of float
        Degrees clockwise from north (ignored for discs; NaN allowed there).
    fov_deg : array_like of float
        Field of view in degrees; 360 (or a PTZ) gives a disc.
    range_m : array_like of float
        Radius in metres.

    Returns
    -------
    ndarray of shapely.Polygon, one per camera

    Raises
    ------
    ValueError
        Naming the first camera with an unknown kind, a range that is not positive,
        or a sector without a bearing or angle.

    Examples
    --------
    >>> quarter = view_polygons([0.0], [0.0], ["fixed"], [45.0], [90.0], [10.0])[0]
    >>> round(quarter.area / (np.pi * 100 / 4), 4)   # inscribed: 4° chords
    0.9992
    >>> quarter.contains(shapely.Point(5, 5)), quarter.contains(shapely.Point(-5, 5))
    (True, False)
    """
    x = np.atleast_1d(np.asarray(x, dtype=np.float64))
    y = np.atleast_1d(np.asarray(y, dtype=np.float64))
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("x and y must be one-dimensional, of one length")
    n = len(x)
    bearing, fov, reach, disc = _check_views(n, kind, bearing, fov_deg, range_m)
    if n == 0:
        return np.empty(0, dtype=object)
    camera, az, r, closing = _ring_vertices(bearing, fov, reach, disc)
    rad = np.radians(az)
    xs = x[camera] + r * np.sin(rad)
    ys = y[camera] + r * np.cos(rad)
    return _polygons(xs, ys, camera, closing)


def _ring_vertices(bearing, fov, reach, disc):
    """Every vertex of every view's ring, as ``(camera, azimuth in degrees,
    distance)``, plus ``closing``: pairs (last, first) of positions that must be
    the same point (a disc's arc ends where it began)."""
    n = len(bearing)
    # arc points per camera: at least 2 chords, then one every ARC_STEP_DEG
    chords = np.maximum(np.ceil(fov / ARC_STEP_DEG).astype(np.int64), 2)
    arc = chords + 1
    # a sector's ring: apex, arc..., apex (closed); a disc's: arc (first = last)
    ring_len = np.where(disc, arc, arc + 2)
    ends = np.cumsum(ring_len)
    starts = ends - ring_len
    camera = np.repeat(np.arange(n), ring_len)
    pos = np.arange(ends[-1]) - starts[camera]
    # position along the arc: sectors start with the apex (pos 0)
    along = np.where(disc[camera], pos, pos - 1)
    on_arc = (along >= 0) & (along < arc[camera])
    start_az = np.where(disc, 0.0, bearing - fov / 2)
    az = start_az[camera] + along * (fov / chords)[camera]
    r = np.where(on_arc, reach[camera], 0.0)
    last = np.flatnonzero(disc)
    return camera, az, r, (ends[last] - 1, starts[last])


def _closed(xs, ys, closing):
    last, first = closing
    xs[last], ys[last] = xs[first], ys[first]
    return xs, ys


def _polygons(xs, ys, camera, closing):
    xs, ys = _closed(xs, ys, closing)
    rings = shapely.linearrings(np.column_stack([xs, ys]), indices=camera)
    return shapely.polygons(rings)


@functools.lru_cache(maxsize=64)
def transformer(source, target):
    """A cached pyproj Transformer (x = east, y = north)."""
    from pyproj import Transformer

    return Transformer.from_crs(source, target, always_xy=True)


@functools.lru_cache(maxsize=64)
def _proj(epsg):
    """A cached pyproj Proj (building one costs about a millisecond, as much as the
    dispatcher's whole camera lookup)."""
    from pyproj import Proj

    return Proj(epsg)


def project(geoms, source, target):
    """Geometries (any shape of array) moved from CRS ``source`` to ``target``."""
    tr = transformer(source, target)

    def move(xy):
        return np.column_stack(tr.transform(xy[:, 0], xy[:, 1]))

    return shapely.transform(geoms, move)


def metric_views(lon, lat, kind, bearing, fov_deg, range_m, epsg):
    """Views of cameras at WGS-84 ``lon``, ``lat``, as polygons in ``epsg`` (a
    Gauss-Krüger zone), with bearings and ranges taken on the ground.

    A bearing is measured from true north, but the zone's grid north differs from it
    by the meridian convergence (up to ~0.8° at a 3° zone's edge in Jiangsu); and
    the projection stretches lengths by its scale factor (up to 1.0003). Both are
    applied at each camera (pyproj's factors), so that the sector agrees with the
    geodesic test of ``layers.locate`` to centimetres.
    """
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    x, y = transformer("EPSG:4326", epsg).transform(lon, lat)
    factors = _proj(epsg).get_factors(lon, lat)
    grid_bearing = np.asarray(bearing, dtype=np.float64) - factors.meridian_convergence
    reach = np.asarray(range_m, dtype=np.float64) * factors.meridional_scale
    return view_polygons(x, y, kind, np.mod(grid_bearing, 360.0), fov_deg, reach)


def view_polygons_wgs84(lon, lat, kind, bearing, fov_deg, range_m):
    """The field of view of each camera as a polygon in EPSG:4326 (for maps).

    Each arc vertex is the point at the camera's range along its azimuth on the
    WGS-84 ellipsoid (pyproj ``Geod.fwd``, vectorised): the same geodesic distance
    and azimuth that ``layers.locate`` tests a point against, and a tenth of the
    time of building the sector in the Gauss-Krüger zone and projecting it back
    (which the dispatcher paid on every located point).

    Parameters
    ----------
    lon, lat : array_like of float, the cameras in WGS-84 degrees
    kind, bearing, fov_deg, range_m : as :func:`view_polygons`

    Returns
    -------
    ndarray of shapely.Polygon in lon/lat

    Examples
    --------
    >>> disc = view_polygons_wgs84([119.75], [31.25], ["ptz"], [np.nan], [360], [100])
    >>> from pyproj import Geod
    >>> area = abs(Geod(ellps="GRS80").geometry_area_perimeter(disc[0])[0])
    >>> round(area)   # π 100² · sin 4° / 4° (inscribed chords) = 31,390.5
    31390
    """
    xs, ys, camera, closing = _wgs84_vertices(lon, lat, kind, bearing, fov_deg,
                                              range_m)
    if len(xs) == 0:
        return np.empty(0, dtype=object)
    return _polygons(xs, ys, camera, closing)


def view_rings_wgs84(lon, lat, kind, bearing, fov_deg, range_m, decimals=7):
    """The rings of :func:`view_polygons_wgs84` as GeoJSON coordinates: one list of
    ``[lon, lat]`` per camera, rounded to ``decimals`` (7: a centimetre), without
    building polygons (what a JSON answer needs, in a tenth of the time)."""
    xs, ys, camera, closing = _wgs84_vertices(lon, lat, kind, bearing, fov_deg,
                                              range_m)
    if len(xs) == 0:
        return []
    xy = np.round(np.column_stack(_closed(xs, ys, closing)), decimals)
    return [ring.tolist() for ring in
            np.split(xy, np.searchsorted(camera, np.arange(1, camera[-1] + 1)))]


def _wgs84_vertices(lon, lat, kind, bearing, fov_deg, range_m):
    """``(xs, ys, camera, closing)``: every ring vertex of every view in lon/lat,
    as :func:`_ring_vertices` lays them out."""
    lon = np.atleast_1d(np.asarray(lon, dtype=np.float64))
    lat = np.atleast_1d(np.asarray(lat, dtype=np.float64))
    n = len(lon)
    bearing, fov, reach, disc = _check_views(n, kind, bearing, fov_deg, range_m)
    if n == 0:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64), None
    camera, az, r, closing = _ring_vertices(bearing, fov, reach, disc)
    xs, ys, _ = _GEOD.fwd(lon[camera], lat[camera], az, r)
    return np.asarray(xs), np.asarray(ys), camera, closing


def _groups(index, n):
    """``(order, bounds)``: positions sorted by ``index`` and where each of the
    ``n`` groups starts and ends in that order."""
    order = np.argsort(index, kind="stable")
    bounds = np.searchsorted(index[order], np.arange(n + 1))
    return order, bounds


def coverage_by_grid(grids, views, points_xy=None, point_grid=None, blind=True,
                     simplify_m=0.5, min_blind_m2=25.0):
    """How much of each grid the views cover, and what they leave uncovered.

    Parameters
    ----------
    grids : array of shapely (Multi)Polygon, metric CRS
    views : array of shapely Polygon, same CRS (e.g. :func:`metric_views`)
    points_xy : (m, 2) float array, optional
        Households (or any points) in the same CRS.
    point_grid : (m,) int array, optional
        Index into ``grids`` of the grid each point belongs to (-1: none). A point
        counts as covered when it lies in, or on the edge of, any view — also a
        view of a camera standing in another grid.
    blind : bool
        Whether to return the uncovered part of each grid.
    simplify_m : float
        Tolerance of the simplification of blind spots (metres; 0 for none).
    min_blind_m2 : float
        Blind parts smaller than this (slivers between neighbouring sectors) are
        dropped.

    Returns
    -------
    dict of arrays, one value per grid: ``area_m2``, ``covered_m2``, ``points``,
    ``covered_points`` and, with ``blind``, ``blind`` (MultiPolygon or None when
    fully covered).

    Examples
    --------
    >>> grid = shapely.box(0, 0, 100, 100)
    >>> view = view_polygons([0.0], [0.0], ["fixed"], [45.0], [90.0], [50.0])
    >>> out = coverage_by_grid([grid], view, np.array([[10, 10], [90, 90]]), [0, 0])
    >>> round(float(out["covered_m2"][0] / (np.pi * 2500 / 4)), 3)
    0.999
    >>> int(out["points"][0]), int(out["covered_points"][0])
    (2, 1)
    """
    grids = np.asarray(grids, dtype=object)
    views = np.asarray(views, dtype=object)
    n = len(grids)
    area = shapely.area(grids)
    covered = np.zeros(n)
    blind_out = np.full(n, None, dtype=object)
    if points_xy is None:
        points_xy, point_grid = np.empty((0, 2)), np.empty(0, dtype=np.int64)
    points_xy = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    point_grid = np.asarray(point_grid, dtype=np.int64)
    kept = point_grid >= 0
    points = np.bincount(point_grid[kept], minlength=n)
    covered_points = np.zeros(n, dtype=np.int64)
    point_order, point_bounds = _groups(np.where(kept, point_grid, n), n + 1)

    tree = shapely.STRtree(views)
    grid_index, view_index = tree.query(grids, predicate="intersects")
    view_order, view_bounds = _groups(grid_index, n)
    view_index = view_index[view_order]
    for g in range(n):
        mine = view_index[view_bounds[g]:view_bounds[g + 1]]
        if len(mine) == 0:
            blind_out[g] = grids[g]
            continue
        seen = shapely.union_all(views[mine])
        covered[g] = shapely.area(shapely.intersection(grids[g], seen))
        hh = point_order[point_bounds[g]:point_bounds[g + 1]]
        if len(hh):
            shapely.prepare(seen)
            covered_points[g] = np.count_nonzero(
                shapely.intersects_xy(seen, points_xy[hh, 0], points_xy[hh, 1]))
        if blind:
            blind_out[g] = shapely.difference(grids[g], seen)
    out = {"area_m2": area, "covered_m2": np.minimum(covered, area),
           "points": points, "covered_points": covered_points}
    if blind:
        out["blind"] = _clean_blind(blind_out, simplify_m, min_blind_m2)
    return out


def _clean_blind(geoms, simplify_m, min_area):
    """Polygonal parts only, slivers dropped, simplified; MultiPolygon or None."""
    out = np.full(len(geoms), None, dtype=object)
    present = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    if len(present) == 0:
        return out
    parts, owner = shapely.get_parts(geoms[present], return_index=True)
    polygonal = shapely.get_type_id(parts) == shapely.GeometryType.POLYGON
    parts, owner = parts[polygonal], owner[polygonal]
    if simplify_m > 0:
        parts = shapely.simplify(parts, simplify_m, preserve_topology=True)
    big = shapely.area(parts) >= min_area
    parts, owner = parts[big], owner[big]
    order, bounds = _groups(owner, len(present))
    for i, g in enumerate(present):
        mine = parts[order[bounds[i]:bounds[i + 1]]]
        if len(mine):
            out[g] = shapely.multipolygons(mine)
    return out


def covered_points(points_xy, views):
    """Whether each point lies in (or on the edge of) any of ``views``.

    Examples
    --------
    >>> disc = view_polygons([0.0], [0.0], ["ptz"], [np.nan], [360.0], [10.0])
    >>> covered_points(np.array([[0, 9.9], [0, 10.1]]), disc)
    array([ True, False])
    """
    points_xy = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    out = np.zeros(len(points_xy), dtype=bool)
    if len(points_xy) == 0 or len(views) == 0:
        return out
    # tree on the points, queried with the polygons: the faster way round for many
    # points (bench/README.md, assign)
    tree = shapely.STRtree(shapely.points(points_xy))
    _, hit = tree.query(np.asarray(views, dtype=object), predicate="intersects")
    out[hit] = True
    return out


def lattice(area, spacing):
    """Points of a square lattice of ``spacing`` metres inside ``area``, (m, 2).

    The lattice is anchored on multiples of ``spacing`` in the metric CRS, so the
    same ground gets the same candidate sites whatever grid is asked about.

    Examples
    --------
    >>> lattice(shapely.box(0, 0, 250, 100), 100).tolist()
    [[0.0, 0.0], [100.0, 0.0], [200.0, 0.0], [0.0, 100.0], [100.0, 100.0], [200.0, 100.0]]
    """  # noqa: E501
    if not spacing > 0:
        raise ValueError(f"spacing must be positive, got {spacing}")
    x0, y0, x1, y1 = shapely.bounds(area)
    if not np.isfinite(x0):
        return np.empty((0, 2))
    xs = np.arange(np.ceil(x0 / spacing), np.floor(x1 / spacing) + 1) * spacing
    ys = np.arange(np.ceil(y0 / spacing), np.floor(y1 / spacing) + 1) * spacing
    gx, gy = np.meshgrid(xs, ys)
    gx, gy = gx.ravel(), gy.ravel()
    inside = shapely.intersects_xy(area, gx, gy)
    return np.column_stack([gx[inside], gy[inside]])


def greedy_max_cover(incidence, weights, k):
    """Choose up to ``k`` sets greedily: each time the one adding most weight.

    This is the classic greedy algorithm for maximum coverage (Nemhauser, Wolsey
    and Fisher 1978): it gets within 1 - 1/e of the best choice, its gains never
    increase, and it costs a sparse product per pick — enough for a few dozen
    cameras among tens of thousands of sites, without a MIP solver (spopt's MCLP
    would need PuLP and a solver for no better advice at this size).

    Parameters
    ----------
    incidence : scipy.sparse matrix (sets × points) of 0/1
    weights : (points,) float array; points already covered should weigh 0
    k : int

    Returns
    -------
    (chosen, gains, newly) : indices of the chosen sets (fewer than ``k`` when
    nothing more can be gained), the weight each added, and for each the indices
    of the points it newly covers.

    Examples
    --------
    >>> from scipy import sparse
    >>> sets = sparse.csr_matrix([[1, 1, 0, 0], [0, 1, 1, 1], [1, 0, 0, 0]])
    >>> chosen, gains, _ = greedy_max_cover(sets, np.ones(4), 3)
    >>> chosen, gains
    ([1, 0], [3.0, 1.0])
    """
    from scipy import sparse

    rows = sparse.csr_matrix(incidence, dtype=np.float64)
    cols = rows.tocsc()
    remaining = np.asarray(weights, dtype=np.float64).copy()
    gain = rows @ remaining
    chosen, gains, newly = [], [], []
    for _ in range(int(k)):
        if len(gain) == 0:
            break
        best = int(np.argmax(gain))  # ties: the lowest index, deterministically
        if gain[best] <= 0:
            break
        points = rows.indices[rows.indptr[best]:rows.indptr[best + 1]]
        points = points[remaining[points] > 0]
        chosen.append(best)
        gains.append(float(gain[best]))
        newly.append(points)
        gain -= cols[:, points] @ remaining[points]
        remaining[points] = 0.0
        gain[best] = 0.0  # never picked twice (also against rounding)
    return chosen, gains, newly


def recommend(sites_xy, points_xy, weights, k, range_m, kind="ptz", fov_deg=90.0,
              bearings=8):
    """Where to add ``k`` cameras: greedy max-cover of weighted points.

    Parameters
    ----------
    sites_xy : (s, 2) candidate positions, metric CRS
    points_xy : (m, 2) what should be seen (households, past incidents)
    weights : (m,) weight of each point; 0 for those existing cameras already see
        (the existing cameras are thus locked in)
    k : int, cameras to add
    range_m : float
    kind : ``ptz`` (a disc per site) or ``fixed`` / ``checkpoint`` (``bearings``
        evenly spaced sectors of ``fov_deg`` tried at each site, at most one kept
        per pick)

    Returns
    -------
    list of dicts, in the order chosen: ``site`` (index into ``sites_xy``),
    ``bearing`` (None for a PTZ), ``gain`` (weight newly covered) and ``points``
    (indices of the points newly covered).
    """
    from scipy import sparse

    sites_xy = np.asarray(sites_xy, dtype=np.float64).reshape(-1, 2)
    points_xy = np.asarray(points_xy, dtype=np.float64).reshape(-1, 2)
    if kind in _DISC_KINDS or fov_deg >= 360:
        site = np.arange(len(sites_xy))
        bearing = np.full(len(site), np.nan)
    else:
        site = np.repeat(np.arange(len(sites_xy)), bearings)
        bearing = np.tile(np.arange(bearings) * (360.0 / bearings), len(sites_xy))
    views = view_polygons(sites_xy[site, 0], sites_xy[site, 1],
                          np.full(len(site), kind, dtype=object), bearing,
                          np.full(len(site), fov_deg), np.full(len(site), range_m))
    if len(points_xy) and len(views):
        tree = shapely.STRtree(shapely.points(points_xy))
        cand, point = tree.query(views, predicate="intersects")
    else:
        cand = point = np.empty(0, dtype=np.int64)
    incidence = sparse.csr_matrix(
        (np.ones(len(cand)), (cand, point)), shape=(len(views), len(points_xy)))
    chosen, gains, newly = greedy_max_cover(incidence, weights, k)
    return [{"site": int(site[c]),
             "bearing": None if np.isnan(bearing[c]) else float(bearing[c]),
             "gain": g, "points": p}
            for c, g, p in zip(chosen, gains, newly, strict=True)]
