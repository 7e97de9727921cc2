"""The access matrix, written by hand: who gets what from every route.

Not derived from the ``@requires`` decorators nor from ``layers/access.py`` (a
table copied from the code could never disagree with it): each row says what the
product should answer, from the rules of the security issue:

- roles: admin everything; planner maps, locate, households (masked), grids,
  cameras, imports; dispatcher maps, locate, households (unmasked), incidents,
  tracks; leader maps, locate, households (masked), incidents, tracks; field
  worker maps, locate, households (unmasked, and edits them), incidents,
  imports, tracks; viewer the maps only (no locate, no households, no staff);
- a scoped user reading one object outside the jurisdiction: 404, as for an
  object that does not exist (the product's convention today);
- planners and scoped admins edit grids strictly below the root of their
  jurisdiction: the root itself is 403; another village's grid is 404 for them,
  as every object outside the jurisdiction (an edit of a grid inside that
  reaches into another village is 403 naming it: tests/integration/
  test_grid_edit_jurisdiction.py);
- a scoped admin manages the accounts of the subtree only: other accounts, and
  new accounts with no grid or a grid outside, are 403;
- each layer of search needs the permission of its read endpoint (households:
  households:read; cameras: map:view; staff: locate — a viewer may not locate;
  incidents: incidents:read);
- an import into a layer needs imports:run and the permission that edits the
  layer (households:edit, cameras:edit, incidents:edit, grids:edit); a staff
  import needs users:manage (the roster decides who gets incidents); tracks
  imports need imports:run only.

Columns, in this order (``IDENTITIES``): anonymous; admin (everywhere); a scoped
admin, a planner and a dispatcher of village A (320282105001); the demo's
dispatcher, leader and viewer (the town 320282105); the demo's field worker (the
first comprehensive grid of village A, 320282105001001).

Rows: ``(method, rule) -> {target: cells}``. Targets: ``-`` for a route without
one; ``own`` an object inside every scoped identity's jurisdiction (in village A's
first micro-grid, or the identity's own import); ``other`` one in village B
(320282105002); ``root`` village A itself (the root of the scoped planner's and
admin's jurisdiction); ``global`` an account with no grid; search and import rows
are per layer.

Cells: ``Y`` the request passes every access check (the probe's answer: 200, or
the 400/409/422 of the deliberately invalid body it sends, or 302 back to the
page for the admin forms); ``F`` 403; ``N`` 404; ``A`` log in first (401 on
/api/, 302 to /login for pages); a number: exactly that status.
"""

IDENTITIES = ("anonymous", "admin", "village_admin", "village_planner", "dispatcher",
              "village_dispatcher", "leader", "field_worker", "viewer")

# Shapes that recur: what each role may do, per target.
# Cells left to right: anonymous, admin, village_admin, village_planner,
# dispatcher, village_dispatcher, leader, field_worker, viewer.
_EVERYONE = "A Y Y Y Y Y Y Y Y"
_LOCATE = "A Y Y Y Y Y Y Y F"          # locate (not the viewer)
_HOUSEHOLDS = _LOCATE                  # households:read: the same roles
_HOUSEHOLDS_OTHER = "A Y N N Y N Y N F"
_INCIDENTS = "A Y Y F Y Y Y Y F"       # incidents:read (not planner, viewer)
_INCIDENTS_OTHER = "A Y N F Y N Y N F"
_TRACKS, _TRACKS_OTHER = _INCIDENTS, _INCIDENTS_OTHER  # tracks:read: the same
_INCIDENT_EDIT = "A Y Y F Y Y F Y F"   # incidents:edit
_INCIDENT_EDIT_OTHER = "A Y N F Y N F N F"
_IMPORTS = "A Y Y Y F F F Y F"         # imports:run
_IMPORTS_OTHER = "A Y N N F F F N F"
_GRIDS_EDIT = "A Y Y Y F F F F F"      # grids:edit, below the root
_ONLY_GLOBAL_ADMIN = "A Y F F F F F F F"
_ADMINS = "A Y Y F F F F F F"
_MAP_OTHER = "A Y N N Y N Y N Y"       # map:view of an object of village B
_WEBHOOK = {"own": _ADMINS, "other": "A Y N F F F F F F"}  # webhooks, their jobs

