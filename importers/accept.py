"""Move rows to WGS-84, check them, and keep those that pass.

Every reader ends here: points as two coordinate arrays (:func:`accept_points`,
vectorised, the path of a 1 M-row CSV) or any geometries as a shapely array
(:func:`accept_geometries`). A row is rejected, with a sentence saying why, when it
falls outside China (the usual sign of a wrong CRS or of swapped axes: both are
named), far outside the deployment's ``bbox``, has no geometry, or is an invalid
polygon. Python-level work is done for the rejected rows only. :func:`odd_times`
warns of GPS times no patrol can have (1901, next year).
"""

import collections

import numpy as np
import pandas as pd
import shapely

from .messages import invalid_reason, rows_en, say
from .reproject import geometries_to_wgs84, gk_variant, is_geographic, to_wgs84

__all__ = ["CHINA", "BBOX_MARGIN_DEG", "EARLIEST_TIME", "FUTURE_MARGIN", "Accepted",
           "PointParts", "accept_points", "accept_geometries", "inside",
           "odd_times"]

# China, roughly: lon 73–136°E, lat 3–54°N (west_lon, south_lat, east_lon, north_lat).
CHINA = (73.0, 3.0, 136.0, 54.0)
# How far beyond the deployment's bbox a row may lie before it is "far outside".
BBOX_MARGIN_DEG = 0.1

# A GPS time before this is a device's clock gone wrong, not a patrol: 1901-12-13 is
# the earliest 32-bit Unix time, 1980-01-06 the GPS epoch, and a receiver with the
# week-rollover bug reports dates 19.6 years back (1999 for 2019).
EARLIEST_TIME = pd.Timestamp("2000-01-01", tz="UTC")
# How far past the moment of reading a time may lie (clocks and time zones).
FUTURE_MARGIN = pd.Timedelta(days=1)
# How many rows a warning names before "…".
_NAMED = 5

Accepted = collections.namedtuple("Accepted", "frame rejected crs warnings")


def inside(lon, lat, box=CHINA):
    """Whether each ``(lon, lat)`` lies in ``box`` (NaN and inf: False)."""
    return (lon >= box[0]) & (lon <= box[2]) & (lat >= box[1]) & (lat <= box[3])


def accept_points(x, y, rows, attrs, key, used, *, swap=False, bbox=None,
                  names=None):
    """Points ``(x, y)`` in CRS ``key`` → accepted frame and rejected rows.

    Parameters
    ----------
    x, y : float ndarrays, finite (rows that did not parse are rejected before)
    rows : int ndarray, the source row numbers
    attrs : DataFrame of the same length, or None
    key, used : the CRS key and its :class:`CrsUsed` (see ``reproject.choose``)
    swap : bool, read rows whose axes look swapped the other way round
    bbox : (west, south, east, north) in degrees, or None
    names : (x column, y column), for messages
    """
    parts = PointParts(key, used, swap=swap, bbox=bbox, names=names)
    frame = parts.add(x, y, rows, attrs)
    rejected, used, notes = parts.finish()
    return Accepted(frame, rejected, used, notes)


class PointParts:
    """:func:`accept_points` over a file read part by part (a large CSV, its
    first rows on their way to the database before the last are read): each
    part's rows accepted or rejected as the whole file's are, the sentences that
    depend on the whole file settled by :meth:`finish` — "the columns are
    swapped" (every row outside China, every one inside the other way round),
    the Gauss-Krüger variant and its median easting.

    The variant the first part shows is the one its rows are moved with;
    :meth:`finish` returns None when the whole file's median says another (a
    file of degrees turning into prefixed eastings past its first part): then
    the file must be read whole.
    """

    def __init__(self, key, used, *, swap=False, bbox=None, names=None):
        self.key, self.used = key, used
        self.swap, self.bbox, self.names = swap, bbox, names
        self.moved = None  # the key the rows are moved with (the first part's)
        self.xs = []  # the eastings (the variant may depend on their median)
        self.outside = []  # (x, y, lon, lat, rows, flipped) of the rows outside
        self.far = []
        self.total = 0

    def add(self, x, y, rows, attrs):
        """The accepted rows of one part (a GeoDataFrame, as
        :func:`accept_points`'s); the rejected ones kept for :meth:`finish`."""
        x, y, rows = np.asarray(x), np.asarray(y), np.asarray(rows)
        self.xs.append(x)
        if self.moved is None and np.isfinite(x).any():
            self.moved = gk_variant(self.key, self.used, x)[0]
        key = self.key if self.moved is None else self.moved
        self.total += len(x)
        lon, lat = to_wgs84(x, y, key)
        ok = inside(lon, lat)
        bad = np.flatnonzero(~ok)
        flipped = np.zeros(bad.size, dtype=bool)
        if bad.size:
            lon2, lat2 = to_wgs84(y[bad], x[bad], key)
            flipped = inside(lon2, lat2)
            if self.swap and flipped.any():
                lon, lat = np.array(lon), np.array(lat)
                fix = bad[flipped]
                lon[fix], lat[fix], ok[fix] = lon2[flipped], lat2[flipped], True
            self.outside.append((x[bad], y[bad], lon[bad], lat[bad], rows[bad],
                                 flipped))
        if self.bbox is not None:
            self.far += _far(ok, lon, lat, rows, self.bbox)
        return _frame(attrs, rows, ok, shapely.points(lon[ok], lat[ok]))

    def finish(self):
        """(rejected rows, CrsUsed, warnings) of every part added, as
        :func:`accept_points` gives them for the whole file; None when the
        whole file's Gauss-Krüger variant is not the first part's."""
        x = np.concatenate(self.xs) if self.xs else np.empty(0)
        key, used, notes = gk_variant(self.key, self.used, x)
        if self.moved is not None and key != self.moved:
            return None
        empty = (np.empty(0),) * 4 + (np.empty(0, dtype=np.int64),
                                      np.empty(0, dtype=bool))
        bx, by, blon, blat, brows, flipped = [
            np.concatenate(a) for a in zip(*self.outside, empty, strict=True)]
        rejected = _outside(np.arange(bx.size), flipped, bx, by, blon, blat, brows,
                            used.name, is_geographic(key), self.swap, self.names,
                            notes, total=self.total)
        rejected += self.far
        rejected.sort(key=lambda r: r["row"])
        return rejected, used, notes


