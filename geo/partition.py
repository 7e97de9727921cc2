"""Seeded partition of a polygon into contiguous, irregular tiles.

Hand-written because no library does it: GEOS and shapely give Voronoi diagrams of
points (straight, convex cells) but nothing that splits a given polygon into one
contiguous tile per seed with irregular, natural-looking borders. The method:

1. *atomize*: sample many atom points in the polygon, take their Voronoi cells and
   clip them to the polygon, so that the faces form an exact coverage (neighbours
   share the very same vertices);
2. *group*: give each face to its nearest seed, distances jittered per face and seed
   so borders wander, each seed first claiming its own nearest face so that no tile
   comes out empty;
3. *repair*: a tile cut into pieces keeps its largest piece and gives each other
   piece to the neighbouring tile it shares the longest border with, until every
   tile is connected;
4. *union* the faces of each tile (``coverage_union``, exact on a coverage).

Steps 2–4 work on arrays of faces with a parent label, so whole levels of a
hierarchy (every village of a town at once) are grouped in one vectorised call.
Units are those of the coordinates: metres in a Gauss-Krüger zone.
"""

import numpy as np
import shapely

__all__ = [
    "sample_points",
    "atomize",
    "adjacency",
    "spread_seeds",
    "group",
    "union_groups",
    "partition",
]


def sample_points(polygons, counts, rng):
    """Sample ``counts[k]`` uniform random points inside each of ``polygons``.

    Rejection sampling in each bounding box, vectorised over all polygons.

    Returns
    -------
    xy : ndarray of shape (sum(counts), 2)
    owner : ndarray of int, the index of the polygon each point was drawn in,
        sorted ascending.
    """
    polygons = np.asarray(polygons, dtype=object)
    need = np.asarray(counts, dtype=np.int64).copy()
    used = polygons[need > 0]
    if np.any(shapely.is_missing(used) | shapely.is_empty(used)):
        raise ValueError("cannot sample points in a missing or empty polygon")
    shapely.prepare(polygons)
    bounds = shapely.bounds(polygons)
    # fraction of the bounding box covered, to oversample just enough per round
    fill = shapely.area(polygons) / np.maximum(
        (bounds[:, 2] - bounds[:, 0]) * (bounds[:, 3] - bounds[:, 1]), 1e-300
    )
    xs, owners = [np.empty((0, 2))], [np.empty(0, dtype=np.int64)]
    while need.sum() > 0:
        draw = np.ceil(need * 1.3 / np.clip(fill, 0.05, 1)).astype(np.int64) + 4 * (
            need > 0
        )
        own = np.repeat(np.arange(len(polygons)), draw)
        b = bounds[own]
        x = b[:, 0] + rng.random(len(own)) * (b[:, 2] - b[:, 0])
        y = b[:, 1] + rng.random(len(own)) * (b[:, 3] - b[:, 1])
        ok = shapely.contains_xy(polygons[own], x, y)
        own, x, y = own[ok], x[ok], y[ok]
        rank = np.arange(len(own)) - np.searchsorted(own, own)
        keep = rank < need[own]
        xs.append(np.c_[x[keep], y[keep]])
        owners.append(own[keep])
        need -= np.bincount(own[keep], minlength=len(polygons))
    owner = np.concatenate(owners)
    order = np.argsort(owner, kind="stable")
    return np.concatenate(xs)[order], owner[order]


def atomize(polygon, points):
    """Split ``polygon`` into the Voronoi cells of ``points``, clipped to it.

    Cells inside the polygon are kept as GEOS builds them (neighbours already share
    their vertices); cells crossing the border are noded together with the border in
    one overlay and polygonised, so the cut points are computed once and shared too.
    The result is an exact coverage: ``shapely.coverage_is_valid`` holds.

    Parameters
    ----------
    polygon : shapely.Polygon
    points : array of shape (n, 2), inside the polygon

    Returns
    -------
    ndarray of shapely.Polygon, tiling ``polygon``
    """
    points = np.asarray(points, dtype=float)
    if len(points) < 2:
        return np.array([polygon], dtype=object)
    cells = shapely.get_parts(
        shapely.voronoi_polygons(shapely.multipoints(points), extend_to=polygon)
    )
    shapely.prepare(polygon)
    inside = shapely.contains(polygon, cells)
    band = cells[~inside]
    lines = shapely.union_all(np.r_[shapely.boundary(band), [polygon.boundary]])
    faces = shapely.get_parts(shapely.polygonize(shapely.get_parts(lines)))
    # keep the faces inside the polygon and inside a band cell (polygonize also
    # returns the hole the inner cells leave, and the outer cells' remains)
    probe = shapely.point_on_surface(faces)
    hit, _ = shapely.STRtree(band).query(probe, predicate="within")
    in_band = np.zeros(len(faces), dtype=bool)
    in_band[hit] = True
    keep = in_band & shapely.contains(polygon, probe)
    return np.r_[cells[inside], faces[keep]]


