"""Plausible Chinese names, phone numbers and place names, drawn in bulk.

Every function takes a numpy Generator and returns arrays (object dtype, Python
str), built with vectorised string operations rather than a loop per row.
"""

import numpy as np

__all__ = [
    "numerals",
    "person_names",
    "phones",
    "place_names",
    "town_names",
    "village_names",
    "road_names",
]

# Common surnames, the most frequent first, with rough relative weights (the top
# ten cover about half of the population).
_SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董"
    "袁潘蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦方邹孟熊秦"
    "邱江尹薛段雷侯史陶贺顾毛郝龚邵钱严戴孔汤储虞"
)
_SURNAME_WEIGHT = 1.0 / np.arange(1, len(_SURNAMES) + 1) ** 0.8

_GIVEN = list(
    dict.fromkeys(
        "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文辉玲红玉兰萍斌鹏"
        "宇浩凯峰亮海林波健俊云飞琴雪梅燕慧婷丹欣晨阳晓志春荣德福金宝成龙振永祥"
        "根生忠新兴庆卫东佳怡子涵雨萱梓轩然"
    )
)

_PHONE_PREFIXES = np.array(
    [
        130,
        131,
        132,
        133,
        135,
        136,
        137,
        138,
        139,
        150,
        151,
        152,
        153,
        155,
        156,
        157,
        158,
        159,
        176,
        177,
        178,
        180,
        181,
        182,
        183,
        185,
        186,
        187,
        188,
        189,
        198,
        199,
    ],
    dtype=np.int64,
)

# Village names are two characters + 村: a "where" character and a "what" one,
# the way names in the Jiangnan water towns read (东林, 杨湾, 石桥, 前庄 ...).
_PLACE_FIRST = list(
    "东西南北上下前后大小新金石竹松柏桃杨柳梅荷兰清青白黄红云山河湖塘溪"
    "洋湾芳丰福和安永兴华龙凤长高"
)
_PLACE_SECOND = list("林庄湾塘桥港岗岭坝墩浜圩溪泾渎河园坞冲埠浦头庙")
_PLACE_FIRST = [c for c in _PLACE_FIRST if c not in _PLACE_SECOND]  # no 湾湾村

_ROAD_STEMS = [
    "兴业",
    "人民",
    "解放",
    "建设",
    "振兴",
    "环城",
    "朝阳",
    "和平",
    "团结",
    "富民",
    "迎宾",
    "长江",
    "太湖",
    "阳羡",
    "宜丰",
    "新华",
    "文化",
    "工业",
    "科技",
    "幸福",
    "南山",
    "东溪",
    "西港",
    "青龙",
    "紫金",
    "云湖",
    "荆溪",
    "丁山",
    "陶都",
    "茶园",
]
_ROAD_KINDS = ["路", "大道", "街", "线"]


def _pick(pool, n, rng, p=None):
    pool = np.asarray(pool, dtype=object)
    if p is not None:
        p = np.asarray(p, dtype=float) / np.sum(p)
    return pool[rng.choice(len(pool), size=n, p=p)]


def numerals(values, width=0):
    """Integers as an object array of str, zero-padded to ``width``, ready to join."""
    text = np.asarray(values).astype(str)
    return (np.char.zfill(text, width) if width else text).astype(object)


def person_names(n, rng):
    """``n`` personal names: a surname and one or two given characters."""
    surname = _pick(_SURNAMES, n, rng, _SURNAME_WEIGHT)
    first, second = _pick(_GIVEN, n, rng), _pick(_GIVEN, n, rng)
    second[rng.random(n) < 0.35] = ""  # about a third have a one-character name
    return surname + first + second


def phones(n, rng):
    """``n`` eleven-digit mainland mobile numbers (1[3-9]x xxxx xxxx)."""
    number = _PHONE_PREFIXES[rng.integers(0, len(_PHONE_PREFIXES), n)] * 10**8
    number += rng.integers(0, 10**8, n)
    return number.astype(str).astype(object)


def place_names(n, rng, suffix, first=_PLACE_FIRST, second=_PLACE_SECOND):
    """``n`` distinct two-character place names followed by ``suffix``."""
    first, second = np.asarray(first), np.asarray(second)
    if n > len(first) * len(second):
        raise ValueError(f"cannot draw {n} distinct place names")
    combo = rng.choice(len(first) * len(second), size=n, replace=False)
    both = first[combo // len(second)].astype(object) + second[combo % len(second)]
    return both + suffix


def village_names(n, rng):
    """``n`` distinct village names such as 东林村."""
    return place_names(n, rng, "村")


def town_names(codes, rng):
    """A town name per code; the demo town 320282105 is always 云溪镇."""
    codes = np.asarray(codes, dtype=object)
    # no 溪 among the second characters: 云溪镇 cannot be drawn twice
    first, second = list("云金丰和新太西东宝青"), list("山阳泉湖港桥川洲岗塘")
    names = place_names(len(codes), rng, "镇", first=first, second=second)
    names[codes == "320282105"] = "云溪镇"
    return names


def road_names(n, rng):
    """``n`` distinct road names such as 兴业路 or 太湖大道."""
    stem = np.asarray(_ROAD_STEMS, dtype=object)
    kind = np.asarray(_ROAD_KINDS, dtype=object)
    if n > len(stem) * len(kind):
        raise ValueError(f"cannot draw {n} distinct road names")
    # every stem with 路 first (the common case), then with 大道, 街, 线
    order = np.concatenate([rng.permutation(len(stem)) for _ in kind])[:n]
    return stem[order] + kind[np.arange(n) // len(stem)]
