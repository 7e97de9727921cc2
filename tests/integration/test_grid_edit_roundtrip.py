"""What the API serves can be saved back (security issue, items 11 and 8).

The grids are served at 9 decimals; an edit leaves boundaries (the neighbour
that gave up a strip) whose rounded copy crosses itself by a hair, so GET then
an unchanged PUT answered 422. And a third coordinate (QGIS often writes one)
answered 500. Known answers from the demo town (seed 1): the pushes below leave
such boundaries.
"""

import psycopg
import pytest
import shapely
from shapely.geometry import mapping, shape

from tests.conftest import writable_demo
from tests.integration.test_grid_edit import _grown
from tests.integration.test_grid_edit_upper import _db, _version

pytestmark = pytest.mark.db

# (grown, shrunk): the shrunk grid's served boundary is invalid once rounded
PUSHES = [("320282105002001", "320282105002003"),
          ("320282105007001", "320282105007002"),
          ("320282105004002002", "320282105004002003"),
          ("320282105008003001", "320282105008003004")]


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    grids = demo_town.grids.set_index("code").geometry
    client = rw.client("admin")
    for a, b in PUSHES:
        r = client.put(f"/api/v1/grids/{a}", json={
            "geometry": mapping(_grown(grids[a], grids[b])[0]),
            "version": _version(rw, a)})
        assert r.status_code == 200, r.get_json()
    return rw


def _state(rw):
    return _db(rw, "SELECT code, version, md5(ST_AsEWKB(geom)) FROM grids"
                   " ORDER BY code")


def _rounded(geometry, decimals):
    return mapping(shapely.transform(shape(geometry), lambda xy: xy.round(decimals)))


def test_every_grid_served_can_be_saved_back_unchanged(rw):
    """GET each grid of the town, PUT its geometry back as served: accepted as
    changing nothing (200, no grid changed, versions and boundaries as they
    were), including the grids whose served boundary crosses itself."""
    client = rw.client("admin")
    before = _state(rw)
    codes = [code for code, _, _ in before]
    crossing = []
    for code in codes:
        feature = client.get(f"/api/v1/grids/{code}").get_json()
        if not shape(feature["geometry"]).is_valid:
            crossing.append(code)
        r = client.put(f"/api/v1/grids/{code}", json={
            "geometry": feature["geometry"],
            "version": feature["properties"]["version"]})
        assert r.status_code == 200, (code, r.get_json())
        assert r.get_json()["grids"]["features"] == [], code
    assert {b for _, b in PUSHES} <= set(crossing)  # what failed before
    assert _state(rw) == before


@pytest.mark.parametrize("decimals", [8, 7, 6])
def test_a_client_rounding_further_is_accepted_too(rw, decimals):
    """QGIS and browsers may round further than the API does: 6 decimals is
    about 10 cm."""
    client = rw.client("admin")
    before = _state(rw)
    for _, code in PUSHES:
        feature = client.get(f"/api/v1/grids/{code}").get_json()
        r = client.put(f"/api/v1/grids/{code}", json={
            "geometry": _rounded(feature["geometry"], decimals),
            "version": feature["properties"]["version"]})
        assert r.status_code == 200, (code, r.get_json())
    assert _state(rw) == before


def _with_z(geometry, z=12.5):
    """``geometry`` (GeoJSON Polygon or MultiPolygon) with a height on every
    position, as QGIS writes a 3D layer."""
    def lift(rings):
        return [[[*xy, z] for xy in ring] for ring in rings]
    coords = geometry["coordinates"]
    return {"type": geometry["type"], "coordinates": lift(coords)
            if geometry["type"] == "Polygon" else [lift(p) for p in coords]}


def test_a_height_in_the_coordinates_is_dropped(rw, demo_town):
    """[lon, lat, z]: the height is dropped, the edit made as in 2D (it was a
    500)."""
    client = rw.client("admin")
    micro = demo_town.grids[demo_town.grids.level == 4].set_index("code").geometry
    a, b = "320282105003001001", "320282105003001002"
    grown = mapping(_grown(micro[a], micro[b])[0])
    body = {"geometry": _with_z(grown), "version": _version(rw, a)}
    preview = client.post(f"/api/v1/grids/{a}/preview", json=body)
    assert preview.status_code == 200, preview.get_json()
    flat = client.post(f"/api/v1/grids/{a}/preview",
                       json=body | {"geometry": grown}).get_json()
    assert preview.get_json()["moves"] == flat["moves"]
    assert preview.get_json()["grids"] == flat["grids"]
    r = client.put(f"/api/v1/grids/{a}", json=body)
    assert r.status_code == 200, r.get_json()
    with psycopg.connect(rw.url) as conn:
        assert conn.execute("SELECT ST_NDims(geom), ST_Area(ST_SymDifference(geom,"
                            " ST_GeomFromText(%s, 4326))::geography) FROM grids"
                            " WHERE code = %s", (shape(grown).wkt, a)).fetchone()[1] \
            < 1.0
    # a new micro-grid drawn in 3D, and a split line in 3D
    square = shapely.box(*shapely.buffer(micro[b].centroid, 0.0005).bounds)
    r = client.post("/api/v1/grids/preview", json={
        "parent": b[:15], "name": "三维", "geometry": _with_z(mapping(square))})
    assert r.status_code == 200, r.get_json()
    x0, y0, x1, y1 = micro[b].bounds
    mid = micro[b].centroid.y
    line = {"type": "LineString",
            "coordinates": [[x0 - 0.01, mid, 3.0], [x1 + 0.01, mid, 3.0]]}
    r = client.post(f"/api/v1/grids/{b}/split/preview",
                    json={"line": line, "version": _version(rw, b)})
    assert r.status_code == 200, r.get_json()


def test_four_numbers_per_position_are_refused_by_name(rw, demo_town):
    code = "320282105003002001"
    before = _state(rw)
    geometry = mapping(demo_town.grids.set_index("code").geometry[code])
    lifted = _with_z(geometry)
    lifted["coordinates"] = [[[*p, 0.0] for p in ring]
                             for ring in lifted["coordinates"]]
    r = rw.client("admin").put(f"/api/v1/grids/{code}", json={
        "geometry": lifted, "version": _version(rw, code)})
    assert r.status_code in (400, 422), r.get_json()
    assert r.get_json()["error"]["field"] == "geometry"
    assert _state(rw) == before
