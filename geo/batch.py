"""Batch work cut into partitions by division code, and which partition owns
each point.

Grid codes are hierarchical prefixes: the first 6 digits are the county (区县),
9 the town (乡镇街道), 12 the village (村社区). A partition of a batch job is the
grids whose code starts with one prefix; its task reads only those grids (and
the few neighbours that touch them) and their rows, so that the index each Dask
worker builds stays small.

The cut level is chosen by size, not fixed: every county is one partition unless
it holds more than ``1 / (2 · workers)`` of the micro-grids, in which case it is
cut into its towns, and a town still that large into its villages. A province
(about a hundred counties) stays cut by county; the demo city (one county,
``320282``) is cut by town, and the demo town (one town) by village, so that
there are partitions to spread over the workers at every size.

Whatever the cut, the prefixes are disjoint (no code starts with two of them);
the codes under none of them (a town-level grid when the cut is by village, a
village with no micro-grid) make one more partition, *the rest*.

No library does this: Dask partitions a frame by index ranges or by a
spatial index (dask-geopandas' Hilbert distance), neither of which follows the
administrative boundaries that the data (and the other helpers' partitioned
tables) are cut by.
"""

from collections import Counter
from typing import NamedTuple

import numpy as np

__all__ = ["LENGTHS", "Plan", "plan", "owned"]

# prefix lengths of the cut levels: county, town, village
LENGTHS = (6, 9, 12)


class Plan(NamedTuple):
    """What :func:`plan` returns.

    prefixes : tuple of str, sorted, disjoint
    sizes : tuple of int, the micro-grids under each prefix
    lengths : tuple of int, the prefix lengths used (one if the cut is uniform)
    """

    prefixes: tuple
    sizes: tuple
    lengths: tuple

    def counts(self):
        """``[(prefix length, partitions)]``, the coarsest first.

        >>> Plan(("320282001", "320282002", "320282003001"), (5, 5, 5), (9, 12)
        ...      ).counts()
        [(9, 2), (12, 1)]
        """
        return sorted(Counter(len(p) for p in self.prefixes).items())


def plan(codes, workers, lengths=LENGTHS):
    """Cut the micro-grid ``codes`` into partitions by code prefix.

    Each county (the first ``lengths[0]`` digits) is a partition, unless it holds
    more than ``1 / (2 * workers)`` of all the codes: it is then cut at the next
    length, and so on down to the last.

    Parameters
    ----------
    codes : iterable of str
        The level-4 grid codes (each one unit of work).
    workers : int
        The number of Dask workers the partitions are spread over.
    lengths : tuple of int
        The prefix lengths, coarsest first.

    Returns
    -------
    Plan

    Examples
    --------
    Two counties of four micro-grids each, two workers: a county holds half of
    the work (more than a quarter), so each is cut into its towns; town
    110102001 still holds three, so it is cut into its villages.

    >>> codes = ["110101001001001001", "110101001002001001", "110101002001001001",
    ...          "110101002001001002", "110102001001001001", "110102001001001002",
    ...          "110102001001001003", "110102003001001001"]
    >>> p = plan(codes, 2)
    >>> p.prefixes, p.sizes
    (('110101001', '110101002', '110102001001', '110102003'), (2, 2, 3, 1))
    >>> plan(codes, 1).prefixes
    ('110101', '110102')
    """
    codes = sorted(set(codes))
    if workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    if not codes:
        return Plan((), (), ())
    short = [c for c in codes if len(c) < lengths[-1]]
    if short:
        raise ValueError(f"code {short[0]!r} is shorter than {lengths[-1]} digits")
    limit = len(codes) / (2 * workers)
    out = []
    pending = [(0, codes)]
    while pending:
        depth, group = pending.pop()
        length = lengths[depth]
        by_prefix = {}
        for code in group:
            by_prefix.setdefault(code[:length], []).append(code)
        for prefix, members in by_prefix.items():
            if len(members) > limit and depth + 1 < len(lengths):
                pending.append((depth + 1, members))
            else:
                out.append((prefix, len(members)))
    out.sort()
    return Plan(tuple(p for p, _ in out), tuple(n for _, n in out),
                tuple(sorted({len(p) for p, _ in out})))


def owned(index, in_partition, in_selected, mine):
    """Which points a partition writes, so that each point is written once.

    A partition reads every point inside the bounding box of its grids (and of
    the points it holds now), and assigns them against every grid meeting that
    box: its own and its neighbours'. So it knows each point's true grid, the
    lowest code holding it (:func:`geo.assign.assign`), even for a point on a
    county border, which two partitions read. The point belongs to:

    - the partition of its grid, when that partition is one of the run;
    - otherwise (in no grid, or in a grid outside the run) the partition that
      holds it now (``mine``), which writes its new grid or nothing (NULL).

    Parameters
    ----------
    index : ndarray of int
        Per point, the index of its grid among the grids read, -1 for none.
    in_partition, in_selected : ndarray of bool
        Per grid read: whether it is this partition's, and whether it is in any
        partition of the run.
    mine : ndarray of bool
        Per point: whether this partition holds it now (its current grid code,
        or its worker's, is under the partition's prefix).

    Returns
    -------
    ndarray of bool, one per point

    Examples
    --------
    Grids 0 (ours) and 1 (a neighbour's in the run); points in grid 0, in grid
    1, in none held by us, in none held by another.

    >>> owned(np.array([0, 1, -1, -1]), np.array([True, False]),
    ...       np.array([True, True]), np.array([False, True, True, False]))
    array([ True, False,  True, False])
    """
    index = np.asarray(index)
    inside = index >= 0
    at = np.where(inside, index, 0)
    in_partition = np.asarray(in_partition, dtype=bool)
    in_selected = np.asarray(in_selected, dtype=bool)
    if len(in_partition) == 0:
        return ~inside & np.asarray(mine, dtype=bool)
    ours = inside & in_partition[at]
    elsewhere = inside & in_selected[at]
    return ours | (~elsewhere & np.asarray(mine, dtype=bool))
