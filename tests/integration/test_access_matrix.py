"""Every route × every identity × (own, other) target, against the hand-written
table of ``access_matrix_table.py`` (not derived from the code: see there).

A route added without a row fails ``test_every_route_has_a_row``; a row naming a
route that is gone fails it too. Each cell is one test, named
``<identity>-<METHOD> <rule>-<target>``.

API routes are called with the identity's API token, pages (and tiles) with a
session opened once per identity by the login form (POSTs carry the session's
CSRF token). Everything runs on one writable copy of the demo per module. No
request may change anything that matters: edits send a valid request that the
last step refuses (a boundary far from the grid, a line that does not cross it,
grids that do not touch: 422; an action the incident's state does not allow:
409; an import without a key column: 400; a GPX without track points: 400),
incidents are registered with ``?preview=1``; only the account forms act, on
throwaway accounts and tokens of their own.
"""

import hashlib
import io
import math
import re
from types import SimpleNamespace
from urllib.parse import urlsplit

import psycopg
import pytest
from PIL import Image

from layers import users, webhooks
from layers.access import SYSTEM
from tests.conftest import writable_demo
from tests.integration.access_matrix_table import ASSET_RULES, IDENTITIES, TABLE

pytestmark = pytest.mark.db

PASSWORD = "correct-horse-battery"  # the throwaway accounts' password
USERNAMES = {"anonymous": None, "admin": "admin", "village_admin": "mx-vadmin",
             "village_planner": "mx-vplanner", "dispatcher": "dispatcher",
             "village_dispatcher": "village1", "leader": "leader",
             "field_worker": "worker", "viewer": "viewer"}
# A square in Beijing: in China, far from the demo town (every edit with it is
# refused after the access checks: it overlaps no grid of the town).
FAR = {"type": "Polygon", "coordinates": [[[116.30, 39.90], [116.31, 39.90],
                                           [116.31, 39.91], [116.30, 39.91],
                                           [116.30, 39.90]]]}
FAR_LINE = {"type": "LineString", "coordinates": [[116.30, 39.90], [116.31, 39.91]]}
# An action each state does not allow (a 409 after the access checks).
WRONG_ACTION = {"registered": "accept", "dispatched": "close", "handling": "evaluate",
                "closed": "accept", "evaluated": "accept"}
CSV_WITHOUT_KEY = "名称,经度,纬度\n探针,119.75,31.29\n".encode()
GPX_WITHOUT_TRACK = (b'<?xml version="1.0"?><gpx version="1.1" creator="t"'
                     b' xmlns="http://www.topografix.com/GPX/1/1">'
                     b'<wpt lat="31.29" lon="119.75"><name>a</name></wpt></gpx>')


# The state: the writable demo, its codes, clients per identity ------------------

def _apart(geoms, codes):
    """The first two of ``codes`` whose grids do not touch (a merge refuses them)."""
    for i, a in enumerate(codes):
        for b in codes[i + 1:]:
            if not geoms[a].intersects(geoms[b]):
                return [a, b]
    raise AssertionError(f"every two of {codes} touch")


def _tile(lon, lat, z=14):
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return {"z": z, "x": int((lon + 180) / 360 * n), "y": int(y)}


