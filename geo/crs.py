"""Coordinate reference systems: storage in WGS-84, metric work in a CGCS2000 zone.

Geometries are stored in EPSG:4326; areas, buffers and distances are computed in the
CGCS2000 3-degree Gauss-Krüger zone of the data (EPSG:4534–4554, the variants
*without* the zone number prefixed to the easting, so eastings stay near 500 000 m
and one zone reads like any other projected CRS).

Data also comes in the offset systems of Chinese web maps: GCJ-02 (高德, 腾讯; the
national obfuscation of WGS-84) and BD-09 (百度; a further offset of GCJ-02). The
functions below move arrays of points between them and WGS-84, and
:func:`to_wgs84` dispatches on a CRS name.
"""

import functools
import math

import numpy as np
import shapely

__all__ = [
    "WGS84", "CGCS2000", "GEOGRAPHIC_CRS", "gk_zone_epsg", "metric_crs_for",
    "to_metric", "in_china", "wgs84_to_gcj02", "gcj02_to_wgs84", "gcj02_to_bd09",
    "bd09_to_gcj02", "wgs84_to_bd09", "bd09_to_wgs84", "normalize_crs", "to_wgs84",
]

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


# -- GCJ-02 and BD-09 ---------------------------------------------------------
#
# Hand-written and vectorised with numpy. Of the PyPI packages that do this,
# eviltransform (last release 2018) is pure Python, one point per call; it has an
# exact inverse but no arrays. coordTransform (0.2.1, 2026) has a C batch path, but
# its GCJ-02 → WGS-84 is the one-step approximation ``2 g - forward(g)``, off by
# up to ~5 m in China, not the 0.5 m we need. So the forward formulas (the
# widely published ones, on the Krasovsky 1940 ellipsoid) are written out below
# and the inverses iterate them to well under a millimetre.

# China's rough bounding box, as the published implementations test it: outside it
# GCJ-02 and BD-09 are WGS-84 unchanged.
_CHINA_LON = (72.004, 137.8347)
_CHINA_LAT = (0.8293, 55.8271)
_KRASOVSKY_A = 6378245.0
_KRASOVSKY_EE = 0.00669342162296594323
_BD_K = math.pi * 3000.0 / 180.0
# The inverses stop once their last correction is under 1e-6° (~0.1 m): the forward
# offsets change by less than 0.02 m per metre moved, so the error left is under
# 2 mm (0.2 mm measured). In practice: the first guess and one or two corrections.
_INVERSE_STEP_DEG = 1e-6
_INVERSE_MAX_ITER = 10
# Points are transformed in blocks so that numpy's temporaries stay in the CPU
# cache (on 1 M points, 20–30 % faster than whole arrays at once).
_BLOCK = 32768


def _arrays(lon, lat):
    lon, lat = np.broadcast_arrays(np.asarray(lon, dtype=np.float64),
                                   np.asarray(lat, dtype=np.float64))
    return lon, lat


def in_china(lon, lat):
    """Whether each point is inside China's rough bounding box (NaN: False).

    Examples
    --------
    >>> in_china([116.4, 2.35], [39.9, 48.85])
    array([ True, False])
    """
    lon, lat = _arrays(lon, lat)
    return ((lon >= _CHINA_LON[0]) & (lon <= _CHINA_LON[1])
            & (lat >= _CHINA_LAT[0]) & (lat <= _CHINA_LAT[1]))


def _sines(t):
    """sin t, sin 4t, sin 12t, sin 24t and sin 72t from one sin and one cos.

    Multiple-angle identities instead of five calls to np.sin (the costly part);
    rounding grows with the multiple: sin 72t differs from np.sin's by up to 1e-13,
    about 1e-12 m in the offset.
    """
    s, c = np.sin(t), np.cos(t)
    s2, c2 = 2.0 * s * c, 1.0 - 2.0 * s * s
    s4, c4 = 2.0 * s2 * c2, 1.0 - 2.0 * s2 * s2
    s12 = s4 * (3.0 - 4.0 * s4 * s4)
    c12 = c4 * (4.0 * c4 * c4 - 3.0)
    s24 = 2.0 * s12 * c12
    return s, s4, s12, s24, s24 * (3.0 - 4.0 * s24 * s24)


