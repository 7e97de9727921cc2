"""Checking imported rows, vectorised: what each target's columns are and the
rules their values must follow.

:func:`check` takes an ``importers.Result`` and the column mapping
(:func:`guess_columns`) and returns the values per field, converted (vocabulary
codes or their Chinese labels → codes, numbers, times in China's zone, tag
tuples), with the first reason each bad row was rejected for, in a
:class:`Checked`. Pure pandas/numpy: no SQL (the jurisdiction and the grids are
:mod:`layers.imports`' part).
"""

import re

import numpy as np
import pandas as pd

from geo import vocab
from geo.catalogue import CATALOGUE
from layers.import_messages import choices, say, vocab_label

__all__ = ["CODE_LEVELS", "LAYERS", "ROLE_LEVELS", "RULES", "Checked", "check",
           "field_label", "guess_columns", "NOTICE_CHOICES"]

# field -> (kind, required, synonyms). Kinds: text, int, float, vocab, tags, time.
# A household's id is optional: a row without one is keyed by its normalised
# address within its micro-grid (layers.import_targets.write_households).
_HOUSEHOLDS = {
    "external_id": ("text", False, ("编号", "户编号", "户号", "外部编号", "id")),
    "address": ("text", True, ("地址", "住址", "门牌地址", "门牌")),
    "head_name": ("text", False, ("户主", "户主姓名", "姓名", "name", "head")),
    "phone": ("phone", False, ("电话", "手机", "手机号", "联系电话", "tel", "mobile")),
    "id_number": ("id_number", False, ("身份证号", "身份证", "身份证号码", "证件号码")),
    "size": ("int", False, ("人口", "人数", "户人口", "家庭人口", "population")),
    "tags": ("tags", False, ("标签", "人员类别", "重点人群")),
}
_CAMERAS = {
    "code": ("text", True, ("编号", "编码", "设备编号", "设备编码")),
    "name": ("text", True, ("名称", "设备名称", "点位名称", "点位")),
    "kind": ("vocab", True, ("类型", "种类", "设备类型", "type")),
    "bearing": ("float", False, ("朝向", "方向角", "方位角", "方向")),
    "fov_deg": ("float", True, ("视场角", "视角", "fov")),
    "range_m": ("float", True, ("可视距离", "距离", "范围", "range")),
    "owner": ("vocab", True, ("归属", "权属", "所属")),
    "status": ("vocab", False, ("状态",)),
}
_INCIDENTS = {
    "code": ("text", True, ("编号", "事件编号")),
    "category": ("vocab", True, ("类别", "事件类别", "大类")),
    "subtype": ("subtype", False, ("小类", "子类", "事件小类")),
    "source": ("vocab", True, ("来源", "事件来源")),
    "reporter": ("text", False, ("上报人", "报告人")),
    "description": ("text", False, ("描述", "事件描述", "内容")),
    "created_at": ("time", False, ("时间", "上报时间", "发生时间", "time")),
    "status": ("vocab", False, ("状态",)),
    # whom and where it concerns (layers/disputes.py; no columns of incidents:
    # layers.import_kinds.Incidents stores them beside a new incident)
    "household_id": ("int", False, ("住户编号", "涉及住户")),
    "address": ("text", False, ("涉及地址", "纠纷地址")),
    "parties": ("text", False, ("当事人", "当事人姓名")),
}
# grid_staff: ``grid`` is the grid given in the file (a code or a unique name); the
# stored grid_code is that one, else the one the position and the role give
# (layers.imports._staff_grids).
_STAFF = {
    "external_id": ("text", True, ("编号", "人员编号", "工号", "外部编号", "id")),
    "name": ("text", True, ("姓名", "名字", "人员")),
    "role": ("vocab", True, ("角色", "岗位", "职务", "类别")),
    "phone": ("phone", False, ("电话", "手机", "手机号", "联系电话", "tel", "mobile")),
    "grid": ("text", False, ("所属网格", "网格", "网格编码", "grid_code")),
    # 公示电话 (the number a notice prints: layers/notices.py): work (the default),
    # other (公示号码) or none; a number written here is "other" with it
    "notice_phone_choice": ("notice_choice", False, (
        "公示电话", "公示方式", "公示电话选择", "公示电话方式", "notice phone",
        "public phone", "phone on notice")),
    "notice_phone": ("phone", False, ("公示号码", "其他号码", "公示电话号码",
                                      "notice number", "other number",
                                      "public number")),
}
# its choices (layers.notices.PHONE_CHOICES, migration 0027's CHECK), named as
# the /plan page names them
NOTICE_CHOICES = {c: CATALOGUE[f"notice_phone_{c}"] for c in ("work", "other",
                                                               "none")}
