"""Hot spots: the Getis-Ord Gi* statistic over sparse spatial weights.

Gi* (Ord & Getis 1995, eq. 8, with the unit itself among its neighbours) compares
the sum of a variable over a unit's neighbourhood with what the whole study area
would give such a neighbourhood::

    Gi* = (sum_j w_ij x_j - X * W_i) / (S * sqrt((n * S1_i - W_i**2) / (n - 1)))

with ``W_i = sum_j w_ij``, ``S1_i = sum_j w_ij**2`` (j running over all n units, i
included), ``X`` the mean and ``S = sqrt(sum_j x_j**2 / n - X**2)``. It is already
a z-score. The weights are scipy sparse matrices (a unit has a handful of
neighbours: a dense n x n matrix of 20,000 micro-grids would be 3.2 GB), built
from shared boundaries for grids (:func:`contiguity_weights`), from index
arithmetic for square cells (:func:`lattice_weights`) or from a k-d tree within a
distance band (:func:`distance_band_weights`).
"""

import numpy as np
import shapely
from scipy import sparse
from scipy.spatial import cKDTree
from scipy.stats import norm

__all__ = [
    "CLASSES", "gi_star", "classify", "lattice_weights", "contiguity_weights",
    "distance_band_weights",
]

# bin (as ArcGIS's Gi_Bin: the sign is hot/cold, the size the confidence) ->
# (code, zh, en)
CLASSES = {
    3: ("hot_99", "热点（99% 置信）", "Hot spot, 99% confidence"),
    2: ("hot_95", "热点（95% 置信）", "Hot spot, 95% confidence"),
    1: ("hot_90", "热点（90% 置信）", "Hot spot, 90% confidence"),
    0: ("not_significant", "不显著", "Not significant"),
    -1: ("cold_90", "冷点（90% 置信）", "Cold spot, 90% confidence"),
    -2: ("cold_95", "冷点（95% 置信）", "Cold spot, 95% confidence"),
    -3: ("cold_99", "冷点（99% 置信）", "Cold spot, 99% confidence"),
}
# two-sided p-value thresholds of bins 3, 2, 1
_LEVELS = ((0.01, 3), (0.05, 2), (0.10, 1))