@pytest.fixture(scope="module")
def m(databases, demo_town, tmp_path_factory):
    g = demo_town.grids
    geoms = dict(zip(g.code, g.geometry, strict=True))
    children = {p: sorted(g[g.parent_code == p].code) for p in set(g.parent_code)}
    villages = sorted(g[g.level == 2].code)
    a, b = villages[0], villages[1]  # village A 320282105001, village B …002
    level3 = {v: children[v][0] for v in (a, b)}
    micro = {v: children[level3[v]][0] for v in (a, b)}

    def setup(c):
        for name, role, grid in (
                ("mx-vadmin", "admin", a), ("mx-vplanner", "planner", a),
                ("mx-bplanner", "planner", b), ("mx-in", "viewer", micro[a]),
                ("mx-out", "viewer", micro[b]), ("mx-top", "viewer", None)):
            users.add_user(c, SYSTEM, name, role, grid, PASSWORD)

    wd = writable_demo(databases, demo_town, setup)
    with psycopg.connect(wd.url) as c:
        imports = {}  # username -> an import of theirs with one rejected row
        for name in ("admin", "mx-vadmin", "mx-vplanner", "worker", "mx-bplanner"):
            imports[name] = c.execute(
                "INSERT INTO imports (file_name, file_sha256, layer, username, errors)"
                " VALUES ('probe.csv', %s, 'cameras', %s,"
                " '[{\"row\": 2, \"field\": \"lon\", \"reason\": \"probe\"}]')"
                " RETURNING id", (hashlib.sha256(name.encode()).hexdigest(), name)
            ).fetchone()[0]

        def one(query, code):
            return c.execute(query, (code + "%",)).fetchone()

        def version(code):
            return c.execute("SELECT version FROM grids WHERE code = %s",
                             (code,)).fetchone()[0]

        def place(v):
            """The values of the targets in village ``v``."""
            p = geoms[micro[v]].representative_point()
            incident, status = one("SELECT code, status FROM incidents"
                                   " WHERE grid_code LIKE %s ORDER BY id", micro[v])
            return {
                "grid": micro[v], "level3": level3[v], "lon": p.x, "lat": p.y,
                "household": one("SELECT min(id) FROM households"
                                 " WHERE grid_code LIKE %s", micro[v])[0],
                "staff": one("SELECT min(id) FROM grid_staff WHERE grid_code LIKE %s",
                             micro[v])[0],
                "incident": incident, "action": WRONG_ACTION[status],
                "pair": _apart(geoms, children[level3[v]]),
                "children": {k: version(k) for k in children[level3[v]]},
            }

        own = place(a) | {"user": "mx-in", "new_grid": micro[a], "importer": None}
        other = place(b) | {"user": "mx-out", "new_grid": micro[b],
                            "importer": "mx-bplanner"}
        root = {"grid": a, "pair": [a, next(v for v in villages
                                            if not geoms[a].intersects(geoms[v]))]}
        for t in (own, other, root):
            t["version"] = version(t["grid"])
            t["versions"] = {k: version(k) for k in t["pair"]}
            t["parent"] = t["grid"][:-3]  # not a sibling: `into` of a delete
        for t in (own, other):  # a webhook covering the target's micro-grid
            t["webhook"] = _webhook(c, t["grid"])["id"]
            # a notice print drawn by the job queue, ready (a PDF of one page)
            t["notice_print"] = c.execute(
                "INSERT INTO notice_prints (grid_code, requested_by, role, pages,"
                " done, status, pdf) VALUES (%s, 'admin', 'admin', 1, 1, 'ready',"
                " '%%PDF-1.4 probe') RETURNING id", (t["grid"],)).fetchone()[0]
    common = {"lon": own["lon"], "lat": own["lat"], **_tile(own["lon"], own["lat"])}
    targets = {"-": common, "own": common | own, "other": common | other,
               "root": common | root, "global": {"user": "mx-top", "new_grid": ""}}

    tokens, sessions, csrf = {}, {}, {}
    for who, name in USERNAMES.items():
        tokens[who] = wd.client(name)
        sessions[who] = wd.app.test_client()
        if name is None:
            continue
        c = sessions[who]
        r = c.post("/login", data={
            "username": name, "password": wd.passwords.get(name, PASSWORD),
            "csrf_token": _csrf(c.get("/login").get_data(as_text=True))})
        assert r.status_code == 302, (name, r.status_code)
        # any page of a logged-in user has the logout form, with the token
        csrf[who] = _csrf(c.get("/admin/users").get_data(as_text=True))
    return SimpleNamespace(url=wd.url, app=wd.app, targets=targets, imports=imports,
                           tokens=tokens, sessions=sessions, csrf=csrf,
                           photo_dir=tmp_path_factory.mktemp("photos"))


HOOK_URL = "http://192.0.2.10/hook"  # TEST-NET-1: allowed, never reached here


def _webhook(c, grid):
    with c.transaction():
        return webhooks.create(c, SYSTEM, {"name": "matrix", "url": HOOK_URL,
                                           "events": ["closed"], "grid_code": grid})


def _failed_job(m, grid):
    """A failed delivery job of a webhook covering ``grid``, for one cell to
    retry."""
    with psycopg.connect(m.url, autocommit=True) as c:
        hook = _webhook(c, grid)["id"]
        job = c.execute(
            "INSERT INTO procrastinate_jobs (queue_name, task_name, args, status,"
            " attempts) VALUES ('webhooks', 'gridgov.deliver_webhook', '{}',"
            " 'failed', 8) RETURNING id").fetchone()[0]
        c.execute("INSERT INTO webhook_deliveries (webhook_id, event, incident_code,"
                  " grid_code, body, status, job_id) VALUES (%s, 'closed', 'SJ0',"
                  " %s, '{}', 'failed', %s)", (hook, grid, job))
    return job


def _csrf(html):
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# How each route is asked: (url, request kwargs) per identity and target ---------

PROBES = {}
TILE = "/tiles/{}/<int(signed=True):z>/<int(signed=True):x>/<int(signed=True):y>.mvt"


