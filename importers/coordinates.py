"""Coordinate columns of a table: finding them by name and reading their values.

Names are matched in Chinese or English after folding case, spaces, underscores and
a bracketed unit (``经度(°)`` → ``经度``); values are decimal degrees or
degree-minute-second strings (``116°23'17.5"E``, ``东经116度23分17.5秒``,
``39 54 27 N``). Both are vectorised: pandas' string methods do the parsing.
"""

import re

import numpy as np
import pandas as pd

from .messages import say
from .result import ImportRefused

__all__ = ["LON_NAMES", "LAT_NAMES", "find_columns", "parse_angles", "crs_hint"]

# Best first. x/y come last: they may also be projected metres (the CRS tells).
LON_NAMES = ("经度", "longitude", "lng", "lon", "long", "东经", "经度坐标", "gps经度",
             "x坐标", "坐标x", "pointx", "xcoord", "x", "easting", "横坐标")
LAT_NAMES = ("纬度", "latitude", "lat", "北纬", "纬度坐标", "gps纬度", "y坐标",
             "坐标y", "pointy", "ycoord", "y", "northing", "纵坐标")
_HINTS = (("百度", "bd09"), ("bd09", "bd09"), ("bd", "bd09"), ("高德", "gcj02"),
          ("腾讯", "gcj02"), ("火星", "gcj02"), ("gcj", "gcj02"))

_HEMI = r"(?:东经|西经|北纬|南纬|[NSEWnsew东西南北])"
_NUM = r"\d+(?:\.\d*)?"
_DMS = re.compile(
    rf"^\s*(?P<h1>{_HEMI})?\s*(?P<sign>[-+])?\s*(?P<d>{_NUM})\s*(?:°|º|˚|度|d|:|\s)"
    rf"\s*(?:(?P<m>{_NUM})\s*(?:'|′|’|分|m|:|\s)?\s*)?"
    rf"(?:(?P<s>{_NUM})\s*(?:\"|″|”|''|′′|’’|秒|s)?\s*)?(?P<h2>{_HEMI})?\s*$")
_NEGATIVE = set("SWsw西南") | {"西经", "南纬"}


def _fold(name):
    name = re.sub(r"[(（\[【].*?[)）\]】]", "", str(name))
    return re.sub(r"[\s_\-.:：]", "", name).lower()


def _tokens(name):
    return set(re.split(r"[^a-z0-9]+", str(name).lower())) - {""}


def _score(column, names):
    """(tier, rank) of the best match of ``column`` in ``names``, or None."""
    folded = _fold(column)
    if folded in names:
        return (0, names.index(folded))
    for rank, name in enumerate(names):
        chinese = not name.isascii()
        if (chinese and name in folded) or (not chinese and len(name) > 1
                                            and name in _tokens(column)):
            return (1, rank)
    return None


def _best(columns, names, taken=()):
    scored = [(s, i, c) for i, c in enumerate(columns)
              if c not in taken and (s := _score(c, names)) is not None]
    if not scored:
        return None, []
    scored.sort()
    return scored[0][2], [c for s, _, c in scored if s == scored[0][0]][1:]


def find_columns(columns, lon=None, lat=None):
    """The longitude and latitude columns: given, or guessed from the names.

    Returns
    -------
    (lon, lat, warnings)

    Raises
    ------
    ImportRefused
        Naming the columns found, when a given column is missing or none matches.

    Examples
    --------
    >>> find_columns(["名称", "经度(°)", "纬度(°)"])[:2]
    ('经度(°)', '纬度(°)')
    """
    columns = [str(c) for c in columns]
    found = "、".join(columns) or "none"
    for given in (lon, lat):
        if given is not None and given not in columns:
            raise ImportRefused(say("no_such_column", given=given, found=found))
    notes = []
    chosen = {"lon": lon, "lat": lat}
    for option, names, axis, axis_zh, other in (
            ("lon", LON_NAMES, "longitude", "经度", "lat"),
            ("lat", LAT_NAMES, "latitude", "纬度", "lon")):
        if chosen[option] is None:
            used, others = _best(columns, names, taken=(chosen[other],))
            chosen[option] = used
            if others:
                notes.append(say("several_columns", axis=axis, axis_zh=axis_zh,
                                 columns="、".join([used, *others]), used=used,
                                 option=option))
    lon, lat = chosen["lon"], chosen["lat"]
    if lon is None or lat is None:
        absent = [(w, zh) for w, zh, c in (("longitude", "经度", lon),
                                           ("latitude", "纬度", lat)) if c is None]
        raise ImportRefused(say(
            "no_coordinate_columns", found=found,
            missing=" and ".join(w for w, _ in absent),
            missing_zh="和".join(zh for _, zh in absent)))
    return lon, lat, notes


def crs_hint(*columns):
    """The CRS that column names suggest (``百度经度`` → ``bd09``), or None."""
    for column in columns:
        folded, tokens = _fold(column), _tokens(column)
        for word, crs in _HINTS:
            if word in folded if not word.isascii() else any(
                    t.startswith(word) for t in tokens):
                return crs
    return None


def parse_angles(values):
    """Decimal degrees from numbers or angle strings; NaN where neither.

    Parameters
    ----------
    values : pandas Series

    Examples
    --------
    >>> values = pd.Series(["116°23'17.5\\"E", "39度54分S", "1", None])
    >>> parse_angles(values).round(7).tolist()
    [116.3881944, -39.9, 1.0, nan]
    """
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(
            values.dtype):
        return values.to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = np.array(pd.to_numeric(values, errors="coerce"), dtype=np.float64)
    todo = np.flatnonzero(np.isnan(numbers) & values.notna().to_numpy())
    if todo.size:
        text = values.iloc[todo].astype(str)
        parts = text.str.extract(_DMS)
        d, m, s = (pd.to_numeric(parts[k], errors="coerce").fillna(0.0).to_numpy()
                   for k in "dms")
        fine = parts["d"].notna().to_numpy() & (m < 60) & (s < 60)
        value = d + m / 60.0 + s / 3600.0
        hemi = parts["h1"].fillna(parts["h2"])
        negative = hemi.isin(_NEGATIVE).to_numpy() | (parts["sign"] == "-").to_numpy()
        value[negative] = -value[negative]
        numbers[todo] = np.where(fine, value, np.nan)
    return numbers

