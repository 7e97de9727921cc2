"""The skeleton of the demo: outline, roads, village centres and the 4-level grids.

All in metres in the Gauss-Krüger zone of the demo. The whole area is cut once into
Voronoi atoms (an exact coverage); every grid of every level is a union of atoms, so
children tile their parents exactly and neighbours share their vertices across all
levels.
"""

import dataclasses

import numpy as np
import shapely
from pyproj import Transformer

from geo.crs import WGS84, gk_zone_epsg
from geo.demo import names
from geo.partition import (
    adjacency,
    atomize,
    group,
    sample_points,
    spread_seeds,
    union_groups,
)

__all__ = [
    "CENTRE",
    "Level",
    "Plan",
    "build",
    "density_points",
    "off_borders",
    "road_segments",
]

CENTRE = (119.75, 31.25)  # lon, lat: the Taihu plain west of Wuxi


@dataclasses.dataclass
class Level:
    """The grids of one level, in code order: parallel arrays."""

    code: np.ndarray  # str
    name: np.ndarray  # str
    parent: np.ndarray  # int index into the level above (0 for towns)
    rank: np.ndarray  # int, 0-based position among the siblings
    polygon: np.ndarray  # shapely.Polygon


@dataclasses.dataclass
class Plan:
    """The metric skeleton the people, assets and incidents are placed on."""

    crs: str
    outline: shapely.Polygon
    roads: np.ndarray  # shapely.LineString
    road_names: np.ndarray
    village_centres: np.ndarray  # (n_villages, 2), inside their village
    levels: list  # [towns, villages, level 3, level 4] as Level
    targets: np.ndarray  # households per micro-grid


def _blob(centre, area, n_vertices, rng):
    """An irregular star-shaped polygon of the given area around ``centre``."""
    theta = (np.arange(n_vertices) + rng.uniform(-0.35, 0.35, n_vertices)) * (
        2 * np.pi / n_vertices
    )
    r = 1 + 0.04 * rng.standard_normal(n_vertices)
    for k in range(2, 7):  # a few low harmonics: lobes and bays, not noise
        r += rng.uniform(0, 0.3 / k) * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = np.clip(r, 0.45, None)
    ring = np.c_[np.cos(theta) * r, np.sin(theta) * r]
    scale = np.sqrt(area / shapely.Polygon(ring).area)
    return shapely.Polygon(np.asarray(centre) + ring * scale)


def _roads(centres, radius, rng):
    """2–4 gently winding roads crossing each town near its centre."""
    lines = []
    t = np.linspace(-1, 1, 13)
    for c in centres:
        k = rng.integers(2, 5)
        base = rng.uniform(0, np.pi)
        for j in range(k):
            angle = base + j * np.pi / k + rng.uniform(-0.2, 0.2)
            along = np.array([np.cos(angle), np.sin(angle)])
            across = np.array([-along[1], along[0]])
            half = 1.5 * radius
            bend = (
                0.08
                * half
                * np.sin(np.pi * rng.uniform(0.5, 1.5) * t + rng.uniform(0, 6))
            )
            bend += 0.01 * half * rng.standard_normal(len(t))
            mid = c + 0.25 * radius * rng.standard_normal(2)
            lines.append(mid + np.outer(t * half, along) + np.outer(bend, across))
    return shapely.linestrings(
        np.concatenate(lines), indices=np.repeat(np.arange(len(lines)), len(t))
    )


def road_segments(roads):
    """The straight segments of the roads: (start, end, road index)."""
    coords, road = shapely.get_coordinates(roads, return_index=True)
    same = road[:-1] == road[1:]
    return coords[:-1][same], coords[1:][same], road[:-1][same]


def density_points(
    n, outline, roads, centres, mix, rng, sigma_road=80.0, sigma_centre=600.0
):
    """``n`` points inside ``outline`` drawn from a settlement-like density.

    A mixture, in proportions ``mix`` = (uniform, roads, centres): uniform over the
    outline; along the roads with a Gaussian spread ``sigma_road``; around the
    ``centres`` with a spread ``sigma_centre`` (scalar or one per centre).
    """
    mix = np.asarray(mix, dtype=float) / np.sum(mix)
    lengths = shapely.length(roads)
    sigma_centre = np.broadcast_to(
        np.asarray(sigma_centre, dtype=float), (len(centres),)
    )
    x0, y0, x1, y1 = outline.bounds
    shapely.prepare(outline)
    chunks, need = [], n
    while need > 0:
        m = int(need * 1.5) + 16
        kind = rng.choice(3, size=m, p=mix)
        xy = np.c_[rng.uniform(x0, x1, m), rng.uniform(y0, y1, m)]
        on_road = np.flatnonzero(kind == 1)
        road = rng.choice(len(roads), size=len(on_road), p=lengths / lengths.sum())
        at = shapely.line_interpolate_point(
            roads[road], rng.random(len(on_road)) * lengths[road]
        )
        xy[on_road] = shapely.get_coordinates(at) + rng.normal(
            0, sigma_road, (len(on_road), 2)
        )
        near = np.flatnonzero(kind == 2)
        centre = rng.integers(0, len(centres), len(near))
        xy[near] = (
            centres[centre]
            + rng.standard_normal((len(near), 2)) * sigma_centre[centre, None]
        )
        xy = xy[shapely.contains_xy(outline, xy[:, 0], xy[:, 1])][:need]
        chunks.append(xy)
        need -= len(xy)
    return np.concatenate(chunks)


