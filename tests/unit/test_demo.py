"""geo.demo: the generated town, and geo.partition, the tiling it is built with.

The town is generated once per module; the city is too slow for unit tests (about
40 s), so a small two-town city stands in for it.
"""

import datetime
import doctest

import numpy as np
import pandas as pd
import pytest
import shapely

import geo.partition
from geo.assign import assign_codes
from geo.crs import to_metric
from geo.demo import Scale, generate
from geo.partition import adjacency, atomize, partition
from geo.vocab import HOUSEHOLD_TAGS, INCIDENT_STATUSES, STAFF_ROLES

AS_OF = datetime.date(2026, 11, 1)
FRAMES = ("grids", "households", "staff", "cameras", "incidents", "incident_events")


@pytest.fixture(scope="module")
def town():
    return generate("town", seed=1, as_of=AS_OF)


@pytest.fixture(scope="module")
def grids_m(town):
    """The grids in the Gauss-Krüger zone, where areas are in m²."""
    return to_metric(town.grids)


def tiling_errors(grids):
    """Worst gap-or-overlap between a parent and the union of its children, and
    worst overlap between two grids of the same level, in m² (metric grids)."""
    worst_union, worst_overlap = 0.0, 0.0
    by_code = grids.set_index("code").geometry
    for level in (2, 3, 4):
        children = grids[grids.level == level]
        for parent_code, kids in children.groupby("parent_code"):
            union = shapely.union_all(kids.geometry.values)
            diff = shapely.symmetric_difference(union, by_code[parent_code])
            worst_union = max(worst_union, diff.area)
        polys = children.geometry.values
        i, j = shapely.STRtree(polys).query(polys, predicate="intersects")
        i, j = i[i < j], j[i < j]
        if len(i):
            overlap = shapely.area(shapely.intersection(polys[i], polys[j]))
            worst_overlap = max(worst_overlap, overlap.max())
    return worst_union, worst_overlap


def test_counts(town):
    counts = town.counts()
    assert list(counts) == list(FRAMES)
    levels = town.grids.level.value_counts().sort_index().to_dict()
    assert levels == {1: 1, 2: 8, 3: 25, 4: 91}
    assert 91 * 50 <= counts["households"] <= 91 * 100
    assert counts["cameras"] == 472
    assert town.staff.role.value_counts().to_dict() == {
        "volunteer": 273,
        "liaison": 91,
        "full_time": 25,
        "grid_chief": 8,
    }
    assert town.incidents.category.value_counts().to_dict() == {
        "dispute": 600,
        "environment": 300,
        "public_order": 250,
        "illegal_building": 80,
    }


def test_the_hierarchy_tiles_exactly(grids_m):
    # 1 m² on a 75 km² town: the children's union is the parent, to rounding
    worst_union, worst_overlap = tiling_errors(grids_m)
    assert worst_union < 1.0
    assert worst_overlap < 1.0
    assert 60e6 <= grids_m[grids_m.level == 1].area.iloc[0] <= 90e6


def test_each_level_is_a_clean_coverage(grids_m):
    # neighbours share the very same vertices: no slivers, no T-junctions
    for level in (1, 2, 3, 4):
        assert shapely.coverage_is_valid(
            grids_m[grids_m.level == level].geometry.values
        )


def test_codes_and_names(town):
    g = town.grids
    assert g.code.is_unique
    assert g.name.is_unique
    assert (g.code.str.len() == 6 + 3 * g.level).all()  # 9 / 12 / 15 / 18 digits
    assert g.code.str.fullmatch(r"[0-9]+").all()
    top = g[g.level == 1]
    assert top.code.tolist() == ["320282105"] and top.name.tolist() == ["云溪镇"]
    assert top.parent_code.tolist() == [None]
    kids = g[g.level > 1]
    parent_level = kids.parent_code.map(g.set_index("code").level)
    assert (parent_level == kids.level - 1).all()
    assert all(
        c.startswith(p) for c, p in zip(kids.code, kids.parent_code, strict=True)
    )
    assert g[g.level == 2].name.str.fullmatch(r"..村").all()
    assert g[g.level == 3].name.str.fullmatch(r"..村第\d+综合网格").all()
    assert g[g.level == 4].name.str.fullmatch(r"..村\d+网格-\d+微网格").all()


def test_geometries(town, grids_m):
    g = town.grids
    assert (g.geom_type == "MultiPolygon").all()
    assert shapely.is_valid(g.geometry.values).all()
    assert (shapely.get_num_geometries(g.geometry.values) == 1).all()  # contiguous
    for frame in FRAMES[1:-1]:
        geoms = getattr(town, frame).geometry.values
        assert (shapely.get_type_id(geoms) == shapely.GeometryType.POINT).all()
        assert getattr(town, frame).crs.to_epsg() == 4326
    # irregular boundaries: tens of vertices, not Voronoi pentagons
    micro = grids_m[grids_m.level == 4].geometry.values
    assert shapely.get_num_coordinates(micro).mean() >= 20
    assert shapely.get_num_coordinates(g[g.level == 1].geometry.values)[0] >= 40


