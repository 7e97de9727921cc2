"""What an import's checks tell the user, Chinese first and English second.

The reasons a row is rejected for (:mod:`layers.import_checks`), and the refusals
and warnings of :mod:`layers.imports` and :mod:`layers.import_targets`, are built
here by :func:`say` from one template pair with named placeholders, in the form
the readers use (:mod:`importers.messages`): ``中文（English）``. The English part
keeps the words of the English-only messages before it, for logs and scripts.

Placeholders: ``field`` is a field's code (``address``) and ``label`` its Chinese
name, the first Chinese synonym of the field tables the column guessing uses
(:func:`layers.import_checks.field_label`: 地址, 户主, 电话 …); vocabulary values
are given as ``中文标签/code`` (:func:`vocab_label`).

>>> say("required", field="address", label="地址")
'地址为必填项（address is required）'
"""

from geo.vocab import BILINGUAL, bilingual

__all__ = ["FORM", "MESSAGES", "LAYER_LABELS", "area_text", "say", "summarise",
           "vocab_label", "choices"]

FORM = BILINGUAL  # geo.vocab: one form for every bilingual message

# the import targets in Chinese
LAYER_LABELS = {"households": "住户", "cameras": "视频点位", "incidents": "事件",
                "staff": "网格员", "tracks": "巡查轨迹", "grids": "网格"}

