"""geo.tracks: cleaning, distance, time, grids entered and coverage, known answers.

Tracks and grids are drawn in metres in EPSG:4549 (CGCS2000 GK zone, CM 120°E)
near the demo town (119.75°E 31.25°N, about 24 km west of the central meridian),
then handed to geo.tracks in EPSG:4326, as the GPX importer gives them. Back in
EPSG:4549 a metre stays a metre to well under a millimetre, and the zone's scale
there (1 + 24²/(2·6371²) ≈ 1 + 7e-6) moves 1,000 m by 7 mm: ±1 m is loose.
"""

import doctest
import time

import geopandas
import numpy as np
import pandas as pd
import pytest
import shapely

import geo.tracks
from geo.tracks import clean, coverage, local_day, summarise

GK = "EPSG:4549"
X0, Y0 = 476_000.0, 3_458_000.0  # ≈ 119.75°E 31.25°N
T0 = pd.Timestamp("2024-05-06T01:00:00Z")  # Monday 09:00 in China

# Two 100 m squares side by side, sharing the edge x = X0 + 100:
#   A: X0 … X0+100,  B: X0+100 … X0+200  (y: Y0 … Y0+100)
A = shapely.box(X0, Y0, X0 + 100, Y0 + 100)
B = shapely.box(X0 + 100, Y0, X0 + 200, Y0 + 100)
EDGE = X0 + 100
MID = Y0 + 50


def grids(*squares, codes=("A", "B", "C", "D")):
    return geopandas.GeoDataFrame(
        {"code": list(codes[: len(squares)]), "level": 4},
        geometry=geopandas.GeoSeries(list(squares), crs=GK).to_crs(4326))


GRIDS = grids(A, B)


def track(xy, seconds, worker="w1", start=T0):
    """Points at metric ``xy`` (EPSG:4549) and ``seconds`` after ``start``."""
    xy = np.asarray(xy, dtype=float)
    return geopandas.GeoDataFrame(
        {"worker": worker, "track": 0, "segment": 0,
         "time": start + pd.to_timedelta(np.asarray(seconds, dtype=float), unit="s")},
        geometry=geopandas.GeoSeries.from_xy(xy[:, 0], xy[:, 1], crs=GK).to_crs(4326))


def line(a, b, n):
    """``n`` evenly spaced points from ``a`` to ``b`` (both included)."""
    return np.linspace(a, b, n)


def summary(points, grid_frame=GRIDS, **options):
    return summarise(clean(points).points, grid_frame, **options)


# A straight walk of 1,000 m east in 20 minutes, a point every 10 s: 121 points,
# 120 steps of 8.333 m at 0.833 m/s (all above 0.3 m/s).
WALK_XY = line((X0, Y0), (X0 + 1000, Y0), 121)
WALK_S = np.arange(121) * 10.0
WALK = track(WALK_XY, WALK_S)


def test_straight_walk():
    row = summary(WALK).iloc[0]
    assert row["distance_m"] == pytest.approx(1000, abs=1)
    assert row["duration_s"] == 1200  # first to last point
    assert row["moving_s"] == 1200
    assert row["points"] == 121
    assert str(row["day"]) == "2024-05-06"
    # the map line runs from the first point to the last, in EPSG:4326
    geometry = row["geometry"]
    assert geometry.geom_type == "MultiLineString" and len(geometry.geoms) == 1
    assert shapely.get_num_points(geometry.geoms[0]) == 121


def test_a_stop_is_not_moving_time():
    # 500 m in 600 s (61 points), 600 s standing still (60 more points, every
    # 10 s at the same place), 500 m in 600 s (60 more): 181 points, 180 steps;
    # distance 1,000 m, duration 1,800 s, moving 1,200 s (the 60 still steps out)
    xy = np.r_[line((X0, Y0), (X0 + 500, Y0), 61),
               np.repeat([(X0 + 500, Y0)], 60, axis=0),
               line((X0 + 500, Y0), (X0 + 1000, Y0), 61)[1:]]
    seconds = np.arange(len(xy)) * 10.0
    row = summary(track(xy, seconds)).iloc[0]
    assert row["distance_m"] == pytest.approx(1000, abs=1)
    assert row["duration_s"] == 1800
    assert row["moving_s"] == 1200