def test_micro_grids_hold_their_households(town):
    g, h = town.grids, town.households
    micro = g[g.level == 4]
    held = h.grid_code.value_counts().reindex(micro.code, fill_value=0)
    assert held.tolist() == micro.households_target.tolist()
    assert held.between(50, 100).all()
    assert g[g.level < 4].households_target.isna().all()
    inside = assign_codes(h.geometry.values, micro.geometry.values, micro.code.values)
    assert (inside == h.grid_code.to_numpy()).all()


def test_household_attributes(town):
    h = town.households
    assert h.external_id.is_unique and h.external_id.str.fullmatch(r"H\d{7}").all()
    assert h.phone.str.fullmatch(r"1[3-9]\d{9}").all()
    assert h["size"].between(1, 8).all()
    assert h.address.str.fullmatch(r"..村(\d+组|..(路|大道|街|线))\d+(-\d+)?号").all()
    assert h.address.is_unique
    assert h.head_name.str.len().between(2, 3).all()
    tagged = h.tags.map(len) > 0
    assert 0.05 < tagged.mean() < 0.2  # about one household in ten
    assert set(h.tags.explode().dropna()) <= set(HOUSEHOLD_TAGS)
    assert all(isinstance(t, list) for t in h.tags)


def test_households_cluster_along_roads_and_villages(town):
    # half of the households live in under a third of the town's 500 m squares;
    # uniform noise would need about half of them
    xy = shapely.get_coordinates(to_metric(town.households).geometry.values)
    _, count = np.unique(np.floor(xy / 500), axis=0, return_counts=True)
    count = np.sort(count)[::-1]
    squares = to_metric(town.grids).area.iloc[0] / 500**2
    half = np.searchsorted(np.cumsum(count), len(xy) / 2) + 1
    assert half < squares / 3


def test_staff(town):
    s, g = town.staff, town.grids
    assert set(s.role) <= set(STAFF_ROLES)
    level = s.grid_code.map(g.set_index("code").level)
    expected = {"grid_chief": 2, "full_time": 3, "liaison": 4, "volunteer": 4}
    assert (level == s.role.map(expected)).all()
    assert s.phone.str.fullmatch(r"1[3-9]\d{9}").all()


def test_cameras(town):
    c, g = town.cameras, town.grids
    micro = g[g.level == 4]
    assert c.code.is_unique and c.code.str.fullmatch(r"320282105C\d{4}").all()
    inside = assign_codes(c.geometry.values, micro.geometry.values, micro.code.values)
    assert (inside == c.grid_code.to_numpy()).all()
    ptz = c.kind == "ptz"
    assert c.bearing[ptz].isna().all()
    assert c.bearing[~ptz].between(0, 360, inclusive="left").all()
    for kind, fov, reach in [
        ("fixed", (50, 90), (30, 120)),
        ("checkpoint", (20, 40), (20, 50)),
        ("ptz", (360, 360), (60, 150)),
    ]:
        rows = c[c.kind == kind]
        assert len(rows) > 0
        assert rows.fov_deg.between(*fov).all() and rows.range_m.between(*reach).all()
    assert 0.85 < (c.status == "online").mean() < 0.95
    assert set(c.owner) == {"police", "social"}


def test_incidents(town):
    i = town.incidents
    assert i.code.is_unique and i.code.str.fullmatch(r"SJ20\d{6}\d{4}").all()
    end = pd.Timestamp("2026-11-01 00:00", tz="Asia/Shanghai")
    assert str(i.created_at.dt.tz) == "UTC"
    assert i.created_at.between(end - pd.Timedelta(days=365), end, "left").all()
    assert (i.deadline > i.created_at).all()
    closed = i.status.isin(["closed", "evaluated"])
    assert (i.closed_at.notna() == closed).all()
    assert (i.outcome.notna() == closed).all()
    assert i.outcome[~closed].map(lambda v: v is None).all()  # None, not NaN
    assert (i.satisfaction.notna() == (i.status == "evaluated")).all()
    assert i.escalation_level.isin([3, 4]).mean() > 0.85
    assert i.escalation_level.isin([1, 2]).any()
    disputes = i[(i.category == "dispute") & closed]
    assert (disputes.outcome == "mediated").mean() > 0.95
    # the year's old incidents are done; the open ones are mostly recent
    old = i.created_at < end - pd.Timedelta(days=90)
    assert closed[old].mean() > 0.95
    assert (~closed[i.created_at > end - pd.Timedelta(days=14)]).mean() > 0.2


