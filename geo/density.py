"""Incident density on square cells of a projected CRS, from pre-aggregated counts.

Cells are squares of ``cell_m`` metres in the deployment's CGCS2000 Gauss-Krüger
zone, indexed ``ix = floor(x / cell_m)``, ``iy = floor(y / cell_m)``. A cell ``f``
times wider is ``(ix // f, iy // f)``: coarser cells are integer divisions of the
finest, so counts kept once per finest cell serve every zoom, and the cells of two
zooms nest (squares do, hexagons do not: why the cells are squares).

The counts arrive as a :class:`Cube`: one row per (category, day, grid, finest
cell) with its count, sorted by category then day, so that a time window and a set
of categories are a few contiguous slices and a jurisdiction (grid codes starting
with a prefix) a range of the sorted codes: no row is looked at twice per request.
"""

import bisect
import math
from dataclasses import dataclass

import numpy as np
import shapely

__all__ = [
    "Cube", "cell_index", "cell_centres", "cell_polygons", "select", "bin_cells",
    "factor_for_zoom", "class_breaks", "classify", "kernel_density",
    "quartic_kernel",
]

# Web Mercator: metres per pixel at the equator at zoom 0 (256-pixel tiles).
_M_PER_PX_Z0 = 2 * math.pi * 6_378_137 / 256


def cell_index(x, y, cell_m):
    """Return the indices ``(ix, iy)`` of the ``cell_m`` squares holding ``(x, y)``.

    Examples
    --------
    >>> cell_index([0.0, 49.9, 50.0, -0.1], [125.0] * 4, 50)
    (array([ 0,  0,  1, -1]), array([2, 2, 2, 2]))
    """
    if not cell_m > 0:
        raise ValueError(f"cell size must be positive, got {cell_m}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    return (np.floor(x / cell_m).astype(np.int64),
            np.floor(y / cell_m).astype(np.int64))


def cell_centres(ix, iy, cell_m):
    """Return the projected centres ``(x, y)`` of cells ``(ix, iy)`` of ``cell_m``.

    >>> cell_centres([0, -1], [2, 2], 50)
    (array([ 25., -25.]), array([125., 125.]))
    """
    return ((np.asarray(ix, dtype=float) + 0.5) * cell_m,
            (np.asarray(iy, dtype=float) + 0.5) * cell_m)


def cell_polygons(ix, iy, cell_m):
    """Return the cells as shapely squares in the projected CRS."""
    x0 = np.asarray(ix, dtype=float) * cell_m
    y0 = np.asarray(iy, dtype=float) * cell_m
    return shapely.box(x0, y0, x0 + cell_m, y0 + cell_m)


@dataclass(frozen=True)
class Cube:
    """Incident counts per category, day, grid and finest cell, sorted for slicing.

    Attributes
    ----------
    categories : tuple of str
        Category codes; ``category`` holds indices into it.
    codes : tuple of str
        Grid codes in ascending order; ``code`` holds indices into it.
    category, day, code, ix, iy, n : numpy arrays of one length
        Rows sorted by ``category`` then ``day`` (days since 1970-01-01).
    cell_m : float
        Size of the finest cell in metres.
    """

    categories: tuple
    codes: tuple
    category: np.ndarray
    day: np.ndarray
    code: np.ndarray
    ix: np.ndarray
    iy: np.ndarray
    n: np.ndarray
    cell_m: float
    # later changes (counts may be negative), unsorted: (category, day, code, ix,
    # iy, n) arrays; see :meth:`with_changes`
    changes: tuple = ()

    def __post_init__(self):
        lengths = {len(a) for a in (self.category, self.day, self.code, self.ix,
                                    self.iy, self.n)}
        if len(lengths) != 1:
            raise ValueError(f"cube columns of different lengths: {sorted(lengths)}")
        order = np.lexsort((self.day, self.category))
        if not np.array_equal(order, np.arange(len(order))):
            raise ValueError("cube rows must be sorted by category then day")
        if list(self.codes) != sorted(self.codes):
            raise ValueError("cube codes must be in ascending order")
        # where each category's block starts and ends
        bounds = np.searchsorted(self.category, np.arange(len(self.categories) + 1))
        object.__setattr__(self, "_bounds", bounds)

    def with_changes(self, category, day, code, ix, iy, n):
        """This cube plus changes to its counts (rows of +/- counts in any order),
        kept apart so that the sorted rows need not be rebuilt for each change.
        Codes are indices into ``codes``."""
        new = [np.asarray(a) for a in (category, day, code, ix, iy, n)]
        if self.changes:
            new = [np.concatenate([old, a]) for old, a in zip(self.changes, new,
                                                               strict=True)]
        return Cube(self.categories, self.codes, self.category, self.day, self.code,
                    self.ix, self.iy, self.n, self.cell_m, tuple(new))

    def code_range(self, prefix):
        """Indices ``[lo, hi)`` of the codes starting with ``prefix``.

        Codes are digits, so the codes under a prefix run from the prefix itself
        up to (not including) the prefix followed by a character after '9'.
        """
        lo = bisect.bisect_left(self.codes, prefix)
        hi = bisect.bisect_left(self.codes, prefix + "\x7f")
        return lo, hi


