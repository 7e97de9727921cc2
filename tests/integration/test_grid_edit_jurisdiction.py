"""A planner edits grids strictly below the root of the jurisdiction, and no edit
reaches outside it (security issue, item 1).

Known answers from the generated demo town (seed 1): village 001 borders village
002; its comprehensive grid 001001 borders 002001 over ~1.7 km, and its
micro-grid 001001002 borders 002001001. Each account below is bound to a part of
village 001; ``admin`` (the demo's) is bound to nothing.
"""

import pytest
import shapely
from shapely.geometry import mapping

from tests.conftest import writable_demo
from tests.integration.test_grid_edit import _grown
from tests.integration.test_grid_edit_upper import _db, _snapshot, _version

pytestmark = pytest.mark.db

TOWN = "320282105"
VILLAGE = f"{TOWN}001"            # the planners' village
NEIGHBOUR = f"{TOWN}002"          # the village next to it
LEVEL3 = f"{VILLAGE}001"          # borders NEIGHBOUR's 001 (FOREIGN3)
FOREIGN3 = f"{NEIGHBOUR}001"
MICRO = f"{LEVEL3}002"            # borders FOREIGN4
FOREIGN4 = f"{FOREIGN3}001"
SIBLING = f"{LEVEL3}001"          # MICRO's sibling, outside MICRO's planner's area

ACCOUNTS = {  # username -> (role, root of the jurisdiction)
    "vplanner": ("planner", VILLAGE),
    "vadmin": ("admin", VILLAGE),     # an administrator bound to a village
    "mplanner": ("planner", MICRO),   # a planner of one micro-grid
}


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    from layers import users
    from layers.access import SYSTEM

    def setup(conn):
        for name, (role, root) in ACCOUNTS.items():
            users.add_user(conn, SYSTEM, name, role, grid_code=root)

    return writable_demo(databases, demo_town, setup)


def _geometry(demo_town, code):
    return demo_town.grids.set_index("code").geometry[code]


def _pushed(demo_town, code, into):
    """``code``'s boundary grown ~40 m into ``into`` along their shared border."""
    grown, _ = _grown(_geometry(demo_town, code), _geometry(demo_town, into))
    return mapping(grown)


def _square_across(demo_town, inside, outside):
    """A ~150 m square centred on the border of ``inside`` and ``outside``."""
    border = shapely.intersection(_geometry(demo_town, inside).boundary,
                                  _geometry(demo_town, outside).boundary)
    c = shapely.line_interpolate_point(shapely.line_merge(border), 0.5,
                                       normalized=True)
    return mapping(shapely.box(c.x - 0.0008, c.y - 0.0007, c.x + 0.0008,
                               c.y + 0.0007))


def _children_of(demo_town, parent):
    grids = demo_town.grids
    return grids[grids.parent_code == parent].set_index("code").geometry


def _send(client, method, url, body):
    if method == "DELETE":
        return client.delete(url)
    return client.open(url, method=method, json=body)


def _refused(r, words):
    """403, saying ``words``, and nothing of what the edit would do: no
    geometry, no household ids, no preview of any kind."""
    assert r.status_code == 403, r.get_json()
    body = r.get_json()
    assert set(body) == {"error"}
    assert set(body["error"]) <= {"code", "message", "field", "outside"}
    assert all(w in body["error"]["message"] for w in words), body
    text = r.get_data(as_text=True)
    assert "coordinates" not in text and "moves" not in text
    return body["error"]