def test_incidents_concentrate_in_hot_spots(town):
    # 30% of the incidents come from 3–4 hot spots: the four busiest 500 m
    # squares hold over 10% of the year's incidents (households alone: ~4%)
    xy = shapely.get_coordinates(to_metric(town.incidents).geometry.values)
    _, count = np.unique(np.floor(xy / 500), axis=0, return_counts=True)
    assert np.sort(count)[-4:].sum() > 0.10 * len(xy)


def test_incident_events_follow_the_closed_loop(town):
    e, i = town.incident_events, town.incidents.set_index("code")
    order = list(INCIDENT_STATUSES)
    passed = e.groupby("incident_code", sort=False).action.agg(list)
    assert set(passed.index) == set(i.index)
    last = passed.map(lambda a: a[-1])
    assert (last == i.status.reindex(last.index)).all()
    assert passed.map(lambda a: a == order[: len(a)]).all()
    assert (e.groupby("incident_code")["at"].diff().dropna() > pd.Timedelta(0)).all()
    first = e.groupby("incident_code")["at"].first()
    assert (first == i.created_at.reindex(first.index)).all()
    closing = e[e.action == "closed"].set_index("incident_code")["at"]
    assert (closing == i.closed_at.reindex(closing.index)).all()


def frames_equal(a, b):
    return all(frame_equal(getattr(a, name), getattr(b, name)) for name in FRAMES)


def frame_equal(x, y):
    if "geometry" in x:
        if not np.array_equal(
            shapely.to_wkb(x.geometry.values), shapely.to_wkb(y.geometry.values)
        ):
            return False
        x, y = (
            pd.DataFrame(x.drop(columns="geometry")),
            pd.DataFrame(y.drop(columns="geometry")),
        )
    return x.equals(y)


def test_same_seed_same_demo_and_another_seed_another(town):
    assert frames_equal(town, generate("town", seed=1, as_of=AS_OF))
    other = generate("town", seed=2, as_of=AS_OF)
    assert not frames_equal(town, other)
    assert not town.grids.geometry.geom_equals(other.grids.geometry).all()


def test_another_as_of_moves_the_same_town_in_time(town):
    # `gridgov demo` without --as-of generates up to today: any day gives the same
    # town, its incidents and tracks shifted to end there (here 40 days later,
    # a fixed date, so the test never depends on today)
    later = generate("town", seed=1, as_of=AS_OF + datetime.timedelta(days=40))
    shift = pd.Timedelta(days=40)
    for name in ("grids", "households", "staff", "cameras"):
        assert frame_equal(getattr(town, name), getattr(later, name)), name
    a, b = town.incidents, later.incidents
    for column in ("created_at", "deadline", "closed_at"):
        assert (b[column].dropna() - a[column].dropna()).eq(shift).all(), column
        assert b[column].isna().equals(a[column].isna())
    keep = ["category", "subtype", "source", "status", "outcome", "grid_code"]
    assert b[keep].equals(a[keep])
    assert (later.tracks["time"] - town.tracks["time"]).eq(shift).all()
    # the codes carry the (China) day of receipt
    day = (b.created_at.dt.tz_convert("Asia/Shanghai").dt.strftime("%Y%m%d"))
    assert (b.code.str[2:10] == day).all()


def test_the_incidents_reach_the_day_before_as_of(town):
    # the year ends at midnight (China time) starting --as-of: the last incident
    # is received on the evening before, or the day before that
    end = pd.Timestamp(AS_OF, tz="Asia/Shanghai")
    last = town.incidents.created_at.max()
    assert end - pd.Timedelta(days=2) <= last < end
    assert town.tracks["time"].max() < end


def test_a_small_city_of_two_towns():
    city = generate("town", seed=3, as_of=AS_OF, towns=2)
    g = city.grids
    assert g.level.value_counts().sort_index().tolist() == [2, 16, 50, 182]
    assert g[g.level == 1].code.tolist() == ["320282101", "320282102"]
    grids_m = to_metric(g)
    worst_union, worst_overlap = tiling_errors(grids_m)
    assert worst_union < 1.0 and worst_overlap < 1.0
    assert shapely.coverage_is_valid(grids_m[grids_m.level == 4].geometry.values)
    assert city.counts()["cameras"] == 2 * 472
    assert city.cameras.code.str[:9].value_counts().to_dict() == {
        "320282101": pytest.approx(472, abs=200),
        "320282102": pytest.approx(472, abs=200),
    }


