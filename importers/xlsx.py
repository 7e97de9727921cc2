"""Excel workbooks (.xlsx) with coordinate columns, read with openpyxl.

Read-only mode, formulas not evaluated (``data_only=False``): a formula cell comes
back as its text (``=HYPERLINK(…)``), and a text cell beginning with ``=``, ``+``,
``-`` or ``@`` stays the string it is; numbers stay numbers (``-3`` is a number,
not a formula). The workbook is a zip and passes the zip-bomb limits of
:mod:`importers.safezip` first; openpyxl parses its XML with defusedxml. The
header is the first non-empty row; row numbers are the sheet's own.
"""

import datetime as dt
import io

import numpy as np

from .messages import say
from .result import MAX_FILE_BYTES, ImportRefused, load_bytes
from .safezip import open_zip
from .table import read_table

__all__ = ["read"]

_PLAIN = (str, int, float, bool, dt.datetime, dt.date, dt.time, dt.timedelta)


def read(source, *, sheet=None, lon=None, lat=None, crs=None, swap=False, bbox=None,
         mapping=None, max_bytes=MAX_FILE_BYTES):
    """Read one sheet of an XLSX workbook as points.

    Parameters
    ----------
    source : path, bytes or binary file object
    sheet : the sheet's name or its 0-based position; by default the first
    lon, lat, crs, swap, bbox, mapping, max_bytes : as in :func:`importers.csvfile.read`

    Returns
    -------
    Result
    """
    import openpyxl
    import pandas as pd

    data = load_bytes(source, max_bytes)
    open_zip(data, "workbook").close()
    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True,
                                      data_only=False)
    except Exception as exc:  # openpyxl raises many kinds for a broken workbook
        raise ImportRefused(say("xlsx_unreadable", error=exc)) from None
    try:
        ws, notes = _sheet(book, sheet)
        ws.reset_dimensions()
        header, body, rows = None, [], []
        for number, values in enumerate(ws.iter_rows(values_only=True), start=1):
            if header is None:
                if any(v is not None for v in values):
                    header = _header(values)
                continue
            if any(v is not None and v != "" for v in values):
                body.append(tuple(_cell(v) for v in values[:len(header)]))
                rows.append(number)
                if len(values) > len(header) and any(
                        v is not None for v in values[len(header):]):
                    notes.append(say("xlsx_right_cells", row=number))
    finally:
        book.close()
    if header is None:
        raise ImportRefused(say("xlsx_empty_sheet", title=ws.title))
    body = [b + (None,) * (len(header) - len(b)) for b in body]
    df = pd.DataFrame.from_records(body, columns=header, coerce_float=False)
    if not len(df):
        df = pd.DataFrame({c: pd.Series(dtype=object) for c in header})
    return read_table(df, np.asarray(rows, dtype=np.int64), fmt="xlsx", lon=lon,
                      lat=lat, crs=crs, swap=swap, bbox=bbox, mapping=mapping,
                      warnings=notes)


def _sheet(book, sheet):
    names = book.sheetnames
    if sheet is None:
        notes = ([say("xlsx_sheets", n=len(names), names="、".join(names),
                      first=names[0])] if len(names) > 1 else [])
        return book[names[0]], notes
    if isinstance(sheet, int) and 0 <= sheet < len(names):
        return book[names[sheet]], []
    if sheet in names:
        return book[sheet], []
    raise ImportRefused(say("xlsx_no_sheet", sheet=sheet, names="、".join(names)))


def _header(values):
    names, seen = [], {}
    for i, v in enumerate(values, start=1):
        name = str(v).strip() if v is not None and str(v).strip() else f"column {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        names.append(name)
    while names and names[-1].startswith("column ") and values[len(names) - 1] is None:
        names.pop()
    return names


def _cell(value):
    """Plain values as they are; formulas (openpyxl objects) as their text."""
    if value is None or isinstance(value, _PLAIN):
        return value
    return str(getattr(value, "text", value))