def _cases(demo_town, rw):
    """(user, method, url, body, words that the 403 must say)."""
    v = {c: _version(rw, c) for c in (VILLAGE, NEIGHBOUR, LEVEL3, MICRO, SIBLING)}
    kids = _children_of(demo_town, LEVEL3)
    # LEVEL3's micro-grids as they are, the one on the border grown into FOREIGN4
    adopted = [mapping(g) if c != MICRO else _pushed(demo_town, MICRO, FOREIGN4)
               for c, g in kids.items()]
    kid_versions = {c: _version(rw, c) for c in kids.index}
    root = "root of your jurisdiction"
    above = "lies above your jurisdiction"
    return [
        # the root itself: redraw swallowing part of the neighbouring village
        *[(user, method, url, {"geometry": _pushed(demo_town, VILLAGE, NEIGHBOUR),
                               "version": v[VILLAGE]}, [root, VILLAGE])
          for user in ("vplanner", "vadmin")
          for method, url in (("PUT", f"/api/v1/grids/{VILLAGE}"),
                              ("POST", f"/api/v1/grids/{VILLAGE}/preview"))],
        # inside the village, but drawn into the neighbouring village's grids
        *[("vplanner", method, url, {"geometry": _pushed(demo_town, code, into),
                                     "version": v[code]}, ["outside", into])
          for code, into in ((LEVEL3, FOREIGN3), (MICRO, FOREIGN4))
          for method, url in (("PUT", f"/api/v1/grids/{code}"),
                              ("POST", f"/api/v1/grids/{code}/preview"))],
        # a micro-grid's planner deletes it into a sibling outside their area
        *[("mplanner", "DELETE", url, None, [root, MICRO])
          for url in (f"/api/v1/grids/{MICRO}?version={v[MICRO]}",
                      f"/api/v1/grids/{MICRO}?version={v[MICRO]}&into={SIBLING}")],
        ("mplanner", "POST", f"/api/v1/grids/{MICRO}/delete/preview?version="
         f"{v[MICRO]}&into={SIBLING}", {}, [root, MICRO]),
        ("mplanner", "PUT", f"/api/v1/grids/{MICRO}",
         {"geometry": _pushed(demo_town, MICRO, SIBLING), "version": v[MICRO]},
         [root]),
        # merging the root with a neighbour
        *[(user, "POST", url, {"codes": codes, "versions": {c: v[c] for c in codes}},
           [root])
          for url in ("/api/v1/grids/merge", "/api/v1/grids/merge/preview")
          for user, codes in (("vplanner", [VILLAGE, NEIGHBOUR]),
                              ("mplanner", [MICRO, SIBLING]))],
        # splitting the root
        *[("vplanner", "POST", url, {"line": {"type": "LineString", "coordinates": [
            [119.6, 31.2], [119.9, 31.3]]}, "version": v[VILLAGE]}, [root])
          for url in (f"/api/v1/grids/{VILLAGE}/split",
                      f"/api/v1/grids/{VILLAGE}/split/preview")],
        # a grid above the jurisdiction: its children replaced, one created there,
        # micro-grids proposed for it
        *[("mplanner", method, url, body, [above, LEVEL3])
          for method, url, body in (
              ("PUT", f"/api/v1/grids/{LEVEL3}/children",
               {"grids": {"type": "FeatureCollection", "features": [
                   {"type": "Feature", "geometry": g} for g in adopted]},
                "versions": kid_versions}),
              ("POST", f"/api/v1/grids/{LEVEL3}/children/preview",
               {"grids": {"type": "FeatureCollection", "features": [
                   {"type": "Feature", "geometry": g} for g in adopted]},
                "versions": kid_versions}),
              ("POST", "/api/v1/grids", {
                  "parent": LEVEL3, "name": "新", "geometry": _square_across(
                      demo_town, MICRO, SIBLING)}),
              ("POST", f"/api/v1/grids/{LEVEL3}/propose-micro", {"target": 60}))],
        # micro-grids adopted or created inside the village, drawn into the
        # neighbouring village's micro-grid
        *[("vplanner", method, url, {
            "grids": {"type": "FeatureCollection", "features": [
                {"type": "Feature", "geometry": g} for g in adopted]},
            "versions": kid_versions}, ["outside", FOREIGN4])
          for method, url in (("PUT", f"/api/v1/grids/{LEVEL3}/children"),
                              ("POST", f"/api/v1/grids/{LEVEL3}/children/preview"))],
        *[("vplanner", "POST", url, {
            "parent": LEVEL3, "name": "越界微网格",
            "geometry": _square_across(demo_town, MICRO, FOREIGN4)},
           ["outside", FOREIGN4])
          for url in ("/api/v1/grids", "/api/v1/grids/preview")],
    ]


def test_edits_reaching_outside_the_jurisdiction_are_refused(rw, demo_town):
    """Every grid-editing route, save and preview: 403 naming the grids, nothing
    of the edit shown, the database as it was."""
    before = _snapshot(rw)
    households = _db(rw, "SELECT id, grid_code FROM households ORDER BY id")
    cameras = _db(rw, "SELECT id, grid_code FROM cameras ORDER BY id")
    for user, method, url, body, words in _cases(demo_town, rw):
        error = _refused(_send(rw.client(user), method, url, body), words)
        if "outside" in words:
            assert error["outside"] == [words[1]], (url, error)
    assert _snapshot(rw) == before
    assert _db(rw, "SELECT id, grid_code FROM households ORDER BY id") == households
    assert _db(rw, "SELECT id, grid_code FROM cameras ORDER BY id") == cameras


def test_a_grid_outside_the_jurisdiction_stays_unknown(rw):
    """A grid of another village is not named to a village planner who asks for
    it by code: 404, as for a code that does not exist."""
    client = rw.client("vplanner")
    r = client.post(f"/api/v1/grids/{FOREIGN3}/preview",
                    json={"geometry": {"type": "Polygon", "coordinates": [[
                        [119.7, 31.2], [119.71, 31.2], [119.71, 31.21],
                        [119.7, 31.2]]]}, "version": 1})
    assert r.status_code == 404
    r = client.post("/api/v1/grids/merge/preview",
                    json={"codes": [LEVEL3, FOREIGN3],
                          "versions": {LEVEL3: 1, FOREIGN3: 1}})
    assert r.status_code == 404


def test_edits_inside_the_jurisdiction_still_work(rw, demo_town):
    """The village planner and the village's administrator redraw grids of their
    village, pushing into a sibling inside it; a global administrator may redraw
    the village itself (preview)."""
    level3 = f"{VILLAGE}003"
    micro = sorted(_children_of(demo_town, level3).index)
    for user, (a, b) in (("vplanner", (f"{VILLAGE}002", level3)),
                         ("vadmin", (micro[0], micro[1]))):
        body = {"geometry": _pushed(demo_town, a, b), "version": _version(rw, a)}
        client = rw.client(user)
        preview = client.post(f"/api/v1/grids/{a}/preview", json=body)
        assert preview.status_code == 200, preview.get_json()
        assert b in {f["properties"]["code"]
                     for f in preview.get_json()["grids"]["features"]}
        r = client.put(f"/api/v1/grids/{a}", json=body)
        assert r.status_code == 200, r.get_json()
        assert _version(rw, a) == body["version"] + 1
    r = rw.client("vplanner").post(f"/api/v1/grids/{LEVEL3}/propose-micro",
                                   json={"target": 60})
    assert r.status_code == 200, r.get_json()
    before = _snapshot(rw)
    body = {"geometry": _pushed(demo_town, VILLAGE, NEIGHBOUR),
            "version": _version(rw, VILLAGE)}
    r = rw.client("admin").post(f"/api/v1/grids/{VILLAGE}/preview", json=body)
    assert r.status_code == 200, r.get_json()
    changed = {f["properties"]["code"] for f in r.get_json()["grids"]["features"]}
    assert {VILLAGE, NEIGHBOUR} <= changed
    assert _snapshot(rw) == before
