"""Households and grid staff of the demo, placed on a hierarchy ``Plan``."""

import geopandas
import numpy as np
import pandas as pd
import shapely

from geo.assign import assign
from geo.demo import names
from geo.demo.hierarchy import density_points, off_borders, road_segments
from geo.partition import sample_points
from geo.vocab import HOUSEHOLD_TAGS

__all__ = ["households", "staff"]

# Share of households with each sensitive tag (independent draws): about one
# household in ten has at least one, as in the field reports.
_TAG_SHARE = {
    "elderly_alone": 0.04,
    "left_behind_child": 0.02,
    "disabled": 0.025,
    "community_correction": 0.003,
    "drug_user": 0.002,
    "mental_disorder": 0.005,
    "low_income": 0.02,
}
_SIZE_SHARE = [0.12, 0.25, 0.25, 0.18, 0.10, 0.06, 0.03, 0.01]  # 1..8 persons
_ROAD_REACH = 100.0  # m: a house this close to a road takes its address from it


def _tags(n, rng):
    """A list of tag codes per household; most lists are empty."""
    codes = list(HOUSEHOLD_TAGS)
    share = np.array([_TAG_SHARE[c] for c in codes])
    bits = (rng.random((n, len(codes))) < share) @ (1 << np.arange(len(codes)))
    # one list per distinct combination, copied per row (rows must not share lists)
    combos = {
        b: [c for k, c in enumerate(codes) if b >> k & 1] for b in np.unique(bits)
    }
    return pd.Series([list(combos[b]) for b in bits.tolist()], dtype=object)


def _road_numbers(xy, plan):
    """For houses within reach of a road: which road and the house number there.

    Numbers grow along the road, odd on the left and even on the right, one pair
    per 25 m.

    Returns
    -------
    near : ndarray of int, the houses near a road
    road : ndarray of int, the road of each of them
    number : ndarray of int, their house numbers
    """
    start, end, seg_road = road_segments(plan.roads)
    seg_len = np.hypot(*(end - start).T)
    before = np.cumsum(seg_len) - seg_len
    before -= before[np.searchsorted(seg_road, seg_road)]  # from the road's start
    segments = shapely.linestrings(np.stack([start, end], axis=1))
    points = shapely.points(xy)
    near, seg = shapely.STRtree(segments).query_nearest(
        points, max_distance=_ROAD_REACH, all_matches=False
    )
    along = before[seg] + shapely.line_locate_point(segments[seg], points[near])
    d = end[seg] - start[seg]
    v = xy[near] - start[seg]
    left = d[:, 0] * v[:, 1] - d[:, 1] * v[:, 0] > 0
    number = 2 * (along // 25).astype(np.int64) + np.where(left, 1, 2)
    return near, seg_road[seg], number


def households(plan, rng):
    """Exactly ``plan.targets[k]`` households in each micro-grid ``k``.

    Candidates are drawn from the settlement density (roads, village centres), then
    each micro-grid keeps its target number of them; micro-grids short of
    candidates are topped up uniformly inside their polygon.
    """
    level3, level4 = plan.levels[2], plan.levels[3]
    village_area = shapely.area(plan.levels[1].polygon)
    candidates = density_points(
        int(1.4 * plan.targets.sum()),
        plan.outline,
        plan.roads,
        plan.village_centres,
        (0.12, 0.45, 0.43),
        rng,
        sigma_road=60.0,
        sigma_centre=0.15 * np.sqrt(village_area),
    )
    cell = assign(shapely.points(candidates), level4.polygon)
    candidates, cell = candidates[cell >= 0], cell[cell >= 0]
    order = np.lexsort((rng.random(len(cell)), cell))
    candidates, cell = candidates[order], cell[order]
    keep = np.arange(len(cell)) - np.searchsorted(cell, cell) < plan.targets[cell]
    short = plan.targets - np.bincount(cell[keep], minlength=len(plan.targets))
    extra, extra_cell = sample_points(level4.polygon, short, rng)
    xy = np.concatenate([candidates[keep], extra])
    cell = np.concatenate([cell[keep], extra_cell])
    order = np.lexsort((rng.random(len(cell)), cell))
    xy = off_borders(xy[order], cell[order], level4.polygon, rng)
    cell = cell[order]
    n = len(xy)

    # 组 (village group) number: the micro-grid's position in its village
    village = level3.parent[level4.parent]
    group_no = np.arange(len(village)) - np.searchsorted(village, village) + 1
    house_no = np.arange(n) - np.searchsorted(cell, cell) + 1
    village_name = plan.levels[1].name[village[cell]]
    street = names.numerals(group_no[cell]) + "组"
    near, road, number = _road_numbers(xy, plan)
    street[near], house_no[near] = plan.road_names[road], number
    address = village_name + street + names.numerals(house_no)
    # houses sharing a number on a road: 37号, 37-1号, 37-2号 ...
    again = pd.Series(address).groupby(address, sort=False).cumcount().to_numpy()
    address[again > 0] += "-" + names.numerals(again[again > 0])
    address += "号"
    frame = pd.DataFrame(
        {
            "external_id": "H" + names.numerals(np.arange(1, n + 1), 7),
            "address": address,
            "head_name": names.person_names(n, rng),
            "phone": names.phones(n, rng),
            "size": rng.choice(np.arange(1, 9), size=n, p=_SIZE_SHARE),
            "tags": _tags(n, rng),
            "grid_code": level4.code[cell],
        }
    )
    return geopandas.GeoDataFrame(frame, geometry=shapely.points(xy), crs=plan.crs)


def _pick_in(start, count, rng):
    """A random index in each range [start, start + count)."""
    return start + (rng.random(len(start)) * count).astype(np.int64)


def staff(plan, homes, rng):
    """Grid staff: a chief per village, a full-time worker per level-3 grid, a
    liaison and three volunteers per micro-grid, each placed near households of
    their grid."""
    villages, level3, level4 = plan.levels[1], plan.levels[2], plan.levels[3]
    xy = shapely.get_coordinates(homes.geometry.values)
    start4 = np.cumsum(plan.targets) - plan.targets  # households are sorted by grid
    count3 = np.bincount(level4.parent, weights=plan.targets).astype(np.int64)
    start3 = np.cumsum(count3) - count3
    n4 = len(level4.code)
    micro = np.repeat(np.arange(n4), 4)  # liaison + 3 volunteers per micro-grid
    where = np.concatenate(
        [
            plan.village_centres,
            xy[_pick_in(start3, count3, rng)],
            xy[_pick_in(start4[micro], plan.targets[micro], rng)],
        ]
    )
    role = np.concatenate(
        [
            np.full(len(villages.code), "grid_chief", dtype=object),
            np.full(len(level3.code), "full_time", dtype=object),
            np.tile(
                np.array(
                    ["liaison", "volunteer", "volunteer", "volunteer"], dtype=object
                ),
                n4,
            ),
        ]
    )
    grid = np.concatenate([villages.code, level3.code, level4.code[micro]])
    n = len(role)
    where = where + rng.normal(0, 15.0, (n, 2))  # at the door, not on the house point
    frame = pd.DataFrame(
        {
            "name": names.person_names(n, rng),
            "role": role,
            "phone": names.phones(n, rng),
            "grid_code": grid,
        }
    )
    return geopandas.GeoDataFrame(frame, geometry=shapely.points(where), crs=plan.crs)
