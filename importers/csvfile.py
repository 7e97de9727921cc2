"""CSV (and tab- or semicolon-separated) text with coordinate columns.

The encoding is tried, not guessed: UTF-8 strictly (with or without a BOM), then
GBK, then GB18030 (its superset, for the rare characters GBK lacks), UTF-16 when a
BOM says so; :attr:`Result.encoding` says which. pandas' C parser reads the text;
attribute columns are kept as text exactly as written (``001`` stays ``001``, and
``=1+2`` is a string, never a formula), the coordinate columns are read as numbers
or angle strings. Row numbers are those a spreadsheet shows: the header is row 1.
A line with too many fields is rejected with its number; the others are read.
"""

import io
import re
import warnings as _warnings

import numpy as np

from .messages import say
from .result import MAX_FILE_BYTES, ImportRefused, load_bytes
from .table import read_table

__all__ = ["read", "decode"]

_BOM = b"\xef\xbb\xbf"
_SEPARATORS = (",", "\t", ";", "|")
_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")


def read(source, *, lon=None, lat=None, crs=None, swap=False, bbox=None, mapping=None,
         encoding=None, sep=None, max_bytes=MAX_FILE_BYTES):
    """Read a CSV file of points.

    Parameters
    ----------
    source : path, bytes or binary file object
    lon, lat : the coordinate columns (guessed from their names when not given)
    crs : CRS of the coordinates (default WGS-84): ``gcj02``, ``EPSG:4549`` …
    swap : read rows whose latitude and longitude look swapped the other way round
    bbox : (west, south, east, north) of the deployment; rows far outside rejected
    mapping : more columns to report, ``{"address": "地址"}`` or ``"address=地址"``
    encoding : force an encoding instead of trying UTF-8, GBK and GB18030
    sep : the separator; by default the most frequent of , tab ; | on line 1
    max_bytes : refuse larger files

    Returns
    -------
    Result
    """
    import pandas as pd

    data, label = decode(load_bytes(source, max_bytes), encoding)
    if not data.strip():
        raise ImportRefused(say("file_empty"))
    sep = sep or _separator(data)
    try:
        header = pd.read_csv(io.BytesIO(data), sep=sep, nrows=0).columns
    except pd.errors.ParserError as exc:
        raise ImportRefused(say("csv_header", error=exc)) from None
    from .coordinates import find_columns

    lon, lat, found = find_columns(header, lon, lat)
    text = {c: str for c in header if c not in (lon, lat)}
    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            df = pd.read_csv(io.BytesIO(data), sep=sep, dtype=text, engine="c",
                             index_col=False, keep_default_na=False, na_values=[""],
                             skip_blank_lines=False, on_bad_lines="warn")
        except (pd.errors.ParserError, ValueError) as exc:
            raise ImportRefused(say("csv_unreadable", error=exc)) from None
    skipped = {int(n): why for w in caught
               for n, why in _SKIPPED.findall(str(w.message))}
    rows = np.arange(2, len(df) + len(skipped) + 2)
    if skipped:
        kept = np.ones(rows.size, dtype=bool)
        kept[np.fromiter(skipped, dtype=np.int64, count=len(skipped)) - 2] = False
        rows = rows[kept]
    empty = np.flatnonzero(df[lon].isna().to_numpy())
    if empty.size:  # blank lines: dropped, not rejected
        blank = empty[df.iloc[empty].isna().all(axis=1).to_numpy()]
        if blank.size:
            keep = np.ones(len(df), dtype=bool)
            keep[blank] = False
            df, rows = df[keep], rows[keep]
    result = read_table(df, rows, fmt="csv", encoding=label, lon=lon, lat=lat, crs=crs,
                        swap=swap, bbox=bbox, mapping=mapping, warnings=found)
    result.rejected += [{"row": n, "field": None,
                         "reason": say("row_too_many_fields", why=why.strip())}
                        for n, why in skipped.items()]
    result.rejected.sort(key=lambda r: r["row"])
    return result


def decode(data, encoding=None):
    """``data`` as UTF-8 bytes without a BOM, and the name of its encoding.

    Raises
    ------
    ImportRefused
        When ``encoding`` does not fit, or none of UTF-8, GBK, GB18030 does (with the
        offset of the first byte that fits none).
    """
    if encoding:
        try:
            return data.decode(encoding).lstrip("\ufeff").encode("utf-8"), encoding
        except (LookupError, UnicodeDecodeError) as exc:
            raise ImportRefused(say("encoding_given", encoding=encoding,
                                    error=exc)) from None
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        try:
            return data.decode("utf-16").encode("utf-8"), "UTF-16"
        except UnicodeDecodeError:
            pass
    bom = data.startswith(_BOM)
    body = data[3:] if bom else data
    try:
        body.decode("utf-8")
        return body, "UTF-8 with BOM" if bom else "UTF-8"
    except UnicodeDecodeError as exc:
        first = exc.start
    for name in ("gbk", "gb18030"):
        try:
            return data.decode(name).encode("utf-8"), name.upper()
        except UnicodeDecodeError:
            pass
    raise ImportRefused(say("encoding_unknown", byte=first))


def _separator(data):
    first = data[:data.find(b"\n") if b"\n" in data else len(data)].decode("utf-8")
    counts = [first.count(s) for s in _SEPARATORS]
    return _SEPARATORS[counts.index(max(counts))] if max(counts) else ","
