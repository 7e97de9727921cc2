"""The OpenAPI documents are generated from the routes' declarations
(``api.params.accepts``): valid OpenAPI 3.0, every route and method in them, each
declared parameter with its range, and the same declaration refusing bad input.
"""

import re

import pytest
from openapi_spec_validator import validate

pytestmark = pytest.mark.db


def _path(rule):
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def test_the_api_document_is_valid_openapi_3_0_and_complete(app, client):
    doc = client.get("/api/v1/openapi.json").get_json()
    validate(doc)  # raises on an invalid document
    assert doc["openapi"].startswith("3.0")
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            for method in rule.methods - {"HEAD", "OPTIONS"}:
                op = doc["paths"][_path(rule.rule)][method.lower()]
                assert op["summary"] and op["responses"], (rule.rule, method)
                # every answer documented: a success, and the error body
                assert any(s.startswith("2") for s in op["responses"]), rule.rule
    errors = doc["paths"]["/api/v1/grids/{code}"]["put"]["responses"]
    assert {"400", "401", "403", "404", "409", "422"} <= set(errors)
    assert errors["409"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/Error"}


def test_a_parameter_is_documented_from_its_declaration(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    heatmap = {p["name"]: p for p in paths["/api/v1/heatmap"]["get"]["parameters"]}
    assert heatmap["cell_m"]["schema"] == {"type": "integer", "minimum": 50,
                                           "maximum": 51200}
    assert heatmap["from"]["schema"]["format"] == "date"
    assert "格子边长" in heatmap["cell_m"]["description"]  # Chinese first
    assert heatmap["method"]["schema"]["enum"] == ["bins", "kde"]
    body = paths["/api/v1/incidents"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert {"category", "source", "description"} <= set(body["required"])
    grids = paths["/api/v1/grids"]["get"]["responses"]["200"]["content"]
    assert grids["application/geo+json"]["schema"]["properties"]["type"][
        "enum"] == ["FeatureCollection"]


def test_the_ogc_document_is_valid_openapi_3_0(client):
    doc = client.get("/ogc/openapi.json").get_json()
    validate(doc)
    items = doc["paths"]["/ogc/collections/incidents/items"]["get"]
    names = {p["name"] for p in items["parameters"]}
    assert {"limit", "offset", "bbox", "datetime", "status"} <= names
    # no datetime where the collection has no time; Part 4 on the grids only
    cameras = doc["paths"]["/ogc/collections/cameras/items"]["get"]
    assert "datetime" not in {p["name"] for p in cameras["parameters"]}
    assert "put" in doc["paths"]["/ogc/collections/grids-2/items/{featureId}"]
    assert "delete" not in doc["paths"]["/ogc/collections/grids-2/items/{featureId}"]
    assert "post" in doc["paths"]["/ogc/collections/grids-4/items"]
    assert "put" not in doc["paths"]["/ogc/collections/cameras/items/{featureId}"]


@pytest.mark.parametrize(("url", "body", "field"), [
    ("/api/v1/patrols/points", {"patrol_id": "x", "points": "many"}, "points"),
    ("/api/v1/visits", {"household_id": "12"}, "household_id"),
    ("/api/v1/visits", {"household_id": 1, "size_seen": 2.5}, "size_seen"),
    ("/api/v1/grids/merge/preview", {"codes": "320282"}, "codes"),
    ("/api/v1/grids/merge/preview", {"versions": {}}, "codes"),
])
def test_a_body_field_of_the_wrong_json_type_is_named(as_user, url, body, field):
    r = as_user("admin").post(url, json=body)
    assert r.status_code == 400, r.get_data(as_text=True)
    error = r.get_json()["error"]
    assert error["field"] == field
    chinese, english = error["message"].split("（", 1)  # 中文（English）
    assert re.search(r"[\u4e00-\u9fff]", chinese) and field in english


def test_the_docs_page_loads_swagger_ui_from_gridgov(anonymous):
    r = anonymous.get("/api/v1/docs")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "/vendor/swagger-ui/swagger-ui-bundle.js" in html
    assert 'data-spec-url="/api/v1/openapi.json"' in html
    assert "'unsafe-inline'" not in r.headers["Content-Security-Policy"]
    # every script is a file with the page's nonce: none written inline
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html)
    with anonymous.get("/static/api_docs.js") as js:
        assert "validatorUrl: null" in js.get_data(as_text=True)
    with anonymous.get("/vendor/swagger-ui/swagger-ui-bundle.js") as bundle:
        assert bundle.status_code == 200


def test_a_multipart_part_without_a_name_is_no_server_error(as_user):
    # found by schemathesis: the NUL check read the part's missing name (None)
    body = (b"--b\r\nContent-Disposition: form-data\r\n\r\nabc\r\n"
            b"--b\r\nContent-Disposition: form-data; filename=\"t.gpx\"\r\n\r\n"
            b"<gpx/>\r\n--b--\r\n")
    r = as_user("admin").post("/api/v1/tracks?staff=1", data=body,
                              content_type="multipart/form-data; boundary=b")
    assert r.status_code == 400
    assert r.get_json()["error"]["field"] == "file"


def test_no_openapi_is_written_by_hand_in_api():
    # every route declares its parameters (api.params.accepts): no module keeps
    # an OPENAPI dict of its own beside the code it describes
    from pathlib import Path

    import api

    hand_written = [p.name for p in Path(api.__file__).parent.glob("*.py")
                    if re.search(r"^OPENAPI\s*=", p.read_text(encoding="utf-8"),
                                 re.MULTILINE)]
    assert hand_written == []


def test_the_map_files_parameters_come_from_their_declarations(client):
    op = client.get("/api/v1/openapi.json").get_json()["paths"][
        "/api/v1/maps/overview.html"]["get"]
    params = {p["name"]: p for p in op["parameters"]}
    assert {"layers", "measure", "level", "grid", "month", "from", "to",
            "bbox"} <= set(params)
    from api.maps import MEASURES

    assert params["measure"]["schema"]["enum"] == [k for k, _, _ in MEASURES]
    assert params["measure"]["schema"]["default"] == "resolution_rate"
    assert params["level"]["schema"] == {"type": "integer", "minimum": 1,
                                         "maximum": 4}
    assert "choropleth" in params["layers"]["description"]
    assert {"200", "400", "403", "404", "413"} <= set(op["responses"])
    assert "text/html" in op["responses"]["200"]["content"]


@pytest.mark.parametrize("url", ["/api/v1/openapi.json", "/ogc/openapi.json"])
def test_the_document_is_built_once_per_app(app, client, monkeypatch, url):
    from api import openapi

    built = []
    real = openapi.paths

    def counted(*args, **kwargs):
        built.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(openapi, "paths", counted)
    app.extensions.pop("gridgov.openapi", None)  # as a fresh app
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert len(built) == 1, built  # the second request rebuilt nothing
    assert first.get_data() == second.get_data()
    assert first.headers["ETag"] == second.headers["ETag"]
    again = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304 and len(built) == 1