def _gcj02_offset(lon, lat):
    """The GCJ-02 offset ``(dlon, dlat)`` in degrees at WGS-84 ``(lon, lat)``.

    The published formula: two sums of sines of x = lon - 105 and y = lat - 35
    (in "metres"), turned into degrees with the Krasovsky ellipsoid's radii.
    """
    x, y = lon - 105.0, lat - 35.0
    # sin(πx/12), sin(πx/3), sin(πx), sin(2πx), sin(6πx); the same for y
    sx12, sx3, sx1, sx2, sx6 = _sines(x * (math.pi / 12.0))
    sy12, sy3, sy1, _, _ = _sines(y * (math.pi / 12.0))
    common = 20.0 * sx6 + 20.0 * sx2
    root, xy = np.sqrt(np.abs(x)), 0.1 * x * y
    dlat = (common + 20.0 * sy1 + 40.0 * sy3 + 160.0 * sy12
            + 320.0 * np.sin(y * (math.pi / 30.0))) * (2.0 / 3.0)
    dlat += -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + xy + 0.2 * root
    dlon = (common + 20.0 * sx1 + 40.0 * sx3 + 150.0 * sx12
            + 300.0 * np.sin(x * (math.pi / 30.0))) * (2.0 / 3.0)
    dlon += 300.0 + x + 2.0 * y + 0.1 * x * x + xy + 0.1 * root
    # metres to degrees: the meridian radius a(1 - e²)/w³ and the parallel's
    # a cos φ / w, with w = sqrt(1 - e² sin² φ) (cos φ > 0 in China)
    sin_phi = np.sin(lat * (math.pi / 180.0))
    w2 = 1.0 - _KRASOVSKY_EE * sin_phi * sin_phi
    w = np.sqrt(w2)
    dlat *= w2 * w * (180.0 / (_KRASOVSKY_A * (1.0 - _KRASOVSKY_EE) * math.pi))
    dlon *= w / np.sqrt(1.0 - sin_phi * sin_phi) * (180.0 / (_KRASOVSKY_A * math.pi))
    return dlon, dlat


def _gcj02_forward(lon, lat):
    dlon, dlat = _gcj02_offset(lon, lat)
    return lon + dlon, lat + dlat


def _bd09_forward(lon, lat):
    z = np.hypot(lon, lat) + 0.00002 * np.sin(lat * _BD_K)
    theta = np.arctan2(lat, lon) + 0.000003 * np.cos(lon * _BD_K)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def _bd09_closed_inverse(lon, lat):
    """The widely published closed-form BD-09 → GCJ-02: off by up to ~0.2 m."""
    x, y = lon - 0.0065, lat - 0.006
    z = np.hypot(x, y) - 0.00002 * np.sin(y * _BD_K)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _BD_K)
    return z * np.cos(theta), z * np.sin(theta)


def _reflect(forward):
    """The first guess ``2 t - forward(t)`` (the one-step inverse, metres off)."""

    def guess(lon, lat):
        flon, flat = forward(lon, lat)
        return 2.0 * lon - flon, 2.0 * lat - flat

    return guess


def _inverse(forward, first_guess):
    """Solve ``forward(p) = (lon, lat)`` by fixed-point iteration from a guess.

    ``forward`` moves points by an offset that changes slowly with position, so
    ``p ← p - (forward(p) - target)`` gains two digits or more a step.
    """

    def solve(lon, lat):
        wlon, wlat = first_guess(lon, lat)
        for _ in range(_INVERSE_MAX_ITER):
            flon, flat = forward(wlon, wlat)
            flon -= lon
            flat -= lat
            wlon -= flon
            wlat -= flat
            if max(np.abs(flon).max(), np.abs(flat).max()) < _INVERSE_STEP_DEG:
                break
        return wlon, wlat

    return solve


_gcj02_inverse = _inverse(_gcj02_forward, _reflect(_gcj02_forward))
_bd09_inverse = _inverse(_bd09_forward, _bd09_closed_inverse)


def _in_china_only(transform, lon, lat):
    """Apply ``transform`` to the points inside China, block by block; keep the
    others (and NaN) as they are. Returns arrays of the broadcast shape."""
    lon, lat = _arrays(lon, lat)
    shape = lon.shape
    lon, lat = lon.ravel(), lat.ravel()
    if lon.size == 1:
        # One point (an API call): numpy scalars cost a fifth of 1-element arrays
        x, y = lon[0], lat[0]
        if in_china(x, y):
            x, y = transform(x, y)
        return np.full(shape, x, dtype=np.float64), np.full(shape, y, dtype=np.float64)
    out_lon, out_lat = lon.copy(), lat.copy()
    for start in range(0, lon.size, _BLOCK):
        block = slice(start, start + _BLOCK)
        inside = in_china(lon[block], lat[block])
        if inside.all():
            out_lon[block], out_lat[block] = transform(lon[block], lat[block])
        elif inside.any():
            index = np.flatnonzero(inside) + start
            out_lon[index], out_lat[index] = transform(lon[index], lat[index])
    return out_lon.reshape(shape), out_lat.reshape(shape)


def wgs84_to_gcj02(lon, lat):
    """WGS-84 → GCJ-02 (the offset of 高德 / 腾讯 maps), vectorised.

    Parameters
    ----------
    lon, lat : array_like of float, degrees (broadcast together)

    Returns
    -------
    (lon, lat) : two float64 ndarrays of the broadcast shape; points outside China's
        rough bounding box (and NaN) are returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)   # Tian'anmen: ~600 m east
    >>> print(f"{lon:.6f} {lat:.6f}")
    116.410244 39.916404
    """
    return _in_china_only(_gcj02_forward, lon, lat)


