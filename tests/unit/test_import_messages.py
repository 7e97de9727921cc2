"""The catalogues of import messages: Chinese first, English second, one form."""

import re
import string

import pytest

from geo import vocab
from importers import messages as reader_messages
from layers import import_messages
from layers.import_checks import field_label

CATALOGUES = {"importers": reader_messages, "layers": import_messages}
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_both_catalogues_use_one_form():
    assert reader_messages.FORM == import_messages.FORM == "{zh}（{en}）"


def _names(template):
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


@pytest.mark.parametrize("catalogue", CATALOGUES)
def test_every_message_reads_in_chinese_then_english(catalogue):
    module = CATALOGUES[catalogue]
    for key, (zh, en) in module.MESSAGES.items():
        assert CJK.search(zh), key  # a Chinese sentence, not a copy of the English
        assert not CJK.search(re.sub(r"\{[^}]*\}", "", en).replace("所属网格", "")
                              .replace("经度/纬度", "").replace("地址", "")
                              .replace("人口", "")), key
        values = {name: "V" for name in _names(zh) | _names(en)}
        text = module.say(key, **values)
        assert text == f"{zh.format_map(values)}（{en.format_map(values)}）", key


def test_typical_messages_by_hand():
    say = import_messages.say
    assert say("required", field="address", label="地址") == (
        "地址为必填项（address is required）")
    assert say("grids_fail_check", detail="网格 1 与 2 重叠。") == (
        "网格层级检查未通过，未导入任何网格（the grids fail the hierarchy check, "
        "nothing was imported）：网格 1 与 2 重叠。")
    assert reader_messages.say("file_empty") == "文件是空的（the file is empty）"
    assert reader_messages.invalid_reason("Self-intersection[119.1 31.2]") == (
        "自相交，位于 119.1 31.2")


@pytest.mark.parametrize("layer, field, label", [
    ("households", "address", "地址"), ("households", "head_name", "户主"),
    ("households", "phone", "电话"), ("households", "size", "人口"),
    ("cameras", "kind", "类型"), ("cameras", "range_m", "可视距离"),
    ("staff", "role", "角色"), ("grids", "code", "编码"),
    ("tracks", "time", "时间"), ("households", "geometry", "位置"),
])
def test_field_labels_are_the_first_chinese_column_name(layer, field, label):
    assert field_label(layer, field) == label


def test_vocabulary_values_are_labels_with_codes():
    assert import_messages.vocab_label(vocab.CAMERA_KINDS, "fixed") == "枪机/fixed"
    assert import_messages.choices(vocab.CAMERA_STATUSES) == (
        "在线/online、离线/offline、故障/fault")