def probe(method, rule, ok=200):
    """Register how (method, rule) is asked: ``build(m, who, t) -> (url, kwargs)``
    (``t``: the target's values); ``ok``: its status(es) once past the checks."""

    def register(build):
        PROBES[(method, rule)] = SimpleNamespace(build=build, ok=ok)
        return build

    return register


def get(rule, url, ok=200):
    """A GET of ``url`` formatted with the target's values."""
    probe("GET", rule, ok)(lambda m, who, t: (url.format(**t), {}))


def send(method, rule, url, body, ok):
    """``method`` of ``url`` with the JSON ``body(t)``."""
    probe(method, rule, ok)(lambda m, who, t: (url.format(**t), {"json": body(t)}))


def form(rule, url, fields):
    """An account form (a page): the fields, the session's CSRF token; done or
    refused by the layer, it goes back to /admin/users (302)."""

    def build(m, who, t):
        data = fields(m, who, t) | {"csrf_token": m.csrf.get(who, "")}
        return url.format(**t), {"data": data}

    probe("POST", rule, ok=302)(build)


# TileJSON per tiled layer
for _layer in ("grids", "cameras", "households", "incidents"):
    get(f"/tiles/{_layer}.json", f"/tiles/{_layer}.json")

# OGC API – Features (per collection: the target is its id)
for _rule in ("/ogc", "/ogc/conformance", "/ogc/openapi.json", "/ogc/collections"):
    get(_rule, _rule)
get("/ogc/collections/<cid>", "/ogc/collections/{layer}")
get("/ogc/collections/<cid>/items", "/ogc/collections/{layer}/items?limit=2")
get("/ogc/collections/<cid>/items/<fid>", "/ogc/collections/grids-4/items/{grid}")


def _ogc_item(t):
    return f"/ogc/collections/grids-{len(t['grid']) // 3 - 2}/items/{t['grid']}"


# Part 4 (asked with the session, so with its CSRF token): a point where a
# polygon belongs (422 once past the checks); a stale If-Match on delete (412);
# a micro-grid far outside its parent (422)
probe("PUT", "/ogc/collections/<cid>/items/<fid>", ok=422)(
    lambda m, who, t: (_ogc_item(t), {
        "headers": {"If-Match": f'"{t["version"]}"',
                    "X-CSRFToken": m.csrf.get(who, "")},
        "json": {"type": "Feature", "properties": {},
                 "geometry": {"type": "Point", "coordinates": [t["lon"], t["lat"]]}}}))
probe("DELETE", "/ogc/collections/<cid>/items/<fid>", ok=412)(
    lambda m, who, t: (_ogc_item(t), {"headers": {
        "If-Match": '"999"', "X-CSRFToken": m.csrf.get(who, "")}}))
probe("POST", "/ogc/collections/<cid>/items", ok=422)(
    lambda m, who, t: ("/ogc/collections/grids-4/items", {
        "headers": {"X-CSRFToken": m.csrf.get(who, "")}, "json": {
        "type": "Feature", "properties": {"parent": t["level3"], "name": "探针"},
        "geometry": {"type": "Polygon", "coordinates": [[
            [100.0, 30.0], [100.001, 30.0], [100.001, 30.001], [100.0, 30.0]]]}}}))

# public
get("/login", "/login")
probe("POST", "/login")(lambda m, who, t: ("/login", {}))  # no CSRF token: 400
probe("POST", "/logout")(lambda m, who, t: ("/logout", {}))
get("/api/v1/health", "/api/v1/health")
get("/api/v1/openapi.json", "/api/v1/openapi.json")
get("/api/v1/docs", "/api/v1/docs")
for _rule in ("/m/", "/m/manifest.webmanifest", "/m/sw.js"):  # the phone's shell
    get(_rule, _rule)

# pages
for _rule in ("/", "/dispatch", "/import", "/plan", "/rankings", "/reports",
              "/tracks", "/disputes",
              "/admin/audit", "/admin/users"):
    get(_rule, _rule)
get("/plan/grids", "/plan/grids?parent={level3}")
get("/plan/check", "/plan/check")
get("/admin/grids", "/admin/grids?q=村")
form("/admin/users", "/admin/users", lambda m, who, t: {
    "username": f"mx-new-{who}-{t['user']}", "role": "viewer",
    "grid": t["new_grid"], "password": PASSWORD})
form("/admin/users/<username>/active", "/admin/users/{user}/active",
     lambda m, who, t: {"active": "1"})
# the account's own role and grid again: allowed, a no-op (the page, 302)
form("/admin/users/<username>/access", "/admin/users/{user}/access",
     lambda m, who, t: {"role": "viewer", "grid": t["new_grid"]})