def off_borders(xy, cell, polygons, rng, tol=0.01):
    """Redraw the points lying within ``tol`` metres of their polygon's border.

    A straight edge in the Gauss-Krüger plane is not quite straight in degrees
    (tenths of a millimetre apart over a few hundred metres), so a point this close
    to a border could change sides when the demo is returned in EPSG:4326.
    """
    borders = shapely.boundary(polygons)
    near = np.flatnonzero(shapely.dwithin(borders[cell], shapely.points(xy), tol))
    while len(near):
        xy[near], _ = sample_points(polygons[cell[near]], np.ones(len(near)), rng)
        near = near[shapely.dwithin(borders[cell[near]], shapely.points(xy[near]), tol)]
    return xy


def _allocate(total, weight, cap):
    """Split ``total`` children over parents in proportion to ``weight``, 1–cap each.

    Largest remainders: each parent gets 1 plus the floor of its share of the rest,
    the last few go to the largest fractions; parents over their cap are held at
    it and the others share again.
    """
    cap = np.maximum(cap, 1)
    if cap.sum() < total:
        raise ValueError(f"cannot fit {total} children in {len(weight)} parents")
    weight = np.asarray(weight, dtype=float)
    held = np.zeros(len(weight), dtype=bool)
    k = np.ones(len(weight), dtype=np.int64)
    while True:
        free = total - k[held].sum() - (~held).sum()
        w = np.where(held, 0.0, weight)
        quota = np.where(held, k, 1 + free * w / w.sum())
        k = np.floor(quota).astype(np.int64)
        order = np.argsort(k - quota, kind="stable")  # largest fraction first
        k[order[~held[order]][: total - k.sum()]] += 1
        over = k > cap
        if not over.any():
            return k
        k[over], held = cap[over], held | over


def _reorder(label, parent_of, xy, weight):
    """Renumber groups by parent, then north to south, so codes read like the map."""
    n = len(parent_of)
    mass = np.bincount(label, weights=weight, minlength=n)
    cy = np.bincount(label, weights=xy[:, 1] * weight, minlength=n) / mass
    order = np.lexsort((-cy, parent_of))
    new = np.empty(n, dtype=np.int64)
    new[order] = np.arange(n)
    parent_of = parent_of[order]
    rank = np.arange(n) - np.searchsorted(parent_of, parent_of)
    return new[label], parent_of, rank, order


def _codes(parent_codes, parent, rank):
    """Child codes: the parent's code followed by a 3-digit sequence from 001."""
    return np.asarray(parent_codes, dtype=object)[parent] + names.numerals(rank + 1, 3)


def _layout(scale, rng, centre):
    """Outline, town centres, roads and village centres (villages per town)."""
    n_towns, town_area = scale.towns, scale.town_km2 * 1e6
    area = town_area * n_towns * rng.uniform(0.9, 1.1)
    outline = _blob(centre, area, 40 + 8 * n_towns, rng)
    if n_towns == 1:
        town_xy = np.array([centre])
    else:
        s, _ = sample_points([outline], [400 * n_towns], rng)
        town_xy, _, _ = spread_seeds(s, np.zeros(len(s), np.int64), [n_towns], rng)
    roads = _roads(town_xy, np.sqrt(town_area / np.pi), rng)
    # village centres: well spread over each town's share of a road-weighted sample
    s = density_points(
        60 * scale.villages * n_towns, outline, roads, town_xy, (0.5, 0.5, 0), rng
    )
    d = np.hypot(s[:, None, 0] - town_xy[:, 0], s[:, None, 1] - town_xy[:, 1])
    village_xy, village_town, _ = spread_seeds(
        s, d.argmin(axis=1), np.full(n_towns, scale.villages), rng
    )
    return outline, town_xy, roads, village_xy, village_town


