"""COPY's binary format written by ``layers.import_bulk.binary_rows``: the bytes
of a row worked out by hand from PostgreSQL's documentation of the format
(COPY, "Binary Format": per row a 16-bit field count, then per field a 32-bit
length, -1 for NULL, and the field's bytes; every integer big-endian)."""

import numpy as np
import pandas as pd

from layers.import_bulk import binary_rows

# one row: text "地" (3 bytes of UTF-8), a NULL smallint, an empty text[], and
# the point (1, 2) as little-endian EWKB with SRID 4326
ROW = bytes.fromhex(
    "0004"                                  # 4 fields
    "00000003" "e59cb0"                     # "地"
    "ffffffff"                              # NULL
    "0000000c" "00000000" "00000000" "00000019"  # {}: 0 dimensions, text (25)
    "00000019" "01" "010000" "20" "e6100000"     # EWKB: 25 bytes, point, SRID
    "000000000000f03f" "0000000000000040")       # x = 1.0, y = 2.0


def test_a_row_is_the_bytes_the_format_gives():
    assert binary_rows([("text", pd.Series(["地"])),
                        ("int2", pd.Series([None], dtype="Int64")),
                        ("_text", pd.Series([()])),
                        ("geometry", np.array([[1.0, 2.0]]))]) == ROW


def test_rows_of_varying_length_follow_each_other():
    """Two rows: their fields of different lengths are not padded."""
    got = binary_rows([("text", pd.Series(["ab", None])),
                       ("int4", pd.Series([7, -1]))])
    assert got == bytes.fromhex(
        "0002" "00000002" "6162" "00000004" "00000007"
        "0002" "ffffffff" "00000004" "ffffffff")


def test_no_rows_are_no_bytes():
    assert binary_rows([("text", pd.Series([], dtype=object)),
                        ("geometry", np.zeros((0, 2)))]) == b""
