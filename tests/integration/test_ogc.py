"""OGC API – Features at /ogc (issue 17, QGIS): the standard's resources, scoped,
masked and audited exactly as the JSON API, bad parameters a 400 in the OGC
shape with our bilingual message, and HTTP Basic with an API token (never the
login password)."""

import base64
import math

import psycopg
import pytest

pytestmark = pytest.mark.db


def _basic(user, secret):
    raw = base64.b64encode(f"{user}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def _audit_rows(url, table):
    with psycopg.connect(url) as c:
        return c.execute("SELECT count(*) FROM audit WHERE action = 'read'"
                         " AND table_name = %s", (table,)).fetchone()[0]


def test_landing_conformance_and_service_desc(client):
    r = client.get("/ogc")
    assert r.status_code == 200
    rels = {link["rel"]: link["href"] for link in r.get_json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    conf = client.get(rels["conformance"]).get_json()["conformsTo"]
    assert any(c.endswith("/conf/core") for c in conf)
    assert any(c.endswith("/conf/geojson") for c in conf)
    assert any(c.endswith("/conf/oas30") for c in conf)
    doc = client.get(rels["service-desc"]).get_json()
    assert doc["openapi"].startswith("3.0")
    limit = next(p for p in doc["paths"]["/ogc/collections/grids-4/items"]["get"][
        "parameters"] if p["name"] == "limit")["schema"]
    assert (limit["default"], limit["maximum"]) == (100, 10_000)
    # every /ogc route is in the document
    assert "/ogc/collections/incidents/items/{featureId}" in doc["paths"]


def test_the_landing_page_answers_with_a_trailing_slash_too(client, anonymous):
    """/ogc/ is what many clients type: the landing page, not a 404."""
    r = client.get("/ogc/")
    assert r.status_code == 200
    assert r.get_json()["links"] == client.get("/ogc").get_json()["links"]
    refused = anonymous.get("/ogc/")
    assert refused.status_code == 401
    assert refused.headers["WWW-Authenticate"] == 'Basic realm="gridgov"'


def test_the_ogc_layer_reads_only_public_names():
    """layers/ogc.py builds its collections from the other layers' fragments by
    their public names (in their ``__all__``), none of their private ones."""
    import ast
    from pathlib import Path

    import layers

    path = Path(layers.__file__).parent / "ogc.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    used = {(n.value.id, n.attr) for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name)
            and n.value.id.endswith("_layer")}
    assert used and not {u for u in used if u[1].startswith("_")}, used
    from layers import grids, households, incidents
    modules = {"grids_layer": grids, "households_layer": households,
               "incidents_layer": incidents}
    for module, name in used:
        assert name in modules[module].__all__, (module, name)


def test_collection_extents_are_cached_by_the_data_generation(app, client, demo_url):
    """Repeated /ogc/collections measure no extent again (each is cached under
    its layer's data generation); a write to a layer measures that layer's again,
    and only it."""
    cache = app.extensions["gridgov.ogc_extents"]
    cache.clear()
    misses, hits = cache.misses, cache.hits
    first = client.get("/ogc/collections").get_json()["collections"]
    measured = cache.misses - misses
    assert measured >= 7 and len(cache) == measured  # tracks have no generation
    again = client.get("/ogc/collections").get_json()["collections"]
    assert again == first
    assert (cache.misses - misses, cache.hits - hits) == (measured, measured)
    with psycopg.connect(demo_url) as c:  # as a write to cameras bumps it
        c.execute("UPDATE tile_generations SET generation = generation + 1"
                  " WHERE layer = 'cameras' AND slot = 0")
    assert client.get("/ogc/collections").get_json()["collections"] == first
    assert cache.misses - misses == measured + 1


def test_collections_follow_the_role(as_user):
    def ids(user):
        return {c["id"] for c in as_user(user).get("/ogc/collections").get_json()[
            "collections"]}

    grids = {"grids-1", "grids-2", "grids-3", "grids-4"}
    assert ids("admin") == grids | {"households", "cameras", "incidents", "tracks"}
    assert ids("planner") == grids | {"households", "cameras"}
    assert ids("viewer") == grids | {"cameras"}
    r = as_user("viewer").get("/ogc/collections/households/items")
    assert r.status_code == 403
    assert r.get_json()["code"] == "Forbidden"
    assert as_user("viewer").get("/ogc/collections/nothing").status_code == 404


def test_collection_declares_limit(client):
    c = client.get("/ogc/collections/grids-4").get_json()
    assert c["limit"] == {"default": 100, "maximum": 10_000}
    assert len(c["extent"]["spatial"]["bbox"][0]) == 4
    assert any(link["rel"] == "items" for link in c["links"])


def test_grid_items_match_the_json_api_and_page(client):
    api = client.get("/api/v1/grids?level=4").get_json()
    first = client.get("/ogc/collections/grids-4/items?limit=40")
    assert first.status_code == 200
    assert first.headers["Content-Type"].startswith("application/geo+json")
    page = first.get_json()
    assert page["numberMatched"] == api["numberMatched"] == 91
    assert page["numberReturned"] == 40
    assert page["timeStamp"].endswith("+08:00")
    seen = [f["id"] for f in page["features"]]
    while nxt := [link for link in page["links"] if link["rel"] == "next"]:
        page = client.get(nxt[0]["href"]).get_json()
        seen += [f["id"] for f in page["features"]]
    assert seen == [f["id"] for f in api["features"]]
    assert page["features"][-1]["properties"] == api["features"][-1]["properties"]
    one = client.get(f"/ogc/collections/grids-4/items/{seen[0]}").get_json()
    assert one["properties"]["code"] == seen[0]


def test_scoped_like_the_json_api(as_user):
    village = as_user("village1")
    api = village.get("/api/v1/grids?level=4").get_json()
    ogc = village.get("/ogc/collections/grids-4/items?limit=1000").get_json()
    assert ogc["numberMatched"] == api["numberMatched"] < 91
    outside = as_user("admin").get("/ogc/collections/grids-4/items?limit=1000"
                                   ).get_json()["features"][-1]["id"]
    assert village.get(f"/ogc/collections/grids-4/items/{outside}").status_code == 404
    api_h = village.get("/api/v1/households?limit=1").get_json()["total"]
    ogc_h = village.get("/ogc/collections/households/items?limit=1").get_json()
    assert ogc_h["numberMatched"] == api_h


def test_households_masked_per_role_and_audited(as_user, demo_url):
    before = _audit_rows(demo_url, "households")
    planner = as_user("planner").get("/ogc/collections/households/items?limit=5")
    props = planner.get_json()["features"][0]["properties"]
    assert "****" in props["phone"] and props["tags"] is None
    api = as_user("planner").get("/api/v1/households?limit=5").get_json()["items"]
    assert props["phone"] == api[0]["phone"]
    assert props["head_name"] == api[0]["head_name"]
    dispatcher = as_user("dispatcher").get(
        "/ogc/collections/households/items?limit=5").get_json()
    assert "****" not in dispatcher["features"][0]["properties"]["phone"]
    hid = dispatcher["features"][0]["id"]
    as_user("dispatcher").get(f"/ogc/collections/households/items/{hid}")
    assert _audit_rows(demo_url, "households") == before + 4


def test_incidents_datetime_filters_and_audit(client, demo_url):
    api = client.get("/api/v1/incidents?status=closed&limit=1").get_json()["total"]
    r = client.get("/ogc/collections/incidents/items?status=closed&limit=1")
    assert r.get_json()["numberMatched"] == api
    before = _audit_rows(demo_url, "incidents")
    window = client.get("/ogc/collections/incidents/items?limit=1&datetime="
                        "2026-06-01T00:00:00%2B08:00/2026-07-01T00:00:00%2B08:00")
    api = client.get("/api/v1/incidents?limit=1&since=2026-06-01T00:00:00%2B08:00"
                     "&until=2026-07-01T00:00:00%2B08:00").get_json()["total"]
    assert window.get_json()["numberMatched"] == api > 0
    open_end = client.get("/ogc/collections/incidents/items?limit=1&datetime="
                          "2026-06-01T00:00:00%2B08:00/..").get_json()
    assert open_end["numberMatched"] > api
    assert _audit_rows(demo_url, "incidents") == before + 3  # and the API's one


def test_bbox_filters(client):
    everything = client.get("/ogc/collections/cameras/items?limit=1").get_json()
    lon, lat = everything["features"][0]["geometry"]["coordinates"]
    near = client.get(f"/ogc/collections/cameras/items?bbox={lon - 0.001},"
                      f"{lat - 0.001},{lon + 0.001},{lat + 0.001}").get_json()
    assert 1 <= near["numberMatched"] < everything["numberMatched"]


@pytest.mark.parametrize(("query", "status", "field"), [
    ("limit=0", 400, "limit"),
    ("limit=10001", 400, "limit"),
    ("limit=x", 400, "limit"),
    ("bbox=1,2,3", 400, "bbox"),
    ("datetime=yesterday", 400, "datetime"),
    ("datetime=2026-07-01/2026-06-01", 400, "datetime"),
    ("colour=red", 400, "colour"),
    ("size=big", 400, "size"),
    ("f=html", 406, "f"),
])
def test_bad_parameters(client, query, status, field):
    r = client.get(f"/ogc/collections/households/items?{query}")
    assert r.status_code == status, r.get_data(as_text=True)
    body = r.get_json()
    assert body["code"] in ("InvalidParameterValue", "NotAcceptable")
    assert body["error"]["field"] == field
    assert "（" in body["description"]  # Chinese first, then the English


def test_datetime_on_a_collection_without_time(client):
    r = client.get("/ogc/collections/grids-4/items?datetime=2026-06-01")
    assert r.status_code == 400 and r.get_json()["error"]["field"] == "datetime"


def test_anonymous_gets_401_offering_basic(app):
    r = app.test_client().get("/ogc/collections")
    assert r.status_code == 401
    assert r.headers["WWW-Authenticate"] == 'Basic realm="gridgov"'
    assert r.get_json()["code"] == "Unauthorized"


def test_basic_with_an_api_token(app, tokens, passwords):
    c = app.test_client()
    ok = c.get("/ogc/collections", headers=_basic("planner", tokens["planner"]))
    assert ok.status_code == 200
    # the login password is refused over Basic, and so is another user's token
    for user, secret in (("planner", passwords["planner"]),
                         ("admin", tokens["planner"])):
        r = c.get("/ogc/collections", headers=_basic(user, secret))
        assert r.status_code == 401, (user, r.status_code)
        assert r.headers["WWW-Authenticate"] == 'Basic realm="gridgov"'
    # Basic opens /ogc and /tiles only, not the JSON API
    r = c.get("/api/v1/grids", headers=_basic("planner", tokens["planner"]))
    assert r.status_code == 401
    tile = c.get("/tiles/grids/14/13638/6642.mvt",
                 headers=_basic("planner", tokens["planner"]))
    assert tile.status_code in (200, 204)


@pytest.mark.parametrize("layer", ["grids", "cameras", "households", "incidents"])
def test_tilejson_per_tiled_layer(as_user, layer):
    doc = as_user("admin").get(f"/tiles/{layer}.json").get_json()
    assert doc["tilejson"] == "3.0.0"
    template = doc["tiles"][0]
    assert template.endswith(f"/tiles/{layer}/{{z}}/{{x}}/{{y}}.mvt")
    assert doc["vector_layers"][0]["id"] == layer
    assert (doc["minzoom"], doc["maxzoom"]) == (0, 22)
    x0, y0, x1, y1 = doc["bounds"]
    assert x0 < doc["center"][0] < x1 and y0 < doc["center"][1] < y1
    # the template gives tiles (the centre's tile at z14, from the client's side)
    path = template.split("://", 1)[1].split("/", 1)[1]
    n = 2 ** 14
    lon, lat = doc["center"][:2]
    y = int((1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n)
    x = int((lon + 180) / 360 * n)
    r = as_user("admin").get("/" + path.format(z=14, x=x, y=y))
    assert r.status_code in (200, 204)
    assert r.mimetype == "application/vnd.mapbox-vector-tile" or r.status_code == 204


def test_tilejson_follows_the_layer_permission(as_user):
    assert as_user("viewer").get("/tiles/households.json").status_code == 403
    village = as_user("village1").get("/tiles/grids.json").get_json()["bounds"]
    town = as_user("admin").get("/tiles/grids.json").get_json()["bounds"]
    assert village != town  # the jurisdiction's bounds
    assert town[0] <= village[0] and village[2] <= town[2]