form("/admin/users/<username>/password", "/admin/users/{user}/password",
     lambda m, who, t: {"password": PASSWORD})
form("/admin/users/<username>/tokens", "/admin/users/{user}/tokens",
     lambda m, who, t: {"label": "matrix"})
form("/admin/users/<username>/unlock", "/admin/users/{user}/unlock",
     lambda m, who, t: {})


def _fresh_token(m, who, t):
    """A new token of the target's account, for this cell alone to revoke."""
    with psycopg.connect(m.url) as c:
        users.create_token(c, SYSTEM, t["user"], "matrix")
        t = t | {"token_id": c.execute(
            "SELECT max(t.id) FROM api_tokens t JOIN users u ON u.id = t.user_id"
            " WHERE u.username = %s", (t["user"],)).fetchone()[0]}
    return "/admin/tokens/{token_id}/revoke".format(**t), {
        "data": {"csrf_token": m.csrf.get(who, "")}}


probe("POST", "/admin/tokens/<int:token_id>/revoke", ok=302)(_fresh_token)

# webhooks and the job queue (users:manage; scoped: the subtree's webhooks)
get("/admin/jobs", "/admin/jobs")
get("/api/v1/webhooks", "/api/v1/webhooks")
get("/api/v1/webhooks/<int:webhook_id>", "/api/v1/webhooks/{webhook}")
send("POST", "/api/v1/webhooks", "/api/v1/webhooks", lambda t: {
    "name": "matrix", "url": HOOK_URL, "events": ["closed"], "grid_code": t["grid"]},
     ok=201)
send("PUT", "/api/v1/webhooks/<int:webhook_id>", "/api/v1/webhooks/{webhook}",
     lambda t: {"active": True}, ok=200)


@probe("DELETE", "/api/v1/webhooks/<int:webhook_id>", ok=204)
def _delete_webhook(m, who, t):  # a fresh webhook for each cell to delete
    with psycopg.connect(m.url, autocommit=True) as c:
        return f"/api/v1/webhooks/{_webhook(c, t['grid'])['id']}", {}


get("/api/v1/admin/jobs", "/api/v1/admin/jobs?status=failed")
probe("POST", "/api/v1/admin/jobs/<int:job_id>/retry")(
    lambda m, who, t: (f"/api/v1/admin/jobs/{_failed_job(m, t['grid'])}/retry", {}))

# tiles: an empty tile is a 204
for _layer in ("grids", "cameras", "households", "incidents"):
    get(TILE.format(_layer), f"/tiles/{_layer}/{{z}}/{{x}}/{{y}}.mvt", ok=(200, 204))
# the offline basemap's tiles (none configured here: 204, no tile)
get("/basemap/<int(signed=True):z>/<int(signed=True):x>/<int(signed=True):y>",
    "/basemap/14/13638/6642", ok=(200, 204))

# grids: reading
get("/api/v1/grids", "/api/v1/grids?level=4")
get("/api/v1/grids/<code>", "/api/v1/grids/{grid}")
get("/api/v1/grids/<code>/lineage", "/api/v1/grids/{grid}/lineage")
get("/api/v1/grids/check", "/api/v1/grids/check?root={level3}")
send("POST", "/api/v1/grids/recount", "/api/v1/grids/recount?root={grid}",
     lambda t: {}, ok=200)


# grids: editing. Every body is valid and names the current versions; the edit
# itself is then refused (422), so nothing is saved even when a check is missing.
def _edit(method, rule, url, body):
    send(method, rule, url, body, ok=422)


def _boundary(t):
    return {"geometry": FAR, "version": t["version"]}


def _line(t):
    return {"line": FAR_LINE, "version": t["version"]}


def _merge(t):
    return {"codes": t["pair"], "versions": t["versions"]}


def _create(t):
    return {"parent": t["level3"], "name": "探针", "geometry": FAR}


def _adopt(t):
    return {"grids": {"type": "FeatureCollection", "features": [
        {"type": "Feature", "geometry": FAR, "properties": {}}]},
        "versions": t["children"]}


_edit("PUT", "/api/v1/grids/<code>", "/api/v1/grids/{grid}", _boundary)
_edit("POST", "/api/v1/grids/<code>/preview", "/api/v1/grids/{grid}/preview",
      _boundary)
_edit("POST", "/api/v1/grids/<code>/split", "/api/v1/grids/{grid}/split", _line)
_edit("POST", "/api/v1/grids/<code>/split/preview",
      "/api/v1/grids/{grid}/split/preview", _line)
