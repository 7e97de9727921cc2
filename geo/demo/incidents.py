"""A year of incidents and their state histories, with a few hot spots."""

import datetime

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.assign import assign
from geo.demo import names
from geo.demo.hierarchy import off_borders
from geo.vocab import (
    INCIDENT_CATEGORIES,
    INCIDENT_OUTCOMES,
    INCIDENT_SOURCES,
    INCIDENT_STATUSES,
    label,
)

__all__ = ["incidents"]

DAY, HOUR = 86400.0, 3600.0
_LOCAL = 8 * HOUR  # China Standard Time, UTC+8: codes and dates are local
_LIMIT_DAYS = {
    "dispute": 15,
    "public_order": 3,
    "environment": 7,
    "illegal_building": 30,
}
_CLOSE_DAYS = {  # median days from handling to closing
    "dispute": 7.0,
    "public_order": 1.0,
    "environment": 3.0,
    "illegal_building": 20.0,
}
_SUBTYPE_SHARE = {
    "dispute": [0.30, 0.22, 0.14, 0.10, 0.08, 0.06, 0.10],
    "public_order": [0.25, 0.15, 0.40, 0.20],
    "environment": [0.50, 0.25, 0.25],
    "illegal_building": [1.0],
}
# grid_worker, walk_in, hotline, video, petition
_SOURCE_SHARE = {
    "dispute": [0.45, 0.30, 0.15, 0.0, 0.10],
    "public_order": [0.20, 0.10, 0.35, 0.35, 0.0],
    "environment": [0.50, 0.05, 0.25, 0.20, 0.0],
    "illegal_building": [0.60, 0.10, 0.20, 0.05, 0.05],
}
_DESCRIPTION = {
    "neighbour": ["两户邻居因排水问题发生争执", "邻里因噪音扰民产生矛盾"],
    "family": ["夫妻因家庭琐事发生争吵", "子女对赡养老人费用分担有分歧"],
    "land": ["两户村民对承包地边界有争议", "村民对宅基地界址存在纠纷"],
    "labour": ["务工人员反映企业拖欠工资", "工人与包工头就工钱结算发生纠纷"],
    "property": ["业主与物业就收费标准发生纠纷", "小区停车位使用引发业主矛盾"],
    "demolition": ["村民对拆迁补偿标准有异议", "征地补偿款分配引发村民不满"],
    "other": ["村民之间因借款发生纠纷", "商户之间因经营场地发生争执"],
    "suspicious_person": ["群众反映有陌生人员在村内徘徊", "发现可疑人员多次出入厂区"],
    "suspicious_vehicle": ["一辆无牌车辆长时间停放路边", "可疑车辆夜间在村道反复行驶"],
    "theft": ["村民家中电动车被盗", "厂区电缆被盗"],
    "fight": ["两名男子在路口发生肢体冲突", "酒后发生打架事件"],
    "dumping": ["河道旁有人倾倒建筑垃圾", "路边堆放生活垃圾未清运"],
    "burning": ["田间有人焚烧秸秆", "空地露天焚烧垃圾"],
    "leaflets": ["墙面张贴大量非法小广告", "电线杆上喷涂办证广告"],
    "illegal_building": ["村民在宅基地外违规搭建", "厂房屋顶加建彩钢棚"],
}
_ESCALATION = ([4, 3, 2, 1], [0.72, 0.22, 0.05, 0.01])
_ESCALATION_HARD = ([4, 3, 2, 1], [0.45, 0.32, 0.17, 0.06])  # land, demolition
_LEVEL_NAME = {4: "微网格", 3: "综合网格", 2: "村（社区）", 1: "镇（街道）"}
_SATISFACTION = [0.02, 0.03, 0.08, 0.32, 0.55]


def _choice(options, share, n, rng):
    options = np.asarray(options, dtype=object)
    return options[
        rng.choice(len(options), size=n, p=np.asarray(share) / np.sum(share))
    ]


def _utc(seconds):
    """Epoch seconds (inf or nan: none) as tz-aware UTC timestamps, NaT for none."""
    stamp = np.full(len(seconds), np.datetime64("NaT"), dtype="datetime64[s]")
    ok = np.isfinite(seconds)
    stamp[ok] = np.floor(seconds[ok]).astype(np.int64).astype("datetime64[s]")
    return pd.Series(pd.DatetimeIndex(stamp).tz_localize("UTC").as_unit("us"))


