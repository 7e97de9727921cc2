"""``python -m bench check``: the topology check of the whole city hierarchy.

Ours (``geo.topology.check_hierarchy`` on the city's 24,420 grids of four levels,
with the households of its 20,000 micro-grids) beside two baselines measured in the
same run: GEOS's coverage validator alone, called per family of siblings
(``shapely.coverage_is_valid``: overlaps and unmatched edges only, no gaps, no
areas), and the plain exact overlay everywhere (sibling pairs from an ``STRtree``
query, their intersection areas, each parent minus the union of its children, each
child minus its parent). Best of ``--repeat`` runs each; bar: ours under 5 s.

The grids come from ``geo.demo.generate("city")`` (about 40 s), cached under
``var/bench/`` and reused while the generator's source is unchanged.
"""

import argparse

import numpy as np
import shapely

from bench import VAR, best_of, generate_city, pack_wkb, unpack_wkb
from bench.assign import _generator_hash

__all__ = ["BAR_S", "city_grids", "main"]

BAR_S = 5.0


def city_grids(seed=1):
    """The city's grids (GeoDataFrame, EPSG:4326) and households per micro-grid."""
    import geopandas

    path = VAR / f"city-seed{seed}-{_generator_hash()}-grids.npz"
    if not path.exists():
        demo = generate_city(seed, path)
        g = demo.grids
        wkb, lengths = pack_wkb(g.geometry.values)
        counts = demo.households["grid_code"].value_counts()
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, code=g.code.to_numpy(dtype=str), level=g.level.to_numpy(),
                 parent=g.parent_code.fillna("").to_numpy(dtype=str),
                 lengths=lengths, wkb=wkb,
                 hh_code=counts.index.to_numpy(dtype=str),
                 hh_count=counts.to_numpy())
        tmp.rename(path)
    with np.load(path) as cached:
        geoms = unpack_wkb(cached["wkb"], cached["lengths"])
        parent = cached["parent"].astype(object)
        parent[parent == ""] = None
        grids = geopandas.GeoDataFrame(
            {"code": cached["code"].astype(object), "level": cached["level"],
             "parent_code": parent}, geometry=geoms, crs="EPSG:4326")
        counts = dict(zip(cached["hh_code"].tolist(), cached["hh_count"].tolist(),
                          strict=True))
    return grids, counts


def coverage_is_valid_per_family(grids):
    """Baseline: GEOS's coverage validator, once per family of siblings."""
    from geo.crs import to_metric

    metric = to_metric(grids)
    return [shapely.coverage_is_valid(family.geometry.values)
            for _, family in metric.groupby("parent_code", dropna=False)]


def plain_overlay(grids):
    """Baseline: the exact overlay everywhere; returns the areas it finds (m²)."""
    from geo.crs import to_metric

    metric = to_metric(grids)
    geoms = metric.geometry.values
    codes = metric.code.to_numpy()
    family = metric.parent_code.fillna("").to_numpy()
    index = {c: i for i, c in enumerate(codes)}
    parent = np.array([index.get(p, -1) for p in family])
    a, b = shapely.STRtree(geoms).query(geoms, predicate="intersects")
    pair = (a < b) & (family[a] == family[b])
    overlaps = shapely.area(shapely.intersection(geoms[a[pair]], geoms[b[pair]]))
    child = np.flatnonzero(parent >= 0)
    outside = shapely.area(shapely.difference(geoms[child], geoms[parent[child]]))
    families = metric.iloc[child].groupby("parent_code").indices
    gaps = [shapely.area(shapely.difference(geoms[index[p]],
                                            shapely.union_all(geoms[child[rows]])))
            for p, rows in families.items()]
    return overlaps[overlaps > 0], outside[outside > 0], [g for g in gaps if g > 0]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench check",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    from geo.topology import check_hierarchy

    grids, counts = city_grids(args.seed)
    levels = grids.level.value_counts().sort_index().to_dict()
    print(f"{len(grids):,} grids {levels}, "
          f"{shapely.get_num_coordinates(grids.geometry.values).sum():,} vertices; "
          f"best of {args.repeat}", flush=True)
    runs = {
        "shapely.coverage_is_valid per family (no gaps, no areas)":
            lambda: coverage_is_valid_per_family(grids),
        "plain overlay (STRtree pairs, intersection, difference)":
            lambda: plain_overlay(grids),
    }
    for name, fn in runs.items():
        seconds, _ = best_of(fn, args.repeat)
        print(f"  baseline  {name:<58} {seconds:6.2f} s", flush=True)
    ours, report = best_of(lambda: check_hierarchy(grids, counts), args.repeat)
    print(f"  ours      {'geo.topology.check_hierarchy(grids, households)':<58} "
          f"{ours:6.2f} s")
    met = ours < BAR_S
    print(f"  {len(report['errors'])} error(s), {len(report['slivers'])} sliver(s); "
          f"bar under {BAR_S:g} s: {'met' if met else 'MISSED'}")
    return 0 if met else 1


if __name__ == "__main__":
    raise SystemExit(main())