# patrol tracks: timestamped points (a GPX's track points carry their time)
_TRACKS = {
    "time": ("time", True, ("时间", "定位时间", "采集时间", "timestamp", "datetime")),
}
# grid polygons; the level follows from the code's length when not given
_GRIDS = {
    "code": ("text", True, ("编码", "网格编码", "编号", "代码")),
    "name": ("text", True, ("名称", "网格名称", "网格名")),
    "level": ("int", False, ("层级", "级别", "等级")),
}
# layer -> (key column or None, fields)
LAYERS = {"households": ("external_id", _HOUSEHOLDS),
          "cameras": ("code", _CAMERAS),
          "incidents": ("code", _INCIDENTS),
          "staff": ("external_id", _STAFF),
          "tracks": (None, _TRACKS),
          "grids": ("code", _GRIDS)}
# the levels' code lengths (GB/T 31000: 9-digit town, 12-digit village, then 3
# digits a level), and the level a role's staff belong to (the demo's: a chief per
# village, a full-time worker per comprehensive grid, liaisons and volunteers per
# micro-grid; part-time workers share the full-time ones' grids)
CODE_LEVELS = {9: 1, 12: 2, 15: 3, 18: 4}
ROLE_LEVELS = {"grid_chief": 2, "full_time": 3, "part_time": 3, "liaison": 4,
               "volunteer": 4}

# Imported incidents are open ones: a closed one needs its closing (closed_at).
_OPEN = {k: v for k, v in vocab.INCIDENT_STATUSES.items()
         if k in ("registered", "dispatched", "handling")}
_VOCABS = {("cameras", "kind"): vocab.CAMERA_KINDS,
           ("cameras", "owner"): vocab.CAMERA_OWNERS,
           ("cameras", "status"): vocab.CAMERA_STATUSES,
           ("incidents", "category"): vocab.INCIDENT_CATEGORIES,
           ("incidents", "source"): vocab.INCIDENT_SOURCES,
           ("incidents", "status"): _OPEN,
           ("staff", "role"): vocab.STAFF_ROLES,
           ("staff", "notice_phone_choice"): NOTICE_CHOICES}
# (An incident's status has no default: a blank one leaves a stored incident's
# as it is, and a new incident is registered: layers.import_targets.)
_DEFAULTS = {("cameras", "status"): "online"}
# (low, high, low inclusive, high inclusive), the schema's CHECKs
_RANGES = {"size": (1, 50, True, True), "bearing": (0, 360, True, False),
           "fov_deg": (0, 360, False, True), "range_m": (0, 2000, False, True),
           "level": (1, 4, True, True)}
_PHONE = r"^[0-9+\- ]{5,20}$"
_ID_NUMBER = r"^(?:[0-9]{17}[0-9Xx]|[0-9]{15})$"
_TAG_SPLIT = re.compile(r"[,，、;；|\s]+")
# a time (hh:mm[:ss[.f]]) followed by its offset from UTC or Z
_OFFSET = r":[0-9]{2}(?:\.[0-9]+)?\s*(?:[zZ]|[+-][0-9]{2}(?::?[0-9]{2})?)$"
_MAX_TEXT = 500


def plain(value):
    """A cell as JSON takes it: None for the missing kinds, ISO text for a
    timestamp, int for a numpy integer."""
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, np.integer):
        return int(value)
    return value