def _places(plan, homes, n, rng):
    """Locations and hot-spot membership: 3–4 hot spots per town, each active a
    few months, draw 30% of the incidents; the rest happen where people live."""
    homes_xy = shapely.get_coordinates(homes.geometry.values)
    town = homes["grid_code"].str.slice(0, 9).to_numpy()
    first = np.flatnonzero(np.r_[True, town[1:] != town[:-1]])
    count = np.diff(np.r_[first, len(town)])
    n_spots = rng.integers(3, 5, len(first))
    spot_town = np.repeat(np.arange(len(first)), n_spots)
    centre = homes_xy[
        first[spot_town] + (rng.random(len(spot_town)) * count[spot_town]).astype(int)
    ]
    start = rng.uniform(0, 365 - 60, len(centre))
    length = np.minimum(rng.uniform(60, 180, len(centre)), 365 - start)
    spot = np.where(rng.random(n) < 0.3, rng.integers(0, len(centre), n), -1)
    home = rng.integers(0, len(homes_xy), n)
    xy = homes_xy[home] + rng.normal(0, 25.0, (n, 2))
    hot = spot >= 0
    xy[hot] = centre[spot[hot]] + rng.normal(0, 200.0, (hot.sum(), 2))
    day = rng.uniform(0, 365, n)
    day[hot] = start[spot[hot]] + rng.random(hot.sum()) * length[spot[hot]]
    cell = assign(shapely.points(xy), plan.levels[3].polygon)
    lost = cell < 0  # pushed off the map: back to the household it came from
    xy[lost] = homes_xy[home[lost]]
    cell[lost] = np.searchsorted(
        plan.levels[3].code, homes["grid_code"].to_numpy()[home[lost]]
    )
    xy = off_borders(xy, cell, plan.levels[3].polygon, rng)
    return xy, cell, np.floor(day)


