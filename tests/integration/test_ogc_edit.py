"""OGC API – Features Part 4 for grids (issue 17): create, replace and delete
through the very checks of /plan (layers/grid_edit.py: the tiling, the
jurisdiction, the audit); concurrency the OGC way — the ETag is the grid's
version, If-Match is required (428 without), a stale one is 412 (the JSON API
keeps its 409). QGIS 3.22 cannot write through OAPIF, so these are HTTP tests."""

import base64

import pytest
import shapely
from shapely.geometry import mapping

from tests.conftest import writable_demo
from tests.integration.test_grid_edit import (
    _grown,
    _households_in,
    _misplaced,
    _pairs,
    _tiling_error_m2,
    _version,
)

pytestmark = pytest.mark.db

GEOJSON = "application/geo+json"


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    return writable_demo(databases, demo_town)


def _feature(geometry, **props):
    return {"type": "Feature", "geometry": mapping(geometry), "properties": props}


def _put(client, code, geometry, if_match=None):
    headers = {"If-Match": if_match} if if_match is not None else {}
    return client.put(f"/ogc/collections/grids-4/items/{code}", headers=headers,
                      json=_feature(geometry))


def test_replace_needs_if_match_and_moves_households(rw, demo_town):
    a, b, ga, gb = list(_pairs(demo_town.grids, 4))[5]
    new_a, strip = _grown(ga, gb)
    hh = demo_town.households
    expected = set(hh[(hh.grid_code == b) & hh.within(strip)].external_id)
    client = rw.client("planner")
    read = client.get(f"/ogc/collections/grids-4/items/{a}")
    assert read.headers["ETag"] == '"1"'
    # no If-Match: 428, nothing changed
    r = _put(client, a, new_a)
    assert r.status_code == 428, r.get_json()
    assert r.get_json()["error"]["field"] == "If-Match"
    assert _version(rw, a) == 1
    r = _put(client, a, new_a, read.headers["ETag"])
    assert r.status_code == 204, r.get_json()
    assert r.headers["ETag"] == '"2"'
    assert _version(rw, a) == 2 and _version(rw, b) == 2
    assert expected <= _households_in(rw, a)
    assert _misplaced(rw) == 0 and _tiling_error_m2(rw, a[:15]) < 1.0
    # the same edit from the old ETag: 412, no change (the JSON API would say 409)
    r = _put(client, a, ga, '"1"')
    assert r.status_code == 412
    assert r.get_json()["code"] == "PreconditionFailed"
    assert _version(rw, a) == 2
    # audited as a /plan edit is
    with __import__("psycopg").connect(rw.url) as c:
        who = c.execute("SELECT username FROM audit WHERE table_name = 'grids'"
                        " AND row_key = %s AND action <> 'read'", (a,)).fetchall()
    assert ("planner",) in who


def test_an_edit_that_breaks_the_tiling_is_refused(rw, demo_town):
    a, _, ga, _ = list(_pairs(demo_town.grids, 4))[7]
    client = rw.client("planner")
    version = _version(rw, a)
    r = _put(client, a, shapely.buffer(ga, -0.0003), f'"{version}"')
    assert r.status_code == 422  # a gap nobody covers, as /plan says
    assert _version(rw, a) == version


def test_jurisdiction_and_role(rw, demo_town):
    micro = demo_town.grids[demo_town.grids.level == 4]
    code = micro.iloc[85].code
    geom = micro.iloc[85].geometry
    etag = f'"{_version(rw, code)}"'
    # a dispatcher may not edit grids at all; a leader neither
    assert _put(rw.client("village1"), code, geom, etag).status_code == 403
    assert _put(rw.client("leader"), code, geom, etag).status_code == 403
    # the planner's own root (the town) is not the planner's to redraw
    town = demo_town.grids[demo_town.grids.level == 1].iloc[0]
    r = rw.client("planner").put(
        f"/ogc/collections/grids-1/items/{town.code}",
        headers={"If-Match": f'"{_version(rw, town.code)}"'},
        json=_feature(town.geometry))
    assert r.status_code == 403
    # households are not editable through OGC
    r = rw.client("admin").put("/ogc/collections/households/items/1",
                               headers={"If-Match": '"1"'}, json=_feature(geom))
    assert r.status_code == 405


def test_create_then_delete_a_micro_grid(rw, demo_town):
    level3 = demo_town.grids[demo_town.grids.level == 3].code.iloc[9]
    host = demo_town.grids[demo_town.grids.parent_code == level3].iloc[0]
    centre = host.geometry.representative_point()
    square = shapely.box(centre.x - 0.0008, centre.y - 0.0007,
                         centre.x + 0.0008, centre.y + 0.0007)
    client = rw.client("planner")
    r = client.post("/ogc/collections/grids-4/items",
                    json=_feature(square, parent=level3, name="OGC 新建微网格"))
    assert r.status_code == 201, r.get_json()
    new = r.headers["Location"].rsplit("/", 1)[1]
    assert new.startswith(level3) and len(new) == 18
    assert r.headers["ETag"] == f'"{_version(rw, new)}"'
    got = client.get(f"/ogc/collections/grids-4/items/{new}").get_json()
    assert got["properties"]["name"] == "OGC 新建微网格"
    assert _tiling_error_m2(rw, level3) < 1.0 and _misplaced(rw) == 0
    # delete: If-Match required, stale refused, then done
    assert client.delete(f"/ogc/collections/grids-4/items/{new}").status_code == 428
    stale = client.delete(f"/ogc/collections/grids-4/items/{new}",
                          headers={"If-Match": '"999"'})
    assert stale.status_code == 412
    r = client.delete(f"/ogc/collections/grids-4/items/{new}",
                      headers={"If-Match": client.get(
                          f"/ogc/collections/grids-4/items/{new}").headers["ETag"]})
    assert r.status_code == 204
    assert client.get(f"/ogc/collections/grids-4/items/{new}").status_code == 404
    assert _tiling_error_m2(rw, level3) < 1.0 and _misplaced(rw) == 0


@pytest.mark.parametrize(("body", "status", "field"), [
    ({"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]}},
     422, "geometry"),
    ({"type": "FeatureCollection"}, 400, "body"),
    ({"type": "Feature", "geometry": None, "properties": "x"}, 400, "properties"),
])
def test_bad_bodies(rw, demo_town, body, status, field):
    code = demo_town.grids[demo_town.grids.level == 4].iloc[60].code
    r = rw.client("planner").put(f"/ogc/collections/grids-4/items/{code}",
                                 headers={"If-Match": f'"{_version(rw, code)}"'},
                                 json=body)
    assert r.status_code == status, r.get_json()
    assert r.get_json()["error"]["field"] == field


def test_basic_auth_edits_too(rw, demo_town):
    """A desktop GIS signs its edits with Basic (user name + token) as well."""
    code = demo_town.grids[demo_town.grids.level == 4].iloc[61].code
    raw = base64.b64encode(f"planner:{rw.tokens['planner']}".encode()).decode()
    c = rw.app.test_client()
    r = c.get(f"/ogc/collections/grids-4/items/{code}",
              headers={"Authorization": f"Basic {raw}"})
    assert r.status_code == 200 and r.headers["ETag"]
    assert r.headers["Content-Type"].startswith(GEOJSON)
