"""The controlled vocabularies of gridgov: codes stored in the database, labels shown.

Codes are short ASCII words (stable in the database, the API and imports); each has a
Chinese label (shown first) and an English one. The CHECK constraints of the schema
list the same codes; ``tests/integration/test_schema.py`` keeps the two in step.
"""

__all__ = [
    "GRID_LEVELS",
    "STAFF_ROLES",
    "CAMERA_KINDS",
    "CAMERA_OWNERS",
    "CAMERA_STATUSES",
    "INCIDENT_CATEGORIES",
    "INCIDENT_SOURCES",
    "INCIDENT_STATUSES",
    "INCIDENT_OUTCOMES",
    "INCIDENT_SATISFACTION",
    "INCIDENT_ACTIONS",
    "outcomes_for",
    "BILINGUAL",
    "bilingual",
    "HOUSEHOLD_TAGS",
    "label",
]

# level -> (zh, en)
GRID_LEVELS = {
    1: ("一级网格（镇街）", "Level 1 (town)"),
    2: ("二级网格（村社区）", "Level 2 (village)"),
    3: ("三级网格（综合网格）", "Level 3 (comprehensive grid)"),
    4: ("四级网格（微网格）", "Level 4 (micro-grid)"),
}

STAFF_ROLES = {
    "grid_chief": ("网格长", "Grid chief"),
    "full_time": ("专职网格员", "Full-time grid worker"),
    "part_time": ("兼职网格员", "Part-time grid worker"),
    "liaison": ("微网格联络员", "Micro-grid liaison"),
    "volunteer": ("志愿者", "Volunteer"),
}

CAMERA_KINDS = {
    "fixed": ("枪机", "Fixed camera"),
    "ptz": ("球机", "PTZ dome camera"),
    "checkpoint": ("卡口", "Vehicle checkpoint"),
}

CAMERA_OWNERS = {
    "police": ("公安", "Police"),
    "social": ("社会单位", "Private / social unit"),
}

CAMERA_STATUSES = {
    "online": ("在线", "Online"),
    "offline": ("离线", "Offline"),
    "fault": ("故障", "Fault"),
}

# category -> (zh, en, {subtype -> (zh, en)})
INCIDENT_CATEGORIES = {
    "dispute": (
        "矛盾纠纷",
        "Dispute",
        {
            "neighbour": ("邻里纠纷", "Neighbours"),
            "family": ("婚姻家庭", "Marriage and family"),
            "land": ("土地山林", "Land and forest"),
            "labour": ("劳资纠纷", "Wages and labour"),
            "property": ("物业纠纷", "Property management"),
            "demolition": ("征地拆迁", "Land requisition and demolition"),
            "other": ("其他纠纷", "Other dispute"),
        },
    ),
    "public_order": (
        "治安",
        "Public order",
        {
            "suspicious_person": ("可疑人员", "Suspicious person"),
            "suspicious_vehicle": ("可疑车辆", "Suspicious vehicle"),
            "theft": ("盗窃", "Theft"),
            "fight": ("打架斗殴", "Fight"),
        },
    ),
    "environment": (
        "环境",
        "Environment",
        {
            "dumping": ("垃圾乱倒", "Illegal dumping"),
            "burning": ("露天焚烧", "Open burning"),
            "leaflets": ("非法小广告", "Illegal flyers"),
        },
    ),
    "illegal_building": (
        "违章建设",
        "Illegal construction",
        {"illegal_building": ("违章建设", "Illegal construction")},
    ),
}

INCIDENT_SOURCES = {
    "grid_worker": ("网格员上报", "Grid worker report"),
    "walk_in": ("群众来访", "Walk-in"),
    "hotline": ("热线", "Hotline"),
    "video": ("视频发现", "Found on video"),
    "petition": ("信访", "Petition"),
}

