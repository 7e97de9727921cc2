"""CSV (and tab- or semicolon-separated) text with coordinate columns.

The encoding is tried, not guessed: UTF-8 strictly (with or without a BOM), then
GBK, then GB18030 (its superset, for the rare characters GBK lacks), UTF-16 when a
BOM says so; :attr:`Result.encoding` says which. pandas' C parser reads the text;
attribute columns are kept as text exactly as written (``001`` stays ``001``, and
``=1+2`` is a string, never a formula), the coordinate columns are read as numbers
or angle strings. Row numbers are those a spreadsheet shows: the header is row 1.
A line with too many fields is rejected with its number; the others are read.

``read(…, stream=True)`` (:class:`Streamed`) reads the header at once and the
rows part by part for whoever stores them (``layers.imports.run_import``): a
million-row file's first rows reach the database while the rest are parsed and
moved to WGS-84, with the same answer as the file read whole.
"""

import contextlib
import gc
import io
import re
import warnings as _warnings

import numpy as np

from .messages import say
from .result import MAX_FILE_BYTES, ImportRefused, load_bytes
from .table import TableParts, read_table

__all__ = ["read", "decode", "Streamed"]

_BOM = b"\xef\xbb\xbf"
_SEPARATORS = (",", "\t", ";", "|")
_SKIPPED = re.compile(r"Skipping line (\d+): (.*)")