def adjacency(faces):
    """Pairs of faces of a coverage that share a border, and its length.

    Found by matching identical segments (the coverage shares vertices exactly), so
    faces meeting at a single point are not neighbours.

    Returns
    -------
    i, j : ndarray of int, with i < j, each pair once
    length : ndarray of float, the length of the shared border
    """
    rings, ring_face = shapely.get_rings(faces, return_index=True)
    xy, ring = shapely.get_coordinates(rings, return_index=True)
    same = ring[:-1] == ring[1:]
    a, b = xy[:-1][same], xy[1:][same]
    face = ring_face[ring[:-1][same]]
    # orient every segment the same way so that both copies compare equal
    flip = (a[:, 0] > b[:, 0]) | ((a[:, 0] == b[:, 0]) & (a[:, 1] > b[:, 1]))
    a[flip], b[flip] = b[flip].copy(), a[flip].copy()
    order = np.lexsort((b[:, 1], b[:, 0], a[:, 1], a[:, 0]))
    a, b, face = a[order], b[order], face[order]
    dup = np.flatnonzero(
        np.all(a[1:] == a[:-1], axis=1) & np.all(b[1:] == b[:-1], axis=1)
    )
    i, j = np.minimum(face[dup], face[dup + 1]), np.maximum(face[dup], face[dup + 1])
    seg = np.hypot(*(b[dup] - a[dup]).T)
    key, inverse = np.unique(i * len(faces) + j, return_inverse=True)
    return key // len(faces), key % len(faces), np.bincount(inverse, weights=seg)


def _candidates(parent, seed_parent):
    """Matrix of the seeds each point may join: those of its parent (-1 pads)."""
    order = np.argsort(seed_parent, kind="stable")
    n_parent = max(parent.max(initial=0), seed_parent.max(initial=0)) + 1
    count = np.bincount(seed_parent, minlength=n_parent)
    if np.any(count[np.unique(parent)] == 0):
        raise ValueError("every parent holding points needs at least one seed")
    start = np.cumsum(count) - count
    width = np.arange(count.max())
    slot = np.minimum(start[parent][:, None] + width, len(order) - 1)
    return np.where(width < count[parent][:, None], order[slot], -1)


def _distances(xy, seeds, cand):
    d = np.hypot(xy[:, None, 0] - seeds[cand, 0], xy[:, None, 1] - seeds[cand, 1])
    d[cand < 0] = np.inf
    return d


def _bisect(xy, parent, counts):
    """Cut each parent's points into ``counts[p]`` cells of equal size.

    Recursive bisection, all parents at once: each cell holding k > 1 seeds is cut
    across its longer side at the k1 / k quantile of its points (k1 = k // 2).

    Returns
    -------
    ndarray of int, the cell of each point, numbered by parent then in cut order
    """
    cell = np.asarray(parent).copy()
    k = np.asarray(counts).copy()
    while np.any(k > 1):
        lo = np.full(len(k), np.inf), np.full(len(k), np.inf)
        hi = np.full(len(k), -np.inf), np.full(len(k), -np.inf)
        for axis in (0, 1):
            np.minimum.at(lo[axis], cell, xy[:, axis])
            np.maximum.at(hi[axis], cell, xy[:, axis])
        axis = (hi[1] - lo[1] > hi[0] - lo[0]).astype(np.int64)  # longer side
        along = xy[np.arange(len(xy)), axis[cell]]
        order = np.lexsort((along, cell))
        held = np.bincount(cell, minlength=len(k))
        rank = np.empty(len(xy), dtype=np.int64)
        rank[order] = np.arange(len(xy)) - np.searchsorted(cell[order], cell[order])
        k1 = k // 2
        second = (k > 1)[cell] & (rank >= np.round(held * k1 / np.maximum(k, 1))[cell])
        # new numbering: each cell becomes (first part, second part) in place
        split = (k > 1).astype(np.int64)
        base = np.cumsum(1 + split) - 1 - split
        cell = base[cell] + second
        k = np.stack([np.where(split, k1, k), k - k1], axis=1)[
            np.c_[np.ones(len(k), bool), split.astype(bool)]
        ]
    return cell