class Checked:
    """Rows being checked: values per field, and the first reason per bad row."""

    def __init__(self, frame):
        self.n = len(frame)
        self.reason = np.full(self.n, None, dtype=object)
        self.field = np.full(self.n, None, dtype=object)
        self.value = np.full(self.n, None, dtype=object)
        self.ok = np.ones(self.n, dtype=bool)

    def rejected(self, rows):
        """The rejected rows as report entries; ``rows``: the file's row number
        of each checked row."""
        return [{"row": int(rows[i]), "field": self.field[i],
                 "value": plain(self.value[i]), "reason": self.reason[i]}
                for i in np.flatnonzero(~self.ok)]

    def reject(self, mask, field, reasons, values=None, about=None):
        """Reject the rows of ``mask`` not rejected yet; ``reasons``: a str, an
        array of str aligned with the rows, or a function of the row's value in
        ``about`` (default ``values``), called for the newly rejected rows only
        (a million messages built for the good rows cost a second); ``values``:
        the offending values."""
        mask = np.asarray(mask, dtype=bool) & self.ok
        if not mask.any():
            return
        index = np.flatnonzero(mask)
        if isinstance(reasons, str):
            self.reason[index] = reasons
        elif callable(reasons):
            quoted = values if about is None else about
            self.reason[index] = [reasons(v) for v in quoted[index]]
        else:
            self.reason[index] = np.asarray(reasons, dtype=object)[index]
        self.field[index] = field
        self.ok[index] = False
        if values is not None:
            self.value[index] = np.asarray(values, dtype=object)[index]


def field_label(layer, field):
    """A field's Chinese name for messages: its first Chinese synonym (地址, 户主,
    电话 …); 位置 for the geometry (and for a reader's rejection that names no
    field: its position); the field's own name when it has none."""
    if field is None or field == "geometry":
        return "位置"
    entry = LAYERS[layer][1].get(field)
    names = [n for n in (entry[2] if entry else ()) if not n.isascii()]
    return names[0] if names else field


def guess_columns(layer, source_columns, given=None):
    """The mapping target field → source column: ``given`` first, then a column
    named like the field (its own name, or a Chinese or English synonym)."""
    fields = LAYERS[layer][1]
    given = {k: v for k, v in (given or {}).items() if k in fields}
    taken = set(given.values())
    by_name = {str(c).strip().lower(): c for c in source_columns}
    mapping = dict(given)
    for field, (_, _, synonyms) in fields.items():
        if field in mapping:
            continue
        for name in (field, *synonyms):
            column = by_name.get(name.lower())
            if column is not None and column not in taken:
                mapping[field] = column
                taken.add(column)
                break
    return mapping


def _text(series):
    """Stripped strings, None for blanks (numbers from a spreadsheet as text), as
    an object Series.

    Vectorised: a CSV's columns are all strings and go through pandas' string
    methods at once; only the values that are not strings (a spreadsheet's
    numbers, GeoJSON's integers) are turned into text one by one.
    """
    present = series.notna().to_numpy()
    if not present.any():  # a column the file does not have
        return pd.Series(np.full(len(series), None, dtype=object), index=series.index)
    if isinstance(series.dtype, pd.StringDtype):  # a CSV's: pandas' own strings
        text = series.str.strip()
    else:
        values = series.to_numpy(dtype=object, na_value=None, copy=True)
        if pd.api.types.infer_dtype(values, skipna=True) != "string":
            other = present & ~np.fromiter((isinstance(v, str) for v in values),
                                           dtype=bool, count=values.size)
            values[other] = [_as_text(v) for v in values[other]]
        text = pd.Series(values, index=series.index, dtype=object).str.strip()
    out = text.to_numpy(dtype=object, na_value=None, copy=True)
    out[~(present & (text.str.len().to_numpy(dtype=float, na_value=0) > 0))] = None
    return pd.Series(out, index=series.index, dtype=object)


def _as_text(v):
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return str(v).strip()