def gi_star(y, w, self_weight=1.0):
    """Return the Gi* z-scores and their two-sided p-values.

    Parameters
    ----------
    y : array of n numbers
        The variable (incident counts per unit).
    w : scipy sparse matrix, n x n
        Weights between distinct units; the diagonal is replaced by
        ``self_weight`` (the "star": the unit counts in its own neighbourhood).
    self_weight : float

    Returns
    -------
    z, p : arrays of n floats
        NaN where the statistic is undefined: every unit equal (S = 0), or a
        neighbourhood that is the whole study area (zero variance).

    Examples
    --------
    Four units in a row, each the neighbour of the next:

    >>> w = lattice_weights([0, 1, 2, 3], [0, 0, 0, 0])
    >>> z, p = gi_star([0, 0, 1, 5], w)
    >>> [round(float(v), 3) for v in z]
    [-1.26, -1.698, 0.728, 1.26]
    """
    y = np.asarray(y, dtype=float)
    n = len(y)
    w = sparse.csr_array(w, dtype=float)
    if w.shape != (n, n):
        raise ValueError(f"weights are {w.shape}, expected ({n}, {n})")
    if n < 3:
        raise ValueError(f"Gi* needs at least 3 units, got {n}")
    if not np.all(np.isfinite(y)):
        raise ValueError("the variable holds NaN or infinite values")
    w = w.tolil()
    w.setdiag(self_weight)
    w = w.tocsr()
    w_sum = np.asarray(w.sum(axis=1)).ravel()
    w_sq = np.asarray(w.multiply(w).sum(axis=1)).ravel()
    mean = y.mean()
    s = np.sqrt(max((y**2).mean() - mean**2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.sqrt((n * w_sq - w_sum**2) / (n - 1))
        z = (w @ y - mean * w_sum) / (s * spread)
    z[~np.isfinite(z)] = np.nan
    p = 2 * norm.sf(np.abs(z))
    return z, p


def classify(z, p):
    """The bin of each unit: +3/+2/+1 hot at 99/95/90 %, -1/-2/-3 cold, 0 not
    significant (NaN included).

    >>> classify([3.0, -2.0, 1.7, 0.5, float("nan")],
    ...          [0.0027, 0.0455, 0.089, 0.617, float("nan")]).tolist()
    [3, -2, 1, 0, 0]
    """
    z, p = np.asarray(z, dtype=float), np.asarray(p, dtype=float)
    size = np.zeros(len(z), dtype=np.int64)
    for threshold, level in reversed(_LEVELS):
        size[p < threshold] = level
    sign = np.sign(np.nan_to_num(z)).astype(np.int64)
    return np.where(np.isfinite(z), sign * size, 0)


def _symmetric(i, j, n):
    """A binary symmetric sparse matrix with ones at (i, j) and (j, i), i != j."""
    i, j = np.asarray(i, dtype=np.int64), np.asarray(j, dtype=np.int64)
    keep = i != j
    i, j = i[keep], j[keep]
    rows, cols = np.concatenate([i, j]), np.concatenate([j, i])
    w = sparse.coo_array((np.ones(len(rows)), (rows, cols)), shape=(n, n)).tocsr()
    w.data[:] = 1.0  # duplicate pairs were summed
    return w


def lattice_weights(ix, iy, rook=False):
    """Contiguity of square cells given by their indices: queen (the 8 around)
    or rook (the 4 sharing an edge), among the cells listed.

    Found by looking up each neighbour's index in the sorted keys of the cells
    (``n log n``, no pair of cells compared).

    >>> lattice_weights([0, 1, 0, 5], [0, 0, 1, 5]).toarray().astype(int).tolist()
    [[0, 1, 1, 0], [1, 0, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]]
    """
    ix, iy = np.asarray(ix, dtype=np.int64), np.asarray(iy, dtype=np.int64)
    n = len(ix)
    if n == 0:
        return sparse.csr_array((0, 0))
    x0, y0 = ix.min() - 1, iy.min() - 1
    height = int(iy.max() - y0 + 2)
    key = (ix - x0) * height + (iy - y0)
    order = np.argsort(key, kind="stable")
    sorted_keys = key[order]
    if len(np.unique(sorted_keys)) != n:
        raise ValueError("the same cell is listed twice")
    if rook:
        offsets = ((1, 0), (0, 1))
    else:
        offsets = ((1, 0), (0, 1), (1, 1), (1, -1))
    rows, cols = [], []
    for dx, dy in offsets:  # each pair once; _symmetric adds the mirror
        wanted = key + dx * height + dy
        pos = np.minimum(np.searchsorted(sorted_keys, wanted), n - 1)
        found = sorted_keys[pos] == wanted
        rows.append(np.flatnonzero(found))
        cols.append(order[pos[found]])
    return _symmetric(np.concatenate(rows), np.concatenate(cols), n)


def contiguity_weights(geoms, rook=False):
    """Contiguity of polygons: queen (any shared boundary point) or rook (a
    shared stretch of boundary).

    Candidates come from an STRtree ("intersects": polygons of a tiling meet
    only on their boundaries); rook keeps the pairs whose boundaries meet in a
    line (DE-9IM boundary/boundary of dimension 1), not at a corner only.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n == 0:
        return sparse.csr_array((0, 0))
    tree = shapely.STRtree(geoms)
    i, j = tree.query(geoms, predicate="intersects")
    once = i < j
    i, j = i[once], j[once]
    if rook and len(i):
        line = shapely.relate_pattern(geoms[i], geoms[j], "****1****")
        i, j = i[line], j[line]
    return _symmetric(i, j, n)


def distance_band_weights(x, y, band):
    """Binary weights between the points within ``band`` of each other (the
    projected coordinates' units), from a k-d tree.

    >>> distance_band_weights([0, 100, 250], [0, 0, 0], 150).toarray().tolist()
    [[0.0, 1.0, 0.0], [1.0, 0.0, 1.0], [0.0, 1.0, 0.0]]
    """
    points = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    if not band > 0:
        raise ValueError(f"distance band must be positive, got {band}")
    pairs = cKDTree(points).query_pairs(band, output_type="ndarray")
    return _symmetric(pairs[:, 0], pairs[:, 1], len(points))