# key -> (zh, en); placeholders as in str.format
MESSAGES = {
    # one field of a row
    "required": ("{label}为必填项", "{field} is required"),
    "too_long": ("{label}超过 {limit} 个字符",
                 "{field} is longer than {limit} characters"),
    "not_phone": ("“{value}”不是有效的电话号码", "'{value}' is not a phone number"),
    "not_id_number": ("“{value}”不是有效的身份证号",
                      "'{value}' is not a Chinese ID number"),
    "not_whole": ("{label}应为整数，实为“{value}”",
                  "{field} must be a whole number, got '{value}'"),
    "not_number": ("{label}应为数字，实为“{value}”",
                   "{field} must be a number, got '{value}'"),
    "out_of_range": ("{label}应在 {span} 范围内，实为“{value}”",
                     "{field} must be in {span}, got '{value}'"),
    "not_in_vocabulary": ("{label}“{value}”不是可选值，可选：{choices}",
                          "{field} '{value}' is not one of {choices}"),
    "bad_tag": ("标签“{value}”不是可选值，可选：{choices}",
                "tag '{value}' is not one of {choices}"),
    "not_time": ("{label}“{value}”不是有效的日期时间",
                 "{field} '{value}' is not a date and time"),
    # rules across fields or rows
    "needs_bearing": ("{kinds}须填写朝向，0–360°",
                      "a fixed camera or checkpoint needs a bearing (0–360°)"),
    "bad_subtype": ("小类“{value}”不属于{category}的小类",
                    "subtype '{value}' is not one of the category's subtypes"),
    "repeats": ("{label}“{value}”与前面的行重复",
                "{field} '{value}' repeats an earlier row"),
    "not_grid_code": ("编码“{value}”不是网格编码：应为 9、12、15 或 18 位数字，"
                      "分别对应镇、村社区、综合网格、微网格",
                      "code '{value}' is not a grid code: 9, 12, 15 or 18 digits "
                      "(town, village, comprehensive grid, micro-grid)"),
    "level_mismatch": ("层级 {value} 与编码长度不符：9/12/15/18 位对应 1/2/3/4 级",
                       "level {value} does not match the code's length (9/12/15/18 "
                       "digits: level 1/2/3/4)"),
    # places and the jurisdiction
    "outside_jurisdiction": ("不在您的管辖范围 {where_zh} 内",
                             "outside your jurisdiction {where}"),
    "outside_deployment": ("不在本系统辖区内", "outside the deployment"),
    "lies_away": ("位于其以{dir_zh}约 {km} km，超出 {margin} km 的容差",
                  "it lies about {km} km {dir} of it, beyond the {margin} km "
                  "margin"),
    "outside_area_all": ("全部 {n} 个点位于辖区以{dir_zh}约 {km} km："
                         "文件或坐标系有误？",
                         "all {n} points lie about {km} km {dir} of {where}: a "
                         "wrong file or CRS?"),
    "no_deployment": ("本系统尚无一级网格：请先由系统管理员导入一级网格，建立辖区",
                      "the deployment has no level-1 grid yet: an administrator "
                      "imports the level-1 grids first"),
    "deployment_admin_only": ("本系统尚无一级网格：只有系统管理员可以导入一级网格，"
                              "建立辖区",
                              "the deployment has no level-1 grid yet: only an "
                              "administrator may import the grids that create it"),
    "new_area_far": ("一级网格 {code} 位于现有辖区以{dir_zh}约 {km} km：如确为新辖区，"
                     "请勾选“新辖区”（--new-area）",
                     "level-1 grid {code} lies about {km} km {dir} of the existing "
                     "deployment: confirm a new area with new_area (--new-area)"),
    "not_point": ("该行是 {kind}，不是点：{layer_zh}只导入点",
                  "the row is a {kind}, not a point: {layer} takes points only"),
    "no_micro_grid": ("不在 {where_zh} 的任何微网格内",
                      "not inside any micro-grid of {where}"),
    "no_micro_grid_no_grid": ("不在 {where_zh} 的任何微网格内，且未填写所属网格",
                              "not inside any micro-grid of {where}, and no grid "
                              "(所属网格) is given"),
    "grid_name_ambiguous": ("网格名称“{value}”在 {where_zh} 内不唯一：请填写其编码，"
                            "如 {codes}",
                            "grid name '{value}' is not unique in {where}: give its "
                            "code ({codes})"),
    "grid_outside": ("网格 {value} 不在您的管辖范围 {where_zh} 内",
                     "grid {value} is outside your jurisdiction {where}"),
    "no_such_grid": ("没有编码或名称为“{value}”的网格",
                     "no grid with code or name '{value}'"),
    "address_repeats": ("地址“{value}”与前面未填编号的行在同一微网格内重复",
                        "address '{value}' repeats an earlier row without an id "
                        "in the same micro-grid"),
    "address_match_flag": ("已有同址住户", "a household at this address exists"),
    "address_match_add": ("{n} 行的编号是新的，但所在微网格内已有同址住户：已作为新住户"
                          "添加；如为同一户，请选择“更新同址住户”"
                          "（on_address_match=update）",
                          "{n} row(s) with a new id at an address a household of "
                          "the micro-grid has already: added as new households "
                          "(on_address_match=update updates them instead)"),
    "address_match_update": ("{n} 行的编号是新的，但所在微网格内已有同址住户：已更新"
                             "该住户",
                             "{n} row(s) with a new id at an address a household "
                             "of the micro-grid has already: that household was "
                             "updated"),
    "address_match_skip": ("{n} 行的编号是新的，但所在微网格内已有同址住户：已跳过",
                           "{n} row(s) with a new id at an address a household of "
                           "the micro-grid has already: skipped"),
    "address_match_skipped": ("已有同址住户（{id}），按设置跳过",
                              "a household at '{address}' exists already ({id}): "
                              "skipped"),
    "key_outside": ("{label} {value} 属于您管辖范围以外的记录",
                    "{field} {value} belongs to a record outside your jurisdiction"),
    "jurisdiction_not_grid": ("您的管辖范围 {code} 不是一个网格",
                              "your jurisdiction {code} is not a grid"),
    "grid_not_below": ("网格 {code} 不在您的管辖范围 {root} 之下",
                       "grid {code} is not below your jurisdiction {root}"),
    "grid_orphan": ("网格 {code}：其上级网格 {parent} 既未入库，也不在文件中",
                    "grid {code}: its parent {parent} is neither stored nor in the "
                    "file"),
    "grid_not_polygon": ("网格须为面 Polygon 或 MultiPolygon，实为 {kind}",
                         "a grid needs a Polygon or MultiPolygon, got {kind}"),
    "overlap_pair": ("网格 {a} 与 {b} 重叠 {area}（{n} 处）",
                     "grids {a} and {b} overlap by {area} ({n} parts)"),
    "grids_fail_check": ("网格层级检查未通过，未导入任何网格",
                         "the grids fail the hierarchy check, nothing was imported"),
    # incidents: the registered record and the incident loop
    "incident_record_fixed": ("事件 {code} 已登记，导入不能修改其{labels}；"
                              "请在调度台办理",
                              "incident {code} is registered already: an import "
                              "cannot change its {fields}"),
    "incident_status_back": ("事件 {code} 不能从 {old_zh} 改为 {new_zh}：导入只能"
                             "分流、接收事件，提级、重新办理请在调度台办理",
                             "Incident {code} cannot go from {old} back to {new}: "
                             "an import may only triage and accept; escalate or "
                             "reopen at the dispatch desk"),
    "incident_step_failed": ("事件 {code} 无法{action_zh}", "incident {code}: "
                             "{action} failed"),
    "incident_import_note": ("导入 {file}", "imported from {file}"),
    # patrol tracks
    "track_no_position": ("没有位置", "no position"),
    "track_no_time": ("没有时间", "no time"),
    "track_duplicate_time": ("时间重复", "duplicate time"),
    "track_jump": ("GPS 跳点：{seconds} 秒内移动 {km} 公里",
                   "GPS jump: {km} km in {seconds} s"),
    "track_jump_first": ("GPS 跳点：离轨迹过远、过快",
                         "GPS jump: too fast from the track"),
    "track_not_points": ("{n} 个航点或路线点未计入：只有轨迹点构成巡查轨迹",
                         "{n} waypoint(s) or route point(s) left out: only track "
                         "points make a patrol"),
    "track_needs_staff": ("巡查轨迹需指定网格员：staff=<编号>，实为 {raw!r}",
                          "a track import needs the grid worker: staff=<id>, got "
                          "{raw!r}"),
    # the import as a whole
    "unknown_layer": ("无法导入到 {layer!r}：可选 {choices}",
                      "cannot import into {layer!r}: choose one of {choices}"),
    "not_allowed": ("您的角色 {role} 无权导入{layer_zh}，需要 {permission} 权限",
                    "your role ({role}) may not import {layer} ({permission})"),
    "no_key_column": ("没有{label}列：列名应为 {field} 或 {names}，或用 {field}=<列名> "
                      "指定",
                      "no column for {field} (named {field} or {names}); map one "
                      "with {field}=<column>"),
    "bad_address_match": ("on_address_match 须为 {choices} 之一，实为 {value!r}",
                          "on_address_match must be one of {choices}, got "
                          "{value!r}"),
    "imported_before": ("{file} 已于 {when} 由 {user} 导入到{layer_zh}，导入编号 "
                        "#{id}；如需再次导入，请选择强制导入",
                        "{file} was imported into {layer} already: import #{id} on "
                        "{when_en} by {user}; use force to import it again"),
    "no_import": ("没有编号为 {id} 的导入", "no import {id}"),
    # an import that would store nothing: why, first (summarise)
    "all_rejected_one": ("{n} 行全部{what_zh}", "{all_rows} {what}"),
    "all_rejected_mixed": ("{n} 行全部被拒绝：{parts_zh}",
                           "{all_rows} were rejected: {parts}"),
    "first_rejected": ("如第 {row} 行：{reason}", "e.g. row {row}: {reason}"),
    "nothing_read": ("文件中没有可导入的行", "the file holds no row to import"),
}

