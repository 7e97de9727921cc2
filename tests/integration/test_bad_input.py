"""Hostile input on every route of the application: never a 5xx.

The walker reads the route table (``app.url_map``), so a route added tomorrow is
walked without anyone listing it. For each route and method it sends, as the
global administrator over an API token:

- every query parameter the route reads (its OpenAPI entry, and the names that
  the view and the functions of ours it calls read with ``request.args`` or
  ``*_arg("...")``) set, one at a time, to each hostile text below, the others
  keeping a plausible value so that parsing gets past them; then a generic set of
  common names, all at once;
- each string path segment replaced by hostile text;
- for a POST/PUT/DELETE, JSON bodies of wrong shapes (``[]``, ``"x"``, ``null`` …)
  and every known body field set, one at a time, to each hostile value (objects
  where text belongs, text where a number belongs, NUL bytes, dates out of
  range); pages get the same as form fields.

Deterministic: fixed lists of values (hypothesis is not installed); about 5,000
requests in 45 s. It works in a writable copy of the demo, since some requests
succeed. The answers to a few of these cases (a 400 naming the field, Chinese
first) are checked one by one at the end.
"""

import inspect
import io
import json
import logging
import re
import traceback
from pathlib import Path

import pytest

import api
from api.openapi import document
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

# Text sent in query strings, form fields and path segments.
HOSTILE_TEXT = (
    "a\x00b", "", "-1", "1e309", "nan", "99999999999999999999", "0001-01-01",
    "0001-01-01T00:00:00+14:00", "9999-12-31", "99999-01-01", '{"a": 1}', "１２",
)
# Routes that take most of a second even when they refuse nothing (a whole map,
# an import, a camera placement search) get the shortest list, one parameter at
# a time; together they would take more than all the others.
HEAVY = {"/", "/api/v1/imports", "/api/v1/coverage/recommend",
         # each answer a drawn page (or pages): a second or more of CPU
         "/api/v1/grids/<code>/notice", "/api/v1/grids/<code>/notices.pdf"}
SHORT_TEXT = ("a\x00b", "", "-1", "0001-01-01", "9999-12-31", '{"a": 1}')
# Values of a JSON body field.
HOSTILE_FIELD = (
    {"a": 1}, ["dispute"], [], 1, -1, 1.5, 2**70, 1e308, -1e308, True, None, "",
    "x", "\x00", "a\x00b", "nan", "0001-01-01T00:00:00+14:00", "99999-01-01",
    "9999-12-31T23:59:59-14:00", "2026-02-30T10:00:00+08:00",
    {"type": "Polygon", "coordinates": "x"},
    {"type": "Polygon", "coordinates": [[["a", "b"], [1, 2], [3, 4], ["a", "b"]]]},
    {"type": {"a": 1}, "coordinates": []},
    {"type": "FeatureCollection", "features": [1, "x", None]},
)
# Whole JSON bodies of the wrong shape.
HOSTILE_BODIES = ([], ["dispute"], "x", 1, None, True, {}, {"\x00": 1},
                  {"a\x00": "b"})
# Names many routes read: sent to every route, all at once per hostile value.
GENERIC_PARAMS = (
    "lon", "lat", "x", "y", "crs", "limit", "offset", "since", "until", "from", "to",
    "at", "month", "level", "code", "q", "layer", "z", "bbox", "category",
    "status", "grid", "parent", "root", "format", "staff", "worker", "k", "radius",
    "version", "into", "preview", "dry_run", "next", "user", "action", "table",
)
GENERIC_FIELDS = (
    "category", "subtype", "source", "reporter", "description", "lon", "lat", "x",
    "y", "crs", "received_at", "link_to", "action", "note", "assignee_id",
    "department", "outcome", "satisfaction", "geometry", "line", "version", "name",
    "codes", "keep", "versions", "target", "grids", "parent", "polygon", "staff",
    "username", "password", "role", "grid", "active", "label",
)
# How a module reads a parameter or a field, for the names it reads.
_READS_ARG = re.compile(
    r"""(?:args\.get|args\[|_arg)\(?\s*["']([a-z_]+)["']|"""
    r"""args(?:\.get)?[\[(]\w+[^\n]*?for\s+\w+\s+in\s+\(((?:\s*["'][a-z_]+["'],?)+)""")
