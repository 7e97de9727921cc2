"""Propose micro-grids of 50–100 households that tile a comprehensive grid.

Method, in two steps:

1. *Balanced groups of households* by recursive coordinate bisection (RCB, the
   classic mesh-partitioning method of Berger and Bokhari, 1987, used by Zoltan):
   cut the households in two along their longer principal axis at the quantile that
   splits the wanted number of groups, and recurse. Every group gets ⌊n/k⌋ or ⌈n/k⌉
   households, so the 50–100 bounds hold by construction, and the groups are
   compact. (spopt's max-p enforces only a floor and builds an n² matrix; RCB needs
   neither.)
2. *Polygons that tile the parent exactly*: the parent is cut into the Voronoi faces
   of the households (and of filler points where nobody lives) with
   ``geo.partition.atomize``, an exact coverage; each face goes to its household's
   group, empty faces to the neighbouring group they share the longest border with,
   and each group's faces are unioned.

A group whose faces come out in several pieces (a notch of the parent between its
households) keeps its largest piece; the households of the others then belong to the
neighbour that takes them, and the counts are reported as they end up.
"""

import math

import numpy as np
import shapely

from geo import partition
from geo.assign import assign

__all__ = [
    "ProposalError", "group_count", "bisect_groups", "propose_micro_grids",
    "compactness",
]


class ProposalError(ValueError):
    """No proposal can satisfy the bounds (say, 120 households and 50–100 each…
    that one works; 40 households cannot)."""


def group_count(n, target=75, low=50, high=100):
    """How many micro-grids for ``n`` households: near ``n / target``, within bounds.

    >>> group_count(700)
    9
    >>> group_count(120)
    2
    """
    if not low <= target <= high:
        raise ProposalError(f"the target {target} lies outside {low}–{high}")
    fewest, most = math.ceil(n / high), n // low
    if n < low or fewest > most:
        raise ProposalError(f"{n} households cannot make micro-grids of {low}–{high} "
                            "households each")
    return min(max(round(n / target), fewest), most)


def bisect_groups(xy, k):
    """Label ``n`` points with ``k`` groups of ⌊n/k⌋ or ⌈n/k⌉ by recursive bisection."""
    xy = np.asarray(xy, dtype=float)
    labels = np.zeros(len(xy), dtype=int)
    stack = [(np.arange(len(xy)), 0, k)]
    while stack:
        idx, first, count = stack.pop()
        if count == 1:
            labels[idx] = first
            continue
        left = count // 2
        pts = xy[idx] - xy[idx].mean(axis=0)
        # the principal axis of the points: cuts across their longest extent
        _, _, vt = np.linalg.svd(pts, full_matrices=False)
        order = np.argsort(pts @ vt[0], kind="stable")
        cut = round(len(idx) * left / count)
        stack.append((idx[order[:cut]], first, left))
        stack.append((idx[order[cut:]], first + left, count - left))
    return labels


def propose_micro_grids(parent, xy, target=75, low=50, high=100, rng=None):
    """Micro-grids for the households at ``xy`` inside ``parent`` (metres).

    Returns
    -------
    polygons : list of shapely.Polygon or MultiPolygon, tiling ``parent``
    labels : ndarray of int, the micro-grid of each household
    """
    rng = np.random.default_rng(0) if rng is None else rng
    xy = np.asarray(xy, dtype=float)
    k = group_count(len(xy), target, low, high)
    labels = bisect_groups(xy, k)
    # faces: one per distinct household location, plus fillers where nobody lives
    sites, site_of = np.unique(xy, axis=0, return_inverse=True)
    site_of = site_of.ravel()
    fill, _ = partition.sample_points([parent], [max(len(sites) // 3, 20)], rng)
    points = np.r_[sites, fill]
    faces = partition.atomize(parent, points)
    face_of_point = assign(shapely.points(points), faces)
    face_label = np.full(len(faces), -1)
    # a site's group: that of its (first) household
    site_label = np.full(len(sites), -1)
    site_label[site_of[::-1]] = labels[::-1]
    hit = face_of_point[: len(sites)]
    face_label[hit[hit >= 0]] = site_label[hit >= 0]
    pairs = partition.adjacency(faces)
    face_label = _fill_empty(face_label, pairs)
    area = shapely.area(faces)
    face_label = partition._make_contiguous(
        face_label, np.zeros(len(faces), dtype=int), pairs, area)
    # households follow their face (a detached piece may have changed group)
    site_face = assign(shapely.points(sites), faces)
    labels = face_label[site_face][site_of]
    # a parent in several parts (a redraw can cut one) may leave a group in parts
    polygons = list(partition.union_groups(
        faces, face_label, k, parts_allowed=parent.geom_type == "MultiPolygon"))
    return polygons, labels


def _fill_empty(label, pairs):
    """Give each unlabelled face the label of its labelled neighbour with the longest
    shared border, repeating until every face has one."""
    i, j, length = pairs
    label = label.copy()
    while (label < 0).any():
        a, b, w = np.r_[i, j], np.r_[j, i], np.r_[length, length]
        e = (label[a] < 0) & (label[b] >= 0)
        if not e.any():
            label[label < 0] = 0  # an island out of reach: the first group
            break
        order = np.lexsort((-w[e], a[e]))
        first = order[np.r_[True, a[e][order][1:] != a[e][order][:-1]]]
        label[a[e][first]] = label[b[e][first]]
    return label


def compactness(polygons):
    """Polsby–Popper score 4πA/P² of each polygon: 1 for a disc, near 0.785 for a
    square, lower for long or ragged shapes."""
    polygons = np.asarray(polygons, dtype=object)
    perimeter = shapely.length(polygons)
    return 4 * np.pi * shapely.area(polygons) / np.maximum(perimeter, 1e-12) ** 2