def read(source, *, lon=None, lat=None, crs=None, swap=False, bbox=None, mapping=None,
         encoding=None, sep=None, max_bytes=MAX_FILE_BYTES, stream=False):
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
    stream : return a :class:`Streamed` instead: the file decoded and its header
        read (what can refuse it at once does), its rows read part by part by
        whoever stores them (a large file's first rows on their way to the
        database while the next are read)

    Returns
    -------
    Result, or Streamed
    """
    opened = _Opened(source, lon=lon, lat=lat, crs=crs, swap=swap, bbox=bbox,
                     mapping=mapping, encoding=encoding, sep=sep, max_bytes=max_bytes)
    return Streamed(opened) if stream else opened.whole()


class _Opened:
    """A CSV file decoded, its header read and its columns and CRS settled
    (:class:`importers.table.TableParts`): everything that refuses the file
    before its rows are looked at."""

    def __init__(self, source, *, lon, lat, crs, swap, bbox, mapping, encoding,
                 sep, max_bytes):
        import pandas as pd

        data, label = decode(load_bytes(source, max_bytes), encoding)
        if not data or data.isspace():
            raise ImportRefused(say("file_empty"))
        sep = sep or _separator(data)
        try:
            header = pd.read_csv(io.BytesIO(data), sep=sep, nrows=0).columns
        except pd.errors.ParserError as exc:
            raise ImportRefused(say("csv_header", error=exc)) from None
        from .coordinates import find_columns

        lon, lat, found = find_columns(header, lon, lat)
        self.data, self.sep, self.header, self.label = data, sep, header, label
        self.lon = lon
        self.options = dict(fmt="csv", encoding=label, lon=lon, lat=lat, crs=crs,
                            swap=swap, bbox=bbox, mapping=mapping, warnings=found)
        self.table = TableParts(header, **self.options)
        # attribute columns as text exactly as written; the coordinates parsed
        self.text = {c: str for c in header if c not in (lon, lat)}

    def csv(self, **more):
        import pandas as pd

        return pd.read_csv(io.BytesIO(self.data), sep=self.sep, dtype=self.text,
                           engine="c", index_col=False, keep_default_na=False,
                           na_values=[""], skip_blank_lines=False,
                           on_bad_lines="warn", **more)

    def whole(self):
        """The whole file read at once: the :class:`Result`."""
        df, skipped = _warned(self.csv)
        rows = np.arange(2, len(df) + len(skipped) + 2)
        if skipped:
            kept = np.ones(rows.size, dtype=bool)
            kept[np.fromiter(skipped, dtype=np.int64, count=len(skipped)) - 2] = False
            rows = rows[kept]
        df, rows = _without_blank_lines(df, rows, self.lon)
        result = read_table(df, rows, **self.options)
        _add_skipped(result, skipped)
        return result


def _warned(read):
    """``read()`` and the lines pandas skipped meanwhile (too many fields):
    ``{line number: why}``."""
    import pandas as pd

    with _warnings.catch_warnings(record=True) as caught:
        _warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            df = read()
        except (pd.errors.ParserError, ValueError) as exc:
            raise ImportRefused(say("csv_unreadable", error=exc)) from None
    return df, {int(n): why for w in caught
                for n, why in _SKIPPED.findall(str(w.message))}


def _without_blank_lines(df, rows, lon):
    """Blank lines: dropped, not rejected."""
    empty = np.flatnonzero(df[lon].isna().to_numpy())
    if empty.size:
        blank = empty[df.iloc[empty].isna().all(axis=1).to_numpy()]
        if blank.size:
            keep = np.ones(len(df), dtype=bool)
            keep[blank] = False
            df, rows = df[keep], rows[keep]
    return df, rows


def _add_skipped(result, skipped):
    result.rejected += [{"row": n, "field": None,
                         "reason": say("row_too_many_fields", why=why.strip())}
                        for n, why in skipped.items()]
    result.rejected.sort(key=lambda r: r["row"])


class Streamed:
    """A CSV file whose rows are read part by part (``read(…, stream=True)``).

    Its header is read: ``format``, ``encoding``, ``columns`` (the mapping, as a
    :class:`Result`'s) and ``frame_columns`` (those of the frame :meth:`parts`
    yield) are known, and ``rows`` is the number of lines after the header (the
    rows, blank lines and lines too long among them); ``warnings`` said of the
    file so far come first in the Result's. Then either
    :meth:`parts` and :meth:`finish` — the accepted rows part by part, then the
    :class:`Result` of the whole file (its ``frame`` None: the parts were it)
    — or :meth:`whole`, the file read at once. Both answer what ``read`` answers
    for the whole file, row for row and word for word: each part's rows are
    checked as the whole file's, numbered as in the file; what depends on the
    whole file (swapped columns, the Gauss-Krüger variant) is said by
    :meth:`finish`.
    """

    format = "csv"

    def __init__(self, opened):
        self._opened = opened
        self.encoding = opened.label
        self.columns = dict(opened.table.columns)
        self.crs = opened.table.crs
        self.rows = max(opened.data.count(b"\n") - 1 + (
            not opened.data.endswith(b"\n")), 0)
        head = TableParts(opened.header, **opened.options).add(
            _empty(opened.header), np.empty(0, dtype=np.int64))
        self.frame_columns = list(head.columns)
        self._table = self._skipped = None
        self.warnings = []  # said of the file before its rows (the registry's)

    def whole(self, refused=ImportRefused):
        """The :class:`Result` of the file read at once; ``refused(message)``:
        the exception raised when it cannot be read (:class:`ImportRefused`)."""
        try:
            result = self._opened.whole()
        except ImportRefused as exc:
            raise refused(exc.message) from None
        result.warnings[:0] = self.warnings
        return result

    def parts(self, sizes, refused=ImportRefused):
        """The accepted rows, part by part: a GeoDataFrame (EPSG:4326, the
        row numbers in ``row``) of each next ``sizes`` rows of the file, until
        its end; ``refused`` as for :meth:`whole`, raised by a part that cannot
        be read (a quote left open …). The rows each part rejects are kept for
        :meth:`finish`.

        GCJ-02 and BD-09 points are moved to WGS-84 by an iteration that
        :mod:`geo.crs` runs on blocks of 32,768 points: parts of a multiple of
        that many rows (with every coordinate readable) come out as the whole
        file's, bit for bit; others within the iteration's 0.2 mm (none
        differed in a test of 200,000 points across China)."""
        opened = self._opened
        self._table = table = TableParts(opened.header, **opened.options)
        self._skipped = skipped = {}
        next_row = 2
        try:
            reader = _warned(lambda: opened.csv(chunksize=32_768))[0]
        except ImportRefused as exc:
            raise refused(exc.message) from None
        with reader:
            for size in sizes:
                try:
                    df, more = _warned(lambda n=size: _get_chunk(reader, n))
                except ImportRefused as exc:
                    raise refused(exc.message) from None
                if df is None:
                    return
                skipped.update(more)
                # the rows as the whole file's are numbered: from 2, past the
                # lines skipped (pandas names them before the rows after them)
                ahead = sorted(n for n in skipped if n >= next_row)
                rows = np.arange(next_row, next_row + len(df) + len(ahead))
                rows = rows[~np.isin(rows, ahead)][:len(df)]
                next_row = int(rows[-1]) + 1 if rows.size else next_row
                df, rows = _without_blank_lines(df, rows, opened.lon)
                with _gc_paused():
                    part = table.add(df, rows)
                yield part

    def finish(self):
        """After :meth:`parts`: the :class:`Result` of the whole file (every
        rejected row, the warnings, the CRS), its ``frame`` None; None when the
        file must be read whole instead (:meth:`whole`): its first part was
        moved to WGS-84 otherwise than the whole file must be
        (:class:`importers.accept.PointParts`)."""
        result = self._table.finish(None)
        if result is not None:
            _add_skipped(result, self._skipped)
            result.warnings[:0] = self.warnings
        return result


@contextlib.contextmanager
def _gc_paused():
    """The cyclic garbage collector paused meanwhile (when it ran): a part's
    ~100,000 points are as many new GEOS objects, each batch of which set off
    a collection of everything the process holds (a million rows: ~12 full
    collections, 0.6–1 s). Nothing of a part is cyclic garbage; what other
    threads leave is collected once it resumes."""
    paused = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _empty(columns):
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def _get_chunk(reader, size):
    try:
        return reader.get_chunk(size)
    except StopIteration:
        return None


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