_READS_FIELD = re.compile(r"""(?:body|form)(?:\.get\(|\[|,)\s*["']([a-z_]+)["']""")
_WRITES = {"POST", "PUT", "DELETE", "PATCH"}
_VICTIM = "walker_victim"  # the account the walker may disable, re-key …
_CSV = "经度,纬度,地址,户主\n119.705,31.205,走访路1号,张三\n".encode()


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    def setup(conn):
        from layers import users
        from layers.access import SYSTEM

        users.add_user(conn, SYSTEM, _VICTIM, "viewer", None, "walker-password-1")

    return writable_demo(databases, demo_town, setup)


def _good_values(url):
    """Plausible values of the demo, so that a route parses past the other
    parameters to the one under attack."""
    import psycopg

    with psycopg.connect(url) as c:
        grid, lon, lat = c.execute(
            "SELECT code, ST_X(ST_PointOnSurface(geom)), ST_Y(ST_PointOnSurface(geom))"
            " FROM grids WHERE level = 4 ORDER BY code LIMIT 1").fetchone()
        staff = c.execute("SELECT min(id) FROM grid_staff").fetchone()[0]
        incident = c.execute("SELECT code FROM incidents ORDER BY id LIMIT 1"
                             ).fetchone()[0]
        household = c.execute("SELECT min(id) FROM households").fetchone()[0]
        token = c.execute("SELECT t.id FROM api_tokens t JOIN users u ON "
                          "u.id = t.user_id WHERE u.username = %s",
                          (_VICTIM,)).fetchone()[0]
    query = {"lon": str(lon), "lat": str(lat), "layer": "households",
             "radius": "100", "staff": str(staff), "worker": str(staff),
             "q": "村", "dry_run": "1"}
    path = {"code": grid, "username": _VICTIM, "token_id": token,
            "household_id": household, "import_id": 1, "action": "remind",
            "token": "0" * 32, "z": 14, "x": 13_638, "y": 6_642, "photo_id": 1,
            "visit_id": 1, "warning_id": 1, "cid": "grids-4", "fid": grid,
            "staff_id": staff, "package": "leaflet", "filename": "leaflet.js",
            "layer": "households", "webhook_id": 1, "job_id": 1,
            "judgement_id": 1, "task_id": 1, "level_id": 1, "print_id": 1,
            "report_id": 1}
    body = {"category": "dispute", "source": "hotline", "description": "邻里纠纷",
            "lon": lon, "lat": lat, "action": "remind", "note": "走访"}
    return query, path, body, incident


def _openapi_params(doc, rule, method):
    """Query parameters and body fields the OpenAPI document gives for a route."""
    path = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"{\1}", rule)
    if not path.startswith(api.PREFIX):
        return set(), set()
    item = doc["paths"].get(path, {}).get(method.lower(), {})
    params = {p["name"] for p in item.get("parameters", []) if p["in"] == "query"}
    fields = set()
    for content in item.get("requestBody", {}).get("content", {}).values():
        fields |= set(content.get("schema", {}).get("properties", {}))
    return params, fields


def _reachable(view, depth=3):
    """The source of the view and of the functions of gridgov's api/ and web/ it
    calls (by name, or through a closure), ``depth`` calls deep."""
    sources, todo = {}, [inspect.unwrap(view)]
    for _ in range(depth + 1):
        found = []
        for fn in todo:
            if fn in sources:
                continue
            sources[fn] = inspect.getsource(fn)
            scope = fn.__globals__ | inspect.getclosurevars(fn).nonlocals
            for name in set(re.findall(r"\b(\w+)\(", sources[fn])):
                callee = scope.get(name)
                if inspect.isfunction(callee) and callee.__module__.split(".")[0] in (
                        "api", "web"):
                    found.append(inspect.unwrap(callee))
        todo = found
    return "\n".join(sources.values())


def _source_names(view):
    """Parameter and field names the view reads, and whether it takes a file."""
    text = _reachable(view)
    params = set()
    for one, many in _READS_ARG.findall(text):
        params |= {one} if one else set(re.findall(r"[a-z_]+", many))
    return params, set(_READS_FIELD.findall(text)), "request.files" in text


def _routes(app):
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            yield rule, method


def _path(rule, values):
    """The rule's URL with ``values`` in its segments."""
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda m: str(values[m.group(1)]),
                  rule.rule)


