"""The text encoding of a shapefile's attributes: the .cpg, the .dbf's LDID, the bytes.

pyogrio (GDAL) decodes the .dbf once it is told the encoding; choosing it is ours,
because what the files say is often wrong. ArcGIS and QGIS spell the .cpg in many
ways (``ANSI 936``, ``936``, ``GBK``, ``65001``, ``UTF-8``, ``System``, ``88591``,
with a BOM, in any case), and the .dbf carries a language driver id (byte 29, the
LDID: 0x4D is cp936, 0x57 is ANSI/cp1252, 0x00 says nothing) that a converter may
leave stale. :func:`choose` checks the declared encoding against the bytes of the
field names and text fields and says so whenever it decodes with another:

- the declared one (the .cpg, else the LDID) when it decodes — unless the bytes
  are valid UTF-8 (never true of GBK text by accident), or the declared one is a
  one-byte Western code page whose reading looks like GBK read byte by byte
  (``¼òÌå``: every run of accented letters of even length) while GBK reads
  Chinese;
- when it fails, or nothing is declared: UTF-8, then GBK, then GB18030 (those two
  only when they read as Chinese), then cp1252 / ISO-8859-1, with a warning.

No library does this: GDAL maps the .cpg and LDID but trusts them (a wrong .cpg
gives ``¼òÌå`` or a UnicodeDecodeError), and charset detectors guess from
letter frequencies, which needs more text than a column of village names.
"""

import codecs
import collections
import re

import numpy as np

from .messages import say

__all__ = ["LDID", "SYSTEM", "cpg_encoding", "choose", "text_sample", "Choice"]

# The .dbf's language driver id (byte 29) → encoding, after the table GDAL and
# ESRI publish; 0x00 (and ids not listed) say nothing.
LDID = {0x01: "CP437", 0x02: "CP850", 0x03: "CP1252", 0x08: "CP865",
        0x09: "CP437", 0x0A: "CP850", 0x0B: "CP437", 0x0D: "CP437",
        0x0E: "CP850", 0x0F: "CP437", 0x10: "CP850", 0x11: "CP437",
        0x12: "CP850", 0x13: "CP932", 0x14: "CP850", 0x15: "CP437",
        0x16: "CP850", 0x17: "CP865", 0x18: "CP437", 0x19: "CP437",
        0x1A: "CP850", 0x1B: "CP437", 0x1C: "CP863", 0x1D: "CP850",
        0x1F: "CP852", 0x22: "CP852", 0x23: "CP852", 0x24: "CP860",
        0x25: "CP850", 0x26: "CP866", 0x37: "CP850", 0x40: "CP852",
        0x4D: "GBK", 0x4E: "CP949", 0x4F: "CP950", 0x50: "CP874",
        0x57: "CP1252", 0x58: "CP1252", 0x59: "CP1252", 0x64: "CP852",
        0x65: "CP866", 0x66: "CP865", 0x67: "CP861", 0x6A: "CP737",
        0x6B: "CP857", 0x78: "CP950", 0x79: "CP949", 0x7A: "GBK",
        0x7B: "CP932", 0x7C: "CP874", 0x7D: "CP1255", 0x7E: "CP1256",
        0x86: "CP737", 0x87: "CP852", 0x88: "CP857", 0xC8: "CP1250",
        0xC9: "CP1251", 0xCA: "CP1254", 0xCB: "CP1253", 0xCC: "CP1257"}

# A .cpg naming the code page of the computer that wrote it: says nothing here.
SYSTEM = "system"

# .cpg spellings (upper case, spaces, dashes and underscores removed) → encoding
_CPG = {"UTF8": "UTF-8", "65001": "UTF-8", "CP65001": "UTF-8",
        "GBK": "GBK", "GB2312": "GBK", "EUCCN": "GBK", "936": "GBK", "CP936": "GBK",
        "GB18030": "GB18030", "54936": "GB18030",
        "BIG5": "CP950", "950": "CP950", "CP950": "CP950",
        "BIG5HKSCS": "BIG5-HKSCS",
        "88591": "ISO-8859-1", "ISO88591": "ISO-8859-1", "LATIN1": "ISO-8859-1",
        "28591": "ISO-8859-1",
        "88592": "ISO-8859-2", "ISO88592": "ISO-8859-2", "28592": "ISO-8859-2",
        "SYSTEM": SYSTEM, "OEM": SYSTEM, "ANSI": SYSTEM, "DEFAULT": SYSTEM,
        "SJIS": "CP932", "SHIFTJIS": "CP932", "EUCKR": "CP949"}
# Encodings of several bytes per character; the others here read one byte each.
_MULTI = {"UTF-8", "GBK", "GB18030", "CP950", "BIG5", "BIG5-HKSCS", "CP949",
          "CP932", "EUC-KR", "EUC-JP", "SHIFT_JIS"}