_edit("DELETE", "/api/v1/grids/<code>",
      "/api/v1/grids/{grid}?version={version}&into={parent}", lambda t: None)
_edit("POST", "/api/v1/grids/<code>/delete/preview",
      "/api/v1/grids/{grid}/delete/preview?version={version}&into={parent}",
      lambda t: None)
_edit("POST", "/api/v1/grids/merge", "/api/v1/grids/merge", _merge)
_edit("POST", "/api/v1/grids/merge/preview", "/api/v1/grids/merge/preview", _merge)
_edit("POST", "/api/v1/grids", "/api/v1/grids", _create)
_edit("POST", "/api/v1/grids/preview", "/api/v1/grids/preview", _create)
_edit("PUT", "/api/v1/grids/<code>/children", "/api/v1/grids/{level3}/children",
      _adopt)
_edit("POST", "/api/v1/grids/<code>/children/preview",
      "/api/v1/grids/{level3}/children/preview", _adopt)
send("POST", "/api/v1/grids/<code>/propose-micro",
     "/api/v1/grids/{level3}/propose-micro", lambda t: {}, ok=200)

# grid notices: the micro-grid's JSON (its page is drawn by tests/integration/
# test_notices.py) and its one-page PDF; a stale version of the service hours
# (409 once past the checks, nothing saved); the 公示电话 set to its default
get("/api/v1/grids/<code>/notice", "/api/v1/grids/{grid}/notice?format=json")
get("/api/v1/grids/<code>/notices.pdf", "/api/v1/grids/{grid}/notices.pdf")
get("/api/v1/notice-prints/<int:print_id>", "/api/v1/notice-prints/{notice_print}")
get("/api/v1/notice-prints/<int:print_id>/notices.pdf",
    "/api/v1/notice-prints/{notice_print}/notices.pdf")
send("PATCH", "/api/v1/grids/<code>", "/api/v1/grids/{grid}",
     lambda t: {"service_hours": "探针", "version": t["version"] + 1000}, ok=409)
send("PATCH", "/api/v1/staff/<int:staff_id>", "/api/v1/staff/{staff}",
     lambda t: {"notice_phone_choice": "work"}, ok=200)

# coverage of one micro-grid
for _rule in ("/api/v1/coverage", "/api/v1/coverage/blind-spots",
              "/api/v1/coverage/households", "/api/v1/coverage/recommend",
              "/api/v1/coverage/views"):
    get(_rule, _rule + "?grid={grid}")

# locating
get("/api/v1/locate", "/api/v1/locate?lon={lon}&lat={lat}")
get("/api/v1/locate/nearby", "/api/v1/locate/nearby?lon={lon}&lat={lat}")
get("/api/v1/places", "/api/v1/places?q=村")
get("/api/v1/search", "/api/v1/search?layer={layer}&lon={lon}&lat={lat}&k=1")
get("/api/v1/exports/<layer>", "/api/v1/exports/{layer}?format=csv")
# a layer alone, or (own, other) the choropleth of a comprehensive grid
probe("GET", "/api/v1/maps/overview.html")(lambda m, who, t: (
    "/api/v1/maps/overview.html?layers=" + t.get("layer", "choropleth")
    + ("" if "layer" in t else "&grid=" + t["level3"]), {}))
send("POST", "/api/v1/search", "/api/v1/search?layer={layer}",
     lambda t: {"polygon": FAR}, ok=200)

# households
get("/api/v1/households", "/api/v1/households?limit=5")
get("/api/v1/households/<int:household_id>", "/api/v1/households/{household}")


# incidents
def _report(t):
    return {"category": "dispute", "source": "hotline", "description": "探针",
            "lon": t["lon"], "lat": t["lat"]}


get("/api/v1/incidents", "/api/v1/incidents?limit=5")
get("/api/v1/incidents/queues", "/api/v1/incidents/queues")
get("/api/v1/incidents/<code>", "/api/v1/incidents/{incident}")
send("POST", "/api/v1/incidents", "/api/v1/incidents?preview=1", _report, ok=200)
send("POST", "/api/v1/incidents/preview", "/api/v1/incidents/preview", _report,
     ok=200)
send("POST", "/api/v1/incidents/<code>/<action>",
     "/api/v1/incidents/{incident}/{action}", lambda t: {}, ok=409)
send("POST", "/api/v1/incidents/<code>/transitions",
     "/api/v1/incidents/{incident}/transitions",
     lambda t: {"action": t["action"]}, ok=409)
get("/api/v1/heatmap", "/api/v1/heatmap")
get("/api/v1/hotspots", "/api/v1/hotspots")
get("/api/v1/stats", "/api/v1/stats?grid={level3}")
get("/api/v1/stats/workers", "/api/v1/stats/workers?grid={level3}")
get("/api/v1/rankings", "/api/v1/rankings?grid={level3}")


