"""Which CRS a file's coordinates are in, and moving them to WGS-84.

A CRS is named by a *key*: one of :data:`geo.crs.GEOGRAPHIC_CRS` (``wgs84``,
``cgcs2000``, ``gcj02``, ``bd09``), ``EPSG:n`` for any EPSG code, or a WKT string
for a CRS without one (an unusual .prj). The Chinese systems and the CGCS2000
Gauss-Krüger zones go through :func:`geo.crs.to_wgs84`; any other code through
pyproj.

Gauss-Krüger eastings come in two variants: EPSG:4534–4554 (x near 500 000 m) and
EPSG:4513–4533, where the zone number is prefixed (x = 40 500 000 m in zone 40,
central meridian 120°E). :func:`gk_variant` reads the variant off the values.
"""

import functools

import numpy as np
import shapely

import geo.crs

from .messages import place, say
from .result import CrsUsed, ImportRefused

__all__ = ["canonical", "label", "is_geographic", "choose", "gk_variant", "to_wgs84",
           "geometries_to_wgs84"]

_OFFSET = ("gcj02", "bd09")
_DATUM = ("wgs84", "cgcs2000")
_ALIASES = {"高德": "gcj02", "腾讯": "gcj02", "火星": "gcj02", "火星坐标": "gcj02",
            "百度": "bd09", "wgs84": "wgs84", "gps": "wgs84", "2000": "cgcs2000",
            "国家2000": "cgcs2000", "crs84": "wgs84"}
# CGCS2000 3-degree zones: prefixed eastings EPSG:4513 (zone 25, CM 75°E) …
# 4533 (zone 45, CM 135°E); plain eastings EPSG:4534 … 4554, the same zones.
_PREFIXED, _PLAIN, _ZONES = 4513, 4534, range(25, 46)
_ACCEPTED = "wgs84, cgcs2000, gcj02, bd09 or an EPSG code such as EPSG:4549"


def canonical(crs):
    """The key of ``crs`` (a name, an EPSG code or URN, a WKT or a pyproj CRS).

    Raises
    ------
    ImportRefused
        Naming the accepted values, when neither geo.crs nor pyproj knows it.

    Examples
    --------
    >>> canonical("GCJ-02"), canonical(4490), canonical("urn:ogc:def:crs:EPSG::4549")
    ('gcj02', 'cgcs2000', 'EPSG:4549')
    """
    import pyproj

    if isinstance(crs, int):
        crs = f"EPSG:{crs}"
    if isinstance(crs, str):
        text = crs.strip()
        squeezed = text.lower().replace(" ", "").replace("_", "").replace("-", "")
        if squeezed in _ALIASES:
            return _ALIASES[squeezed]
        try:
            return geo.crs.normalize_crs(text)
        except ValueError:
            pass
        try:
            crs = pyproj.CRS.from_user_input(f"EPSG:{text}" if text.isdigit() else text)
        except pyproj.exceptions.CRSError:
            raise ImportRefused(say("unknown_crs", text=text,
                                    accepted=_ACCEPTED)) from None
    if crs.to_authority() == ("OGC", "CRS84"):
        return "wgs84"
    epsg = crs.to_epsg()
    if epsg is None:
        return crs.to_wkt()
    try:
        return geo.crs.normalize_crs(f"EPSG:{epsg}")
    except ValueError:
        return f"EPSG:{epsg}"


def label(key):
    """A short name for ``key``: itself, or the CRS's name for a WKT."""
    if key in geo.crs.GEOGRAPHIC_CRS or key.startswith("EPSG:"):
        return key
    import pyproj

    return pyproj.CRS.from_wkt(key).name


def is_geographic(key):
    """Whether ``key`` is in degrees (else metres or feet)."""
    if key in geo.crs.GEOGRAPHIC_CRS:
        return True
    import pyproj

    return pyproj.CRS.from_user_input(key).is_geographic


_DEFAULT_NOTES = {"default": "crs_default", "format": "crs_format"}