def select(cube, day_from=None, day_to=None, categories=None, prefix=""):
    """Return the rows of ``cube`` inside a window, as a tuple of arrays
    ``(code, ix, iy, n)``.

    Parameters
    ----------
    day_from, day_to : int or None
        First and last day (inclusive, days since 1970-01-01); None is open.
    categories : iterable of str or None
        Category codes (unknown ones raise ``ValueError``); None means all.
    prefix : str
        Only grids whose code starts with it ('' = all).
    """
    if categories is None:
        wanted = range(len(cube.categories))
    else:
        index = {c: i for i, c in enumerate(cube.categories)}
        unknown = sorted(set(categories) - index.keys())
        if unknown:
            raise ValueError(f"unknown categories {unknown}")
        wanted = sorted(index[c] for c in set(categories))
    lo_day = -(2**31) if day_from is None else day_from
    hi_day = 2**31 - 1 if day_to is None else day_to
    slices = []
    for k in wanted:
        start, end = cube._bounds[k], cube._bounds[k + 1]
        days = cube.day[start:end]
        a = start + np.searchsorted(days, lo_day, side="left")
        b = start + np.searchsorted(days, hi_day, side="right")
        if b > a:
            slices.append(slice(a, b))
    # a full window's category blocks are adjacent: one slice, no copy
    merged = []
    for piece in slices:
        if merged and merged[-1].stop == piece.start:
            merged[-1] = slice(merged[-1].start, piece.stop)
        else:
            merged.append(piece)
    columns = (cube.code, cube.ix, cube.iy, cube.n)
    picked = [c[merged[0]] if len(merged) == 1
              else np.concatenate([c[s] for s in merged]) if merged else c[:0]
              for c in columns]
    lo, hi = cube.code_range(prefix) if prefix else (0, len(cube.codes))
    if cube.changes:
        category, day, code, ix, iy, n = cube.changes
        keep = (np.isin(category, list(wanted)) & (day >= lo_day) & (day <= hi_day)
                & (code >= lo) & (code < hi))
        picked = [np.concatenate([a, b[keep]]) for a, b in zip(
            picked, (code, ix, iy, n), strict=True)]
    if (lo, hi) != (0, len(cube.codes)):
        keep = (picked[0] >= lo) & (picked[0] < hi)
        picked = [c[keep] for c in picked]
    return tuple(picked)