# imports: a file without the layer's key column (400 once allowed), a dry run;
# one whose every row is rejected first (a point in a grid file, no time for a
# track, no address for a household) answers 200 with the report's refusal
@probe("POST", "/api/v1/imports", ok=(200, 400))
def _import(m, who, t):
    staff = m.targets["own"]["staff"]
    url = f"/api/v1/imports?layer={t['layer']}&dry_run=1&staff={staff}"
    return url, {"data": {"file": (io.BytesIO(CSV_WITHOUT_KEY), "probe.csv")},
                 "content_type": "multipart/form-data"}


get("/api/v1/imports", "/api/v1/imports?limit=5")


@probe("GET", "/api/v1/imports/<int:import_id>/rejected.csv")
def _rejected(m, who, t):
    """own: the identity's own import (the village planner's for the roles that
    import nothing); other: an import by a planner of village B."""
    name = t["importer"] or USERNAMES[who]
    import_id = m.imports[name if name in m.imports else "mx-vplanner"]
    return f"/api/v1/imports/{import_id}/rejected.csv", {}


get("/api/v1/imports/progress/<token>", "/api/v1/imports/progress/matrix-probe-01")


# the phone
send("POST", "/api/v1/devices", "/api/v1/devices", lambda t: {"username": "x"},
     ok=400)
probe("DELETE", "/api/v1/devices/current", ok=400)(
    lambda m, who, t: ("/api/v1/devices/current", {}))
get("/api/v1/me", "/api/v1/me")
get("/api/v1/me/tasks", "/api/v1/me/tasks")
get("/api/v1/me/households", "/api/v1/me/households")
# recurring disputes (重点关注): a reading of incidents; the phone's visits due
get("/api/v1/disputes/recurring", "/api/v1/disputes/recurring")
get("/api/v1/me/visits-due", "/api/v1/me/visits-due")


@probe("POST", "/api/v1/incidents/<code>/photos", ok=400)
def _photo_upload(m, who, t):  # no file: 400 once the incident is found
    return f"/api/v1/incidents/{t['incident']}/photos", {
        "data": {}, "content_type": "multipart/form-data"}


@probe("GET", "/api/v1/photos/<int:photo_id>")
def _photo(m, who, t):
    """A photo of the target's incident, its file in a store of the module."""
    from api.photo_store import DirectoryStore

    jpeg = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(jpeg, "JPEG")
    digest = hashlib.sha256(jpeg.getvalue()).hexdigest()
    root = m.app.config.setdefault("PHOTO_DIR", str(m.photo_dir))
    DirectoryStore(root).put(digest, jpeg.getvalue())
    with psycopg.connect(m.url) as c:
        photo = c.execute(
            "INSERT INTO incident_photos (incident_id, sha256, width, height, bytes)"
            " SELECT id, %s, 4, 4, %s FROM incidents WHERE code = %s"
            " ON CONFLICT (incident_id, sha256) DO UPDATE SET bytes = EXCLUDED.bytes"
            " RETURNING id", (digest, len(jpeg.getvalue()), t["incident"])
        ).fetchone()[0]
    return f"/api/v1/photos/{photo}", {}


def _warning(m, t):
    """A fresh open warning on the target's micro-grid."""
    with psycopg.connect(m.url) as c:
        return c.execute(
            "INSERT INTO early_warnings (kind, grid_code, category, first_day,"
            " last_day, since, window_days, observed, expected, p, q)"
            " VALUES ('grid', %s, 'public_order', current_date, current_date,"
            " current_date, 7, 5, 0.5, 0.0001, 0.001)"
            " ON CONFLICT DO NOTHING RETURNING id",
            (t["grid"],)).fetchone() or c.execute(
            "SELECT id FROM early_warnings WHERE grid_code = %s", (t["grid"],)
        ).fetchone()


get("/api/v1/warnings", "/api/v1/warnings")
get("/api/v1/reports/monthly", "/api/v1/reports/monthly?grid={grid}&month=2026-10")


@probe("GET", "/api/v1/reports/monthly/<int:report_id>")
def _stored_report(m, who, t):
    """A stored monthly report of the target's grid (layers/monthly_report.py)."""
    with psycopg.connect(m.url) as c:
        report = c.execute(
            "INSERT INTO monthly_reports (grid_code, month, title, generated_by,"
            " docx, pdf) VALUES (%s, '2026-10', 'probe', 'system', %s, %s)"
            " ON CONFLICT (grid_code, month) DO UPDATE SET title = EXCLUDED.title"
            " RETURNING id", (t["grid"], b"docx", b"%PDF")).fetchone()[0]
    return f"/api/v1/reports/monthly/{report}", {}