def _requests(app, good):
    """Every hostile request: (method, path, query, json or form, files?)."""
    good_query, good_path, good_body, incident = good
    with app.app_context():
        doc = document(app, api.PREFIX)
    for rule, method in _routes(app):
        view = app.view_functions[rule.endpoint]
        params, fields = _openapi_params(doc, rule.rule, method)
        more_params, more_fields, uploads = _source_names(view)
        params |= more_params
        fields |= more_fields
        values = dict(good_path)
        if rule.rule.startswith(api.PREFIX + "/incidents/"):
            values["code"] = incident
        path = _path(rule, values)
        is_api = rule.rule.startswith("/api/")
        base = {n: v for n, v in good_query.items() if n in params}
        writes = method in _WRITES
        body = good_body if writes and is_api else None
        texts = SHORT_TEXT if rule.rule in HEAVY else HOSTILE_TEXT
        for name in sorted(params):
            for text in texts:
                yield method, path, base | {name: text}, body, uploads
        for text in () if rule.rule in HEAVY else texts:
            yield method, path, base | dict.fromkeys(GENERIC_PARAMS, text), body, \
                uploads
        for name, converter in rule._converters.items():
            if type(converter).__name__ not in ("UnicodeConverter", "PathConverter"):
                continue
            for text in HOSTILE_TEXT:
                if text.strip() and "/" not in text:
                    yield method, _path(rule, values | {name: text}), base, body, \
                        uploads
        if not writes:
            continue
        if is_api:
            for whole in HOSTILE_BODIES:
                yield method, path, base, ("json", whole), uploads
            for name in sorted(fields):
                for value in HOSTILE_FIELD:
                    yield method, path, base, good_body | {name: value}, uploads
            for value in HOSTILE_FIELD:
                yield method, path, base, good_body | dict.fromkeys(
                    GENERIC_FIELDS, value), uploads
        else:
            for name in sorted(fields | {"username", "password"}):
                for text in HOSTILE_TEXT:
                    yield method, path, base, ("form", {name: text}), uploads


def _send(client, method, path, query, body, uploads):
    kwargs = {"query_string": query}
    if uploads:
        form = body[1] if isinstance(body, tuple) and body[0] == "form" else {}
        kwargs["data"] = {**form, "file": (io.BytesIO(_CSV), "walk.csv")}
    elif isinstance(body, tuple) and body[0] == "form":
        kwargs["data"] = body[1]
    elif body is not None:  # the standard library's JSON: it writes 2**70 too
        whole = body[1] if isinstance(body, tuple) else body
        kwargs.update(data=json.dumps(whole), content_type="application/json")
    return client.open(path, method=method, **kwargs)


class _Raised(logging.Handler):
    """Keeps the exception of the last error the application logged (the 500
    handler logs it before answering its plain message)."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.last = None

    def emit(self, record):
        if record.exc_info:
            self.last = record.exc_info[1]


def _where(exc):
    """The exception and the innermost frame of gridgov's own code it came from."""
    if exc is None:
        return "no exception logged"
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if "site-packages" not in f.filename]
    place = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {place}: {str(exc)[:120]}"


def test_hostile_input_never_gives_a_server_error(rw):
    client = rw.client("admin")
    good = _good_values(rw.url)
    raised = _Raised()
    rw.app.logger.addHandler(raised)
    failures, seen = [], 0
    try:
        for method, path, query, body, uploads in _requests(rw.app, good):
            raised.last = None
            r = _send(client, method, path, query, body, uploads)
            r.close()
            seen += 1
            if r.status_code >= 500:
                failures.append(f"{r.status_code} {method} {path!r} {query!r} "
                                f"{body!r}: {_where(raised.last)}")
            # still the admin (the two logins answer 401 to a wrong password)
            if r.status_code == 401 and path not in ("/login", "/api/v1/devices"):
                pytest.fail(f"the admin token stopped working at {method} {path}")
    finally:
        rw.app.logger.removeHandler(raised)
    assert seen > 4000  # the walk reached the routes
    assert not failures, f"{len(failures)} server errors:\n" + "\n".join(
        f[:400] for f in failures[:40])


# -- what the answer says: a 400 naming the parameter, Chinese first ------------

def _refused(r, field):
    assert r.status_code == 400, r.get_data(as_text=True)[:300]
    error = r.get_json()["error"]
    assert error["field"] == field
    assert re.match(r"[\u4e00-\u9fff“]", error["message"])  # Chinese first
    return error["message"]


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/places?q=a%00b", "q"),
    ("/api/v1/grids?parent=320282%00", "parent"),
    ("/api/v1/incidents/SJ%00/remind", "code"),
    ("/api/v1/grids/3202%00/lineage", "code"),
    ("/api/v1/incidents?grid=%00&since=2026-10-01", "grid"),
])
def test_a_nul_anywhere_in_the_url_is_named(rw, url, field):
    method = "POST" if url.endswith("remind") else "GET"
    message = _refused(rw.client("admin").open(url, method=method), field)
    assert "NUL" in message