def _check_field(checked, layer, field, kind, required, raw):
    text = _text(raw)
    blank = text.isna().to_numpy()
    shown = text.to_numpy(dtype=object)
    names = {"field": field, "label": field_label(layer, field)}

    def reject(mask, reasons):
        checked.reject(mask, field, reasons, shown)

    if required:
        reject(blank, say("required", **names))
    if kind in ("text", "phone", "id_number"):
        if blank.all():
            return text
        long = text.str.len().to_numpy(dtype=float, na_value=0) > _MAX_TEXT
        reject(long, say("too_long", **names, limit=_MAX_TEXT))
        pattern = {"phone": _PHONE, "id_number": _ID_NUMBER}.get(kind)
        if pattern:
            # one regex over the column (blank rows are None and stay unmatched)
            good = text.str.fullmatch(pattern).to_numpy(dtype=object) == True  # noqa: E712
            what = "not_phone" if kind == "phone" else "not_id_number"
            reject(~blank & ~good, lambda v: say(what, value=v))
        return text
    if kind in ("int", "float"):
        numbers = pd.to_numeric(text, errors="coerce").astype(float).to_numpy()
        what = "not_whole" if kind == "int" else "not_number"
        finite = np.isfinite(numbers)
        whole = np.zeros(numbers.size, dtype=bool)
        whole[finite] = np.mod(numbers[finite], 1) == 0
        bad = ~blank & ~finite
        if kind == "int":
            bad |= ~blank & finite & ~whole
        reject(bad, lambda v: say(what, **names, value=v))
        if field in _RANGES:
            lo, hi, lo_in, hi_in = _RANGES[field]
            with np.errstate(invalid="ignore"):
                out = ((numbers < lo) if lo_in else (numbers <= lo)) | (
                    (numbers > hi) if hi_in else (numbers >= hi))
            span = f"{'[' if lo_in else '('}{lo}, {hi}{']' if hi_in else ')'}"
            reject(~blank & out, lambda v: say("out_of_range", **names, span=span,
                                               value=v))
        if kind == "float":
            return pd.Series(numbers, index=raw.index, dtype=float)
        # rejected fractions and infinities become NA: Int64 cannot hold them
        return pd.Series(np.where(whole, numbers, np.nan), index=raw.index,
                         dtype=float).astype("Int64")
    if kind == "vocab":
        table = _VOCABS[(layer, field)]
        found = text.str.lower().map(_lookup(table))
        codes = found.astype(object).where(found.notna(), None)
        default = _DEFAULTS.get((layer, field))
        bad = ~blank & codes.isna().to_numpy()
        listed = choices(table)
        reject(bad, lambda v: say("not_in_vocabulary", **names, value=v,
                                  choices=listed))
        return codes.fillna(default) if default else codes
    if kind == "notice_choice":  # a choice, or the number itself (_staff_rules)
        table = _VOCABS[(layer, field)]
        codes = text.str.lower().map(_lookup(table))
        number = text.str.fullmatch(_PHONE).to_numpy(dtype=object) == True  # noqa: E712
        bad = ~blank & codes.isna().to_numpy() & ~number
        listed = choices(table)
        reject(bad, lambda v: say("not_notice_choice", **names, value=v,
                                  choices=listed))
        return codes.astype(object).where(codes.notna(), text)
    if kind == "subtype":
        return text  # checked against the category in _check_rules
    if kind == "tags":
        return _check_tags(checked, field, text, blank, shown)
    if kind == "time":
        times = _times(text, blank)
        reject(~blank & times.isna().to_numpy(),
               lambda v: say("not_time", **names, value=v))
        return times
    raise ValueError(kind)


