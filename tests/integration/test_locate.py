"""Locating a point: grid chain, staff, and the cameras that see it."""

import math

import numpy as np
import pytest
import shapely
from pyproj import Transformer

pytestmark = pytest.mark.db


def _offset(lon, lat, metres, bearing_deg):
    """The point ``metres`` away on ``bearing_deg`` (clockwise from north), on the
    spheroid, computed with pyproj's geodesic, independently of PostGIS."""
    from pyproj import Geod

    x, y, _ = Geod(ellps="WGS84").fwd(lon, lat, bearing_deg, metres)
    return x, y


def _locate(client, lon, lat):
    r = client.get(f"/api/v1/locate?lon={lon:.8f}&lat={lat:.8f}")
    assert r.status_code == 200
    return r.get_json()


def test_a_point_inside_a_micro_grid_gets_its_full_chain(client, demo_town):
    grids = demo_town.grids
    micro = grids[grids.level == 4].iloc[17]
    p = micro.geometry.representative_point()
    found = _locate(client, p.x, p.y)
    chain = [g["code"] for g in found["grids"]]
    # GB/T 31000 codes: each ancestor's code is a prefix of the micro-grid's
    assert chain == [micro.code[:9], micro.code[:12], micro.code[:15], micro.code]
    assert [g["level"] for g in found["grids"]] == [1, 2, 3, 4]
    names = dict(zip(grids.code, grids.name, strict=True))
    assert [g["name"] for g in found["grids"]] == [names[c] for c in chain]
    roles = {(s["role"], s["grid_code"]) for s in found["staff"]}
    assert ("liaison", micro.code) in roles
    assert ("full_time", micro.code[:15]) in roles
    assert found["staff"][0]["grid_code"] == micro.code  # micro-grid's staff first


def test_a_point_1_km_outside_the_town_has_an_empty_chain(client, demo_town):
    town = demo_town.grids[demo_town.grids.level == 1].geometry.iloc[0]
    # 1 km east of the town's easternmost vertex
    coords = shapely.get_coordinates(town)
    lon, lat = coords[coords[:, 0].argmax()]
    x, y = _offset(lon, lat, 1000, 90)
    found = _locate(client, x, y)
    assert found["grids"] == []
    assert found["staff"] == []


def test_a_ptz_camera_sees_all_around_within_its_range(client, demo_town):
    cam = demo_town.cameras[demo_town.cameras.kind == "ptz"].iloc[0]
    for bearing in (0, 135, 250):
        x, y = _offset(cam.geometry.x, cam.geometry.y, cam.range_m * 0.8, bearing)
        seen = {c["code"]: c for c in _locate(client, x, y)["cameras"]}
        assert cam.code in seen
        assert seen[cam.code]["distance_m"] == pytest.approx(cam.range_m * 0.8, abs=0.5)
    x, y = _offset(cam.geometry.x, cam.geometry.y, cam.range_m + 5, 0)
    assert cam.code not in {c["code"] for c in _locate(client, x, y)["cameras"]}


def test_a_fixed_camera_sees_its_sector_only(client, demo_town):
    cam = demo_town.cameras[demo_town.cameras.kind == "fixed"].iloc[0]
    ahead = _offset(cam.geometry.x, cam.geometry.y, 20, cam.bearing)
    behind = _offset(cam.geometry.x, cam.geometry.y, 20, (cam.bearing + 180) % 360)
    # just outside half the field of view
    aside = _offset(cam.geometry.x, cam.geometry.y, 20,
                    (cam.bearing + cam.fov_deg / 2 + 5) % 360)
    assert cam.code in {c["code"] for c in _locate(client, *ahead)["cameras"]}
    assert cam.code not in {c["code"] for c in _locate(client, *behind)["cameras"]}
    assert cam.code not in {c["code"] for c in _locate(client, *aside)["cameras"]}


def test_metric_offsets_are_what_they_say():
    # the helper above agrees with a projected CRS to the centimetre (sanity check
    # of the test itself): 100 m east at 31.25°N in the CGCS2000 zone of 120°E
    x, y = _offset(119.75, 31.25, 100, 90)
    t = Transformer.from_crs(4326, 4549, always_xy=True)
    (ax, ay), (bx, by) = t.transform(119.75, 31.25), t.transform(x, y)
    assert math.hypot(bx - ax, by - ay) == pytest.approx(100, abs=0.5)


def _geodesic(frame, lon, lat):
    from pyproj import Geod

    n = len(frame)
    _, _, d = Geod(ellps="WGS84").inv([lon] * n, [lat] * n, frame.geometry.x.values,
                                      frame.geometry.y.values)
    return d


def test_nearby_counts_what_lies_around(as_user, demo_town):
    inc = demo_town.incidents
    open_ = inc[inc.closed_at.isna()]
    here = open_.geometry.iloc[0]
    body = as_user("dispatcher").get(
        f"/api/v1/locate/nearby?lon={here.x}&lat={here.y}").get_json()
    # known answers from pyproj on the generated data (0.5 m margin at the edges)
    d_inc = _geodesic(open_, here.x, here.y)
    sure, maybe = set(open_.code[d_inc < 199.5]), set(open_.code[d_inc < 200.5])
    assert sure <= {i["code"] for i in body["incidents"]} <= maybe
    hh = demo_town.households
    d_hh = _geodesic(hh, here.x, here.y)
    assert (d_hh < 99.5).sum() <= body["households"]["households"] <= \
        (d_hh < 100.5).sum()
    tagged = sum(len(t) for t in hh.tags[d_hh < 99.5])
    assert sum(body["households"]["tags"].values()) >= tagged
    cams = demo_town.cameras
    nearest = list(cams.code.values[np.argsort(_geodesic(cams, here.x, here.y))[:5]])
    assert [c["code"] for c in body["cameras_nearest"]] == nearest


def test_nearby_follows_the_role(as_user, demo_town):
    here = demo_town.households.geometry.iloc[0]
    leader = as_user("leader").get(
        f"/api/v1/locate/nearby?lon={here.x}&lat={here.y}").get_json()
    assert leader["households"]["tags"] is None  # counts, but no sensitive tags
    planner = as_user("planner").get(
        f"/api/v1/locate/nearby?lon={here.x}&lat={here.y}").get_json()
    assert "incidents" not in planner  # no incidents:read
    assert as_user("viewer").get(
        f"/api/v1/locate/nearby?lon={here.x}&lat={here.y}").status_code == 403


def test_locate_with_nearby_answers_the_panel_in_one_request(as_user, demo_town):
    here = demo_town.incidents[demo_town.incidents.closed_at.isna()].geometry.iloc[0]
    client = as_user("dispatcher")
    q = f"lon={here.x}&lat={here.y}"
    both = client.get(f"/api/v1/locate?{q}&nearby=1").get_json()
    alone = client.get(f"/api/v1/locate?{q}").get_json()
    near = client.get(f"/api/v1/locate/nearby?{q}").get_json()
    assert both["nearby"] == {k: v for k, v in near.items() if k != "point"}
    assert both["nearby"]["incidents"]  # the open incident itself, at 0 m
    assert {k: v for k, v in both.items() if k != "nearby"} == alone
    bad = client.get(f"/api/v1/locate?{q}&nearby=maybe")
    assert bad.status_code == 400
    assert "'nearby'" in bad.get_json()["error"]["message"]
