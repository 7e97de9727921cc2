"""/api/v1/heatmap and /api/v1/hotspots on the demo town, against counts made
here from the generated incidents (pandas, pyproj, brute-force contiguity)."""

import math

import numpy as np
import pandas as pd
import psycopg
import pytest
import shapely
from pyproj import Geod, Transformer

from tests.conftest import writable_demo

pytestmark = pytest.mark.db

ZONE = "EPSG:4549"  # the demo town lies at 119.7°E: CGCS2000 zone of CM 120°E
GEOD = Geod(ellps="WGS84")


@pytest.fixture(scope="module")
def incidents(demo_town):
    """The demo's incidents with their China-time day and 50 m cell in the zone."""
    frame = demo_town.incidents.copy()
    frame["day"] = frame.created_at.dt.tz_convert("Asia/Shanghai").dt.date
    x, y = Transformer.from_crs("EPSG:4326", ZONE, always_xy=True).transform(
        frame.geometry.x.values, frame.geometry.y.values)
    frame["x"], frame["y"] = x, y
    return frame


def _cells(answer):
    return {(c[0], c[1]): c[2] for c in answer["cells"]}


def test_whole_year_counts_every_incident(client, incidents):
    r = client.get("/api/v1/heatmap")
    assert r.status_code == 200
    body = r.get_json()
    assert body["crs"] == ZONE
    assert body["total"] == len(incidents) == 1230
    assert sum(c[2] for c in body["cells"]) == len(incidents)
    assert len(body["cells"]) <= 5000
    assert body["fields"] == ["lon", "lat", "count", "class"]
    assert body["breaks"][0] >= 1 and body["breaks"][-1] == body["max"]


def test_cells_match_binning_the_points_by_hand(client, incidents):
    # 200 m cells: floor(x / 200), floor(y / 200) of the projected points
    r = client.get("/api/v1/heatmap?cell_m=200")
    body = r.get_json()
    assert body["cell_m"] == 200
    expected = pd.Series(1, index=pd.MultiIndex.from_arrays(
        [np.floor(incidents.x / 200), np.floor(incidents.y / 200)])).groupby(
        level=[0, 1]).sum()
    back = Transformer.from_crs(ZONE, "EPSG:4326", always_xy=True)
    want = {}
    for (ix, iy), n in expected.items():
        lon, lat = back.transform((ix + 0.5) * 200, (iy + 0.5) * 200)
        want[(round(lon, 6), round(lat, 6))] = n
    assert _cells(body) == want
    # the legend classes follow the breaks
    breaks = body["breaks"]
    for _, _, n, k in body["cells"]:
        assert (k == 0 and n <= breaks[1]) or breaks[k] < n <= breaks[k + 1]


def test_window_and_category(client, incidents):
    day_from, day_to = pd.Timestamp("2026-03-01").date(), pd.Timestamp(
        "2026-05-31").date()
    mask = ((incidents.day >= day_from) & (incidents.day <= day_to)
            & incidents.category.isin(["dispute", "environment"]))
    r = client.get("/api/v1/heatmap?from=2026-03-01&to=2026-05-31"
                   "&category=environment,dispute")
    body = r.get_json()
    assert 0 < body["total"] == int(mask.sum()) < len(incidents)
    assert body["categories"] == ["dispute", "environment"]
    assert (body["from"], body["to"]) == ("2026-03-01", "2026-05-31")
    one_day = incidents.day.iloc[0]
    r = client.get(f"/api/v1/heatmap?from={one_day}&to={one_day}")
    assert r.get_json()["total"] == int((incidents.day == one_day).sum())


def test_bbox_and_zoom(client, incidents):
    x0, y0, x1, y1 = incidents.total_bounds
    r = client.get(f"/api/v1/heatmap?bbox={x0 - .01},{y0 - .01},{x1 + .01},"
                   f"{y1 + .01}&zoom=14")
    body = r.get_json()
    # zoom 14 at 31.25°N: 8.2 m per pixel, 20 pixels -> 200 m cells
    assert body["cell_m"] == 200 and body["total"] == len(incidents)
    r = client.get("/api/v1/heatmap?bbox=119.0,30.0,119.1,30.1")
    assert r.get_json()["cells"] == []
    # a box over the western half: cells meeting it hold at least the incidents
    # inside it, and not all
    mid = (x0 + x1) / 2
    r = client.get(f"/api/v1/heatmap?bbox={x0 - .01},{y0 - .01},{mid},{y1 + .01}"
                   "&cell_m=50")
    inside = int((incidents.geometry.x <= mid).sum())
    assert inside <= r.get_json()["total"] < len(incidents)


