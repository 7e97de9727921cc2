"""Times as people read them: the deployment's zone, with its label."""

import datetime as dt
import doctest

import geo.localtime
from geo import localtime, workdays

SHOWN = "2026-12-07 19:30"


def test_doctests():
    assert doctest.testmod(geo.localtime).failed == 0


def test_one_helper_reads_every_kind_of_time():
    moment = dt.datetime(2026, 12, 7, 11, 30, 5, tzinfo=dt.UTC)
    assert localtime.shown(moment) == f"{SHOWN} 北京时间"
    assert localtime.shown("2026-12-07T19:30:05+08:00", seconds=True) == \
        f"{SHOWN}:05 北京时间"
    assert localtime.shown("2026-12-07T11:30:05Z", with_label=False) == SHOWN
    assert localtime.shown(moment, lang="en") == f"{SHOWN} China time"
    # naive: already China time (as the working-day calendar reads one)
    assert localtime.shown(dt.datetime(2026, 12, 7, 19, 30)) == f"{SHOWN} 北京时间"
    assert localtime.shown(None) == ""


def test_a_day_boundary_is_china_midnight():
    """16:00 UTC is midnight in China: the next day there."""
    assert localtime.local(dt.datetime(2026, 12, 31, 16, 0, tzinfo=dt.UTC)).date() \
        == dt.date(2027, 1, 1)


def test_the_zone_has_one_home():
    assert workdays.CHINA_TZ is localtime.CHINA_TZ
    assert localtime.UTC_OFFSET_MIN == 480
    from geo import tracks
    assert tracks.CHINA_TZ is localtime.CHINA_TZ


def test_no_module_makes_the_zone_again():
    """UTC+8 is built once, in geo/localtime.py: no other module makes a
    ``timezone(timedelta(hours=8))`` of its own."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    found = []
    for package in ("api", "layers", "geo", "importers", "web"):
        for path in (root / package).rglob("*.py"):
            if path.name == "localtime.py" or "vendor" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if (isinstance(node, ast.Call) and getattr(
                        node.func, "attr", getattr(node.func, "id", "")) == "timezone"
                        and "hours=8" in ast.unparse(node).replace(" ", "")):
                    found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert not found, found
