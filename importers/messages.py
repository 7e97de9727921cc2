"""What the readers tell the user, Chinese first and English second.

Field workers at a township centre read Chinese; logs, scripts and older tests
read the English words. Every message a reader gives (a refused file, a rejected
row, a warning, a note on the CRS) is built here by :func:`say` from one
template pair with named placeholders, in one form: ``中文（English）``. The
English part keeps the words the readers used before the Chinese was added.
Technical details of a third-party error (a parser's own words) go in the English
part only.

The templates are the ``READERS`` section of the one catalogue,
:mod:`geo.catalogue` (the checks of :mod:`layers.import_checks` use its
``CHECKS`` section through :mod:`layers.import_messages`); this module keeps
:func:`say` and the helpers its callers use.

>>> say("file_empty")
'文件是空的（the file is empty）'
"""

from geo import catalogue
from geo.vocab import BILINGUAL, bilingual

__all__ = ["FORM", "MESSAGES", "say", "thing", "place", "invalid_reason", "rows_en"]

FORM = BILINGUAL  # geo.vocab: one form for every bilingual message

# what a file or archive is called in messages, English → Chinese
_THINGS = {"XML file": "XML 文件", "GPX file": "GPX 文件", "KML file": "KML 文件",
           "KMZ file": "KMZ 文件", "zip archive": "zip 压缩包",
           "gzip file": "gzip 文件",
           "zipped shapefile": "shapefile 压缩包", "workbook": "工作簿",
           "the file": "文件", "the GeoJSON crs member": "GeoJSON 的 crs 成员",
           "the .prj": ".prj 文件", "shapefile": "shapefile", "gpkg": "GeoPackage"}

# key -> (zh, en); placeholders as in str.format
MESSAGES = catalogue.READERS  # one catalogue: geo/catalogue.py

# the reasons shapely gives for an invalid geometry (GEOS' words), in Chinese
_INVALID = {"Self-intersection": "自相交", "Ring Self-intersection": "环自相交",
            "Too few points": "点数过少", "Hole lies outside shell": "内环在外环之外",
            "Nested holes": "内环嵌套", "Interior is disconnected": "内部不连通",
            "Nested shells": "外环嵌套", "Duplicate Rings": "环重复",
            "Invalid Coordinate": "坐标无效", "Ring is not closed": "环未闭合"}


def say(key, /, **values):
    """The message ``key`` with ``values`` filled in, as ``中文（English）``."""
    zh, en = MESSAGES[key]
    return bilingual(zh.format_map(values), en.format_map(values))


def thing(what):
    """The Chinese name of a file or archive named in English messages."""
    return _THINGS.get(what, what)


def place(where):
    """``(English, Chinese)`` of what holds a CRS: a pair as given, or an English
    name known to :func:`thing`."""
    return tuple(where) if isinstance(where, tuple) else (where, thing(where))


def invalid_reason(reason):
    """shapely's ``Self-intersection[119.1 31.2]`` → ``自相交，位于 119.1 31.2``."""
    words, _, at = reason.partition("[")
    zh = _INVALID.get(words.strip(), words.strip())
    return f"{zh}，位于 {at.rstrip(']')}" if at else zh


def rows_en(n, verb="look"):
    """``1 row looks`` / ``3 rows look`` (``had`` stays ``had``)."""
    n = int(n)
    return f"{n} row {verb}s" if n == 1 and verb == "look" else (
        f"{n} row{'' if n == 1 else 's'} {verb}")