def test_a_track_inside_one_grid():
    # a small loop inside A, 20 m or more from its edges
    xy = [(X0 + 20, Y0 + 20), (X0 + 80, Y0 + 20), (X0 + 80, Y0 + 80),
          (X0 + 20, Y0 + 80), (X0 + 20, Y0 + 20)]
    row = summary(track(xy, np.arange(5) * 60.0)).iloc[0]
    assert row["entered"] == ["A"]
    assert (row["entries"], row["distinct"]) == (1, 1)
    assert row["distance_m"] == pytest.approx(240, abs=0.01)


def test_crossing_a_b_a():
    # from A's centre east to B's centre and back: A, B, A
    xy = np.r_[line((X0 + 50, MID), (X0 + 150, MID), 11),
               line((X0 + 150, MID), (X0 + 50, MID), 11)[1:]]
    row = summary(track(xy, np.arange(len(xy)) * 10.0)).iloc[0]
    assert row["entered"] == ["A", "B", "A"]
    assert (row["entries"], row["distinct"]) == (3, 2)


# Along the shared edge: from A's centre east to the edge (+ offset), 80 m north
# along it, then back west into A. The rule: a point within 5 m of a boundary
# does not change the grid; only going more than 5 m into B enters B.
@pytest.mark.parametrize(("offset", "expected"), [
    (0.0, ["A"]),         # exactly on the edge
    (1.0, ["A"]),         # 1 m into B: within the tolerance
    (-1.0, ["A"]),        # 1 m inside A
    (4.9, ["A"]),         # just within the tolerance
    (10.0, ["A", "B", "A"]),  # 10 m into B: enters it
])
def test_along_the_shared_edge(offset, expected):
    x = EDGE + offset
    xy = np.r_[line((X0 + 50, Y0 + 10), (x, Y0 + 10), 6),
               line((x, Y0 + 10), (x, Y0 + 90), 9)[1:],
               line((x, Y0 + 90), (X0 + 50, Y0 + 90), 6)[1:]]
    row = summary(track(xy, np.arange(len(xy)) * 10.0)).iloc[0]
    assert row["entered"] == expected


def test_without_the_tolerance_1_m_enters_the_neighbour():
    # the same walk 1 m into B with tolerance_m=0: A, B, A (what the rule avoids)
    x = EDGE + 1
    xy = np.r_[line((X0 + 50, Y0 + 10), (x, Y0 + 10), 6),
               line((x, Y0 + 10), (x, Y0 + 90), 9)[1:],
               line((x, Y0 + 90), (X0 + 50, Y0 + 90), 6)[1:]]
    row = summary(track(xy, np.arange(len(xy)) * 10.0), tolerance_m=0).iloc[0]
    assert row["entered"] == ["A", "B", "A"]


def test_only_along_the_edge_stays_in_one_grid():
    # never more than 5 m from the edge: the grid assign gives the first point.
    # 1 m into B: B. On the edge itself: A (the first grid) or B, the transform to
    # EPSG:4326 and back may move a point by 1e-9 m; either way one grid, once.
    for offset, expected in [(1.0, {"B"}), (0.0, {"A", "B"})]:
        xy = line((EDGE + offset, Y0 + 10), (EDGE + offset, Y0 + 90), 9)
        row = summary(track(xy, np.arange(9) * 10.0)).iloc[0]
        assert row["entries"] == 1 and row["entered"][0] in expected


def test_outside_all_grids_is_not_an_entry():
    # A → 50 m west of A (outside every grid) → A: A entered twice
    xy = [(X0 + 50, MID), (X0 - 50, MID), (X0 + 50, MID)]
    row = summary(track(xy, [0, 60, 120])).iloc[0]
    assert row["entered"] == ["A", "A"]
    assert (row["entries"], row["distinct"]) == (2, 1)


@pytest.mark.parametrize("where", [0, 60, 120])
def test_a_50_km_jump_for_one_second_is_dropped(where):
    # one point 50 km north, one second after point `where` (first, middle,
    # last): 50,000 m/s from the point before. Dropped; the walk still 1,000 m.
    xy = np.insert(WALK_XY, where + 1, (WALK_XY[where, 0], Y0 + 50_000), axis=0)
    seconds = np.insert(WALK_S, where + 1, WALK_S[where] + 1)
    points = track(xy, seconds)
    kept, dropped = clean(points)
    assert dropped.to_dict() == {where + 1: "speed"}
    assert len(kept) == 121 and kept["leg"].nunique() == 1
    row = summarise(kept, GRIDS).iloc[0]
    assert row["distance_m"] == pytest.approx(1000, abs=1)