def accept_geometries(geometries, rows, attrs, key, used, *, swap=False, bbox=None):
    """Shapely geometries in CRS ``key`` → accepted frame and rejected rows.

    The same checks as :func:`accept_points`, on every vertex (a geometry is inside
    China when its bounds are), plus: no geometry, and invalid polygons (with
    shapely's reason, e.g. a self-intersection).
    """
    geoms = _rings_as_lines(np.asarray(geometries, dtype=object))
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    rejected = [{"row": int(rows[i]), "field": "geometry",
                 "reason": say("no_geometry")}
                for i in np.flatnonzero(~present)]
    source = shapely.bounds(geoms)
    key, used, notes = gk_variant(key, used, (source[:, 0] + source[:, 2]) / 2)
    moved = geometries_to_wgs84(geoms, key)
    ok = present & _within(moved)
    bad = np.flatnonzero(present & ~ok)
    flipped = np.zeros(bad.size, dtype=bool)
    if bad.size:
        other = geometries_to_wgs84(shapely.transform(geoms[bad], _flip), key)
        flipped = _within(other)
        if swap and flipped.any():
            moved[bad[flipped]], ok[bad[flipped]] = other[flipped], True
    # the rejections quote each geometry's first vertex, before and after
    x, y = _first_vertex(geoms[bad])
    lon, lat = _first_vertex(moved[bad])
    rejected += _outside(np.arange(bad.size), flipped, x, y, lon, lat, rows[bad],
                         used.name, is_geographic(key), swap, None, notes,
                         total=int(present.sum()))
    invalid = np.flatnonzero(ok & ~shapely.is_valid(moved))
    for i in invalid:
        reason = shapely.is_valid_reason(moved[i])
        rejected.append({"row": int(rows[i]), "field": "geometry",
                         "reason": say("geometry_invalid", reason=reason,
                                       reason_zh=invalid_reason(reason))})
    ok[invalid] = False
    if bbox is not None:
        box = shapely.bounds(moved)
        centre = (box[:, 0] + box[:, 2]) / 2, (box[:, 1] + box[:, 3]) / 2
        rejected += _far(ok, *centre, rows, bbox)
    rejected.sort(key=lambda r: r["row"])
    return Accepted(_frame(attrs, rows, ok, moved[ok]), rejected, used, notes)


def odd_times(frame, now=None):
    """Warnings for the rows of ``frame`` whose ``time`` (UTC) is before
    :data:`EARLIEST_TIME` or more than :data:`FUTURE_MARGIN` after ``now``: they
    are read, and the warning names them (their ``row``) and the first such time.
    """
    if "time" not in frame or not len(frame):
        return []
    times = pd.to_datetime(frame["time"], utc=True)
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    out = []
    for key, odd in (("time_early", times < EARLIEST_TIME),
                     ("time_future", times > now + FUTURE_MARGIN)):
        odd = odd.fillna(False).to_numpy(dtype=bool)
        if not odd.any():
            continue
        rows = frame["row"].to_numpy()[odd]
        named = [str(int(r)) for r in rows[:_NAMED]]
        more = "…" if rows.size > _NAMED else ""
        first = times[odd].iloc[0].isoformat()
        out.append(say(key, n=int(rows.size), rows_zh="、".join(named) + more,
                       rows=", ".join(named) + more, example=first,
                       floor=EARLIEST_TIME.date().isoformat(),
                       plural="s" if rows.size > 1 else ""))
    return out