_READ_ONE = {"own": _EVERYONE, "other": _MAP_OTHER}
_GRIDS_EDIT_OTHER = "A Y N N F F F F F"  # another village's grid: unseen, 404
_GRID_EDIT = {"own": _GRIDS_EDIT, "root": _ONLY_GLOBAL_ADMIN,
              "other": _GRIDS_EDIT_OTHER}
_GRID_EDIT_BELOW = {"own": _GRIDS_EDIT, "other": _GRIDS_EDIT_OTHER}
_ACCOUNTS = {"own": _ADMINS, "other": _ONLY_GLOBAL_ADMIN,
             "global": _ONLY_GLOBAL_ADMIN}
_SEARCH = {"households": _HOUSEHOLDS, "cameras": _EVERYONE, "staff": _LOCATE,
           "incidents": _INCIDENTS}
# registering in village B from village A: "the location is in no micro-grid of
# your jurisdiction" (400, a field error: the point is the user's input)
_REGISTER = {"own": _INCIDENT_EDIT, "other": "A Y 400 F Y 400 F 400 F"}



def _OGC(cells):  # noqa: N802 - a shape like the others
    """The cells of /ogc (and /tiles): anonymous is asked for HTTP Basic (401),
    not sent to the login page."""
    return "401 " + cells.split(" ", 1)[1]


_OGC_LAYERS = {"grids-4": _OGC(_EVERYONE), "cameras": _OGC(_EVERYONE),
               "households": _OGC(_HOUSEHOLDS), "incidents": _OGC(_INCIDENTS),
               "tracks": _OGC(_TRACKS)}