def test_a_bad_first_point_is_dropped():
    # the first fix 50 km north, then the walk from one second later: the walk is
    # never within 50 m/s of it before max_gap_s, so the lone point goes
    xy = np.r_[[(X0, Y0 + 50_000)], WALK_XY]
    kept, dropped = clean(track(xy, np.r_[-1.0, WALK_S]))
    assert dropped.to_dict() == {0: "speed"}
    assert len(kept) == 121 and kept["leg"].nunique() == 1


def test_two_bad_points_side_by_side():
    # points 40 and 41 both 50 km away (near each other): both dropped
    xy = WALK_XY.copy()
    xy[40:42, 1] += 50_000
    kept, dropped = clean(track(xy, WALK_S))
    assert sorted(dropped.index) == [40, 41]
    row = summarise(kept, GRIDS).iloc[0]
    assert row["distance_m"] == pytest.approx(1000, abs=1)


def test_a_two_hour_gap_makes_two_legs():
    # 1,000 m, a gap of 2 hours, 1,000 m back: 2 legs, 2,000 m (the gap's
    # 0 m is not a step), duration 2 h + 2 × 1,200 s, moving 2,400 s
    xy = np.r_[WALK_XY, WALK_XY[::-1]]
    seconds = np.r_[WALK_S, WALK_S + 1200 + 7200]
    kept, dropped = clean(track(xy, seconds))
    assert dropped.empty
    assert kept["leg"].tolist() == [0] * 121 + [1] * 121
    row = summarise(kept, GRIDS).iloc[0]
    assert row["distance_m"] == pytest.approx(2000, abs=1)
    assert row["duration_s"] == 7200 + 2400
    assert row["moving_s"] == 2400
    assert len(row["geometry"].geoms) == 2


def test_a_jump_across_a_gap_is_not_distance():
    # the second leg starts 5 km away after 2 hours: not a step, not an outlier
    xy = np.r_[WALK_XY, WALK_XY + (0, 5000)]
    kept, dropped = clean(track(xy, np.r_[WALK_S, WALK_S + 9000]))
    assert dropped.empty
    assert summarise(kept, GRIDS).iloc[0]["distance_m"] == pytest.approx(2000, abs=1)


def test_a_new_gpx_segment_starts_a_leg():
    points = track(WALK_XY, WALK_S)
    points["segment"] = pd.array([0] * 60 + [1] * 60 + [pd.NA], dtype="Int64")
    kept, _ = clean(points)
    assert kept["leg"].tolist() == [0] * 60 + [1] * 60 + [2]
    row = summarise(kept, GRIDS).iloc[0]
    # 59 + 59 steps of 8.333 m: the two steps between segments are not counted
    assert row["distance_m"] == pytest.approx(118 * 1000 / 120, abs=0.01)


def test_missing_and_duplicate_points():
    points = track(WALK_XY[:4], WALK_S[:4])
    points.loc[1, "time"] = pd.NaT
    points.loc[2, "geometry"] = None
    points = pd.concat([points, points.iloc[[3]]], ignore_index=True)
    kept, dropped = clean(points)
    assert dropped.to_dict() == {1: "no time", 2: "no position", 4: "duplicate time"}
    assert kept.index.tolist() == [0, 3]


def test_per_worker_and_local_day():
    # w1 walks at 23:50 and 00:10 local time (two days); w2 once. China is UTC+8.
    evening = pd.Timestamp("2024-05-06T15:50:00Z")  # 23:50 on the 6th in China
    points = pd.concat([
        track(WALK_XY[:2], [0, 10], "w1", evening),
        track(WALK_XY[:2], [1200, 1210], "w1", evening),
        track(WALK_XY[:3], [0, 10, 20], "w2", evening),
    ], ignore_index=True)
    got = summary(points)
    assert [(w, str(d), n) for w, d, n in got[["worker", "day", "points"]].values] == [
        ("w1", "2024-05-06", 2), ("w1", "2024-05-07", 2), ("w2", "2024-05-06", 3)]
    weekly = summary(points, by="week")
    assert [(w, str(d)) for w, d in weekly[["worker", "week"]].values] == [
        ("w1", "2024-05-06"), ("w2", "2024-05-06")]  # Monday
    assert weekly["points"].tolist() == [4, 3]
    assert [str(d) for d in local_day(points["time"])][:3] == [
        "2024-05-06", "2024-05-06", "2024-05-07"]