_CHINESE = ("GBK", "GB18030")
# The sniff reads this much of the records (field names and text fields only).
SAMPLE_BYTES = 8 * 1024 * 1024
# A Chinese encoding whose reading is Chinese is still taken when at most this
# share of the characters (or two) cannot be decoded: a damaged file, GDAL drops
# those bytes and the warning says so.
NEAR_FIT = 0.01
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")
_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
                  r"\U00020000-\U0003134f]")

Choice = collections.namedtuple("Choice", "encoding label notes")


def cpg_encoding(text):
    """The encoding a .cpg names, :data:`SYSTEM`, or None when it names none known.

    Examples
    --------
    >>> [cpg_encoding(t) for t in ("ANSI 936", "\\ufeffutf-8\\r\\n", "65001",
    ...                            "ansi  1250", "System", "8859-1", "what")]
    ['GBK', 'UTF-8', 'UTF-8', 'CP1250', 'system', 'ISO-8859-1', None]
    """
    word = re.sub(r"[\s\-_]", "", (text or "").lstrip("\ufeff")).upper()
    if word in _CPG:
        return _CPG[word]
    number = re.fullmatch(r"(?:ANSI|CP|WINDOWS|OEM|IBM)?(\d{3,5})", word)
    name = f"CP{number.group(1)}" if number else word
    if name in ("CP936", "CP65001", "CP54936"):
        return _CPG[name[2:]]
    try:
        info = codecs.lookup(name)
    except LookupError:
        return None
    # only encodings that keep ASCII as it is (never UTF-16 and the like)
    try:
        if "AZaz09 ,.".encode(info.name) != b"AZaz09 ,.":
            return None
    except UnicodeError:
        return None
    return name if number else info.name.upper()


def text_sample(dbf):
    """The field names and text fields of a .dbf's bytes, one value a line.

    Values keep their padding (a character cut by the end of its field is then
    the only one just before a newline); at most :data:`SAMPLE_BYTES` of records
    are read. A header that cannot be parsed gives the bytes after it as they are.

    Examples
    --------
    >>> field = b"NAME".ljust(11, b"\\0") + b"C" + bytes(4) + bytes([8]) + bytes(15)
    >>> head = bytes(4) + (2).to_bytes(4, "little") + (65).to_bytes(2, "little")
    >>> head += (9).to_bytes(2, "little") + bytes(20)
    >>> text_sample(head + field + b"\\r" + b" ab      " + b" cd      ")
    b'NAME\\nab      \\ncd      \\n'
    """
    header = int.from_bytes(dbf[8:10], "little")
    record = int.from_bytes(dbf[10:12], "little")
    names, fields, offset = [], [], 1
    for i in range(32, min(header, len(dbf)) - 31, 32):
        if dbf[i] == 0x0D:
            break
        names.append(dbf[i:i + 11].split(b"\0")[0])
        width = dbf[i + 16]
        if dbf[i + 11:i + 12] in (b"C", b"c"):
            fields.append((offset, width))
        offset += width
    body = dbf[header:header + SAMPLE_BYTES]
    if record < 1 or offset > record or not names:
        return b"\n".join(names) + b"\n" + body
    n = len(body) // record
    table = np.frombuffer(body, dtype=np.uint8, count=n * record).reshape(n, record)
    newline = np.full((n, 1), 0x0A, dtype=np.uint8)
    parts = [p for start, width in fields
             for p in (table[:, start:start + width], newline)]
    values = np.hstack(parts).tobytes() if parts else b""
    return b"\n".join(names) + b"\n" + values


