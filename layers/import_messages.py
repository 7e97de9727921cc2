"""What an import's checks tell the user, Chinese first and English second.

The reasons a row is rejected for (:mod:`layers.import_checks`), and the refusals
and warnings of :mod:`layers.imports` and :mod:`layers.import_targets`, are built
here by :func:`say` from one template pair with named placeholders, in the form
the readers use (:mod:`importers.messages`): ``中文（English）``. The English part
keeps the words of the English-only messages before it, for logs and scripts.
The templates are the ``CHECKS`` section of the one catalogue,
:mod:`geo.catalogue`.

Placeholders: ``field`` is a field's code (``address``) and ``label`` its Chinese
name, the first Chinese synonym of the field tables the column guessing uses
(:func:`layers.import_checks.field_label`: 地址, 户主, 电话 …); vocabulary values
are given as ``中文标签/code`` (:func:`vocab_label`).

>>> say("required", field="address", label="地址")
'地址为必填项（address is required）'
"""

from geo import catalogue
from geo.vocab import BILINGUAL, bilingual

__all__ = ["FORM", "MESSAGES", "LAYER_LABELS", "area_text", "say", "summarise",
           "vocab_label", "choices"]

FORM = BILINGUAL  # geo.vocab: one form for every bilingual message

# the import targets in Chinese
LAYER_LABELS = {"households": "住户", "cameras": "视频点位", "incidents": "事件",
                "staff": "网格员", "tracks": "巡查轨迹", "grids": "网格"}

# key -> (zh, en); placeholders as in str.format
MESSAGES = catalogue.CHECKS  # one catalogue: geo/catalogue.py

# The kinds of rejection an import's summary names, by words their English
# part holds: the readers' (importers/, which layers/ does not import) first,
# then this catalogue's; other rows are counted by their field.
_KINDS = (
    ("look swapped", "kind_look_swapped"),
    ("outside China", "kind_outside_china"),
    ("are not degrees", "kind_are_not_degrees"),
    ("look like degrees", "kind_look_like_degrees"),
    ("cannot be transformed", "kind_cannot_be_transformed"),
    ("far outside the deployment", "kind_far_outside_the_deployment"),
    ("no geometry", "kind_no_geometry"),
    ("not valid", "kind_not_valid"),
    ("not a point", "kind_not_a_point"),
    ("outside your jurisdiction", "kind_outside_your_jurisdiction"),
    ("outside the deployment", "kind_outside_the_deployment"),
    ("not inside any micro-grid", "kind_not_inside_any_micro_grid"),
)


def _kind(entry, label):
    reason = entry.get("reason") or ""
    for words, what in _KINDS:
        if words in reason:
            return catalogue.CATALOGUE[what]
    field = entry.get("field")
    if field is None:
        return catalogue.CATALOGUE["kind_bad_position"]
    return catalogue.pair("kind_bad_field", label=label(field), field=field)


def summarise(rejected, label=lambda field: field):
    """Why an import stores nothing, the commonest reason first, with the
    count: ``873 行全部位于中国境外（all 873 rows lie outside China）：如第 2 行：…``.
    ``label``: a field's Chinese name.

    >>> summarise([{"row": 2, "field": "size", "reason": "x"}], lambda f: "人口")
    '1 行全部人口有误（all rows (1) have a bad size）：如第 2 行：x（e.g. row 2: x）'
    """
    if not rejected:
        return say("nothing_read")
    counts = {}
    for entry in rejected:
        what = _kind(entry, label)
        counts[what] = counts.get(what, 0) + 1
    n = f"{len(rejected):,}"
    all_rows = "all rows (1)" if len(rejected) == 1 else f"all {n} rows"
    first = rejected[0]
    example = say("first_rejected", row=first["row"], reason=first["reason"])
    if len(counts) == 1:
        (zh, en), = counts
        return say("all_rejected_one", detail=example, n=n, what_zh=zh,
                   what=en, all_rows=all_rows)
    top = sorted(counts.items(), key=lambda kv: -kv[1])[:4]
    return say("all_rejected_mixed", detail=example, n=n, all_rows=all_rows,
               parts_zh="，".join(f"{k:,} 行{zh}" for (zh, _), k in top),
               parts="; ".join(f"{k:,} {en}" for (_, en), k in top))


def say(key, /, detail=None, **values):
    """The message ``key`` with ``values`` filled in, as ``中文（English）``;
    ``detail`` (already in both languages, e.g. the hierarchy check's problems)
    follows after a colon."""
    zh, en = MESSAGES[key]
    text = bilingual(zh.format_map(values), en.format_map(values))
    return text if detail is None else f"{text}：{detail}"


def area_text(m2):
    """An area for a sentence: 1,200 m², 12.5 m², 0.0031 m²."""
    if m2 >= 100:
        return f"{m2:,.0f} m²"
    if m2 >= 1:
        return f"{m2:.1f} m²"
    return f"{m2:.2g} m²"


def vocab_label(table, code):
    """``枪机/fixed``: a vocabulary value as its Chinese label with its code."""
    return f"{table[code][0]}/{code}"


def choices(table, codes=True):
    """Every value of a vocabulary, ``在线/online、离线/offline …`` (labels only
    without ``codes``)."""
    return "、".join(vocab_label(table, k) if codes else v[0]
                    for k, v in table.items())