@probe("GET", "/api/v1/warnings/<int:warning_id>")
def _one_warning(m, who, t):
    return f"/api/v1/warnings/{_warning(m, t)[0]}", {}


@probe("POST", "/api/v1/warnings/<int:warning_id>")
def _act_on_warning(m, who, t):
    return f"/api/v1/warnings/{_warning(m, t)[0]}", {"json": {"action": "assess"}}


def _judgement(m, t):
    """An open town-level 研判 item on the target's micro-grid with an open task
    of the administrator's: ``(item id, task id)``. No level above the town
    covers the demo (the probes' level covers a town elsewhere): an
    escalation is refused (409) after the checks."""
    with psycopg.connect(m.url) as c:
        found = c.execute(
            "SELECT j.id, k.id FROM judgement_items j JOIN judgement_tasks k"
            " ON k.item_id = j.id WHERE j.title = 'matrix' AND j.grid_code = %s"
            " AND j.status = 'open' AND k.status = 'open'", (t["grid"],)).fetchone()
        if found:
            return found
        item = c.execute(
            "INSERT INTO judgement_items (town_code, grid_code, title, created_by)"
            " VALUES (left(%s, 9), %s, 'matrix', 'matrix') RETURNING id",
            (t["grid"], t["grid"])).fetchone()[0]
        task = c.execute(
            "INSERT INTO judgement_tasks (item_id, description, owner_id, deadline,"
            " created_by) SELECT %s, '探针', id, now() + interval '7 days', 'matrix'"
            " FROM users WHERE username = 'admin' RETURNING id", (item,)
        ).fetchone()[0]
    return item, task


def _level(m):
    """A fresh 研判 level covering a town that is not the demo's."""
    with psycopg.connect(m.url) as c:
        return c.execute(
            "INSERT INTO judgement_levels (name, rank, covers) VALUES"
            " ('matrix ' || gen_random_uuid(), 2, '{999999999}') RETURNING id"
        ).fetchone()[0]


get("/judgements", "/judgements")
get("/api/v1/judgements", "/api/v1/judgements?status=all")
probe("GET", "/api/v1/judgements/<int:judgement_id>")(
    lambda m, who, t: (f"/api/v1/judgements/{_judgement(m, t)[0]}", {}))
send("POST", "/api/v1/judgements", "/api/v1/judgements",
     lambda t: {"incidents": [t["incident"]], "participants": "探针"}, ok=201)
probe("PATCH", "/api/v1/judgements/<int:judgement_id>")(
    lambda m, who, t: (f"/api/v1/judgements/{_judgement(m, t)[0]}",
                       {"json": {"participants": "探针"}}))
# a task whose owner is no user: 400 once past the checks
probe("POST", "/api/v1/judgements/<int:judgement_id>/tasks", ok=400)(
    lambda m, who, t: (f"/api/v1/judgements/{_judgement(m, t)[0]}/tasks", {
        "json": {"description": "探针", "owner": "no-such-user",
                 "deadline": "2030-01-01"}}))
# an open task opened again: 409 once past the checks
probe("POST", "/api/v1/judgements/<int:judgement_id>/tasks/<int:task_id>",
      ok=409)(lambda m, who, t: (
          "/api/v1/judgements/{}/tasks/{}".format(*_judgement(m, t)),
          {"json": {"status": "open"}}))
probe("POST", "/api/v1/judgements/<int:judgement_id>/escalate", ok=409)(
    lambda m, who, t: (f"/api/v1/judgements/{_judgement(m, t)[0]}/escalate",
                       {"json": {"reason": "探针"}}))
# its task is open: 409 once past the checks
probe("POST", "/api/v1/judgements/<int:judgement_id>/resolve", ok=409)(
    lambda m, who, t: (f"/api/v1/judgements/{_judgement(m, t)[0]}/resolve",
                       {"json": {"resolution": "探针"}}))
get("/api/v1/judgement-levels", "/api/v1/judgement-levels")
send("POST", "/api/v1/judgement-levels", "/api/v1/judgement-levels",
     lambda t: {"name": "探针", "rank": 99}, ok=400)
probe("PUT", "/api/v1/judgement-levels/<int:level_id>", ok=400)(
    lambda m, who, t: (f"/api/v1/judgement-levels/{_level(m)}",
                       {"json": {"rank": 99}}))
probe("DELETE", "/api/v1/judgement-levels/<int:level_id>", ok=204)(
    lambda m, who, t: (f"/api/v1/judgement-levels/{_level(m)}", {}))