# The kinds of rejection an import's summary names, by words their English
# part holds: the readers' (importers/, which layers/ does not import) first,
# then this catalogue's; other rows are counted by their field.
_KINDS = (
    ("look swapped", ("经纬度似乎互换", "have latitude and longitude swapped")),
    ("outside China", ("位于中国境外", "lie outside China")),
    ("are not degrees", ("不是经纬度", "are not degrees")),
    ("look like degrees", ("看起来是经纬度而非米", "look like degrees, not metres")),
    ("cannot be transformed", ("无法转换坐标", "cannot be transformed")),
    ("far outside the deployment", ("远在本系统范围之外",
                                    "lie far outside the deployment")),
    ("no geometry", ("没有几何图形", "have no geometry")),
    ("not valid", ("几何图形无效", "have an invalid geometry")),
    ("not a point", ("不是点", "are not points")),
    ("outside your jurisdiction", ("不在您的管辖范围内",
                                   "lie outside your jurisdiction")),
    ("outside the deployment", ("不在本系统辖区内", "lie outside the deployment")),
    ("not inside any micro-grid", ("不在任何微网格内",
                                   "lie in no micro-grid")),
)


def _kind(entry, label):
    reason = entry.get("reason") or ""
    for words, what in _KINDS:
        if words in reason:
            return what
    field = entry.get("field")
    if field is None:
        return ("位置有误", "have a bad position")
    return (f"{label(field)}有误", f"have a bad {field}")


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