def test_a_nul_in_a_json_field_is_named_with_its_path(rw):
    client = rw.client("admin")
    r = client.post("/api/v1/incidents/preview",
                    json={"category": "dispute", "description": "a\x00b"})
    _refused(r, "description")
    r = client.put("/api/v1/grids/320282105001001001/children/preview", json={
        "grids": {"features": [{"properties": {"name": "x\x00"}}]}})
    _refused(r, "grids.features[0].properties.name")


def test_a_nul_in_a_form_field_or_the_token_is_refused(rw):
    r = rw.client().post("/login", data={"username": "admin\x00", "password": "x"})
    assert r.status_code == 400  # a page: HTML, not the database's error
    assert "NUL" in r.get_data(as_text=True)
    anonymous = rw.client()
    r = anonymous.get("/api/v1/grids",
                      headers={"Authorization": "Bearer ggv_\x00"})
    _refused(r, "Authorization")


@pytest.mark.parametrize("body", [["dispute"], "dispute", 1, None])
def test_a_json_body_that_is_not_an_object_is_refused(rw, body):
    client = rw.client("admin")
    for url in ("/api/v1/incidents/preview",
                "/api/v1/grids/320282105001001001/propose-micro"):
        _refused(client.post(url, data=json.dumps(body),
                             content_type="application/json"), "body")


@pytest.mark.parametrize(("field", "value"), [
    ("category", {"a": 1}), ("category", ["dispute"]), ("source", 7),
    ("subtype", []), ("reporter", {"name": "x"}), ("description", 12),
    ("lon", "east"), ("lat", {"a": 1}), ("received_at", 20261001),
    ("received_at", "0001-01-01T00:00:00+14:00"), ("received_at", "99999-01-01"),
])
def test_a_wrong_type_in_a_registration_is_named(rw, field, value):
    good = {"category": "dispute", "source": "hotline", "description": "邻里纠纷",
            "lon": 119.75, "lat": 31.29}
    r = rw.client("admin").post("/api/v1/incidents/preview", json=good | {
        field: value})
    _refused(r, field)


@pytest.mark.parametrize(("body", "field"), [
    ({"action": "triage", "assignee_id": "x"}, "assignee_id"),
    ({"action": "triage", "department": {"a": 1}}, "department"),
    ({"action": "close", "outcome": ["handled"]}, "outcome"),
    ({"action": "feedback", "note": 5}, "note"),
    ({"action": {"a": 1}}, "action"),
])
def test_a_wrong_type_in_a_transition_is_named(rw, body, field):
    import psycopg

    with psycopg.connect(rw.url) as c:
        code = c.execute("SELECT code FROM incidents ORDER BY id LIMIT 1").fetchone()[0]
    r = rw.client("admin").post(f"/api/v1/incidents/{code}/transitions", json=body)
    _refused(r, field)


@pytest.mark.parametrize(("url", "field"), [
    ("/api/v1/incidents?since=0001-01-01T00:00:00%2B14:00", "since"),
    ("/api/v1/incidents?until=99999-01-01", "until"),
    ("/api/v1/incidents?since=2026-10-02&until=2026-10-01", "since"),
    ("/api/v1/tracks?worker=1&to=0001-01-01", "to"),
    ("/api/v1/tracks/summary?staff=1&from=9999-12-31", "from"),
    ("/api/v1/stats?from=0001-01-01&to=2026-01-01", "from"),
    ("/api/v1/heatmap?from=2026-01-01&to=9999-12-31", "to"),
])
def test_dates_out_of_range_are_refused(rw, url, field):
    message = _refused(rw.client("admin").get(url), field)
    # the range, the order, or (year 99999: not an ISO date) the value refused
    assert any(words in message for words in ("1900-01-01", "晚于", "99999"))


def test_dates_out_of_range_on_pages_are_refused(rw):
    client = rw.client("admin")
    assert client.get("/admin/audit?until=9999-12-31").status_code == 400
    r = client.get("/tiles/incidents/14/13638/6642.mvt?from=9999-12-31")
    assert r.status_code == 400