def bin_cells(ix, iy, n, factor=1, window=None):
    """Sum counts ``n`` of finest cells ``(ix, iy)`` into cells ``factor`` times
    wider; return ``(cx, cy, count)`` of the non-empty coarse cells.

    Parameters
    ----------
    window : tuple of int or None
        ``(cx0, cy0, cx1, cy1)``: keep only the coarse cells in this inclusive
        index range.

    Notes
    -----
    A dense ``np.bincount`` over the occupied range of coarse indices, not a sort:
    a million rows in a few milliseconds.

    Examples
    --------
    >>> bin_cells([0, 1, 2, 3, -1], [0, 1, 0, 0, 0], [1, 2, 3, 4, 5], factor=2)
    (array([-1,  0,  1]), array([0, 0, 0]), array([5, 3, 7]))
    """
    factor = int(factor)
    if factor < 1:
        raise ValueError(f"factor must be a positive integer, got {factor}")
    ix, iy, n = np.asarray(ix), np.asarray(iy), np.asarray(n)
    if ix.dtype.kind not in "iu" or iy.dtype.kind not in "iu":
        ix, iy = ix.astype(np.int64), iy.astype(np.int64)
    if factor & (factor - 1) == 0:
        # a power of two: an arithmetic shift is a floor division, in the arrays'
        # own integer type (no int64 copy of a million rows)
        shift = factor.bit_length() - 1
        cx, cy = np.right_shift(ix, shift), np.right_shift(iy, shift)
    else:
        cx, cy = np.floor_divide(ix, factor), np.floor_divide(iy, factor)
    if len(cx) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    x0, x1, y0, y1 = cx.min(), cx.max(), cy.min(), cy.max()
    if window is not None and not (window[0] <= x0 and window[1] <= y0
                                   and x1 <= window[2] and y1 <= window[3]):
        keep = ((cx >= window[0]) & (cx <= window[2])
                & (cy >= window[1]) & (cy <= window[3]))
        cx, cy, n = cx[keep], cy[keep], n[keep]
        if len(cx) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        x0, x1, y0, y1 = cx.min(), cx.max(), cy.min(), cy.max()
    x0, y0 = int(x0), int(y0)
    width = int(y1) - y0 + 1
    key_type = np.int32 if (int(x1) - x0 + 1) * width < 2**31 else np.int64
    key = (cx - x0).astype(key_type, copy=False) * key_type(width) \
        + (cy - y0).astype(key_type, copy=False)
    sums = np.bincount(key, weights=n)
    occupied = np.flatnonzero(sums)
    return (occupied // width + x0, occupied % width + y0,
            np.rint(sums[occupied]).astype(np.int64))


def quartic_kernel(size_m, bandwidth_m):
    """The quartic (biweight) kernel ``3 / (π h²) · (1 − (d/h)²)²`` for ``d < h``,
    sampled at the centres of square cells of ``size_m`` around the centre cell,
    and scaled to sum to 1 (so that smoothing keeps the number of incidents).

    The kernel of crime mapping's hot-spot maps (ArcGIS and QGIS "Heatmap
    (kernel density estimation)" default to it): it falls to zero at the
    bandwidth, so a cell is not tinted by incidents farther than ``h``.

    >>> k = quartic_kernel(50, 100)
    >>> k.shape, round(float(k.sum()), 12), bool(k[2, 2] == k.max())
    ((5, 5), 1.0, True)
    """
    if not (size_m > 0 and bandwidth_m > 0):
        raise ValueError("cell size and bandwidth must be positive")
    r = int(math.ceil(bandwidth_m / size_m))
    offsets = np.arange(-r, r + 1) * float(size_m)
    d2 = offsets[:, None] ** 2 + offsets[None, :] ** 2
    u = 1.0 - d2 / float(bandwidth_m) ** 2
    kernel = np.where(u > 0, u * u, 0.0)
    if kernel.sum() == 0:  # a bandwidth under half a cell: the cell itself
        kernel[r, r] = 1.0
    return kernel / kernel.sum()