TABLE = {
    # public: the login form (a logged-in user is sent on), and POSTs without
    # the CSRF token (refused before anything else)
    ("GET", "/login"): {"-": "200 302 302 302 302 302 302 302 302"},
    ("POST", "/login"): {"-": "400 400 400 400 400 400 400 400 400"},
    ("POST", "/logout"): {"-": "400 400 400 400 400 400 400 400 400"},
    ("GET", "/api/v1/health"): {"-": "Y Y Y Y Y Y Y Y Y"},
    ("GET", "/api/v1/openapi.json"): {"-": "Y Y Y Y Y Y Y Y Y"},
    ("GET", "/api/v1/docs"): {"-": "Y Y Y Y Y Y Y Y Y"},
    # the phone page's shell: the same for everyone (the login is inside it)
    ("GET", "/m/"): {"-": "Y Y Y Y Y Y Y Y Y"},
    ("GET", "/m/manifest.webmanifest"): {"-": "Y Y Y Y Y Y Y Y Y"},
    ("GET", "/m/sw.js"): {"-": "Y Y Y Y Y Y Y Y Y"},

    # pages
    ("GET", "/"): {"-": _EVERYONE},
    ("GET", "/dispatch"): {"-": _LOCATE},
    ("GET", "/import"): {"-": _IMPORTS},
    ("GET", "/plan"): {"-": _GRIDS_EDIT},
    ("GET", "/plan/grids"): {"own": _GRIDS_EDIT, "other": "A Y N N F F F F F"},
    ("GET", "/plan/check"): {"-": _GRIDS_EDIT},
    ("GET", "/rankings"): {"-": _INCIDENTS},
    ("GET", "/reports"): {"-": _INCIDENTS},
    ("GET", "/disputes"): {"-": _INCIDENTS},  # recurring disputes: incidents:read
    ("GET", "/tracks"): {"-": _TRACKS},
    ("GET", "/admin/audit"): {"-": _ADMINS},
    ("GET", "/admin/users"): {"-": _ADMINS},
    # the users page's jurisdiction picker: grids by name, in the admin's subtree
    ("GET", "/admin/grids"): {"-": _ADMINS},
    ("POST", "/admin/users"): _ACCOUNTS,
    ("POST", "/admin/users/<username>/active"): _ACCOUNTS,
    ("POST", "/admin/users/<username>/access"): _ACCOUNTS,
    ("POST", "/admin/users/<username>/password"): _ACCOUNTS,
    ("POST", "/admin/users/<username>/tokens"): _ACCOUNTS,
    ("POST", "/admin/users/<username>/unlock"): _ACCOUNTS,
    ("POST", "/admin/tokens/<int:token_id>/revoke"): _ACCOUNTS,
    # the job queue and webhooks: administrators; a scoped one sees and changes
    # the webhooks of the subtree only (and their deliveries' jobs), registers
    # none outside it (403)
    ("GET", "/admin/jobs"): {"-": _ADMINS},
    ("GET", "/api/v1/webhooks"): {"-": _ADMINS},
    ("POST", "/api/v1/webhooks"): {"own": _ADMINS, "other": _ONLY_GLOBAL_ADMIN},
    ("GET", "/api/v1/webhooks/<int:webhook_id>"): _WEBHOOK,
    ("PUT", "/api/v1/webhooks/<int:webhook_id>"): _WEBHOOK,
    ("DELETE", "/api/v1/webhooks/<int:webhook_id>"): _WEBHOOK,
    ("GET", "/api/v1/admin/jobs"): {"-": _ADMINS},
    ("POST", "/api/v1/admin/jobs/<int:job_id>/retry"): _WEBHOOK,

    # vector tiles (the pages' map layers and QGIS: anonymous is asked for
    # HTTP Basic, 401, as on /ogc)
    ("GET", "/tiles/grids/<int(signed=True):z>/<int(signed=True):x>/"
            "<int(signed=True):y>.mvt"): {"-": _OGC(_EVERYONE)},
    ("GET", "/tiles/cameras/<int(signed=True):z>/<int(signed=True):x>/"
            "<int(signed=True):y>.mvt"): {"-": _OGC(_EVERYONE)},
    ("GET", "/tiles/households/<int(signed=True):z>/<int(signed=True):x>/"
            "<int(signed=True):y>.mvt"): {"-": _OGC(_HOUSEHOLDS)},
    ("GET", "/tiles/incidents/<int(signed=True):z>/<int(signed=True):x>/"
            "<int(signed=True):y>.mvt"): {"-": _OGC(_INCIDENTS)},

    # the offline basemap (web/basemap.py): streets and names, no one's data;
    # every account's maps draw it
    ("GET", "/basemap/<int(signed=True):z>/<int(signed=True):x>/"
            "<int(signed=True):y>"): {"-": _EVERYONE},

    # TileJSON of each tiled layer (MapLibre, newer QGIS): as its tiles
    ("GET", "/tiles/grids.json"): {"-": _OGC(_EVERYONE)},
    ("GET", "/tiles/cameras.json"): {"-": _OGC(_EVERYONE)},
    ("GET", "/tiles/households.json"): {"-": _OGC(_HOUSEHOLDS)},
    ("GET", "/tiles/incidents.json"): {"-": _OGC(_INCIDENTS)},

    # OGC API – Features (QGIS, GDAL): anonymous gets 401 with Basic offered;
    # each collection needs the permission of its JSON API read
    ("GET", "/ogc"): {"-": _OGC(_EVERYONE)},
    ("GET", "/ogc/conformance"): {"-": _OGC(_EVERYONE)},
    ("GET", "/ogc/openapi.json"): {"-": _OGC(_EVERYONE)},
    ("GET", "/ogc/collections"): {"-": _OGC(_EVERYONE)},
    ("GET", "/ogc/collections/<cid>"): _OGC_LAYERS,
    ("GET", "/ogc/collections/<cid>/items"): _OGC_LAYERS,
    ("GET", "/ogc/collections/<cid>/items/<fid>"): {
        "own": _OGC(_EVERYONE), "other": _OGC(_MAP_OTHER)},
    # Part 4 for grids: /plan's rules (grids:edit, below the root)
    ("PUT", "/ogc/collections/<cid>/items/<fid>"): {
        "own": _OGC(_GRIDS_EDIT), "root": _OGC(_ONLY_GLOBAL_ADMIN),
        "other": _OGC(_GRIDS_EDIT_OTHER)},
    ("DELETE", "/ogc/collections/<cid>/items/<fid>"): {
        "own": _OGC(_GRIDS_EDIT), "other": _OGC(_GRIDS_EDIT_OTHER)},
    ("POST", "/ogc/collections/<cid>/items"): {
        "own": _OGC(_GRIDS_EDIT), "other": _OGC(_GRIDS_EDIT_OTHER)},

    # grids: reading
    ("GET", "/api/v1/grids"): {"-": _EVERYONE},
    ("GET", "/api/v1/grids/<code>"): _READ_ONE,
    ("GET", "/api/v1/grids/<code>/lineage"): _READ_ONE,
    ("GET", "/api/v1/grids/check"): _READ_ONE,
    # the household warnings' recount: grids:edit; another village's grid is
    # unseen (404), the planner's own root is allowed (its micro-grids)
    ("POST", "/api/v1/grids/recount"): {"own": _GRIDS_EDIT, "root": _GRIDS_EDIT,
                                        "other": "A Y N N F F F F F"},

    # grids: editing (saves and their previews alike)
    ("PUT", "/api/v1/grids/<code>"): _GRID_EDIT,
    ("POST", "/api/v1/grids/<code>/preview"): _GRID_EDIT,
    ("DELETE", "/api/v1/grids/<code>"): _GRID_EDIT,
    ("POST", "/api/v1/grids/<code>/delete/preview"): _GRID_EDIT,
    ("POST", "/api/v1/grids/<code>/split"): _GRID_EDIT,
    ("POST", "/api/v1/grids/<code>/split/preview"): _GRID_EDIT,
    ("POST", "/api/v1/grids/merge"): _GRID_EDIT,
    ("POST", "/api/v1/grids/merge/preview"): _GRID_EDIT,
    ("POST", "/api/v1/grids"): _GRID_EDIT_BELOW,
    ("POST", "/api/v1/grids/preview"): _GRID_EDIT_BELOW,
    ("PUT", "/api/v1/grids/<code>/children"): _GRID_EDIT_BELOW,
    ("POST", "/api/v1/grids/<code>/children/preview"): _GRID_EDIT_BELOW,
    # a proposal changes nothing: another village's grid is a read (404)
    ("POST", "/api/v1/grids/<code>/propose-micro"): {
        "own": _GRIDS_EDIT, "other": "A Y N N F F F F F"},

    # grid notices, 网格公示牌 (notices:print: leaders, planners, dispatchers,
    # admins; not the field roles, not the viewer); another village's grid is
    # unseen (404). The service hours are a grid edit (below the root); a
    # person's 公示电话 is the planners' and admins' of the person's grid
    ("GET", "/api/v1/grids/<code>/notice"): {
        "own": "A Y Y Y Y Y Y F F", "other": "A Y N N Y N Y F F"},
    ("GET", "/api/v1/grids/<code>/notices.pdf"): {
        "own": "A Y Y Y Y Y Y F F", "other": "A Y N N Y N Y F F"},
    # a town's notices (a long PDF) drawn by the job queue: the print's state
    # and its PDF, read as the grid's notices are
    ("GET", "/api/v1/notice-prints/<int:print_id>"): {
        "own": "A Y Y Y Y Y Y F F", "other": "A Y N N Y N Y F F"},
    ("GET", "/api/v1/notice-prints/<int:print_id>/notices.pdf"): {
        "own": "A Y Y Y Y Y Y F F", "other": "A Y N N Y N Y F F"},
    ("PATCH", "/api/v1/grids/<code>"): _GRID_EDIT,
    ("PATCH", "/api/v1/staff/<int:staff_id>"): {
        "own": _GRIDS_EDIT, "other": _GRIDS_EDIT_OTHER},

    # coverage of one grid (map:view)
    ("GET", "/api/v1/coverage"): _READ_ONE,
    ("GET", "/api/v1/coverage/blind-spots"): _READ_ONE,
    ("GET", "/api/v1/coverage/households"): _READ_ONE,
    ("GET", "/api/v1/coverage/recommend"): _READ_ONE,
    ("GET", "/api/v1/coverage/views"): _READ_ONE,

    # locating
    ("GET", "/api/v1/locate"): {"-": _LOCATE},
    ("GET", "/api/v1/locate/nearby"): {"-": _LOCATE},
    ("GET", "/api/v1/places"): {"-": _LOCATE},
    ("GET", "/api/v1/search"): _SEARCH,
    ("POST", "/api/v1/search"): _SEARCH,
    # exports: each layer needs the permission of its read (scoped by it)
    ("GET", "/api/v1/exports/<layer>"): {
        "grids": _EVERYONE, "cameras": _EVERYONE, "households": _HOUSEHOLDS,
        "incidents": _INCIDENTS, "tracks": _TRACKS},
    # the overview's view as one HTML file: each layer as its read; the
    # choropleth of a grid outside the jurisdiction is 404 like its ranking
    ("GET", "/api/v1/maps/overview.html"): {
        "level4": _EVERYONE, "cameras": _EVERYONE, "households": _HOUSEHOLDS,
        "own": _INCIDENTS, "other": _INCIDENTS_OTHER},

    # households
    ("GET", "/api/v1/households"): {"-": _HOUSEHOLDS},
    ("GET", "/api/v1/households/<int:household_id>"): {
        "own": _HOUSEHOLDS, "other": _HOUSEHOLDS_OTHER},

    # incidents
    ("GET", "/api/v1/incidents"): {"-": _INCIDENTS},
    ("GET", "/api/v1/incidents/queues"): {"-": _INCIDENTS},
    ("GET", "/api/v1/incidents/<code>"): {
        "own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    ("POST", "/api/v1/incidents"): _REGISTER,
    ("POST", "/api/v1/incidents/preview"): _REGISTER,
    ("POST", "/api/v1/incidents/<code>/<action>"): {
        "own": _INCIDENT_EDIT, "other": _INCIDENT_EDIT_OTHER},
    ("POST", "/api/v1/incidents/<code>/transitions"): {
        "own": _INCIDENT_EDIT, "other": _INCIDENT_EDIT_OTHER},
    ("GET", "/api/v1/heatmap"): {"-": _INCIDENTS},
    ("GET", "/api/v1/hotspots"): {"-": _INCIDENTS},
    ("GET", "/api/v1/stats"): {"own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    ("GET", "/api/v1/stats/workers"): {
        "own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    ("GET", "/api/v1/rankings"): {"own": _INCIDENTS, "other": _INCIDENTS_OTHER},

    # imports
    ("POST", "/api/v1/imports"): {
        "households": "A Y Y F F F F Y F",
        "cameras": "A Y Y Y F F F F F",
        "incidents": "A Y Y F F F F Y F",
        "grids": "A Y Y Y F F F F F",
        "staff": _ADMINS,  # the roster decides who gets incidents: users:manage
        "tracks": _IMPORTS,
    },
    ("GET", "/api/v1/imports"): {"-": _IMPORTS},
    ("GET", "/api/v1/imports/<int:import_id>/rejected.csv"): {
        "own": _IMPORTS, "other": _IMPORTS_OTHER},
    ("GET", "/api/v1/imports/progress/<token>"): {"-": _IMPORTS},

    # the phone: its login is public (a body without a password: 400); the
    # identities' script tokens are no device to log out (400 once allowed)
    ("POST", "/api/v1/devices"): {"-": "400 400 400 400 400 400 400 400 400"},
    ("DELETE", "/api/v1/devices/current"): {"-": _EVERYONE},
    ("GET", "/api/v1/me"): {"-": _EVERYONE},
    ("GET", "/api/v1/me/tasks"): {"-": _INCIDENTS},
    ("GET", "/api/v1/me/households"): {"-": _HOUSEHOLDS},
    # recurring disputes (重点关注) and the phone's visits due: a reading of
    # incidents (the parties' names masked per role inside)
    ("GET", "/api/v1/disputes/recurring"): {"-": _INCIDENTS},
    ("GET", "/api/v1/me/visits-due"): {"-": _INCIDENTS},
    # photos: adding one is a field action (incidents:report: the roles of
    # incidents:edit, and the liaison); reading one is reading its incident
    ("POST", "/api/v1/incidents/<code>/photos"): {
        "own": _INCIDENT_EDIT, "other": _INCIDENT_EDIT_OTHER},
    ("GET", "/api/v1/photos/<int:photo_id>"): {
        "own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    # visits (visits:record: the field roles; a body refused after the checks)
    # and their tags confirmed (visits:confirm: dispatchers, admins)
    # the monthly report: a reading of incidents (own: the first micro-grid of
    # village A; other: one of village B)
    ("GET", "/api/v1/reports/monthly"): {"own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    # a report the job generated on the 1st and stored: read like the one made
    # on demand (own: a stored report of village A's first micro-grid; other:
    # one of village B)
    ("GET", "/api/v1/reports/monthly/<int:report_id>"): {
        "own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    # early warnings: read with incidents:read; acting on one needs
    # warnings:handle (admins, dispatchers, leaders)
    ("GET", "/api/v1/warnings"): {"-": _INCIDENTS},
    ("GET", "/api/v1/warnings/<int:warning_id>"): {
        "own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    ("POST", "/api/v1/warnings/<int:warning_id>"): {
        "own": "A Y Y F Y Y Y F F", "other": "A Y N F Y N Y F F"},
    # 研判 items: read with incidents:read (another village's: unseen, 404);
    # recorded and changed with judgements:edit (admins, dispatchers, leaders),
    # at the town within the jurisdiction. A task is marked by its owner or by
    # who may change the item: the field worker, owner of no task, is refused
    # by the layer (403). The probes' items are the town's, in the target's
    # micro-grid; levels above the town are the global administrator's
    ("GET", "/judgements"): {"-": _INCIDENTS},
    ("GET", "/api/v1/judgements"): {"-": _INCIDENTS},
    ("GET", "/api/v1/judgements/<int:judgement_id>"): {
        "own": _INCIDENTS, "other": _INCIDENTS_OTHER},
    ("POST", "/api/v1/judgements"): {
        "own": "A Y Y F Y Y Y F F", "other": "A Y N F Y N Y F F"},
    ("PATCH", "/api/v1/judgements/<int:judgement_id>"): {
        "own": "A Y Y F Y Y Y F F", "other": "A Y N F Y N Y F F"},
    ("POST", "/api/v1/judgements/<int:judgement_id>/tasks"): {
        "own": "A Y Y F Y Y Y F F", "other": "A Y N F Y N Y F F"},
    ("POST", "/api/v1/judgements/<int:judgement_id>/tasks/<int:task_id>"): {
        "own": "A Y Y F Y Y Y F F", "other": "A Y N F Y N Y N F"},
    ("POST", "/api/v1/judgements/<int:judgement_id>/escalate"): {
        "own": "A Y Y F Y Y Y F F", "other": "A Y N F Y N Y F F"},
    ("POST", "/api/v1/judgements/<int:judgement_id>/resolve"): {
        "own": "A Y Y F Y Y Y F F", "other": "A Y N F Y N Y F F"},
    ("GET", "/api/v1/judgement-levels"): {"-": _INCIDENTS},
    ("POST", "/api/v1/judgement-levels"): {"-": _ONLY_GLOBAL_ADMIN},
    ("PUT", "/api/v1/judgement-levels/<int:level_id>"): {"-": _ONLY_GLOBAL_ADMIN},
    ("DELETE", "/api/v1/judgement-levels/<int:level_id>"): {
        "-": _ONLY_GLOBAL_ADMIN},
    ("POST", "/api/v1/visits"): {"-": "A Y Y F F F F Y F"},
    ("GET", "/api/v1/visits/pending-tags"): {"-": "A Y Y F Y Y F F F"},
    ("POST", "/api/v1/visits/<int:visit_id>/confirm-tag"): {
        "own": "A Y Y F Y Y F F F", "other": "A Y N F Y N F F F"},
    # a patrol from the phone (patrols:record: the field roles)
    ("POST", "/api/v1/patrols/points"): {"-": "A Y Y F F F F Y F"},

    # patrol tracks
    ("POST", "/api/v1/tracks"): {"own": _IMPORTS, "other": _IMPORTS_OTHER},
    ("GET", "/api/v1/tracks"): {"own": _TRACKS, "other": _TRACKS_OTHER},
    ("GET", "/api/v1/tracks/summary"): {"own": _TRACKS, "other": _TRACKS_OTHER},
    ("GET", "/api/v1/tracks/workers"): {"-": _TRACKS},
}

# Asset routes: public files, no data of anyone; the only routes left out.
ASSET_RULES = {"/static/<path:filename>", "/vendor/<package>/<path:filename>"}