def choose(file_crs, option, *, default_source="default", where="the file"):
    """The CRS to read with: the file's when it says one, else ``option``, else
    WGS-84 (``default_source`` says why: ``default``, or ``format`` for GPX and KML).
    ``where`` names what holds the file's CRS: an English name
    :func:`importers.messages.thing` knows, or a pair (English, Chinese).

    One exception: a file that says WGS-84 or CGCS2000 with ``option`` GCJ-02 or
    BD-09 is read in the option's system, since no .prj or GeoJSON ``crs`` can
    name those offsets (apps write their GCJ-02 points as plain WGS-84).

    Returns
    -------
    (key, CrsUsed, warnings)
    """
    opt = canonical(option) if option else None
    if file_crs is None:
        if opt:
            return opt, CrsUsed(label(opt), "option", say("crs_option")), []
        return "wgs84", CrsUsed("wgs84", default_source,
                                say(_DEFAULT_NOTES[default_source])), []
    key = canonical(file_crs)
    where, where_zh = place(where)
    used = CrsUsed(label(key), "file", say("crs_file", where=where,
                                           where_zh=where_zh, key=label(key)))
    if opt is None or opt == key:
        return key, used, []
    if opt in _OFFSET and key in _DATUM:
        note = say("crs_offset", where=where, where_zh=where_zh, key=key, opt=opt)
        return opt, CrsUsed(opt, "option", note), [note]
    return key, used, [say("crs_option_ignored", where=where, where_zh=where_zh,
                           key=label(key), option=option)]


def gk_variant(key, used, x):
    """Switch to the Gauss-Krüger variant that the eastings ``x`` show.

    An easting over 10 000 km carries the zone number (40 500 000 → zone 40, CM
    120°E, EPSG:4528): that fixes the zone, also when nothing or another zone was
    given. A prefixed zone given with plain eastings becomes the plain one.

    Returns
    -------
    (key, CrsUsed, warnings), unchanged when there is nothing to say.
    """
    is_gk = _is_gk(key)
    if not (is_gk or used.source == "default"):
        return key, used, []
    finite = x[np.isfinite(x)]
    if finite.size == 0:
        return key, used, []
    median = float(np.median(finite))
    zone = int(median // 1_000_000)
    if median >= 10_000_000 and zone in _ZONES:
        new = f"EPSG:{_PREFIXED + zone - 25}"
        if new == key:
            return key, used, []
        note = say("gk_prefix", median=f"{median:.0f}", zone=zone, cm=3 * zone,
                   new=new, instead=f" instead of {key}" if is_gk else "",
                   instead_zh=f"，而非 {key}" if is_gk else "")
        return new, CrsUsed(new, "detected", note), [note]
    if is_gk and int(key[5:]) < _PLAIN and 100_000 <= median < 1_000_000:
        new = f"EPSG:{int(key[5:]) - _PREFIXED + _PLAIN}"
        note = say("gk_no_prefix", key=key, median=f"{median:.0f}", new=new)
        return new, CrsUsed(new, "detected", note), [note]
    return key, used, []


def to_wgs84(x, y, key):
    """Arrays ``x, y`` in ``key`` → WGS-84 ``lon, lat`` (float64, inf if impossible)."""
    if key in geo.crs.GEOGRAPHIC_CRS or _is_gk(key):
        return geo.crs.to_wgs84(x, y, key)
    lon, lat = _transformer(key).transform(np.asarray(x, dtype=np.float64),
                                           np.asarray(y, dtype=np.float64))
    return np.asarray(lon, dtype=np.float64), np.asarray(lat, dtype=np.float64)


def geometries_to_wgs84(geometries, key):
    """An array of shapely geometries in ``key`` → 2-D geometries in WGS-84."""
    if key in _DATUM:
        return shapely.force_2d(geometries)

    def move(coords):
        return np.column_stack(to_wgs84(coords[:, 0], coords[:, 1], key))

    return shapely.transform(geometries, move)


def _is_gk(key):
    return key.startswith("EPSG:") and _PREFIXED <= int(key[5:]) < _PLAIN + 21


@functools.lru_cache(maxsize=16)
def _transformer(key):
    from pyproj import Transformer

    return Transformer.from_crs(key, "EPSG:4326", always_xy=True)
