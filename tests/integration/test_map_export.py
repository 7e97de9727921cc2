"""GET /api/v1/maps/overview.html: a view of the overview as one standalone HTML
file (folium, web/maps.py), scoped, checked, audited like the reads it is made of.

Real PostGIS: the shared demo (only read: reads append audit rows), and a
writable copy with a leader of village A for the scope. The file is opened in a
browser offline by tests/browser/test_map_export.py.
"""

import json
import re
import urllib.parse

import psycopg
import pytest

from tests.conftest import writable_demo
from tests.integration.test_read_audit import new_audit_rows

pytestmark = pytest.mark.db

URL = "/api/v1/maps/overview.html"
TOWN = "320282105"
VILLAGE = "320282105001"  # village A
ALL_LAYERS = "level1,level2,level3,level4,cameras,choropleth"


def _file(client, **query):
    r = client.get(URL, query_string=query)
    assert r.status_code == 200, r.get_data(as_text=True)[:500]
    assert r.mimetype == "text/html"
    assert r.headers["Cache-Control"] == "no-store"
    return r.get_data(as_text=True), r


def _has(html, text):
    """``text`` in the file, as it is or as JSON writes it (folium's data: \\uXXXX)."""
    return text in html or json.dumps(text)[1:-1] in html


def _codes(html):
    """Every grid code the file's embedded GeoJSON carries."""
    return set(re.findall(r'"code":\s*"(\d+)"', html))


@pytest.fixture(scope="module")
def village(databases, demo_town):
    """A writable demo with a leader whose jurisdiction is village A."""
    from layers import users
    from layers.access import SYSTEM

    def setup(c):
        users.add_user(c, SYSTEM, "vleader", "leader", VILLAGE, "correct-horse-9")

    return writable_demo(databases, demo_town, setup)


def test_a_village_leaders_file_holds_only_their_village(village, demo_town):
    html, r = _file(village.client("vleader"), layers=ALL_LAYERS, month="2026-10")
    grids = demo_town.grids
    codes = _codes(html)
    mine = set(grids[grids.code.str.startswith(VILLAGE)].code)
    # the village's grids, their choropleth, and the town's outline above it
    assert codes <= mine | {TOWN}, sorted(codes - mine - {TOWN})[:5]
    assert set(grids[(grids.level == 4) & grids.code.str.startswith(VILLAGE)].code) \
        <= codes
    others = grids[(grids.level == 2) & (grids.code != VILLAGE)]
    assert _has(html, grids[grids.code == VILLAGE].name.iloc[0])
    assert not any(_has(html, name) for name in others.name)
    # the choropleth: the village's comprehensive grids, each with its fill
    level3 = grids[(grids.level == 3) & grids.code.str.startswith(VILLAGE)]
    fills = re.findall(r'"_fill":\s*"(#[0-9a-f]{6})"', html)
    assert len(fills) == len(level3)
    # cameras of the village only
    with psycopg.connect(village.url) as c:
        inside, outside = c.execute(
            "SELECT count(*) FILTER (WHERE grid_code LIKE %s),"
            " count(*) FILTER (WHERE grid_code NOT LIKE %s) FROM cameras",
            (VILLAGE + "%", VILLAGE + "%")).fetchone()
        far_name = c.execute("SELECT name FROM cameras WHERE grid_code NOT LIKE %s"
                             " ORDER BY code LIMIT 1", (VILLAGE + "%",)).fetchone()[0]
    assert inside and outside
    assert html.count('"status":') == inside
    assert not _has(html, far_name)