def test_geojson_squares(client):
    r = client.get("/api/v1/heatmap?cell_m=400&format=geojson")
    body = r.get_json()
    assert body["type"] == "FeatureCollection"
    feature = body["features"][0]
    ring = feature["geometry"]["coordinates"][0]
    assert len(ring) == 5 and ring[0] == ring[-1]
    lons, lats = zip(*ring, strict=True)
    area, _ = GEOD.polygon_area_perimeter(lons, lats)
    # a 400 m square of the Gauss-Krüger zone: 160,000 m² (scale error ~1e-4 here)
    assert abs(area) == pytest.approx(160_000, rel=2e-3)
    assert sum(f["properties"]["count"] for f in body["features"]) == body["total"]


def test_kernel_density_raster(client, incidents):
    r = client.get("/api/v1/heatmap?cell_m=200&method=kde&bandwidth_m=600")
    body = r.get_json()
    assert body["method"] == "kde" and body["fields"][2] == "density"
    assert body["bandwidth_m"] == 600 and body["unit"] == "incidents per km²"
    # the kernel sums to one: density × cell area adds up to every incident
    # (each density is rounded to 0.1 per km², 0.004 incident on a 200 m cell)
    mass = sum(c[2] for c in body["cells"]) * 0.04
    assert mass == pytest.approx(len(incidents), abs=0.004 * len(body["cells"]))
    # by hand at the densest 200 m cell: the quartic kernel of 600 m over the
    # incidents' distances to its centre, normalised as the raster is
    x, y = incidents.x.values, incidents.y.values
    ix, iy = np.floor(x / 200), np.floor(y / 200)
    best = max(_cells(body).items(), key=lambda kv: kv[1])
    bx, by = Transformer.from_crs("EPSG:4326", ZONE, always_xy=True).transform(
        *best[0])
    cx, cy = np.floor(bx / 200), np.floor(by / 200)
    offsets = np.arange(-3, 4) * 200.0
    weights = np.clip(1 - (offsets[:, None] ** 2 + offsets[None, :] ** 2) / 600**2,
                      0, None) ** 2
    weights /= weights.sum()
    di, dj = (ix - cx).astype(int), (iy - cy).astype(int)
    near = (np.abs(di) <= 3) & (np.abs(dj) <= 3)
    expected = weights[di[near] + 3, dj[near] + 3].sum() / 0.04
    assert best[1] == pytest.approx(expected, abs=0.051)
    # smoothing spreads: more cells than the binned counts, same legend shape
    bins = client.get("/api/v1/heatmap?cell_m=200").get_json()
    assert len(body["cells"]) > len(bins["cells"])
    assert body["breaks"][-1] == body["max"]


@pytest.mark.parametrize(("query", "field"), [
    ("method=idw", "method"),
    ("method=kde&bandwidth_m=1", "bandwidth_m"),
    ("from=2026-02-30", "from"),
    ("from=2026-05-01&to=2026-04-01", "from"),
    ("category=fire", "category"),
    ("zoom=30", "zoom"),
    ("cell_m=75", "cell_m"),
    ("format=xml", "format"),
    ("bbox=1,2,3", "bbox"),
])
def test_bad_heatmap_parameters(client, query, field):
    r = client.get("/api/v1/heatmap?" + query)
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == field


def test_jurisdiction_and_permission(as_user, incidents):
    village = incidents[incidents.grid_code.str.startswith("320282105001")]
    body = as_user("village1").get("/api/v1/heatmap").get_json()
    assert body["total"] == len(village) > 0
    worker_grid = incidents.grid_code.str[:15]
    r = as_user("worker").get("/api/v1/heatmap")
    assert r.status_code == 200
    assert r.get_json()["total"] == int((worker_grid == "320282105001001").sum())
    for name in ("viewer", "planner"):  # no incidents:read
        assert as_user(name).get("/api/v1/heatmap").status_code == 403
        assert as_user(name).get("/api/v1/hotspots").status_code == 403


# Hot spots ------------------------------------------------------------------------

