"""Tables with coordinate columns (CSV, XLSX) → :class:`Result`.

Shared by :mod:`importers.csvfile` and :mod:`importers.xlsx`: find the longitude
and latitude columns, read their values (numbers or degree-minute-second
strings), reject the rows where that fails, and hand the rest to
:func:`importers.accept.accept_points` — or, for a large CSV read part by part,
to :class:`importers.accept.PointParts` (:class:`TableParts`).
"""

import numpy as np

from .accept import PointParts
from .coordinates import crs_hint, find_columns, parse_angles
from .messages import say
from .reproject import choose
from .result import ImportRefused, Result, parse_mapping

__all__ = ["read_table", "TableParts", "check_mapping"]


def read_table(df, rows, *, fmt, encoding=None, lon=None, lat=None, crs=None,
               swap=False, bbox=None, mapping=None, warnings=()):
    """Accept the rows of ``df`` (source row numbers ``rows``) as points.

    Parameters
    ----------
    df : pandas DataFrame, one row per data row of the file
    rows : int ndarray, the row numbers the user sees (the header is row 1)
    fmt, encoding : for the :class:`Result`
    lon, lat : str, the coordinate columns; guessed from the names when None
    crs : the CRS of the coordinates (default WGS-84); swap, bbox: see
        :func:`importers.accept.accept_points`
    mapping : dict or "target=column,…", more columns to report in ``columns``
    """
    table = TableParts(df.columns, fmt=fmt, encoding=encoding, lon=lon, lat=lat,
                       crs=crs, swap=swap, bbox=bbox, mapping=mapping,
                       warnings=warnings)
    return table.finish(table.add(df, rows))


class TableParts:
    """:func:`read_table` over a table read part by part (a large CSV): the
    columns and the CRS settled from the header (:class:`ImportRefused` here
    when they cannot be), each part's rows accepted or rejected by :meth:`add`,
    the whole table's rejected rows and warnings by :meth:`finish` (see
    :class:`importers.accept.PointParts`).

    Parameters
    ----------
    columns : the table's column names
    the others : as :func:`read_table`'s
    """

    def __init__(self, columns, *, fmt, encoding=None, lon=None, lat=None,
                 crs=None, swap=False, bbox=None, mapping=None, warnings=()):
        notes = list(warnings)
        lon, lat, found = find_columns(columns, lon, lat)
        notes += found
        self.columns = {"lon": lon, "lat": lat, **check_mapping(mapping, columns)}
        key, used, said = choose(None, crs)
        notes += said
        hint = crs_hint(lon, lat)
        if hint and used.source == "default":
            notes.append(say("crs_hint", lon=lon, lat=lat, hint=hint))
        self.lon, self.lat, self.crs, self.notes = lon, lat, used, notes
        self.format, self.encoding = fmt, encoding
        self.points = PointParts(key, used, swap=swap, bbox=bbox, names=(lon, lat))
        self.rejected = []

    def add(self, df, rows):
        """The accepted rows of the part ``df`` (source row numbers ``rows``):
        a GeoDataFrame in EPSG:4326 with the row numbers in ``row``."""
        lon, lat = self.lon, self.lat
        rows = np.asarray(rows)
        x, y = parse_angles(df[lon]), parse_angles(df[lat])
        bad = np.isnan(x) | np.isnan(y)
        if bad.any():
            self.rejected += _unreadable(df, rows, np.flatnonzero(bad), (lon, x),
                                         (lat, y))
            good = np.flatnonzero(~bad)
            x, y, rows, df = x[good], y[good], rows[good], df.iloc[good]
        return self.points.add(x, y, rows, df)

    def finish(self, frame):
        """The :class:`Result` of the table whose accepted rows are ``frame``
        (the parts' together, or None when they went elsewhere); None when the
        parts were moved to WGS-84 otherwise than the whole table must be
        (:meth:`importers.accept.PointParts.finish`)."""
        answer = self.points.finish()
        if answer is None:
            return None
        rejected, used, notes = answer
        rejected = sorted(self.rejected + rejected, key=lambda r: r["row"])
        return Result(frame=frame, rejected=rejected, crs=used,
                      columns=self.columns, warnings=self.notes + notes,
                      format=self.format, encoding=self.encoding)


def check_mapping(mapping, columns):
    """``mapping`` as a dict whose source columns all exist in ``columns``."""
    mapping = parse_mapping(mapping)
    columns = [str(c) for c in columns]
    missing = [c for c in mapping.values() if c not in columns]
    if missing:
        raise ImportRefused(say("mapping_missing", missing="、".join(missing),
                                columns="、".join(columns)))
    return mapping


def _unreadable(df, rows, index, *axes):
    """One rejection per row in ``index``: the first coordinate that did not parse."""
    out = []
    for i in index:
        for column, values in axes:
            if np.isnan(values[i]):
                raw = df[column].iloc[i]
                if raw is None or raw != raw or str(raw).strip() == "":
                    reason = say("coordinate_empty", column=column)
                else:
                    reason = say("coordinate_unreadable", column=column,
                                 raw=str(raw)[:40])
                out.append({"row": int(rows[i]), "field": column, "reason": reason})
                break
    return out
