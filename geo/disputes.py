"""Recurring disputes (矛盾纠纷排查, 重点关注): which incidents count, how parties'
names compare, and the default rule.

Which incidents count as disputes: the 矛盾纠纷 category of ``geo.vocab``
(``INCIDENT_CATEGORIES["dispute"]``) with every one of its subtypes (邻里纠纷,
婚姻家庭, 土地山林, 劳资纠纷, 物业纠纷, 征地拆迁, 其他纠纷). 治安's 打架斗殴 is not
one: a fight is a police matter, even where a dispute lies behind it (the desk
registers that dispute as well, and then it counts).

The same household, the same address (:func:`geo.address.normalize_address`) or
the same pair of parties with ``count`` disputes or more within ``days`` days
(3 in 90 by default) is listed as 重点关注. "Within 90 days" of a moment ``t``:
received at ``t - 90 days`` or later (an incident exactly 90 × 24 h old still
counts, one a second older does not).

Names are compared as people type them: Unicode NFKC (full-width letters
become half-width), every whitespace removed, letters in lower case; nothing
else (no pinyin, no traditional → simplified: a wrong merge of two people is
worse than a missed one, as for addresses).

>>> normalize_name(" 张　三 ")
'张三'
>>> pair_keys(["李四", "张三", "张三 "])
[('张三', '李四')]
>>> pair_keys(["王五"])
[]
"""

import itertools
import re
import unicodedata

__all__ = ["DISPUTE_CATEGORIES", "DEFAULT_RULE", "MAX_PARTIES", "MAX_NAME",
           "normalize_name", "pair_keys"]

DISPUTE_CATEGORIES = ("dispute",)
DEFAULT_RULE = {"count": 3, "days": 90}
MAX_PARTIES = 20
MAX_NAME = 50

_SPACE = re.compile(r"\s+")


def normalize_name(name):
    """The compared form of a party's name (None for a blank one)."""
    if name is None:
        return None
    text = _SPACE.sub("", unicodedata.normalize("NFKC", str(name))).lower()
    return text or None


def pair_keys(names):
    """Every unordered pair of distinct (normalised) names, sorted, each pair
    sorted: the keys "the same pair of parties" is grouped by."""
    keys = sorted({k for k in map(normalize_name, names) if k})
    return list(itertools.combinations(keys, 2))