def _gi_star_dense(y, neighbours):
    """Ord & Getis (1995) written out with a dense 0/1 matrix, self included."""
    n = len(y)
    w = neighbours.astype(float) + np.eye(n)
    mean, s = y.mean(), math.sqrt((y**2).mean() - y.mean() ** 2)
    w_sum, w_sq = w.sum(axis=1), (w**2).sum(axis=1)
    return (w @ y - mean * w_sum) / (s * np.sqrt((n * w_sq - w_sum**2) / (n - 1)))


def test_micro_grid_hot_spots_by_hand(client, demo_town, incidents):
    grids = demo_town.grids[demo_town.grids.level == 4].sort_values("code")
    geoms = np.asarray(grids.geometry.values)
    # queen contiguity the slow way: every pair of micro-grids that touch
    touches = shapely.intersects(geoms[:, None], geoms[None, :])
    np.fill_diagonal(touches, False)
    y = incidents.grid_code.value_counts().reindex(grids.code, fill_value=0)
    expected = _gi_star_dense(y.values.astype(float), touches)
    r = client.get("/api/v1/hotspots?level=4")
    assert r.status_code == 200
    body = r.get_json()
    assert body["numberMatched"] == body["numberReturned"] == len(grids) == 91
    got = {f["properties"]["code"]: f["properties"] for f in body["features"]}
    for code, z, n in zip(grids.code, expected, y.values, strict=True):
        assert got[code]["count"] == n
        assert got[code]["z"] == pytest.approx(z, abs=1e-3)
        bin_ = got[code]["bin"]
        p = got[code]["p"]
        assert (p < 0.10) == (bin_ != 0) and (bin_ > 0) == (bin_ != 0 and z > 0)
    assert body["features"][0]["geometry"]["type"] in ("Polygon", "MultiPolygon")
    assert sum(item["count"] for item in body["legend"]) == 91
    assert body["legend"][0]["label_zh"].startswith("热点")


def test_hot_spots_window_rook_and_grid(client, incidents):
    r = client.get("/api/v1/hotspots?level=3&weights=rook&category=dispute"
                   "&from=2026-01-01&to=2026-06-30&grid=320282105001")
    body = r.get_json()
    assert body["weights"] == "rook"
    mask = ((incidents.category == "dispute")
            & (incidents.day >= pd.Timestamp("2026-01-01").date())
            & (incidents.day <= pd.Timestamp("2026-06-30").date())
            & incidents.grid_code.str.startswith("320282105001"))
    codes = {f["properties"]["code"] for f in body["features"]}
    assert codes and all(c.startswith("320282105001") and len(c) == 15
                         for c in codes)
    assert sum(f["properties"]["count"] for f in body["features"]) == mask.sum()


def test_cell_hot_spots(client, incidents):
    r = client.get("/api/v1/hotspots?level=cells&cell_m=400")
    body = r.get_json()
    assert r.status_code == 200 and body["cell_m"] == 400
    # every incident lands in a unit; empty cells of the town are units too
    assert sum(f["properties"]["count"] for f in body["features"]) == len(incidents)
    assert body["numberMatched"] > len({(math.floor(x / 400), math.floor(y / 400))
                                        for x, y in zip(incidents.x, incidents.y,
                                                        strict=True)})
    assert {f["properties"]["class"] for f in body["features"]} >= {
        "not_significant"}
    r = client.get("/api/v1/hotspots?level=cells&cell_m=400&band_m=600")
    assert r.get_json()["weights"] == "band 600 m"


@pytest.mark.parametrize(("user", "query", "status", "field"), [
    ("admin", "level=1", 400, "level"),          # one town: not enough units
    ("village1", "level=2", 400, "level"),
    ("village1", "grid=320282105002", 404, None),  # another village
    ("admin", "level=5", 400, "level"),
    ("admin", "level=4&band_m=500", 400, "band_m"),
    ("admin", "weights=bishop", 400, "weights"),
    ("admin", "grid=abc", 400, "grid"),
])
def test_bad_hotspot_requests(as_user, user, query, status, field):
    r = as_user(user).get("/api/v1/hotspots?" + query)
    assert r.status_code == status
    assert r.get_json()["error"].get("field") == field


def test_village_sees_its_own_micro_grids(as_user, incidents):
    body = as_user("village1").get("/api/v1/hotspots?level=4").get_json()
    codes = [f["properties"]["code"] for f in body["features"]]
    assert codes and all(c.startswith("320282105001") for c in codes)
    village = incidents.grid_code.str.startswith("320282105001")
    assert sum(f["properties"]["count"] for f in body["features"]) == village.sum()