def _check_tags(checked, field, text, blank, shown):
    """Tags split on any separator, each a code or label of
    ``vocab.HOUSEHOLD_TAGS``; the first unknown one rejects its row. Tuples of
    codes, each once, in the file's order; blank rows share one empty tuple (a
    million new lists cost half a second)."""
    n = len(text)
    codes = np.empty(n, dtype=object)
    codes.fill(())
    filled = np.flatnonzero(~blank)
    if not filled.size:
        return pd.Series(codes, index=text.index, dtype=object)
    # one row per tag, indexed by the row's position (explode keeps the order)
    parts = text.iloc[filled].reset_index(drop=True).set_axis(filled).str.split(
        _TAG_SPLIT, regex=True).explode()
    parts = parts[parts.notna() & (parts != "")]
    found = parts.str.lower().map(_lookup(vocab.HOUSEHOLD_TAGS))
    unknown = parts[found.isna()].groupby(level=0, sort=False).first()
    reasons = np.full(n, None, dtype=object)
    labels = choices(vocab.HOUSEHOLD_TAGS, codes=False)
    reasons[unknown.index.to_numpy()] = [say("bad_tag", value=t, choices=labels)
                                         for t in unknown.to_numpy(dtype=object)]
    checked.reject(reasons != None, field, reasons, shown)  # noqa: E711
    pairs = pd.DataFrame({"row": found.index.to_numpy(),
                          "code": found.to_numpy(dtype=object)}).dropna()
    pairs = pairs.drop_duplicates()
    for row, group in pairs.groupby("row", sort=False)["code"]:
        codes[row] = tuple(group)
    return pd.Series(codes, index=text.index, dtype=object)


def _times(text, blank):
    """Dates and times in China's time zone: local times are China's, times with
    an offset are converted (a column may mix both)."""
    times = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns, Asia/Shanghai]")
    given = text[~blank]
    aware = given.str.contains(_OFFSET, regex=True).to_numpy(dtype=bool)
    for part, utc in ((given[~aware], False), (given[aware], True)):
        if part.empty:
            continue
        parsed = pd.to_datetime(part, errors="coerce", format="mixed", utc=utc)
        parsed = (parsed.dt.tz_convert("Asia/Shanghai") if utc
                  else parsed.dt.tz_localize("Asia/Shanghai"))
        times[part.index] = parsed.astype(times.dtype)
    return times


def _lookup(table):
    """code, Chinese label or English label (any case) → code."""
    found = {}
    for code, entry in table.items():
        for name in (code, entry[0], entry[1]):
            found[str(name).lower()] = code
    return found


def _camera_rules(checked, values):
    """A fixed camera or a checkpoint needs its bearing."""
    needs = (values["kind"].isin(["fixed", "checkpoint"])
             & values["bearing"].isna()).to_numpy()
    kinds = "、".join(vocab_label(vocab.CAMERA_KINDS, k)
                     for k in ("fixed", "checkpoint"))
    checked.reject(needs, "bearing", say("needs_bearing", kinds=kinds))


def _incident_rules(checked, values):
    """An incident's subtype is one of its category's."""
    pairs = {}
    for cat, (_, _, subs) in vocab.INCIDENT_CATEGORIES.items():
        for sub, (zh, en) in subs.items():
            for name in (sub, zh, en):
                pairs[f"{cat}|{name.lower()}"] = sub  # codes hold no |
    sub, category = values["subtype"], values["category"]
    both = sub.notna() & category.notna()
    found = category[both].str.cat(sub[both].str.lower(), sep="|").map(pairs)
    codes = np.full(len(sub), None, dtype=object)
    codes[np.flatnonzero(both.to_numpy())] = found.to_numpy(dtype=object,
                                                            na_value=None)
    codes = pd.Series(codes, index=sub.index, dtype=object)
    bad = (sub.notna() & codes.isna()).to_numpy()
    # (subtype, category) of each row: the Chinese names the category
    shown = np.empty(len(sub), dtype=object)
    shown[:] = list(zip(sub.to_numpy(dtype=object, na_value=None),
                        category.to_numpy(dtype=object, na_value=None),
                        strict=True))
    checked.reject(bad, "subtype", lambda v: say(
        "bad_subtype", value=v[0], category=vocab_label(
            vocab.INCIDENT_CATEGORIES, v[1]) if v[1] else "该类别"),
        about=shown)
    values["subtype"] = codes


