"""Tables with coordinate columns (CSV, XLSX) → :class:`Result`.

Shared by :mod:`importers.csvfile` and :mod:`importers.xlsx`: find the longitude
and latitude columns, read their values (numbers or degree-minute-second
strings), reject the rows where that fails, and hand the rest to
:func:`importers.accept.accept_points`.
"""

import numpy as np

from .accept import accept_points
from .coordinates import crs_hint, find_columns, parse_angles
from .messages import say
from .reproject import choose
from .result import ImportRefused, Result, parse_mapping

__all__ = ["read_table", "check_mapping"]


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
    notes = list(warnings)
    lon, lat, found = find_columns(df.columns, lon, lat)
    notes += found
    columns = {"lon": lon, "lat": lat, **check_mapping(mapping, df.columns)}
    rows = np.asarray(rows)
    x, y = parse_angles(df[lon]), parse_angles(df[lat])
    rejected = []
    bad = np.isnan(x) | np.isnan(y)
    if bad.any():
        rejected = _unreadable(df, rows, np.flatnonzero(bad), (lon, x), (lat, y))
        good = np.flatnonzero(~bad)
        x, y, rows, df = x[good], y[good], rows[good], df.iloc[good]
    key, used, said = choose(None, crs)
    notes += said
    hint = crs_hint(lon, lat)
    if hint and used.source == "default":
        notes.append(say("crs_hint", lon=lon, lat=lat, hint=hint))
    accepted = accept_points(x, y, rows, df, key, used, swap=swap, bbox=bbox,
                             names=(lon, lat))
    rejected += accepted.rejected
    rejected.sort(key=lambda r: r["row"])
    return Result(frame=accepted.frame, rejected=rejected, crs=accepted.crs,
                  columns=columns, warnings=notes + accepted.warnings, format=fmt,
                  encoding=encoding)


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