def test_the_file_carries_its_assets_and_names_no_url(as_user):
    html, r = _file(as_user("leader"), layers="level1,level2,choropleth",
                    month="2026-10")
    # no element loads anything: every src and href is inline (data:) or none
    links = re.findall(
        r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?([^"'\s>]+)""", html)
    assert all(u.startswith("data:") for u in links), links
    assert "/vendor/" not in html and "cdn.jsdelivr" not in html
    assert "L.map(" in html and "leaflet-control-layers" in html  # Leaflet inlined
    # the title, the date in China time with its label, the legend
    assert "云溪镇" in html and "北京时间" in html and "China time" in html
    assert 'id="gg-legend"' in html and "化解率" in html
    # a Chinese file name (RFC 5987) with an ASCII fallback
    disposition = r.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=\"gridgov-map-")
    quoted = re.search(r"filename\*=UTF-8''(\S+)$", disposition).group(1)
    name = urllib.parse.unquote(quoted)
    assert name.endswith(".html") and "化解率" in name and "2026-10" in name


def test_stored_names_are_text_not_markup(village):
    """A grid named like markup: the file carries it escaped in the title, as
    JSON data in the map (a tooltip's text node, web/maps.py)."""
    hostile = '<img src=x onerror="alert(1)">'
    with psycopg.connect(village.url) as c:
        c.execute("UPDATE grids SET name = %s WHERE code = %s", (hostile, VILLAGE))
    html, _ = _file(village.client("vleader"), layers="level2,choropleth",
                    month="2026-10")
    assert hostile not in html
    assert "&lt;img src=x" in html  # the title
    assert json.dumps(hostile)[1:-1].replace("<", "\\u003c") in html or \
        "\\u003cimg" in html


@pytest.mark.parametrize(("query", "field"), [
    ({"layers": "level1,roads"}, "layers"),
    ({"layers": "choropleth", "measure": "happiness"}, "measure"),
    ({"layers": "choropleth", "level": "9"}, "level"),
    ({"layers": "choropleth", "month": "2026-13"}, "month"),
    ({"layers": "choropleth", "grid": "999999"}, "grid"),
    ({"layers": "level1", "bbox": "120,31,119"}, "bbox"),
])
def test_a_bad_parameter_is_named(client, query, field):
    r = client.get(URL, query_string=query)
    assert r.status_code in (400, 404), r.get_data(as_text=True)[:300]
    error = r.get_json()["error"]
    assert error["field"] == field
    assert re.search(r"[\u4e00-\u9fff]", error["message"])  # Chinese first
    assert re.search(r"[A-Za-z]{3,}", error["message"])  # then English


@pytest.mark.parametrize(("user", "layers"), [
    ("viewer", "households"), ("planner", "choropleth"), ("viewer", "choropleth"),
    ("planner", "heatmap"), ("viewer", "hotspots")])
def test_a_layer_the_role_may_not_read_is_refused(as_user, user, layers):
    r = as_user(user).get(URL, query_string={"layers": layers})
    assert r.status_code == 403
    assert r.get_json()["error"]["field"] == "layers"


def test_the_viewers_default_file_is_the_grids_alone(as_user):
    html, _ = _file(as_user("viewer"))
    assert 'id="gg-legend"' not in html and '"_fill"' not in html
    assert len(_codes(html)) > 90


def test_households_in_the_file_are_audited_positions_only(as_user, demo_url):
    client = as_user("dispatcher")
    with psycopg.connect(demo_url) as c:
        total, phone = c.execute("SELECT count(*), min(phone) FROM households"
                                 " WHERE grid_code LIKE %s", (TOWN + "%",)).fetchone()
    with new_audit_rows(demo_url) as rows:
        html, _ = _file(client, layers="level2,households")
    [row] = [r for r in rows if r["table_name"] == "households"]
    assert row["username"] == "dispatcher" and row["action"] == "read"
    assert row["records"] == total
    assert row["after"]["query"]["via"] == "map_export"
    assert phone and not _has(html, phone)  # positions, no personal field
    # without households: no audit row of them
    with new_audit_rows(demo_url) as rows:
        _file(client, layers="level2,cameras")
    assert [r for r in rows if r["table_name"] == "households"] == []


def test_a_layer_too_large_for_one_file_is_413(app, as_user):
    app.config["MAP_EXPORT_MAX"] = 10
    try:
        r = as_user("admin").get(URL, query_string={"layers": "level2,cameras"})
    finally:
        del app.config["MAP_EXPORT_MAX"]
    assert r.status_code == 413
    assert r.get_json()["error"]["field"] == "layers"
    assert "cameras" in r.get_json()["error"]["message"]


def test_the_export_colours_each_grid_by_the_rankings_classes(as_user):
    """One place for the class breaks: the rankings' answer (what the overview
    paints with) carries each measure's classes, and the file fills every
    micro-grid with its class's colour from them."""
    from geo import choropleth

    leader = as_user("leader")
    ranking = leader.get(f"/api/v1/rankings?grid={TOWN}&level=4&month=2026-10")
    assert ranking.status_code == 200
    answer = ranking.get_json()
    assert answer["classes"] == choropleth.classes(answer["items"])
    for measure in ("resolution_rate", "received"):
        c = answer["classes"][measure]
        assert len(c["colours"]) == len(c["breaks"]) - 1 >= 3
        html, _ = _file(leader, layers="choropleth", level="4", grid=TOWN,
                        month="2026-10", measure=measure)
        fills = {}  # each feature's properties: {"code", "name", "_fill", "tip"}
        for props in re.findall(r'\{[^{}]*"_fill"[^{}]*\}', html):
            code = re.search(r'"code":\s*"(\d+)"', props).group(1)
            fills[code] = re.search(r'"_fill":\s*"(#[0-9a-f]{6})"', props).group(1)
        expected = {}
        for item in answer["items"]:
            k = choropleth.class_of(choropleth.value(item, measure), c["breaks"])
            expected[item["code"]] = c["colours"][k] if k >= 0 else choropleth.NO_DATA
        assert fills == expected


def _collections(html):
    """Every GeoJSON the file's layers carry (folium: ``geo_json_…_add({…})``)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := html.find("_add({", at)) >= 0:
        at += len("_add(")
        found.append(decoder.raw_decode(html, at)[0])
    return found


def test_the_heatmap_hot_spots_and_camera_views_as_the_overview_shows_them(
        as_user):
    """The overview's other layers, read as the page reads them (the same
    period, extent, zoom and root) and drawn in the file, with their legends."""
    from web.maps import _number

    leader = as_user("leader")
    query = {"month": "2026-10", "grid": TOWN, "zoom": "14"}
    html, _ = _file(leader, layers="choropleth,heatmap,hotspots,views,blind",
                    **query)
    period = {"from": "2026-10-01", "to": "2026-10-31"}
    heat = leader.get("/api/v1/heatmap", query_string={
        "format": "geojson", "method": "kde", "zoom": "14", **period}
    ).get_json()
    hot = leader.get("/api/v1/hotspots", query_string={
        "level": "4", "grid": TOWN, **period}).get_json()
    views = leader.get(f"/api/v1/coverage/views?grid={TOWN}").get_json()
    blind = leader.get(f"/api/v1/coverage/blind-spots?grid={TOWN}").get_json()
    assert heat["features"] and hot["features"] and views["features"]
    drawn = _collections(html)

    def like(features, key):
        return [fc for fc in drawn if fc.get("features") and
                len(fc["features"]) == len(features) and
                key(fc["features"][0]) == key(features[0])]

    # the cells with their classes, in the page's order
    assert like(heat["features"], lambda f: (f["geometry"], f["properties"]["class"]))
    [spots] = like(hot["features"], lambda f: f["geometry"])
    assert [f["properties"]["class"] for f in spots["features"]] == \
        [f["properties"]["class"] for f in hot["features"]]
    assert like(views["features"], lambda f: f["geometry"])
    if blind["features"]:
        assert like(blind["features"], lambda f: f["geometry"])
    assert 'id="gg-blind-hatch"' in html
    # the legends as the page writes them: the heatmap's breaks, Gi*'s classes
    legend = html[html.index('id="gg-legend"'):]
    legend = legend[:legend.index("</div>")]
    b = heat["breaks"]
    assert f"{_number(b[0])} – {_number(b[1])}" in legend
    for label in ("事件核密度", "热点（99% 置信）", "冷点（99% 置信）", "不显著",
                  "监控盲区：无摄像头可见"):
        assert label in legend, label
    links = re.findall(
        r"""<(?:script|link|img)\b[^>]*\b(?:src|href)\s*=\s*["']?([^"'\s>]+)""", html)
    assert all(u.startswith("data:") for u in links), links