# The closed loop of the field reports: 受理登记 → 审核分流 → 处置反馈 → 办结 → 考核评价
# (跟踪督办 / supervision is a deadline watch over the open states, not a state).
INCIDENT_STATUSES = {
    "registered": ("受理登记", "Registered"),
    "dispatched": ("审核分流", "Dispatched"),
    "handling": ("处置反馈", "Being handled"),
    "closed": ("办结", "Closed"),
    "evaluated": ("考核评价", "Evaluated"),
}

# The loop's actions (layers/incidents.TRANSITIONS) and the events that are not
# transitions (register, link), as the timeline names them.
INCIDENT_ACTIONS = {
    "register": ("受理登记", "Registered"),
    "link": ("并入重复报告", "Duplicate report linked"),
    "triage": ("审核分流", "Triage and route"),
    "escalate": ("提级", "Escalate"),
    "accept": ("接收处置", "Accept"),
    "feedback": ("处置反馈", "Report back"),
    "remind": ("督办", "Remind"),
    "close": ("办结", "Close"),
    "evaluate": ("考核评价", "Evaluate"),
    "reopen": ("重新办理", "Reopen"),
}

INCIDENT_OUTCOMES = {
    "mediated": ("调解成功", "Mediated"),
    "not_mediated": ("调解未成功", "Mediation failed"),
    "litigation": ("转诉讼", "Referred to court"),
    "handled": ("已处置", "Handled"),
    "transferred": ("移交职能部门", "Transferred to a department"),
}

# 考核评价: the satisfaction of the return visit (回访), stored as 1–5, shown as words.
INCIDENT_SATISFACTION = {
    5: ("满意", "Satisfied"),
    4: ("基本满意", "Mostly satisfied"),
    3: ("一般", "Neutral"),
    2: ("不满意", "Dissatisfied"),
    1: ("很不满意", "Very dissatisfied"),
}

# Which outcomes close which category: a dispute (矛盾纠纷) ends in mediation,
# failed mediation, the courts or a department; anything else is handled or
# passed to a department — "mediated" makes no sense for a theft or a dump of
# rubbish, and would count in the dispute resolution rate (化解率) the leaders read.
_DISPUTE_OUTCOMES = ("mediated", "not_mediated", "litigation", "transferred")
_OTHER_OUTCOMES = ("handled", "transferred")


def outcomes_for(category):
    """The outcomes an incident of ``category`` may be closed with.

    >>> outcomes_for("dispute")
    ('mediated', 'not_mediated', 'litigation', 'transferred')
    >>> outcomes_for("environment")
    ('handled', 'transferred')
    """
    return _DISPUTE_OUTCOMES if category == "dispute" else _OTHER_OUTCOMES


# Sensitive household tags (personal data: role-checked, masked, audited).
HOUSEHOLD_TAGS = {
    "elderly_alone": ("独居老人", "Elderly living alone"),
    "left_behind_child": ("留守儿童", "Left-behind child"),
    "disabled": ("残疾人", "Person with disability"),
    "community_correction": ("社区矫正", "Under community correction"),
    "drug_user": ("吸毒人员", "Registered drug user"),
    "mental_disorder": ("精神障碍", "Severe mental disorder"),
    "low_income": ("低保户", "Minimum-subsistence household"),
}


# How a message a user reads is written in both languages: Chinese first, the
# English in fullwidth brackets (the import reasons, importers/ and layers/).
BILINGUAL = "{zh}（{en}）"


def bilingual(zh, en):
    """``中文（English）``.

    >>> bilingual("地址为必填项", "address is required")
    '地址为必填项（address is required）'
    """
    return BILINGUAL.format(zh=zh, en=en)


def label(table, code, lang="zh"):
    """Return the label of ``code`` in a vocabulary ``table``.

    >>> label(CAMERA_KINDS, "ptz")
    '球机'
    >>> label(CAMERA_KINDS, "ptz", "en")
    'PTZ dome camera'
    """
    entry = table[code]
    return entry[0] if lang == "zh" else entry[1]