def test_only_level_4_grids_are_used():
    # a level-3 grid covering both squares would otherwise be found first
    frame = pd.concat([grids(A.union(B), codes=("P",)).assign(level=3), GRIDS],
                      ignore_index=True)
    xy = line((X0 + 50, MID), (X0 + 150, MID), 11)
    assert summary(track(xy, np.arange(11) * 10.0), frame).iloc[0]["entered"] == [
        "A", "B"]


def test_no_points():
    kept, dropped = clean(WALK.iloc[:0])
    assert kept.empty and "leg" in kept and dropped.empty
    got = summarise(kept, GRIDS)
    assert got.empty and got.crs == "EPSG:4326"


def test_clean_is_required():
    with pytest.raises(ValueError, match="clean"):
        summarise(WALK, GRIDS)


def test_coverage():
    # own {a, b, c, d}, visited {a, c, x}: a and c of 4 → 0.5; b and d not
    # visited; x is not w1's and does not count. w2 visited nothing of 1 → 0.
    got = coverage({"w1": ["a", "c", "x", "a"]},
                   {"w1": {"a", "b", "c", "d"}, "w2": ["e"], "w3": []})
    assert got.loc["w1", "share"] == 0.5
    assert got.loc["w1", "not_visited"] == ["b", "d"]
    assert (got.loc["w1", "own"], got.loc["w1", "visited"]) == (4, 2)
    assert got.loc["w2", "share"] == 0.0
    assert np.isnan(got.loc["w3", "share"])


def test_coverage_from_a_weekly_summary():
    xy = np.r_[line((X0 + 50, MID), (X0 + 150, MID), 11)]
    weekly = summary(track(xy, np.arange(11) * 10.0), by="week")
    entered = weekly.groupby("worker")["entered"].sum()
    got = coverage(entered, {"w1": ["A", "B", "C", "D"]})
    assert got.loc["w1", "share"] == 0.5 and got.loc["w1", "not_visited"] == ["C", "D"]


def test_speed_100k_points():
    # 10 workers × 10,000 points every 5 s, a random walk over a 10 × 10 block
    # of 100 m grids; outliers sprinkled in. Loose bounds: the machine is shared.
    rng = np.random.default_rng(0)
    squares = [shapely.box(X0 + 100 * i, Y0 + 100 * j, X0 + 100 * (i + 1),
                           Y0 + 100 * (j + 1)) for i in range(10) for j in range(10)]
    frame = geopandas.GeoDataFrame(
        {"code": [f"g{k}" for k in range(100)], "level": 4},
        geometry=geopandas.GeoSeries(squares, crs=GK).to_crs(4326))
    parts = []
    for w in range(10):
        steps = rng.normal(0, 3, size=(10_000, 2))
        xy = np.clip(np.cumsum(steps, axis=0) + (X0 + 500, Y0 + 500),
                     (X0, Y0), (X0 + 1000, Y0 + 1000))
        xy[rng.integers(1, 9_999, 5)] += 50_000
        parts.append(track(xy, np.arange(10_000) * 5.0, f"w{w}"))
    points = pd.concat(parts, ignore_index=True)
    started = time.perf_counter()
    kept, dropped = clean(points)
    cleaned = time.perf_counter()
    got = summarise(kept, frame)
    done = time.perf_counter()
    assert len(dropped) == 50 and (dropped == "speed").all()
    assert got["points"].sum() == 100_000 - 50
    assert cleaned - started < 3 and done - cleaned < 3, (cleaned - started,
                                                          done - cleaned)


def test_doctests():
    assert doctest.testmod(geo.tracks).failed == 0


def test_vertex_times_are_those_of_the_fixes_simplification_kept():
    # a zigzag walk, one fix every 5 s: simplified to 2 m, each kept vertex is one
    # of the fixes (Douglas-Peucker keeps a subsequence) and carries its time
    from geo.tracks import vertex_times

    rng = np.random.default_rng(7)
    xy = np.cumsum(rng.normal(0, 3, size=(400, 2)), axis=0)
    t = np.arange(400) * 5.0
    kept = shapely.get_coordinates(shapely.simplify(shapely.linestrings(xy), 2.0))
    assert 2 < len(kept) < 400
    got = vertex_times(xy, t, kept)
    index = [int(np.flatnonzero((xy == v).all(axis=1))[0]) for v in kept]
    assert list(got) == [t[i] for i in index]
    assert got[0] == 0 and got[-1] == t[-1] and (np.diff(got) > 0).all()