def choose(cpg, dbf, ldid=None):
    """The encoding to read a .dbf with, its label, and the warnings to give.

    Parameters
    ----------
    cpg : str or None
        The text of the .cpg, None when there is none.
    dbf : bytes
        The .dbf's header and (some of) its records.
    ldid : int, optional
        The LDID; byte 29 of ``dbf`` by default.

    Returns
    -------
    Choice
        ``encoding`` (a name Python and GDAL both know), ``label`` (for
        :attr:`Result.encoding`: ``GBK (from the .cpg)``), ``notes``.
    """
    ldid = dbf[29] if ldid is None and len(dbf) > 29 else ldid
    notes = []
    declared = cpg_encoding(cpg) if cpg is not None else None
    if cpg is not None and declared is None:
        notes.append(say("cpg_unknown", text=cpg.strip()[:40]))
    system = declared == SYSTEM
    if declared and not system:
        said, where, where_zh = declared, f"the .cpg ({cpg.strip()})", (
            f".cpg 文件（“{cpg.strip()}”）")
        origin = "from the .cpg"
    elif ldid in LDID:
        said, where, where_zh = LDID[ldid], f"the .dbf header (LDID 0x{ldid:02X})", (
            f".dbf 文件头（LDID 0x{ldid:02X}）")
        origin = "from the .dbf header"
    else:
        said = None
        origin = f"the .cpg says {cpg.strip()}" if system else ""
    sample = Sample(text_sample(dbf))
    if sample.ascii:
        encoding = said or "UTF-8"
        return Choice(encoding, _label(encoding, origin if said or system else ""),
                      notes)
    if said and sample.fits(said):
        encoding, more = _check(said, where, where_zh, sample)
        return Choice(encoding, _label(encoding, origin if encoding == said else ""),
                      notes + more)
    encoding, near = _sniff(sample)
    if said and encoding != said:
        notes.append(say("dbf_declared_fails", where=where, where_zh=where_zh,
                         said=said, used=encoding))
    elif not said and encoding != "UTF-8":
        why = f" (the .cpg says {cpg.strip()!r})" if system else ""
        why_zh = f"（.cpg 写的是“{cpg.strip()}”）" if system else ""
        key = "dbf_gb18030" if encoding in _CHINESE else "dbf_western_guess"
        notes.append(say(key, used=encoding, why=why, why_zh=why_zh))
    if near:
        notes.append(say("dbf_undecodable", used=encoding))
    kept = system or (said and encoding == said)
    return Choice(encoding, _label(encoding, origin if kept else ""), notes)


def _label(encoding, origin):
    return f"{encoding} ({origin})" if origin else encoding


def _check(said, where, where_zh, sample):
    """The declared ``said`` decodes: keep it, unless UTF-8 or GBK is plainly right."""
    if said != "UTF-8" and sample.fits("UTF-8"):
        return "UTF-8", [say("dbf_utf8_over", where=where, where_zh=where_zh,
                             said=said)]
    if said in _MULTI:
        return said, []
    alt = next((c for c in _CHINESE if sample.fits(c) and sample.chinese(c)), None)
    if alt is None:
        return said, []
    if sample.mojibake(said):
        return alt, [say("dbf_declared_doubt", where=where, where_zh=where_zh,
                         said=said, used=alt)]
    return said, [say("dbf_also_chinese", where=where, where_zh=where_zh, said=said,
                      alt=alt, sample=sample.example(alt))]


def _sniff(sample):
    """(encoding, whether some characters will not decode), nothing declared."""
    if sample.fits("UTF-8"):
        return "UTF-8", False
    for name in _CHINESE:
        if sample.fits(name) and sample.chinese(name):
            return name, False
    for name in _CHINESE:
        if sample.fits(name, NEAR_FIT) and sample.chinese(name):
            return name, True
    return ("CP1252", False) if sample.fits("CP1252") else ("ISO-8859-1", False)


class Sample:
    """The text bytes of a .dbf, decoded on demand in each encoding tried."""

    def __init__(self, data):
        self.data = data
        self.ascii = data.isascii()
        self._text = {}

    def text(self, encoding):
        if encoding not in self._text:
            self._text[encoding] = self.data.decode(encoding, errors="replace")
        return self._text[encoding]

    def fits(self, encoding, share=0.0):
        """Whether the bytes decode, an incomplete character ending a value aside
        (a field cut in the middle of a character, which GDAL drops)."""
        text = self.text(encoding)
        bad = text.count("\ufffd") - text.count("\ufffd\n")
        if not share:
            return bad == 0
        return bad <= max(2, share * sum(map(len, _NON_ASCII.findall(text))))

    def chinese(self, encoding):
        """Whether nine in ten of the non-ASCII characters read are Chinese, and
        four in five of them common ones (GB2312: both bytes 0xA1 or more; a
        Western letter read with the ASCII letter after it is a rare GBK one)."""
        text = self.text(encoding).replace("\ufffd", "")
        others = sum(map(len, _NON_ASCII.findall(text)))
        if not others or len(_CJK.findall(text)) < 0.9 * others:
            return False
        rare = text.encode("gb2312", errors="replace").count(b"?") - text.count("?")
        return rare <= 0.2 * others

    def mojibake(self, encoding):
        """Whether a one-byte reading looks like two-byte text read byte by byte:
        every run of non-ASCII letters has an even length (``¼òÌå``)."""
        runs = _NON_ASCII.findall(self.text(encoding))
        return bool(runs) and all(len(r) % 2 == 0 for r in runs)

    def example(self, encoding):
        """The first value that holds a Chinese character, read in ``encoding``."""
        for line in self.text(encoding).split("\n"):
            if _CJK.search(line):
                return line.strip()[:20]
        return ""