def incidents(plan, homes, staff, counts, as_of, rng, events="full"):
    """Incidents over the year before ``as_of`` and one event per state passed.

    Parameters
    ----------
    counts : {category: number of incidents}
    as_of : datetime.date, midnight China time ending the year
    events : "full", or "ends" for only the registered row and the last state

    Returns
    -------
    (GeoDataFrame of incidents, DataFrame of incident events)
    """
    cats = list(counts)
    category = np.repeat(np.array(cats, dtype=object), [counts[c] for c in cats])
    n = len(category)
    subtype = np.empty(n, dtype=object)
    source = np.empty(n, dtype=object)
    limit, median = np.empty(n), np.empty(n)
    for c in cats:
        rows = np.flatnonzero(category == c)
        subtype[rows] = _choice(
            list(INCIDENT_CATEGORIES[c][2]), _SUBTYPE_SHARE[c], len(rows), rng
        )
        source[rows] = _choice(list(INCIDENT_SOURCES), _SOURCE_SHARE[c], len(rows), rng)
        limit[rows], median[rows] = _LIMIT_DAYS[c] * DAY, _CLOSE_DAYS[c] * DAY

    xy, cell, day = _places(plan, homes, n, rng)
    end = (as_of - datetime.date(1970, 1, 1)).days * DAY - _LOCAL
    # mostly in working hours, some at any time of day
    hour = np.where(
        rng.random(n) < 0.85,
        np.clip(rng.normal(14, 3.5, n), 6, 23.9),
        rng.uniform(0, 24, n),
    )
    created = np.floor(end - 365 * DAY + day * DAY + hour * HOUR)
    order = np.lexsort((rng.random(n), created))  # chronological, like a register
    category, subtype, source, limit, median = (
        a[order] for a in (category, subtype, source, limit, median)
    )
    xy, cell, created, hour = xy[order], cell[order], created[order], hour[order]

    # when each state is entered; inf: not (yet) reached. Evening reports wait for
    # the desk's next morning (08:30) before they are dispatched.
    wait = np.where((hour >= 18) | (hour < 6), (32.5 - hour) % 24, 0.0)
    dispatched = created + (wait + rng.lognormal(np.log(2), 1.0, n)) * HOUR
    handling = dispatched + rng.uniform(0.5, 24, n) * HOUR
    closed = handling + median * rng.lognormal(0, 0.8, n)
    closed[rng.random(n) < 0.03] = np.inf  # some drag on past the year
    evaluated = np.where(
        rng.random(n) < 0.75, closed + rng.uniform(1, 7, n) * DAY, np.inf
    )
    times = np.stack([created, dispatched, handling, closed, evaluated], axis=1)
    reached = times < end
    status = np.array(list(INCIDENT_STATUSES), dtype=object)[reached.sum(axis=1) - 1]
    is_closed = reached[:, 3]

    hard = np.isin(subtype, ["land", "demolition"])
    escalation = rng.choice(_ESCALATION[0], size=n, p=_ESCALATION[1])
    escalation[hard] = rng.choice(
        _ESCALATION_HARD[0], size=hard.sum(), p=_ESCALATION_HARD[1]
    )
    outcome = np.where(
        category == "dispute",
        _choice(
            ["mediated", "not_mediated", "litigation"], [0.98, 0.012, 0.008], n, rng
        ),
        _choice(["handled", "transferred"], [0.9, 0.1], n, rng),
    )
    outcome[~is_closed] = None
    satisfaction = np.full(n, None, dtype=object)
    stars = rng.choice(np.arange(1, 6), size=n, p=_SATISFACTION)
    satisfaction[reached[:, 4]] = stars[reached[:, 4]].tolist()

    local = ((created + _LOCAL) // DAY).astype(np.int64)
    seq = np.arange(n) - np.searchsorted(local, local) + 1
    if seq.max() > 9999:
        raise ValueError("more than 9,999 incidents on one day: codes would clash")
    date = np.char.replace(local.astype("datetime64[D]").astype(str), "-", "")
    code = "SJ" + date.astype(object) + names.numerals(seq, 4)

    level3, level4 = plan.levels[2], plan.levels[3]
    village = level3.parent[level4.parent[cell]]
    # staff.py lists one chief per village, one full-time worker per level-3 grid
    # and one liaison per micro-grid, each in code order
    role, who = staff["role"].to_numpy(), staff["name"].to_numpy(dtype=object)
    liaison, full_time = who[role == "liaison"], who[role == "full_time"]
    chief = who[role == "grid_chief"]
    operators = names.person_names(8, rng)  # the centre's dispatch desk
    operator = operators[rng.integers(0, len(operators), n)]
    handler = np.select(
        [escalation == 4, escalation == 3, escalation == 2],
        [liaison[cell], full_time[level4.parent[cell]], chief[village]],
        operator,
    )
    reporter = names.person_names(n, rng)
    reporter[source == "grid_worker"] = liaison[cell[source == "grid_worker"]]
    template = np.empty(n, dtype=object)
    for s, texts in _DESCRIPTION.items():
        rows = np.flatnonzero(subtype == s)
        template[rows] = np.array(texts, dtype=object)[
            rng.integers(0, len(texts), len(rows))
        ]

    frame = pd.DataFrame(
        {
            "code": code,
            "category": category,
            "subtype": subtype,
            "source": source,
            "reporter": reporter,
            "description": plan.levels[1].name[village] + template,
            "grid_code": level4.code[cell],
            "status": status,
            "escalation_level": escalation.astype(np.int64),
            "created_at": _utc(created),
            "deadline": _utc(created + limit),
            "closed_at": _utc(np.where(is_closed, closed, np.nan)),
            "outcome": pd.Series(outcome, dtype=object),
            "satisfaction": pd.Series(satisfaction, dtype=object),
        }
    )
    gdf = geopandas.GeoDataFrame(frame, geometry=shapely.points(xy), crs=plan.crs)
    return gdf, _events(
        code,
        times,
        reached,
        source,
        escalation,
        outcome,
        stars,
        operator,
        handler,
        events,
    )


def _events(
    code, times, reached, source, escalation, outcome, stars, operator, handler, mode
):
    """One row per state passed, in time order; notes come from small pools of
    strings shared between rows (a city has millions of rows)."""
    keep = reached.copy()
    if mode == "ends":  # the registered row and the last state reached only
        last = reached.sum(axis=1) - 1
        keep[:] = False
        keep[:, 0] = True
        keep[np.arange(len(code)), last] = True
    row, state = np.nonzero(keep)
    actions = np.array(list(INCIDENT_STATUSES), dtype=object)
    source_note = {
        s: "受理登记：" + label(INCIDENT_SOURCES, s) for s in INCIDENT_SOURCES
    }
    level_note = {k: "分流至" + v for k, v in _LEVEL_NAME.items()}
    outcome_note = {
        o: "办结：" + label(INCIDENT_OUTCOMES, o) for o in INCIDENT_OUTCOMES
    }
    star_note = np.array(
        [None] + [f"回访评价：满意度{k}星" for k in range(1, 6)], dtype=object
    )
    note = np.empty(len(row), dtype=object)
    for s, (pool, key) in enumerate(
        [
            (source_note, source),
            (level_note, escalation),
            (None, None),
            (outcome_note, outcome),
        ]
    ):
        rows = np.flatnonzero(state == s)
        note[rows] = (
            "处置中" if pool is None else pd.Series(key[row[rows]]).map(pool).to_numpy()
        )
    rows = np.flatnonzero(state == 4)
    note[rows] = star_note[stars[row[rows]]]
    actor = np.where(np.isin(state, [2, 3]), handler[row], operator[row])
    return pd.DataFrame(
        {
            "incident_code": code[row],
            "at": _utc(times[row, state]),
            "action": actions[state],
            "actor": actor,
            "note": note,
        }
    )