def spread_seeds(xy, parent, counts, rng, iters=6, balance=False):
    """Choose ``counts[p]`` well-spread seeds among the points of each parent.

    Seeds start at the centres of an equal-count recursive bisection of each
    parent's points, then a few rounds of k-means run for all parents at once.
    With ``balance`` each seed also gets a power weight, raised while its cell
    holds fewer points than its share and lowered while it holds more (a
    capacity-constrained power diagram), so that the children of a parent hold
    about the same number of points even where the points are crowded.

    Returns
    -------
    seeds : ndarray (sum(counts), 2), grouped by parent in ascending order
    seed_parent : ndarray of int
    power : ndarray (sum(counts),), the weights to pass to :func:`group`
        (zeros without ``balance``)
    """
    counts = np.asarray(counts)
    held = np.bincount(parent, minlength=len(counts))
    if np.any(held < counts):
        raise ValueError("a parent has fewer points than the seeds asked for it")
    cell = _bisect(xy, parent, counts)
    size = np.bincount(cell, minlength=counts.sum())
    seeds = (
        np.stack(
            [np.bincount(cell, weights=xy[:, a], minlength=len(size)) for a in (0, 1)],
            axis=1,
        )
        / np.maximum(size, 1)[:, None]
    )
    seed_parent = np.repeat(np.arange(len(counts)), counts)
    power = np.zeros(len(seeds))
    share = held[seed_parent] / counts[seed_parent]
    cand = _candidates(parent, seed_parent)
    rows = np.arange(len(xy))
    for _ in range(iters):
        d2 = _distances(xy, seeds, cand) ** 2
        best = (d2 - power[cand]).argmin(axis=1)
        label = cand[rows, best]
        n = np.bincount(label, minlength=len(seeds))
        ok = n > 0
        if balance:
            # step by the parent's mean squared distance to the seeds, in
            # proportion to how far the cell is from its share (clipped, so a
            # cell far too big does not overshoot to nothing)
            spread = np.bincount(parent, weights=d2[rows, best]) / np.maximum(held, 1)
            gap = np.clip(1 - n / share, -0.5, 0.5)
            power += 0.3 * spread[seed_parent] * gap
        for axis in (0, 1):
            total = np.bincount(label, weights=xy[:, axis], minlength=len(seeds))
            seeds[ok, axis] = total[ok] / n[ok]
    return seeds, seed_parent, power


def _claims(d, cand, n_seeds):
    """The face each seed owns outright: its nearest face not taken by another."""
    flat = cand >= 0
    best = np.full(n_seeds, np.inf)
    np.minimum.at(best, cand[flat], d[flat])
    face, slot = np.nonzero(flat & (d == best[np.maximum(cand, 0)]))
    seed = cand[face, slot]
    seed, first = np.unique(seed, return_index=True)
    claim = np.full(n_seeds, -1)
    claim[seed] = face[first]
    if np.any(claim < 0):
        raise ValueError("a seed's parent holds no face")
    # two seeds nearest to the same face (rare): the later one reseeds on the
    # nearest face still free in its parent
    _, once = np.unique(claim, return_index=True)
    for s in np.setdiff1d(np.arange(n_seeds), once):
        col = np.flatnonzero(cand == s)
        rows, cols = np.unravel_index(col, cand.shape)
        free = ~np.isin(rows, claim)
        if not free.any():
            raise ValueError("a parent has fewer faces than seeds")
        claim[s] = rows[free][np.argmin(d[rows[free], cols[free]])]
    return claim


def _components(n, i, j):
    """Connected components of a graph: label = smallest node of the component."""
    comp = np.arange(n)
    while True:
        ci, cj = comp[i], comp[j]
        if np.array_equal(ci, cj):
            return comp
        # hook each root on the smallest root it touches, then flatten the trees
        np.minimum.at(comp, np.maximum(ci, cj), np.minimum(ci, cj))
        while True:
            nxt = comp[comp]
            if np.array_equal(nxt, comp):
                break
            comp = nxt


