"""The hierarchy check through the API and the command line, on a real PostGIS."""

import json
from types import SimpleNamespace

import psycopg
import pytest
from click.testing import CliRunner

from layers import demo, users
from layers.access import SYSTEM
from web.cli import main

pytestmark = pytest.mark.db

CHECK = "/api/v1/grids/check"
TOWN, VILLAGE = "320282105", "320282105001"
# the broken micro-grid loses a 2 m band along its whole border (some 7,000 m²:
# an error by default, a sliver under a tolerance of 10,000 m²)
SHRINK_M = 2


# the demo town, shared and unchanged ---------------------------------------------

def test_demo_town_checks_clean(client):
    r = client.get(CHECK)
    assert r.status_code == 200
    report = r.get_json()
    assert report["errors"] == [] and report["slivers"] == []
    assert report["grids"] == 1 + 8 + 25 + 91
    assert report["root"] is None


def test_subtree_of_a_village(client, demo_town):
    g = demo_town.grids
    expected = int(g.code.str.startswith(VILLAGE).sum())
    report = client.get(CHECK, query_string={"root": VILLAGE}).get_json()
    assert report["root"] == VILLAGE
    assert report["grids"] == expected > 1
    assert report["errors"] == []


def test_jurisdiction_bounds_the_check(as_user):
    village1 = as_user("village1")  # a dispatcher of village 320282105001
    mine = village1.get(CHECK)
    assert mine.status_code == 200
    assert mine.get_json()["root"] == VILLAGE
    # another village, and the town above (only its outline is visible): 404
    for root in ("320282105002", TOWN):
        r = village1.get(CHECK, query_string={"root": root})
        assert r.status_code == 404, root
        assert r.get_json()["error"]["field"] == "root"
    # the viewer may read maps, hence check them
    assert as_user("viewer").get(CHECK).status_code == 200


def test_unknown_root_is_404(client):
    r = client.get(CHECK, query_string={"root": "999999999"})
    assert r.status_code == 404
    assert r.get_json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("value", ["abc", "-1", "nan", "1e9"])
def test_bad_sliver_tolerance_is_400(client, value):
    r = client.get(CHECK, query_string={"sliver_m2": value})
    assert r.status_code == 400
    error = r.get_json()["error"]
    assert error["field"] == "sliver_m2" and "sliver_m2" in error["message"]


def test_anonymous_is_401(anonymous):
    assert anonymous.get(CHECK).status_code == 401


def test_openapi_documents_the_check(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert "root" in json.dumps(paths[CHECK]["get"]["parameters"])


def test_cli_help():
    result = CliRunner().invoke(main, ["check", "--help"])
    assert result.exit_code == 0 and "--sliver-m2" in result.output


def test_cli_on_the_clean_town(demo_url):
    result = _cli(["check"], demo_url)
    assert result.exit_code == 0, result.output
    assert "125 grids checked" in result.output and "0 error(s)" in result.output


# a copy of the town with one micro-grid broken on purpose ------------------------

@pytest.fixture(scope="module")
def broken(databases, demo_town):
    """The demo town with its 10th micro-grid shrunk by SHRINK_M all round (a gap
    of known area inside its parent) and an admin's token."""
    from web import create_app

    url = databases.new()
    g = demo_town.grids
    micro = g[g.level == 4].sort_values("code").iloc[9]
    with psycopg.connect(url) as c:
        demo.load(c, demo_town, {"scale": "town", "seed": 1, "as_of": "2026-11-01"})
        demo.ensure_demo_accounts(c)
        token = users.create_token(c, SYSTEM, "admin", "t")
        # the area PostGIS gives the band (on the spheroid), before the change
        area = c.execute(
            "SELECT ST_Area(ST_Difference(geom, ST_Buffer(geom::geography, -%s)"
            "::geometry)::geography) FROM grids WHERE code = %s",
            (SHRINK_M, micro.code)).fetchone()[0]
        c.execute("UPDATE grids SET geom = ST_Multi(ST_Buffer(geom::geography, -%s)"
                  "::geometry) WHERE code = %s", (SHRINK_M, micro.code))
    app = create_app({"DATABASE_URL": url, "TESTING": True, "SECRET_KEY": "x" * 32})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return SimpleNamespace(url=url, client=client, code=micro.code,
                           parent=micro.parent_code, area=area)


def test_api_reports_the_gap(broken):
    report = broken.client.get(CHECK).get_json()
    gaps = [p for p in report["errors"] if p["kind"] == "gap"]
    assert gaps, report
    assert {p["kind"] for p in report["errors"]} == {"gap"}
    for p in gaps:
        assert p["codes"][0] == broken.parent and broken.code in p["codes"]
        assert broken.code in p["message"]
        assert p["geometry"]["type"] == "Polygon"
    # the band, measured in the Gauss-Krüger plane, against PostGIS's spheroid:
    # within 0.1 % (the plane's scale error here is about 1e-5)
    total = sum(p["area_m2"] for p in gaps + report["slivers"])
    assert total == pytest.approx(broken.area, rel=1e-3)
    assert 1000 < broken.area < 10_000


def test_api_reports_the_gap_under_its_root_only(broken):
    # the broken grid's village shows it; the other villages check clean
    mine = broken.client.get(CHECK, query_string={"root": broken.parent[:12]})
    assert mine.get_json()["errors"]
    other = "320282105002" if broken.parent[:12] != "320282105002" else VILLAGE
    assert broken.client.get(CHECK, query_string={"root": other}).get_json() \
        ["errors"] == []


def test_cli_reports_the_gap_and_exits_1(broken):
    result = _cli(["check"], broken.url)
    assert result.exit_code == 1
    assert "gap" in result.output and broken.code in result.output
    assert f"{len(_gaps(broken))} error(s)" in result.output
    as_json = _cli(["check", "--json", "--root", broken.parent], broken.url)
    assert as_json.exit_code == 1
    report = json.loads(as_json.output)
    assert report["root"] == broken.parent
    assert [p["kind"] for p in report["errors"]] == ["gap"] * len(report["errors"])
    # with a tolerance above the gap's area, it is a sliver and the check passes
    lenient = _cli(["check", "--sliver-m2", "10000", "--json"], broken.url)
    assert lenient.exit_code == 0, lenient.output
    assert json.loads(lenient.output)["slivers"]


def test_cli_unknown_root_is_one_line(broken):
    result = _cli(["check", "--root", "999999999"], broken.url)
    assert result.exit_code == 1
    assert "no grid with code 999999999" in result.output


def _gaps(broken):
    return [p for p in broken.client.get(CHECK).get_json()["errors"]
            if p["kind"] == "gap"]


def _cli(args, url):
    return CliRunner().invoke(main, args, env={"GRIDGOV_DATABASE_URL": url},
                              catch_exceptions=False)
