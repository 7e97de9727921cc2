"""Where a deployment lies, and how far (and which way) points fall outside it.

A deployment is the union of its level-1 grids; a user's jurisdiction is the
polygon of the grid at its root. An import keeps to the area (with a margin of
:data:`MARGIN_M` for GPS noise and patrols along an edge), and a file from
elsewhere is refused with its distance and direction ("全部 42 个点位于辖区以北约
1,050 km").

Written here rather than taken from a library: shapely measures planar distance
and pyproj geodesic distance between two given points; the nearest point of a
polygon to a far point needs both. The polygons and the points are projected in
an azimuthal equidistant projection centred on the area (exact distances from
the centre, scale error under 0.02 % within 200 km of it, finite for any point
on Earth but the antipode), the nearest point of the area is found there, and
the distance and azimuth from it are the WGS-84 geodesic ones
(``pyproj.Geod.inv``).
"""

import numpy as np
import pyproj
import shapely

__all__ = ["MARGIN_M", "COMPASS", "Area", "compass", "round_km"]

# How far outside its area a point may lie and still count as inside (metres).
MARGIN_M = 2000.0

# 8 compass points, clockwise from north: (Chinese, English)
COMPASS = (("北", "north"), ("东北", "north-east"), ("东", "east"),
           ("东南", "south-east"), ("南", "south"), ("西南", "south-west"),
           ("西", "west"), ("西北", "north-west"))

_GEOD = pyproj.Geod(ellps="WGS84")


def compass(azimuth):
    """The compass point ``(zh, en)`` of an azimuth in degrees (0 = north).

    >>> compass(0), compass(44), compass(-90)
    (('北', 'north'), ('东北', 'north-east'), ('西', 'west'))
    """
    return COMPASS[int(np.floor(((float(azimuth) % 360) + 22.5) / 45)) % 8]


def round_km(metres):
    """A distance as people say it: ``1,050`` (10 km steps from 100 km), ``12``,
    ``2.4`` (under 10 km).

    >>> round_km(1_047_300), round_km(12_345), round_km(2_449)
    ('1,050', '12', '2.4')
    """
    km = float(metres) / 1000
    if km >= 100:
        return f"{round(km, -1):,.0f}"
    if km >= 10:
        return f"{km:,.0f}"
    return f"{km:.1f}"


class Area:
    """A deployment or a jurisdiction: polygons in WGS-84 degrees.

    Parameters
    ----------
    polygons : array of shapely (Multi)Polygons in EPSG:4326, not empty
    margin : metres outside the polygons that still count as inside

    Raises
    ------
    ValueError
        If there is no polygon.
    """

    def __init__(self, polygons, margin=MARGIN_M):
        polygons = np.asarray(polygons, dtype=object).ravel()
        polygons = polygons[~(shapely.is_missing(polygons)
                              | shapely.is_empty(polygons))]
        if polygons.size == 0:
            raise ValueError("an area needs at least one polygon")
        self.margin = float(margin)
        self.polygons = polygons
        outline = shapely.union_all(shapely.make_valid(polygons))
        c = outline.envelope.centroid
        self._crs = pyproj.CRS.from_proj4(
            f"+proj=aeqd +lat_0={c.y} +lon_0={c.x} +ellps=WGS84 +units=m")
        self._to = pyproj.Transformer.from_crs("EPSG:4326", self._crs,
                                               always_xy=True)
        self._back = pyproj.Transformer.from_crs(self._crs, "EPSG:4326",
                                                 always_xy=True)
        # within half the margin of the outline (a degree is at most 111 km):
        # a point inside it is inside the area with its margin
        self._quick = shapely.simplify(outline, self.margin / 2 / 111_320)
        shapely.prepare(self._quick)
        self.metric = shapely.transform(outline, self._forward)
        self._inside = self.metric.buffer(self.margin)
        shapely.prepare(self._inside)

    def _forward(self, coords):
        x, y = self._to.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    def contains(self, lon, lat):
        """Whether each point lies in the area or within the margin of it.

        Most points are found inside a simplified outline, in degrees (few
        vertices: fast); only the others are projected to measure the margin
        (a million points in a town: 0.1 s instead of 1.1 s).
        """
        lon = np.asarray(lon, dtype=float)
        lat = np.asarray(lat, dtype=float)
        out = shapely.contains_xy(self._quick, lon, lat)
        rest = np.flatnonzero(~out)
        if rest.size:
            x, y = self._to.transform(lon[rest], lat[rest])
            x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
            good = np.isfinite(x) & np.isfinite(y)
            out[rest[good]] = shapely.contains_xy(self._inside, x[good], y[good])
        return out

    def distance(self, geometries):
        """Distance in metres of each geometry (EPSG:4326) from the area, planar
        in the area's projection (0 when they touch).

        >>> a = Area([shapely.box(120, 31, 120.1, 31.1)])
        >>> round(float(a.distance([shapely.box(120.11, 31, 120.2, 31.1)])[0]))
        954
        """
        moved = shapely.transform(np.asarray(geometries, dtype=object),
                                  self._forward)
        return shapely.distance(self.metric, moved)

    def away(self, lon, lat):
        """Geodesic distance (metres) and azimuth (degrees from north) of each
        point from the nearest point of the area (0 and NaN inside it).

        >>> a = Area([shapely.box(120, 31, 120.1, 31.1)])
        >>> metres, azimuth = a.away([120.05], [32.1])
        >>> round(float(metres[0]) / 1000), compass(azimuth[0])[1]
        (111, 'north')
        """
        lon = np.atleast_1d(np.asarray(lon, dtype=float))
        lat = np.atleast_1d(np.asarray(lat, dtype=float))
        x, y = self._to.transform(lon, lat)
        points = shapely.points(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
        near = shapely.get_coordinates(
            shapely.shortest_line(self.metric, points))[0::2]
        nlon, nlat = self._back.transform(near[:, 0], near[:, 1])
        azimuth, _, metres = _GEOD.inv(np.asarray(nlon), np.asarray(nlat), lon, lat)
        metres = np.asarray(metres, dtype=float)
        azimuth = np.asarray(azimuth, dtype=float)
        inside = shapely.contains_xy(self.metric, np.asarray(x), np.asarray(y))
        metres[inside] = 0.0
        azimuth[inside | (metres == 0)] = np.nan
        return metres, azimuth

    def summary(self, lon, lat):
        """The typical distance and direction of points outside the area:
        (median distance in metres, compass point ``(zh, en)`` of their mean
        direction)."""
        metres, azimuth = self.away(lon, lat)
        rad = np.radians(azimuth[np.isfinite(azimuth)])
        if rad.size == 0:
            return float(np.median(metres)), None
        mean = np.degrees(np.arctan2(np.sin(rad).mean(), np.cos(rad).mean()))
        return float(np.median(metres)), compass(mean)