def _make_contiguous(label, parent, pairs, area):
    """Give the detached pieces of each group to the neighbour with the longest border.

    Each group keeps its largest piece, so no group ever disappears; a piece moves
    only next to another group's kept piece, so the number of pieces falls each round.
    """
    i, j, length = pairs
    inner = parent[i] == parent[j]
    i, j, length = i[inner], j[inner], length[inner]
    # a border shorter than a fifth of the smaller face's width is a pinch, not a
    # link: pieces joined only through pinches look detached on a map
    link = length >= 0.2 * np.sqrt(np.minimum(area[i], area[j]))
    n = len(label)
    while True:
        same = (label[i] == label[j]) & link
        comp = _components(n, i[same], j[same])
        mass = np.bincount(comp, weights=area, minlength=n)
        roots = np.flatnonzero(comp == np.arange(n))
        roots = roots[np.lexsort((-mass[roots], label[roots]))]
        kept = np.zeros(n, dtype=bool)
        kept[roots[np.r_[True, label[roots][1:] != label[roots][:-1]]]] = True
        kept = kept[comp]
        if kept.all():
            return label
        a, b, w = np.r_[i, j], np.r_[j, i], np.r_[length, length]
        e = np.r_[link, link] & ~kept[a] & kept[b]
        if not e.any():
            if link.all():
                # what is left lies in a part of the parent that touches no other
                # group (a parent in several parts, after a redraw cut it): no
                # face can join it, so it stays as it is (before, this looped
                # for ever and held a server worker)
                return label
            link[:] = True  # only pinches lead on: count them as links after all
            continue
        k = label.max() + 1
        key, inverse = np.unique(comp[a[e]] * k + label[b[e]], return_inverse=True)
        border = np.bincount(inverse, weights=w[e])
        piece, target = key // k, key % k
        best = np.lexsort((-border, piece))
        first = best[np.r_[True, piece[best][1:] != piece[best][:-1]]]
        new = np.full(n, -1)
        new[piece[first]] = target[first]
        move = ~kept & (new[comp] >= 0)
        label = label.copy()
        label[move] = new[comp[move]]


def _smooth(label, parent, pairs, fixed):
    """Move each face whose border is mostly with one other group into that group.

    One majority pass over the face graph: it files off the one-face spikes and
    notches the jitter leaves, while borders still follow the irregular faces.
    """
    i, j, length = pairs
    inner = parent[i] == parent[j]
    a = np.r_[i[inner], j[inner]]
    b = np.r_[j[inner], i[inner]]
    w = np.r_[length[inner], length[inner]]
    n, k = len(label), label.max() + 1
    key, inverse = np.unique(a * k + label[b], return_inverse=True)
    border = np.bincount(inverse, weights=w)
    face, other = key // k, key % k
    total = np.bincount(a, weights=w, minlength=n)
    best = np.lexsort((-border, face))
    best = best[np.r_[True, face[best][1:] != face[best][:-1]]]
    move = (other[best] != label[face[best]]) & (border[best] > 0.5 * total[face[best]])
    move &= ~fixed[face[best]]
    label = label.copy()
    label[face[best][move]] = other[best][move]
    return label


def group(xy, parent, seeds, seed_parent, pairs, area, rng, noise=0.15, power=None):
    """Give each face to a seed of its parent, in contiguous groups.

    Parameters
    ----------
    xy : ndarray (n, 2), a point per face (its centroid)
    parent : ndarray of int (n,), the parent group of each face
    seeds : ndarray (k, 2); seed_parent : ndarray of int (k,)
    pairs : (i, j, length) from :func:`adjacency`
    area : ndarray (n,), the area of each face
    rng : numpy.random.Generator
    noise : float, relative jitter of distances: 0 gives straight Voronoi borders
    power : ndarray (k,), optional, power weights from :func:`spread_seeds`;
        without them each seed gets a random weight, for uneven sizes

    Returns
    -------
    ndarray of int (n,), the seed index of each face; every seed gets at least
    one face and the faces of a seed are edge-connected.
    """
    xy, seeds = np.asarray(xy, dtype=float), np.asarray(seeds, dtype=float)
    parent, seed_parent = np.asarray(parent), np.asarray(seed_parent)
    cand = _candidates(parent, seed_parent)
    d = _distances(xy, seeds, cand)
    claim = _claims(d, cand, len(seeds))
    # a jitter per face and seed makes borders wander instead of running straight
    jitter = 1 + noise * rng.uniform(-1, 1, d.shape)
    if power is None:  # a random weight per seed makes sizes uneven
        scale, power = rng.uniform(0.85, 1.15, len(seeds)), np.zeros(len(seeds))
    else:
        scale = np.ones(len(seeds))
    score = (d * scale[cand] * jitter) ** 2 - np.asarray(power, dtype=float)[cand]
    label = cand[np.arange(len(xy)), score.argmin(axis=1)]
    label[claim] = np.arange(len(seeds))
    fixed = np.zeros(len(label), dtype=bool)
    fixed[claim] = True
    label = _smooth(label, parent, pairs, fixed)
    return _make_contiguous(label, parent, pairs, np.asarray(area, dtype=float))


