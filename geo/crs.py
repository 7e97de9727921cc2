"""Coordinate reference systems: storage in WGS-84, metric work in a CGCS2000 zone.

Geometries are stored in EPSG:4326; areas, buffers and distances are computed in the
CGCS2000 3-degree Gauss-Krüger zone of the data (EPSG:4534–4554, the variants
*without* the zone number prefixed to the easting, so eastings stay near 500 000 m
and one zone reads like any other projected CRS).
"""

import math

import numpy as np
import shapely

__all__ = ["WGS84", "CGCS2000", "gk_zone_epsg", "metric_crs_for", "to_metric"]

WGS84 = "EPSG:4326"
CGCS2000 = "EPSG:4490"

# EPSG:4534 is "CGCS2000 / 3-degree Gauss-Kruger CM 75E"; the 21 zones up to
# EPSG:4554 (CM 135E) follow in steps of 3 degrees.
_FIRST_EPSG, _FIRST_CM, _LAST_CM = 4534, 75, 135
# China spans about 73.5°E–135°E; the zones of CM 75 and CM 135 reach 1.5° beyond
# their central meridians, a little further than China does on each side.
_WEST, _EAST = 73.5, 136.0


def gk_zone_epsg(lon):
    """Return the EPSG code of the CGCS2000 3-degree Gauss-Krüger zone of ``lon``.

    The central meridian is the multiple of 3 degrees nearest to ``lon`` (halfway
    goes east, as ``floor(lon / 3 + 0.5)``).

    Parameters
    ----------
    lon : float, longitude in degrees east

    Returns
    -------
    int, between 4534 (CM 75°E) and 4554 (CM 135°E)

    Raises
    ------
    ValueError
        If ``lon`` is not a finite number between 73.5 and 136.

    Examples
    --------
    >>> gk_zone_epsg(119.75)   # CM 120: 4534 + (120 - 75) / 3
    4549
    >>> gk_zone_epsg(116.4)    # Beijing, CM 117
    4548
    """
    lon = float(lon)
    if not math.isfinite(lon) or not _WEST <= lon <= _EAST:
        raise ValueError(
            f"longitude {lon} is outside China ({_WEST}–{_EAST}°E): "
            "no CGCS2000 Gauss-Krüger zone (are longitude and latitude swapped?)"
        )
    cm = 3 * math.floor(lon / 3 + 0.5)
    cm = min(max(cm, _FIRST_CM), _LAST_CM)
    return _FIRST_EPSG + (cm - _FIRST_CM) // 3


def metric_crs_for(gdf):
    """Return the metric CRS (``"EPSG:45xx"``) for a GeoDataFrame or GeoSeries.

    The zone is chosen from the mean longitude of the centres of the geometries'
    bounding boxes, taken in WGS-84.

    Raises
    ------
    ValueError
        If the data has no CRS, no non-empty geometry, or lies outside China.
    """
    if gdf.crs is None:
        raise ValueError("the data has no CRS: set it before choosing a metric zone")
    geoseries = gdf.geometry if hasattr(gdf, "geometry") else gdf
    if not geoseries.crs.is_geographic:
        geoseries = geoseries.to_crs(WGS84)
    # bounding boxes instead of centroids: no warning about centroids in degrees,
    # and the choice of a 3-degree zone does not need more precision
    bounds = shapely.bounds(np.asarray(geoseries.values, dtype=object))
    centres = (bounds[:, 0] + bounds[:, 2]) / 2
    centres = centres[np.isfinite(centres)]
    if len(centres) == 0:
        raise ValueError("no non-empty geometry to choose a metric zone from")
    return f"EPSG:{gk_zone_epsg(centres.mean())}"


def to_metric(gdf):
    """Return ``gdf`` transformed to the Gauss-Krüger zone of its data.

    Examples
    --------
    >>> import geopandas
    >>> s = geopandas.GeoSeries.from_xy([119.75], [31.25], crs=WGS84)
    >>> to_metric(s).crs.to_epsg()
    4549
    """
    return gdf.to_crs(metric_crs_for(gdf))