def kernel_density(cx, cy, count, size_m, bandwidth_m, window=None,
                   max_cells=4_000_000):
    """Kernel density of the incidents binned in cells ``(cx, cy, count)`` of
    ``size_m``: a raster on the same cells, in incidents per km².

    The binned counts are convolved with :func:`quartic_kernel` (scipy's
    ``fftconvolve``) on a dense grid spanning the occupied cells plus the
    bandwidth, or the inclusive ``window`` ``(cx0, cy0, cx1, cy1)``.

    Returns
    -------
    (cx, cy, density) of the cells whose density is above zero, density in
    incidents per km² (the number of incidents near a cell per km² of ground).

    Examples
    --------
    One incident in a cell, 50 m cells, bandwidth 50 m: the kernel reaches the
    four neighbours at 50 m only at its edge (weight 0), so it all stays in the
    one cell of 0.0025 km²: 400 per km².

    >>> kernel_density([0], [0], [1], 50, 50)
    (array([0]), array([0]), array([400.]))
    """
    from scipy.signal import fftconvolve

    cx, cy = np.asarray(cx, dtype=np.int64), np.asarray(cy, dtype=np.int64)
    count = np.asarray(count, dtype=np.float64)
    kernel = quartic_kernel(size_m, bandwidth_m)
    r = kernel.shape[0] // 2
    if window is None:
        if len(cx) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0)
        window = (int(cx.min()) - r, int(cy.min()) - r,
                  int(cx.max()) + r, int(cy.max()) + r)
    x0, y0, x1, y1 = (int(v) for v in window)
    width, height = x1 - x0 + 1, y1 - y0 + 1
    if width * height > max_cells:
        raise ValueError(f"a {width} × {height} raster is too large: coarser "
                         "cells or a smaller window")
    # incidents up to the bandwidth outside the window still count inside it
    grid = np.zeros((width + 2 * r, height + 2 * r))
    inside = (cx >= x0 - r) & (cx <= x1 + r) & (cy >= y0 - r) & (cy <= y1 + r)
    np.add.at(grid, (cx[inside] - x0 + r, cy[inside] - y0 + r), count[inside])
    smooth = fftconvolve(grid, kernel, mode="same")[r:r + width, r:r + height]
    per_km2 = smooth / (float(size_m) ** 2 / 1e6)
    # fftconvolve leaves rounding dust (1e-17) where the true value is 0
    keep = np.flatnonzero(per_km2 > 1e-9 * max(per_km2.max(initial=0), 1e-300))
    ix, iy = np.divmod(keep, height)
    return ix + x0, iy + y0, per_km2.ravel()[keep]


def factor_for_zoom(zoom, lat, cell_m, pixels=20):
    """The power of two ``f`` such that cells ``f * cell_m`` wide look about
    ``pixels`` wide on a Web Mercator map at ``zoom`` and latitude ``lat``.

    >>> factor_for_zoom(16, 31.2, 50)   # 2.04 m per pixel: 41 m, the finest
    1
    >>> factor_for_zoom(12, 31.2, 50)   # 32.7 m per pixel: 654 m -> 800 m
    16
    """
    m_per_px = _M_PER_PX_Z0 * math.cos(math.radians(lat)) / 2**zoom
    wanted = m_per_px * pixels / cell_m
    return 2 ** max(0, math.ceil(math.log2(wanted))) if wanted > 1 else 1


def class_breaks(counts, k=5):
    """Class breaks for a legend: quantiles of the counts of the non-empty cells.

    Returns the ascending distinct integer bounds ``[min, …, max]``; class ``i``
    holds the counts in ``(b[i], b[i + 1]]`` (the first also ``b[0]``). Counts
    are skewed (most cells hold one incident): equal intervals would put nearly
    every cell in the first class, quantiles spread them.

    >>> class_breaks([1, 1, 1, 1, 2, 2, 3, 5, 8, 40])
    [1, 2, 5, 40]
    >>> class_breaks([0.5, 12.34, 12.36, 400.0], k=2)
    [0.5, 12.3, 400.0]
    """
    counts = np.asarray(counts)
    counts = counts[counts > 0]
    if len(counts) == 0:
        return []
    ranked = np.sort(counts)
    n = len(ranked)
    # the i/k quantile as the smallest count with at least i/k of the cells at or
    # below it, in integers (a float i/k * n lands on either side of a rank)
    ranks = [0] + [(i * n + k - 1) // k - 1 for i in range(1, k + 1)]
    if ranked.dtype.kind in "iu":
        return sorted({int(ranked[r]) for r in ranks})
    # densities: three significant digits are what a legend prints
    return sorted({float(f"{ranked[r]:.3g}") for r in ranks})


def classify(counts, breaks):
    """The class (0-based) of each count for :func:`class_breaks`' ``breaks``.

    >>> classify([1, 2, 3, 9, 40], [1, 2, 3, 8, 40]).tolist()
    [0, 0, 1, 3, 3]
    """
    counts = np.asarray(counts)
    if len(breaks) < 2:
        return np.zeros(len(counts), dtype=np.int64)
    return np.searchsorted(np.asarray(breaks[1:-1]), counts, side="left")