def _group_levels(scale, faces, town_xy, village_xy, village_town, rng):
    """Group the faces into towns, villages, level-3 and level-4 grids.

    Returns
    -------
    labels : [town, village, level 3, level 4] group of each face
    parents : [village, level 3, level 4] parent group of each group
    ranks : [town, village, level 3, level 4] position among the siblings
    village_order : how the village seeds were renumbered
    """
    pairs = adjacency(faces)
    xy = shapely.get_coordinates(shapely.centroid(faces))
    area = shapely.area(faces)
    one = np.zeros(scale.towns, np.int64)
    town = np.zeros(len(faces), np.int64)
    if scale.towns > 1:
        town = group(xy, town, town_xy, one, pairs, area, rng)
    town, _, town_rank, town_order = _reorder(town, one, xy, area)
    village_town = np.argsort(town_order)[village_town]  # towns renumbered
    label = group(xy, town, village_xy, village_town, pairs, area, rng)
    village, village_parent, village_rank, village_order = _reorder(
        label, village_town, xy, area
    )
    labels, parents = [town, village], [village_parent]
    ranks = [town_rank, village_rank]
    # levels 3 and 4: children in proportion to the atoms a parent holds (the
    # atoms follow the population), seeds balanced to an equal share of atoms
    for total in (scale.level3 * scale.towns, scale.level4 * scale.towns):
        up = labels[-1]
        held = np.bincount(up)
        count = _allocate(total, held * rng.uniform(0.8, 1.2, len(held)), held // 4)
        seeds, seed_parent, power = spread_seeds(xy, up, count, rng, balance=True)
        label = group(xy, up, seeds, seed_parent, pairs, area, rng, power=power)
        label, parent_of, rank, _ = _reorder(label, seed_parent, xy, area)
        labels.append(label)
        parents.append(parent_of)
        ranks.append(rank)
    return labels, parents, ranks, village_order


def build(scale, rng):
    """Lay out the outline, roads, village centres and the 4 levels of grids.

    Returns
    -------
    Plan
    """
    crs = f"EPSG:{gk_zone_epsg(CENTRE[0])}"
    centre = Transformer.from_crs(WGS84, crs, always_xy=True).transform(*CENTRE)
    outline, town_xy, roads, village_xy, village_town = _layout(scale, rng, centre)
    # atoms denser along roads and around village centres, so micro-grids (an
    # equal share of atoms each) are smaller where people live closer together
    atoms = density_points(
        scale.atoms * scale.level4 * scale.towns,
        outline,
        roads,
        village_xy,
        (0.45, 0.3, 0.25),
        rng,
        sigma_centre=0.22 * np.sqrt(scale.town_km2 * 1e6 / scale.villages),
    )
    faces = atomize(outline, atoms)
    labels, parents, ranks, village_order = _group_levels(
        scale, faces, town_xy, village_xy, village_town, rng
    )
    # geometry bottom-up: each level is the coverage union of the level below
    polygons = [union_groups(faces, labels[3], len(parents[2]))]
    for parent_of, n in zip(
        parents[::-1], (len(parents[1]), len(parents[0]), scale.towns), strict=True
    ):
        polygons.insert(0, union_groups(polygons[0], parent_of, n))

    codes = np.array(
        ["320282105"]
        if scale.towns == 1
        else [f"3202821{i + 1:02d}" for i in range(scale.towns)],
        dtype=object,
    )
    zero = np.zeros(scale.towns, np.int64)
    towns = Level(codes, names.town_names(codes, rng), zero, ranks[0], polygons[0])
    p2, p3, p4 = parents
    r2, r3, r4 = ranks[1:]
    v_name = names.village_names(len(p2), rng)
    villages = Level(_codes(codes, p2, r2), v_name, p2, r2, polygons[1])
    l3_name = v_name[p3] + "第" + names.numerals(r3 + 1) + "综合网格"
    level3 = Level(_codes(villages.code, p3, r3), l3_name, p3, r3, polygons[2])
    l4_name = (
        v_name[p3[p4]]
        + names.numerals(r3[p4] + 1)
        + "网格-"
        + names.numerals(r4 + 1)
        + "微网格"
    )
    level4 = Level(_codes(level3.code, p4, r4), l4_name, p4, r4, polygons[3])

    # a village centre must lie in its village (a seed near a border may not)
    village_xy = village_xy[village_order]
    inside = shapely.contains_xy(polygons[1], village_xy[:, 0], village_xy[:, 1])
    fallback = shapely.get_coordinates(shapely.point_on_surface(polygons[1]))
    low, high = scale.households
    return Plan(
        crs=crs,
        outline=outline,
        roads=roads,
        road_names=names.road_names(len(roads), rng),
        village_centres=np.where(inside[:, None], village_xy, fallback),
        levels=[towns, villages, level3, level4],
        targets=rng.integers(low, high + 1, len(level4.code)),
    )