get("/api/v1/visits/pending-tags", "/api/v1/visits/pending-tags")
send("POST", "/api/v1/visits", "/api/v1/visits",
     lambda t: {"household_id": 1, "size_seen": 99}, ok=400)


@probe("POST", "/api/v1/visits/<int:visit_id>/confirm-tag", ok=409)
def _confirm_tag(m, who, t):
    """A visit of the target's household that proposed no tag (409 once past the
    checks: nothing to confirm)."""
    with psycopg.connect(m.url) as c:
        visit = c.execute(
            "INSERT INTO visits (household_id, grid_code, username, visited_at)"
            " SELECT id, grid_code, 'matrix', now() FROM households WHERE id = %s"
            " RETURNING id", (t["household"],)).fetchone()[0]
    return f"/api/v1/visits/{visit}/confirm-tag", {}


send("POST", "/api/v1/patrols/points", "/api/v1/patrols/points",
     lambda t: {"patrol_id": "00000000-0000-4000-8000-000000000000", "points": []},
     ok=400)


# patrol tracks
@probe("POST", "/api/v1/tracks", ok=400)
def _track(m, who, t):
    return f"/api/v1/tracks?staff={t['staff']}", {
        "data": {"file": (io.BytesIO(GPX_WITHOUT_TRACK), "probe.gpx")},
        "content_type": "multipart/form-data"}


get("/api/v1/tracks", "/api/v1/tracks?worker={staff}")
get("/api/v1/tracks/summary", "/api/v1/tracks/summary?staff={staff}")
get("/api/v1/tracks/workers", "/api/v1/tracks/workers")


# The tests ----------------------------------------------------------------------

def _route_map():
    """(method, rule) of every route of the application (no database needed)."""
    from web.app import create_app

    app = create_app({"DATABASE_URL": "postgresql:///unused", "SECRET_KEY": "x" * 32})
    return {(method, rule.rule) for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def test_every_route_has_a_row():
    routes = _route_map()
    assert ASSET_RULES <= {rule for _, rule in routes}  # the allow-list is not stale
    served = {(method, rule) for method, rule in routes if rule not in ASSET_RULES}
    missing = sorted(served - TABLE.keys())
    gone = sorted(TABLE.keys() - served)
    assert not missing, f"routes without a row in access_matrix_table.py: {missing}"
    assert not gone, f"rows of access_matrix_table.py for no route: {gone}"
    unasked = sorted(TABLE.keys() - PROBES.keys())
    assert not unasked, f"rows without a probe in test_access_matrix.py: {unasked}"
    assert not PROBES.keys() - TABLE.keys()


def test_every_row_has_a_cell_per_identity():
    bad = [(key, target) for key, row in TABLE.items()
           for target, cells in row.items() if len(cells.split()) != len(IDENTITIES)]
    assert not bad


CELLS = [pytest.param(who, method, rule, target, cell,
                      id=f"{who}-{method} {rule}-{target}")
         for (method, rule), row in TABLE.items()
         for target, cells in row.items()
         for who, cell in zip(IDENTITIES, cells.split(), strict=False)]


@pytest.mark.parametrize(("who", "method", "rule", "target", "cell"), CELLS)
def test_access(m, who, method, rule, target, cell):
    values = m.targets.get(target) or m.targets["-"] | {"layer": target}
    how = PROBES[(method, rule)]
    url, kwargs = how.build(m, who, values)
    api = rule.startswith("/api/")
    client = (m.tokens if api else m.sessions)[who]
    r = client.open(url, method=method, **kwargs)
    body = r.get_data().decode("utf-8", "replace")  # tiles are binary
    said = f"{who} {method} {url} [{target}] → {r.status_code}: {body[:300]}"
    error = (r.get_json(silent=True) or {}).get("error", {}) if api else {}
    if cell == "A":
        if api:
            assert (r.status_code, error.get("code")) == (401, "unauthorized"), said
        else:
            assert r.status_code == 302, said
            assert urlsplit(r.headers["Location"]).path == "/login", said
    elif cell == "F":
        assert r.status_code == 403, said
        assert not api or error.get("code") == "forbidden", said
    elif cell == "N":
        assert r.status_code == 404, said
        assert not api or error.get("code") == "not_found", said
    elif cell == "Y":
        ok = how.ok if isinstance(how.ok, tuple) else (how.ok,)
        assert r.status_code in ok, said
        if r.status_code == 302:  # done (or refused in a message), not a login
            assert urlsplit(r.headers["Location"]).path != "/login", said
    else:
        assert r.status_code == int(cell), said
