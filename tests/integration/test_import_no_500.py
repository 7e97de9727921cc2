"""No file gives a 500 (the import issue's "done"): files of every geometry
kind, empty ones, and ones from elsewhere, into every layer, previewed and
imported by an administrator and by a field worker; each answer is a report
or a bilingual refusal naming its field."""

import io
import json

import psycopg
import pytest
import shapely

from layers import users
from tests.conftest import writable_demo

pytestmark = pytest.mark.db

LAYERS = ("households", "cameras", "incidents", "staff", "tracks", "grids")


@pytest.fixture(scope="module")
def rw(databases, demo_town):
    rw = writable_demo(databases, demo_town)
    with psycopg.connect(rw.url) as c:
        grid = users.get_user(c, "worker")["grid_code"]
        rw.outline = shapely.from_wkb(bytes(c.execute(
            "SELECT ST_AsBinary(geom) FROM grids WHERE code = %s",
            (grid,)).fetchone()[0]))
        rw.staff = c.execute("SELECT id FROM grid_staff WHERE grid_code LIKE %s"
                             " ORDER BY id LIMIT 1", (grid + "%",)).fetchone()[0]
    return rw


def feature(geom, **props):
    return {"type": "Feature", "geometry": geom and shapely.geometry.mapping(geom),
            "properties": props}


def files(rw):
    p = rw.outline.representative_point()
    here = {"编号": "N5-1", "编码": "320282105001001999", "名称": "某处",
            "地址": "某路1号", "时间": "2026-10-20 09:00"}
    shapes = {
        "point": p,
        "multipoint": shapely.MultiPoint([p, shapely.Point(p.x + 1e-4, p.y)]),
        "line": shapely.LineString([(p.x, p.y), (p.x + 1e-4, p.y)]),
        "polygon": p.buffer(1e-4),
        "collection": shapely.GeometryCollection([p, p.buffer(1e-4)]),
        "bangkok": shapely.Point(100.5, 13.75),
    }
    out = {f"{k}.geojson": json.dumps({"type": "FeatureCollection", "features": [
        feature(g, **here)]}).encode() for k, g in shapes.items()}
    out["mixed.geojson"] = json.dumps({"type": "FeatureCollection", "features": [
        feature(g, **here) for g in shapes.values()]}).encode()
    out["empty.geojson"] = b'{"type": "FeatureCollection", "features": []}'
    out["header.csv"] = "经度,纬度,地址\n".encode()
    out["nogeometry.geojson"] = json.dumps({"type": "FeatureCollection",
                                            "features": [feature(None, **here)]
                                            }).encode()
    return out


@pytest.mark.parametrize("layer", LAYERS)
@pytest.mark.parametrize("user", ["admin", "worker"])
def test_no_file_gives_a_500(rw, layer, user):
    for name, data in files(rw).items():
        for dry_run in ("1", "0"):
            r = rw.client(user).post(
                "/api/v1/imports", query_string={
                    "layer": layer, "dry_run": dry_run, "staff": rw.staff,
                    "crs": "wgs84", "force": "1"},
                data={"file": (io.BytesIO(data), name)},
                content_type="multipart/form-data")
            body = r.get_json()
            assert r.status_code in (200, 400, 403, 409, 422), (name, body)
            if r.status_code != 200:
                assert "（" in body["error"]["message"], (name, body)  # bilingual
            else:
                assert body["counts"]["read"] >= 0