def union_groups(faces, label, n, parts_allowed=False):
    """Union the faces of each of ``n`` groups; faces must form a coverage.

    Returns
    -------
    ndarray of shapely.Polygon (n,); raises RuntimeError if a group is empty, or
    not one piece unless ``parts_allowed`` (a parent that is itself in several
    parts: a piece cut off from every other group stays with its own).
    """
    order = np.argsort(label, kind="stable")
    count = np.bincount(label, minlength=n)
    rank = np.arange(len(label)) - (np.cumsum(count) - count)[label[order]]
    table = np.full((n, max(count.max(initial=0), 1)), None, dtype=object)
    table[label[order], rank] = np.asarray(faces, dtype=object)[order]
    merged = shapely.coverage_union_all(table, axis=1)
    kinds = shapely.get_type_id(merged)
    ok = (kinds == shapely.GeometryType.POLYGON) | (
        parts_allowed & (kinds == shapely.GeometryType.MULTIPOLYGON))
    if np.any(~ok | shapely.is_empty(merged)):
        raise RuntimeError("a group is empty or not contiguous")
    return merged


def partition(polygon, seeds, n_atoms=None, rng=None, noise=0.15):
    """Split ``polygon`` into one contiguous tile per seed.

    Parameters
    ----------
    polygon : shapely.Polygon (a MultiPolygon of one part is accepted)
    seeds : array of shape (k, 2) or array of shapely.Point
    n_atoms : int, atom points sampled; default 14 per seed (more atoms give
        finer, more winding borders)
    rng : numpy.random.Generator or seed
    noise : float, relative jitter of distances

    Returns
    -------
    list of shapely.Polygon, one per seed in order, tiling ``polygon`` exactly
    (shared borders have identical vertices).

    Examples
    --------
    >>> tiles = partition(shapely.box(0, 0, 100, 100), [(20, 50), (80, 50)], rng=1)
    >>> len(tiles), round(sum(t.area for t in tiles), 6)
    (2, 10000.0)
    """
    if isinstance(polygon, shapely.MultiPolygon) and len(polygon.geoms) == 1:
        polygon = polygon.geoms[0]
    if not isinstance(polygon, shapely.Polygon) or polygon.is_empty:
        raise ValueError("partition needs a non-empty Polygon")
    if not polygon.is_valid:
        raise ValueError(f"invalid polygon: {shapely.is_valid_reason(polygon)}")
    seeds = np.asarray(seeds)
    if seeds.dtype == object:
        seeds = shapely.get_coordinates(seeds)
    seeds = seeds.reshape(-1, 2).astype(float)
    if len(seeds) == 0:
        raise ValueError("partition needs at least one seed")
    if len(seeds) == 1:
        return [polygon]
    rng = np.random.default_rng(rng)
    n_atoms = 14 * len(seeds) if n_atoms is None else n_atoms
    atoms, _ = sample_points([polygon], [max(n_atoms, len(seeds))], rng)
    faces = atomize(polygon, atoms)
    xy = shapely.get_coordinates(shapely.centroid(faces))
    zero = np.zeros(len(faces), dtype=np.int64)
    label = group(
        xy,
        zero,
        seeds,
        np.zeros(len(seeds), dtype=np.int64),
        adjacency(faces),
        shapely.area(faces),
        rng,
        noise,
    )
    return list(union_groups(faces, label, len(seeds)))
