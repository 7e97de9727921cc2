"""Point-in-polygon assignment: which grid holds each household, camera or incident.

Vectorised over all points with a shapely STRtree: no loop per point.
"""

import numpy as np
import shapely

__all__ = ["assign", "assign_codes"]

_POLYGONAL = (shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON)


def _geometries(values, name):
    """An object ndarray of geometries from an array, list or GeoSeries."""
    if hasattr(values, "geometry") and not isinstance(values, np.ndarray):
        values = values.geometry.values  # GeoSeries / GeoDataFrame
    arr = np.asarray(values, dtype=object)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    bad = ~shapely.is_missing(arr) & ~shapely.is_geometry(arr)
    if bad.any():
        raise TypeError(f"{name}[{np.flatnonzero(bad)[0]}] is not a geometry")
    return arr


def assign(points, polygons):
    """Return the index of the polygon holding each point, or -1 where none does.

    A point on a border shared by several polygons goes to the one with the lowest
    index, so the answer does not depend on the tree's internal order. Missing
    (None) or empty points get -1.

    Parameters
    ----------
    points : array-like or GeoSeries of shapely.Point
    polygons : array-like or GeoSeries of shapely.Polygon / MultiPolygon (None
        allowed: it holds nothing)

    Returns
    -------
    ndarray of int64, one per point

    Raises
    ------
    TypeError
        If an element is not a geometry, a point is not a Point or a polygon not
        polygonal.

    Examples
    --------
    >>> squares = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    >>> assign(shapely.points([(0.5, 0.5), (1, 0.5), (5, 5)]), squares)
    array([ 0,  0, -1])
    """
    points = _geometries(points, "points")
    polygons = _geometries(polygons, "polygons")
    kinds = shapely.get_type_id(points)
    if np.any((kinds >= 0) & (kinds != shapely.GeometryType.POINT)):
        raise TypeError("points must be Point geometries")
    kinds = shapely.get_type_id(polygons)
    if np.any((kinds >= 0) & ~np.isin(kinds, _POLYGONAL)):
        raise TypeError("polygons must be Polygon or MultiPolygon geometries")
    result = np.full(len(points), -1, dtype=np.int64)
    if len(points) == 0 or len(polygons) == 0:
        return result
    # Build the tree on the larger set and query it with the smaller one: shapely
    # prepares each *query* geometry, so querying the points' tree with the
    # polygons prepares each polygon once (1.4 s for 1 M points in 20 k polygons of
    # 45 vertices, against 2.9 s the other way round).
    if len(points) >= len(polygons):
        poly_idx, point_idx = shapely.STRtree(points).query(
            polygons, predicate="intersects"
        )
    else:
        point_idx, poly_idx = shapely.STRtree(polygons).query(
            points, predicate="intersects"
        )
    best = np.full(len(points), len(polygons), dtype=np.int64)
    np.minimum.at(best, point_idx, poly_idx)
    found = best < len(polygons)
    result[found] = best[found]
    return result


def assign_codes(points, polygons, codes):
    """Return the code of the polygon holding each point, None where none does.

    Parameters
    ----------
    points, polygons : as for :func:`assign`
    codes : array-like, one code per polygon

    Returns
    -------
    ndarray of object, one code (or None) per point

    Examples
    --------
    >>> squares = [shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)]
    >>> assign_codes(shapely.points([(1.5, 0.5), (9, 9)]), squares, ["a", "b"])
    array(['b', None], dtype=object)
    """
    codes = np.asarray(codes, dtype=object)
    n_polygons = len(_geometries(polygons, "polygons"))
    if codes.shape != (n_polygons,):
        raise ValueError(f"{len(codes)} codes given for {n_polygons} polygons")
    index = assign(points, polygons)
    out = np.full(len(index), None, dtype=object)
    out[index >= 0] = codes[index[index >= 0]]
    return out