def test_a_custom_scale_with_short_histories():
    tiny = Scale(
        towns=1,
        villages=2,
        level3=3,
        level4=6,
        cameras=20,
        incidents={"dispute": 40},
        events="ends",
    )
    demo = generate(tiny, seed=5, as_of=AS_OF)
    counts = demo.counts()
    assert counts["grids"] == 1 + 2 + 3 + 6 and counts["cameras"] == 20
    assert counts["incidents"] == 40
    # only the registered row and the state reached, one row when still registered
    passed = demo.incident_events.groupby("incident_code").action.agg(list)
    status = demo.incidents.set_index("code").status.reindex(passed.index)
    expected = status.map(lambda s: ["registered"] + ([s] if s != "registered" else []))
    assert (passed == expected).all()


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown scale"):
        generate("county")
    with pytest.raises(ValueError, match="at least 1"):
        generate("town", towns=0)


# geo.partition -------------------------------------------------------------------

# an L-shaped parent with a hole, 1 km across: corners and a notch to go round
L_SHAPE = shapely.Polygon(
    [(0, 0), (1000, 0), (1000, 400), (400, 400), (400, 1000), (0, 1000)],
    holes=[[(100, 100), (200, 100), (200, 200), (100, 200)]],
)


def test_partition_tiles_the_parent():
    seeds = [(50, 50), (900, 200), (200, 900), (300, 300), (600, 100), (100, 600)]
    tiles = partition(L_SHAPE, seeds, rng=7)
    assert len(tiles) == len(seeds)
    assert all(t.geom_type == "Polygon" and t.is_valid for t in tiles)
    assert shapely.symmetric_difference(shapely.union_all(tiles), L_SHAPE).area < 1e-6
    assert sum(t.area for t in tiles) == pytest.approx(L_SHAPE.area, abs=1e-6)
    assert shapely.coverage_is_valid(np.array(tiles, dtype=object))
    # irregular: the borders wind through many vertices
    assert np.mean([len(t.exterior.coords) for t in tiles]) > 10


def test_partition_is_reproducible():
    seeds = shapely.points([(100, 500), (700, 200), (300, 200)])
    a = partition(L_SHAPE, seeds, rng=1)
    b = partition(L_SHAPE, seeds, rng=np.random.default_rng(1))
    c = partition(L_SHAPE, seeds, rng=2)
    assert [t.wkb for t in a] == [t.wkb for t in b]
    assert [t.wkb for t in a] != [t.wkb for t in c]


def test_partition_edge_cases():
    assert partition(L_SHAPE, [(500, 200)]) == [L_SHAPE]
    with pytest.raises(ValueError, match="at least one seed"):
        partition(L_SHAPE, np.empty((0, 2)))
    bowtie = shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)])
    with pytest.raises(ValueError, match="invalid polygon"):
        partition(bowtie, [(0, 0), (1, 1)])
    with pytest.raises(ValueError, match="non-empty Polygon"):
        partition(
            shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(2, 0, 3, 1)]),
            [(0, 0)],
        )
    # more seeds than atoms: every seed still gets a tile
    tiles = partition(
        shapely.box(0, 0, 100, 100),
        np.random.default_rng(0).uniform(0, 100, (30, 2)),
        n_atoms=30,
        rng=0,
    )
    assert len(tiles) == 30 and all(t.area > 0 for t in tiles)


def test_atoms_form_an_exact_coverage_with_their_neighbours():
    points, _ = geo.partition.sample_points([L_SHAPE], [300], np.random.default_rng(0))
    assert shapely.contains_xy(L_SHAPE, points[:, 0], points[:, 1]).all()
    faces = atomize(L_SHAPE, points)
    assert shapely.coverage_is_valid(faces)
    assert shapely.area(faces).sum() == pytest.approx(L_SHAPE.area)
    i, j, length = adjacency(faces)
    assert (i < j).all() and (length > 0).all()
    assert len(np.unique(i * len(faces) + j)) == len(i)
    # spot check: the shared border of each pair is the length of their intersection
    common = shapely.length(
        shapely.intersection(shapely.boundary(faces[i]), shapely.boundary(faces[j]))
    )
    np.testing.assert_allclose(length, common, rtol=1e-9)


def test_components_of_a_long_chain():
    # a chain numbered in random order needs the pointer jumping to converge
    rng = np.random.default_rng(0)
    node = rng.permutation(2000)
    i, j = node[:-1], node[1:]
    cut = 700  # remove one link: two components
    i, j = np.r_[i[:cut], i[cut + 1 :]], np.r_[j[:cut], j[cut + 1 :]]
    comp = geo.partition._components(2000, i, j)
    assert len(np.unique(comp)) == 2
    assert (comp[node[: cut + 1]] == node[: cut + 1].min()).all()
    assert (comp[node[cut + 1 :]] == node[cut + 1 :].min()).all()


def test_partition_doctests():
    assert doctest.testmod(geo.partition).failed == 0