def gcj02_to_wgs84(lon, lat):
    """GCJ-02 → WGS-84, iterated to about 0.2 mm (the exact inverse of
    :func:`wgs84_to_gcj02` within China), vectorised.

    Examples
    --------
    >>> lon, lat = gcj02_to_wgs84(*wgs84_to_gcj02(116.404, 39.915))
    >>> print(f"{lon:.8f} {lat:.8f}")
    116.40400000 39.91500000
    """
    return _in_china_only(_gcj02_inverse, lon, lat)


def gcj02_to_bd09(lon, lat):
    """GCJ-02 → BD-09 (百度), vectorised; outside China unchanged.

    Examples
    --------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> print(f"{lon:.6f} {lat:.6f}")
    116.410369 39.921337
    """
    return _in_china_only(_bd09_forward, lon, lat)


def bd09_to_gcj02(lon, lat):
    """BD-09 → GCJ-02, iterated to about 0.2 mm (the widely published closed form
    is not quite the inverse of the forward one: it is off by 4 cm in Beijing and
    up to ~0.2 m in China), vectorised."""
    return _in_china_only(_bd09_inverse, lon, lat)


def wgs84_to_bd09(lon, lat):
    """WGS-84 → BD-09 (through GCJ-02), vectorised."""
    return _in_china_only(lambda x, y: _bd09_forward(*_gcj02_forward(x, y)), lon, lat)


def bd09_to_wgs84(lon, lat):
    """BD-09 → WGS-84 (through GCJ-02), each iterated to about 0.2 mm, vectorised."""
    return _in_china_only(lambda x, y: _gcj02_inverse(*_bd09_inverse(x, y)), lon, lat)


# -- one dispatcher -----------------------------------------------------------

# Geographic systems by name; CGCS2000 and WGS-84 agree within centimetres.
GEOGRAPHIC_CRS = ("wgs84", "cgcs2000", "gcj02", "bd09")
_ALIASES = {"epsg:4326": "wgs84", "epsg:4490": "cgcs2000"}
# CGCS2000 3-degree Gauss-Krüger zones: EPSG:4513–4533 have the zone number
# (25–45) prefixed to the easting, EPSG:4534–4554 do not (CM 75°E–135°E).
_GK_EPSG = range(4513, 4555)
_ACCEPTED = ("wgs84, cgcs2000, gcj02, bd09, or a CGCS2000 Gauss-Krüger zone "
             "EPSG:4513–4554 (x, y in metres)")


def normalize_crs(crs):
    """The canonical name of ``crs``: one of :data:`GEOGRAPHIC_CRS` or
    ``"EPSG:45xx"`` for a Gauss-Krüger zone (case and ``-`` ignored; EPSG:4326 and
    EPSG:4490 name WGS-84 and CGCS2000).

    Raises
    ------
    ValueError
        Naming the accepted values, for anything else.

    Examples
    --------
    >>> normalize_crs("GCJ-02"), normalize_crs("epsg:4549"), normalize_crs("EPSG:4490")
    ('gcj02', 'EPSG:4549', 'cgcs2000')
    """
    key = str(crs).strip().lower()
    key = _ALIASES.get(key, key)
    if key.replace("-", "") in GEOGRAPHIC_CRS:
        return key.replace("-", "")
    if key.startswith("epsg:") and key[5:].isdigit() and int(key[5:]) in _GK_EPSG:
        return f"EPSG:{int(key[5:])}"
    raise ValueError(f"unknown crs {crs!r}: use one of {_ACCEPTED}")


@functools.lru_cache(maxsize=len(_GK_EPSG))
def _from_gk(epsg):
    from pyproj import Transformer

    # to CGCS2000's own geographic CRS: no datum shift, taken as WGS-84
    return Transformer.from_crs(epsg, CGCS2000, always_xy=True)


def to_wgs84(lon, lat, crs):
    """Coordinates in ``crs`` → WGS-84 longitude and latitude, vectorised.

    Parameters
    ----------
    lon, lat : array_like of float
        Longitude and latitude in degrees, or for a Gauss-Krüger zone the easting
        ``x`` and northing ``y`` in metres.
    crs : str
        ``wgs84``, ``cgcs2000`` (both unchanged), ``gcj02``, ``bd09``, or a
        CGCS2000 3-degree Gauss-Krüger zone ``EPSG:4513``–``EPSG:4554``
        (through pyproj); see :func:`normalize_crs`.

    Returns
    -------
    (lon, lat) : two float64 ndarrays; points a projection cannot invert are inf.

    Raises
    ------
    ValueError
        For an unknown ``crs``, naming the accepted values.

    Examples
    --------
    >>> lon, lat = to_wgs84(500000.0, 3460000.0, "EPSG:4549")  # on CM 120°E
    >>> print(f"{lon:.6f} {lat:.4f}")
    120.000000 31.2618
    """
    name = normalize_crs(crs)
    if name in ("wgs84", "cgcs2000"):
        return _arrays(lon, lat)
    if name == "gcj02":
        return gcj02_to_wgs84(lon, lat)
    if name == "bd09":
        return bd09_to_wgs84(lon, lat)
    x, y = _arrays(lon, lat)
    out_lon, out_lat = _from_gk(name).transform(x, y)
    return np.asarray(out_lon, dtype=np.float64), np.asarray(out_lat, dtype=np.float64)
