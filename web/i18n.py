"""Strings the user reads, for the pages: the lookups over the one catalogue,
:mod:`geo.catalogue` (``STRINGS`` is its common and pages sections)."""

from geo import catalogue, vocab
from layers.access import ROLE_PERMISSIONS

__all__ = ["STRINGS", "page_strings", "t", "both", "ordinal", "level_name",
           "role_label", "code_label"]

STRINGS = {**catalogue.COMMON, **catalogue.PAGES}  # one catalogue: geo/catalogue.py


def page_strings(*prefixes):
    """The slice a page hands its scripts (``gg.strings``): the common words
    (:data:`geo.catalogue.COMMON`) and the page's own keys, those starting with
    one of ``prefixes`` ("plan_", "m_" …)."""
    own = {k: v for k, v in catalogue.PAGES.items() if k.startswith(prefixes)}
    return {**catalogue.COMMON, **own}


def t(key, lang="zh"):
    """One string in ``lang`` ("zh" or "en")."""
    return catalogue.text(key, lang)


def both(key):
    """Chinese and English together, for labels that must read in either."""
    return catalogue.both(key)


def ordinal(n):
    """The English ordinal of a day of the month: 1st, 2nd, 3rd, 4th, 11th, 21st."""
    if 11 <= n % 100 <= 13:
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def level_name(level):
    """The bilingual name of a grid level, e.g. '四级网格（微网格） Level 4 …'."""
    zh, en = vocab.GRID_LEVELS[level]
    return f"{zh} {en}"


def role_label(role):
    """The Chinese name of a user role, e.g. '网格规划员'."""
    return ROLE_PERMISSIONS[role][0]


def code_label(prefix, code):
    """A stored code as the user reads it, ``中文 code`` from the catalogue entry
    ``prefix + code`` (the audit log's actions and tables); an unknown code as
    it is."""
    key = f"{prefix}{code}"
    return both(key) if key in catalogue.CATALOGUE else code