def _flip(coords):
    return coords[:, ::-1]


def _rings_as_lines(geoms):
    """A bare LinearRing (KML, GeoJSON as some tools write it) as the LineString it
    is; no table stores rings. A copy when there is one."""
    rings = np.flatnonzero(shapely.get_type_id(geoms) == 2)
    if rings.size:
        geoms = geoms.copy()
        geoms[rings] = [shapely.LineString(g.coords) for g in geoms[rings]]
    return geoms


def _first_vertex(geoms):
    xy = np.array([shapely.get_coordinates(g)[0] for g in geoms]).reshape(-1, 2)
    return xy[:, 0], xy[:, 1]


def _within(geoms):
    b = shapely.bounds(geoms)
    return inside(b[:, 0], b[:, 1]) & inside(b[:, 2], b[:, 3])


def _outside(bad, flipped, x, y, lon, lat, rows, key, geographic, swap, names,
             notes, total):
    """The rejection of each row in ``bad`` (indices into x, y, lon, lat, rows);
    ``key`` is the CRS's short name."""
    nx, ny = names or ("x", "y")
    every = bad.size == total and bad.size > 0 and flipped.all() and not swap
    if every:
        what = (f"{nx} holds latitudes and {ny} longitudes" if names else
                "the coordinates are written latitude first")
        what_zh = (f"{nx} 列是纬度，{ny} 列是经度" if names else "坐标为纬度在前")
        notes.append(say("swapped_file", what=what, what_zh=what_zh, total=total))
    elif flipped.any() and not swap:
        n = int(flipped.sum())
        notes.append(say("swapped_some", n=n, rows=rows_en(n)))
    elif flipped.any():
        n = int(flipped.sum())
        notes.append(say("swapped_read", n=n, rows=rows_en(n, "had")))
    out = []
    for j, i in enumerate(bad):
        if flipped[j] and swap:
            continue
        at = f"({x[i]:.10g}, {y[i]:.10g})"
        if every:
            reason = say("columns_swapped", what=what, what_zh=what_zh)
        elif flipped[j]:
            reason = say("row_swapped", at=at, back=f"({y[i]:.10g}, {x[i]:.10g})")
        elif geographic and (abs(x[i]) > 180 or abs(y[i]) > 90):
            reason = say("not_degrees", at=at)
        elif not geographic and abs(x[i]) <= 180 and abs(y[i]) <= 90:
            reason = say("degrees_not_metres", at=at, key=key)
        elif not (np.isfinite(lon[i]) and np.isfinite(lat[i])):
            reason = say("not_transformable", at=at, key=key)
        else:
            there = f"({lon[i]:.6f}, {lat[i]:.6f})"
            datum = key in ("wgs84", "cgcs2000")
            fell = "" if datum else f" read as {key} falls at {there}, which is"
            fell_zh = "" if datum else f" 按 {key} 读取后位于 {there}，"
            reason = say("outside_china", at=at, fell=fell, fell_zh=fell_zh)
        out.append({"row": int(rows[i]), "field": None, "reason": reason})
    return out


def _far(ok, lon, lat, rows, bbox):
    """Reject (and clear in ``ok``) the accepted rows far outside ``bbox``."""
    west, south, east, north = (float(v) for v in bbox)
    m = BBOX_MARGIN_DEG
    far = np.flatnonzero(ok & ~inside(lon, lat, (west - m, south - m,
                                                 east + m, north + m)))
    ok[far] = False
    return [{"row": int(rows[i]), "field": None,
             "reason": say("far_outside", at=f"({lon[i]:.6f}, {lat[i]:.6f})",
                           box=f"{west}, {south}, {east}, {north}", margin=m)}
            for i in far]


def _frame(attrs, rows, ok, geoms):
    import geopandas

    keep = np.flatnonzero(ok)
    if attrs is None:
        data = pd.DataFrame(index=pd.RangeIndex(keep.size))
    elif keep.size == len(attrs):
        data = attrs.reset_index(drop=True)
    else:
        data = attrs.iloc[keep].reset_index(drop=True)
    clash = {c: f"{c} (source)" for c in ("row", "geometry") if c in data.columns}
    data = data.rename(columns=clash)
    data.insert(0, "row", np.asarray(rows)[keep])
    return geopandas.GeoDataFrame(
        data, geometry=geopandas.array.from_shapely(geoms, crs="EPSG:4326"))