# The aggregate follows the incidents ---------------------------------------------

@pytest.fixture(scope="module")
def town(databases, demo_town):
    return writable_demo(databases, demo_town)


def _generation(conn):
    return conn.execute("SELECT generation FROM incident_cells_state").fetchone()[0]


def _cell_total(conn):
    return conn.execute("SELECT coalesce(sum(n), 0) FROM incident_cells").fetchone()[0]


def test_aggregate_after_demo_load(town, incidents):
    with psycopg.connect(town.url) as conn:
        per_key = conn.execute(
            "SELECT category, day, sum(n) FROM incident_cells GROUP BY 1, 2").fetchall()
    expected = incidents.groupby(["category", "day"]).size()
    assert {(c, d): n for c, d, n in per_key} == expected.to_dict()


def test_triggers_keep_counts_and_generation(town, incidents):
    client = town.client("admin")
    before = client.get("/api/v1/heatmap").get_json()["total"]
    code = incidents.code.iloc[0]
    with psycopg.connect(town.url, autocommit=True) as conn:
        g0 = _generation(conn)
        # a status change moves no count: the generation (and caches) stay
        conn.execute("UPDATE incidents SET description = 'x' WHERE code = %s",
                     (code,))
        assert _generation(conn) == g0
        # a move of 5 km east: one cell loses it, another gains it
        conn.execute("UPDATE incidents SET geom = ST_Translate(geom, 0.05, 0) "
                     "WHERE code = %s", (code,))
        assert _generation(conn) == g0 + 1
        assert _cell_total(conn) == len(incidents)
        moved = conn.execute(
            "SELECT ST_X(geom), ST_Y(geom) FROM incidents WHERE code = %s",
            (code,)).fetchone()
        x, y = Transformer.from_crs("EPSG:4326", ZONE, always_xy=True).transform(
            *moved)
        assert conn.execute(
            "SELECT n FROM incident_cells WHERE ix = %s AND iy = %s",
            (math.floor(x / 50), math.floor(y / 50))).fetchone()[0] >= 1
        conn.execute("DELETE FROM incident_events WHERE incident_id IN "
                     "(SELECT id FROM incidents WHERE code = %s)", (code,))
        conn.execute("DELETE FROM incidents WHERE code = %s", (code,))
        assert _cell_total(conn) == len(incidents) - 1
        assert not conn.execute("SELECT 1 FROM incident_cells WHERE n <= 0"
                                ).fetchone()
    # the API's cached copy notices, catching up from the log (two changes
    # logged: the move as -1 and +1, the deletion as -1)
    assert client.get("/api/v1/heatmap").get_json()["total"] == before - 1
    from layers import density

    with psycopg.connect(town.url) as conn:
        token, generation = conn.execute(
            "SELECT token, generation FROM incident_cells_state").fetchone()
        logged = conn.execute("SELECT generation, d FROM incident_cells_log "
                              "WHERE generation > %s ORDER BY generation, d",
                              (g0,)).fetchall()
    assert logged == [(g0 + 1, -1), (g0 + 1, 1), (g0 + 2, -1)]
    held_generation, held, _ = density._cubes[token]
    assert held_generation == generation and len(held.changes[0]) == 3
    r = client.post("/api/v1/incidents", json={
        "category": "environment", "source": "hotline", "description": "垃圾堆放",
        "lon": float(incidents.geometry.x.iloc[5]),
        "lat": float(incidents.geometry.y.iloc[5])})
    assert r.status_code == 201, r.get_json()
    assert client.get("/api/v1/heatmap").get_json()["total"] == before
    with psycopg.connect(town.url, autocommit=True) as conn:
        conn.execute("TRUNCATE incidents CASCADE")
        assert _cell_total(conn) == 0
        # nothing logged: every copy must reload
        assert conn.execute("SELECT log_from = generation FROM incident_cells_state"
                            ).fetchone()[0]
        assert not conn.execute("SELECT 1 FROM incident_cells_log").fetchone()
        assert conn.execute("SELECT srid FROM incident_cells_state").fetchone()[0] \
            is None
    assert client.get("/api/v1/heatmap").get_json()["cells"] == []