def _staff_rules(checked, values):
    """A person's 公示电话: a number in the choice's column is "other" with that
    number; "other" needs its number (公示号码), "work" and "none" take none;
    neither given: "work", the default."""
    choice = values["notice_phone_choice"].copy()
    number = values["notice_phone"].copy()
    written = choice.notna() & ~choice.isin(list(NOTICE_CHOICES))  # a number
    pairs = np.empty(len(choice), dtype=object)
    pairs[:] = list(zip(choice.to_numpy(dtype=object, na_value=None),
                        number.to_numpy(dtype=object, na_value=None), strict=True))
    two = (written & number.notna() & (number != choice)).to_numpy(dtype=bool)
    checked.reject(two, "notice_phone", lambda v: say(
        "notice_phone_two", value=v[0], other=v[1]), about=pairs, values=number)
    number = number.where(~written, choice)
    choice = choice.where(~written, "other")
    choice = choice.where(choice.notna() | number.isna(), "other")
    choice = choice.fillna("work")
    needed = ((choice == "other") & number.isna()).to_numpy(dtype=bool)
    checked.reject(needed, "notice_phone", say("notice_phone_needed"))
    unused = ((choice != "other") & number.notna()).to_numpy(dtype=bool)
    pairs[:] = list(zip(choice.to_numpy(dtype=object, na_value=None),
                        number.to_numpy(dtype=object, na_value=None), strict=True))
    checked.reject(unused, "notice_phone", lambda v: say(
        "notice_phone_unused", choice=vocab_label(NOTICE_CHOICES, v[0]), value=v[1]),
        about=pairs, values=number)
    values["notice_phone_choice"] = choice.astype(object)
    values["notice_phone"] = number.where(choice == "other", None).astype(object)


def _check_rules(checked, layer, values):
    """The rules that span fields (:data:`RULES`), then a key repeated."""
    for rule in RULES.get(layer, ()):
        rule(checked, values)
    key = LAYERS[layer][0]
    if key is None:
        return
    keys = values[key]
    repeat = (keys.duplicated(keep="first") & keys.notna()).to_numpy() & checked.ok
    label = field_label(layer, key)
    checked.reject(repeat, key, lambda v: say("repeats", field=key, label=label,
                                              value=v),
                   about=keys.to_numpy(dtype=object, na_value=None))


def check(result, layer, mapping):
    frame = result.frame
    fields = LAYERS[layer][1]
    checked = Checked(frame)
    values = {}
    empty = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    for field, (kind, required, _) in fields.items():
        raw = frame[mapping[field]] if field in mapping else empty
        values[field] = _check_field(checked, layer, field, kind, required, raw)
    _check_rules(checked, layer, values)
    return checked, values



def _check_grid_codes(checked, values):
    """A grid code is 9, 12, 15 or 18 digits; its length gives the level, which a
    given level must match."""
    code = values["code"]
    shown = code.to_numpy(dtype=object, na_value=None)
    digits = code.str.fullmatch(r"[0-9]+").to_numpy(dtype=object) == True  # noqa: E712
    length = code.str.len().to_numpy(dtype=float, na_value=0)
    level = pd.Series(length, index=code.index).map(CODE_LEVELS)
    bad = code.notna().to_numpy() & ~(digits & level.notna().to_numpy())
    checked.reject(bad, "code", lambda v: say("not_grid_code", value=v), about=shown)
    given = values["level"]
    clash = (given.notna() & level.notna() & (given != level)).to_numpy(
        dtype=bool, na_value=False)
    checked.reject(clash, "level", lambda v: say("level_mismatch", value=v),
                   about=given.to_numpy(dtype=object, na_value=None))
    values["level"] = level.astype("Int64")


# layer -> the rules across fields of its rows (a repeated key is every
# target's: _check_rules)
RULES = {"cameras": (_camera_rules,), "incidents": (_incident_rules,),
         "grids": (_check_grid_codes,), "staff": (_staff_rules,)}
