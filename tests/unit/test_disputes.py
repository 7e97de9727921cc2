"""Recurring disputes without a database: names compared as typed, pairs of
parties, a registration's concern checked, and groups folded (a household's
disputes are also its address's: one entry, not two)."""

import pytest

from geo.disputes import normalize_name, pair_keys
from layers import disputes
from layers.errors import Invalid


@pytest.mark.parametrize(("typed", "key"), [
    ("王五", "王五"), (" 王 五 ", "王五"), ("王　五", "王五"),  # a full-width space
    ("ＡＢＣ", "abc"), ("", None), ("  ", None), (None, None),
])
def test_names_compare_as_typed(typed, key):
    assert normalize_name(typed) == key


def test_pairs_are_unordered_and_distinct():
    # three people (王 U+738B < 赵 U+8D75 < 钱 U+94B1): three pairs, each sorted;
    # the same person typed twice is one
    assert pair_keys(["赵六", "王五", "钱七", "王 五"]) == [
        ("王五", "赵六"), ("王五", "钱七"), ("赵六", "钱七")]
    assert pair_keys(["王五", "王 五"]) == []


def test_a_concern_is_checked():
    assert disputes.clean({}) == {"household_id": None, "address": None,
                                  "parties": []}
    got = disputes.clean({"household_id": "12", "address": " 兴业路　181号 ",
                          "parties": "张三、李四，张三\n王五"})
    assert got == {"household_id": 12, "address": "兴业路　181号",
                   "parties": ["张三", "李四", "王五"]}


@pytest.mark.parametrize(("fields", "field"), [
    ({"household_id": -1}, "household_id"), ({"household_id": 1.5}, "household_id"),
    ({"address": ["x"]}, "address"), ({"address": "a\tb"}, "address"),
    ({"parties": 3}, "parties"), ({"parties": [None]}, "parties"),
    ({"parties": ["x" * 51]}, "parties"),
])
def test_a_bad_concern_names_its_field(fields, field):
    with pytest.raises(Invalid) as raised:
        disputes.clean(fields)
    assert raised.value.field == field
    assert raised.value.message.endswith("）")  # 中文（English）


def test_groups_inside_another_are_folded():
    household = {"kind": "household", "key": "h1", "ids": [1, 2, 3], "names": None}
    address = {"kind": "address", "key": "a1", "ids": [1, 2, 3], "names": None}
    wider = {"kind": "address", "key": "a2", "ids": [4, 5, 6, 7], "names": None}
    pair = {"kind": "parties", "key": "p1", "ids": [5, 6, 7], "names": ["甲", "乙"]}
    other = {"kind": "parties", "key": "p2", "ids": [1, 8, 9], "names": ["丙", "丁"]}
    kept = disputes._fold([address, household, wider, pair, other])
    # the same three: the household's; a pair inside a wider address group: the
    # address's; a pair sharing one incident only: its own
    assert [g["key"] for g in kept] == ["h1", "a2", "p2"]
