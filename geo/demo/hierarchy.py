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

__all__ = ["CENTRE", "Level", "Plan", "build", "density_points", "road_segments"]

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


def _allocate(total, weight, cap):
    """Split ``total`` children over parents in proportion to ``weight``, 1–cap each."""
    k = np.ones(len(weight), dtype=np.int64)
    cap = np.maximum(cap, 1)
    if cap.sum() < total:
        raise ValueError(f"cannot fit {total} children in {len(weight)} parents")
    while (free := total - k.sum()) > 0:
        w = np.where(k < cap, weight, 0.0)
        share = free * w / w.sum()
        add = np.minimum(np.floor(share).astype(np.int64), cap - k)
        if add.sum() == 0:  # the last few by largest remainder
            order = np.argsort(-(share - np.floor(share)), kind="stable")
            add[order[(k < cap)[order]][:free]] = 1
        k += add
    return k


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
    seq = np.char.zfill((rank + 1).astype(str), 3).astype(object)
    return np.asarray(parent_codes, dtype=object)[parent] + seq


def build(scale, rng):
    """Lay out the outline, roads, village centres and the 4 levels of grids.

    Returns
    -------
    Plan
    """
    crs = f"EPSG:{gk_zone_epsg(CENTRE[0])}"
    centre = Transformer.from_crs(WGS84, crs, always_xy=True).transform(*CENTRE)
    n_towns = scale.towns
    town_area = scale.town_km2 * 1e6
    outline = _blob(
        centre, town_area * n_towns * rng.uniform(0.9, 1.1), 40 + 8 * n_towns, rng
    )
    if n_towns == 1:
        town_xy = np.array([centre])
    else:
        s, _ = sample_points([outline], [400 * n_towns], rng)
        town_xy, _, _ = spread_seeds(s, np.zeros(len(s), dtype=np.int64), [n_towns], rng)
    roads = _roads(town_xy, np.sqrt(town_area / np.pi), rng)

    # village centres: well spread over each town's share of a road-weighted sample
    n_villages = scale.villages * n_towns
    s = density_points(60 * n_villages, outline, roads, town_xy, (0.5, 0.5, 0), rng)
    near_town = np.argmin(
        np.hypot(s[:, None, 0] - town_xy[:, 0], s[:, None, 1] - town_xy[:, 1]), axis=1
    )
    village_xy, village_town, _ = spread_seeds(
        s, near_town, np.full(n_towns, scale.villages), rng
    )

    # atoms denser along roads and around village centres, so micro-grids (an
    # equal share of atoms each) are smaller where people live closer together
    n_level4 = scale.level4 * n_towns
    sigma = 0.22 * np.sqrt(town_area / scale.villages)
    atoms = density_points(
        scale.atoms * n_level4,
        outline,
        roads,
        village_xy,
        (0.45, 0.3, 0.25),
        rng,
        sigma_centre=sigma,
    )
    faces = atomize(outline, atoms)
    pairs = adjacency(faces)
    xy = shapely.get_coordinates(shapely.centroid(faces))
    area = shapely.area(faces)
    n_faces = len(faces)

    def level(label, parent_of):
        return _reorder(label, parent_of, xy, area)

    zero = np.zeros(n_faces, dtype=np.int64)
    if n_towns == 1:
        town, town_parent, town_rank, town_order = level(zero, np.zeros(1, np.int64))
    else:
        label = group(xy, zero, town_xy, np.zeros(n_towns, np.int64), pairs, area, rng)
        town, town_parent, town_rank, town_order = level(
            label, np.zeros(n_towns, np.int64)
        )
    village_town = np.argsort(town_order)[village_town]  # towns renumbered
    label = group(xy, town, village_xy, village_town, pairs, area, rng)
    village, village_parent, village_rank, order = level(label, village_town)
    village_xy = village_xy[order]

    # levels 3 and 4: as many children as the parent holds atoms, k-means seeds
    parents = [village]
    ranks = [village_rank]
    parent_ofs = [village_parent]
    for total in (scale.level3 * n_towns, scale.level4 * n_towns):
        up = parents[-1]
        held = np.bincount(up, minlength=up.max() + 1)
        count = _allocate(total, held * rng.uniform(0.8, 1.2, len(held)), held // 4)
        seeds, seed_parent, power = spread_seeds(
            xy, up, count, rng, iters=25, balance=True
        )
        label = group(xy, up, seeds, seed_parent, pairs, area, rng, power=power)
        label, parent_of, rank, _ = level(label, seed_parent)
        parents.append(label)
        ranks.append(rank)
        parent_ofs.append(parent_of)

    # geometry bottom-up: each level is the coverage union of the level below
    level4_poly = union_groups(faces, parents[2], len(parent_ofs[2]))
    level3_poly = union_groups(level4_poly, parent_ofs[2], len(parent_ofs[1]))
    village_poly = union_groups(level3_poly, parent_ofs[1], len(parent_ofs[0]))
    town_poly = union_groups(village_poly, village_parent, n_towns)

    codes = np.array(
        ["320282105"]
        if n_towns == 1
        else [f"3202821{i + 1:02d}" for i in range(n_towns)],
        dtype=object,
    )
    towns = Level(
        codes, names.town_names(codes, rng), town_parent, town_rank, town_poly
    )
    v_code = _codes(codes, village_parent, village_rank)
    v_name = names.village_names(len(v_code), rng)
    villages = Level(v_code, v_name, village_parent, village_rank, village_poly)
    p3, r3 = parent_ofs[1], ranks[1]
    l3_name = v_name[p3] + "第" + (r3 + 1).astype(str).astype(object) + "综合网格"
    level3 = Level(_codes(v_code, p3, r3), l3_name, p3, r3, level3_poly)
    p4, r4 = parent_ofs[2], ranks[2]
    l4_name = (
        v_name[p3[p4]]
        + (r3[p4] + 1).astype(str).astype(object)
        + "网格-"
        + (r4 + 1).astype(str).astype(object)
        + "微网格"
    )
    level4 = Level(_codes(level3.code, p4, r4), l4_name, p4, r4, level4_poly)

    # a village centre must lie in its village (a seed near a border may not)
    inside = shapely.contains_xy(village_poly, village_xy[:, 0], village_xy[:, 1])
    fallback = shapely.get_coordinates(shapely.point_on_surface(village_poly))
    village_xy = np.where(inside[:, None], village_xy, fallback)
    low, high = scale.households
    return Plan(
        crs=crs,
        outline=outline,
        roads=roads,
        road_names=names.road_names(len(roads), rng),
        village_centres=village_xy,
        levels=[towns, villages, level3, level4],
        targets=rng.integers(low, high + 1, len(level4_poly)),
    )
