"""Strings the user reads: Chinese first, English second, from one table."""

from geo import vocab

__all__ = ["STRINGS", "t", "both", "level_name"]

STRINGS = {
    "app_title": ("综治网格地图", "Grid governance map"),
    "households": ("住户", "Households"),
    "cameras": ("视频监控", "Cameras"),
    "grid_chain": ("网格归属", "Grid chain"),
    "staff": ("网格力量", "Grid staff"),
    "cameras_seeing": ("可视摄像头", "Cameras seeing this spot"),
    "outside": ("此处不在任何网格内", "This spot lies outside every grid"),
    "loading": ("查询中…", "Looking up…"),
    "failed": ("查询失败", "Lookup failed"),
    "none": ("无", "none"),
    "name": ("名称", "Name"),
    "code": ("编码", "Code"),
    "household_count": ("户数", "Households"),
    "metres": ("米", "m"),
}


def t(key, lang="zh"):
    """One string in ``lang`` ("zh" or "en")."""
    zh, en = STRINGS[key]
    return zh if lang == "zh" else en


def both(key):
    """Chinese and English together, for labels that must read in either."""
    zh, en = STRINGS[key]
    return f"{zh} {en}"


def level_name(level):
    """The bilingual name of a grid level, e.g. '四级网格（微网格） Level 4 …'."""
    zh, en = vocab.GRID_LEVELS[level]
    return f"{zh} {en}"
