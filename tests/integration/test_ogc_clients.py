"""Real clients read /ogc and /tiles with HTTP Basic (user name + API token):
GDAL's OAPIF driver (``ogrinfo``) and QGIS 3.22 itself (Debian's python3-qgis, run
by the system Python with ``QT_QPA_PLATFORM=offscreen``), compared with the JSON
API (issue 17, "Tested by QGIS itself")."""

import inspect
import json
import math
import os
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.db

SYSTEM_PYTHON = "/usr/bin/python3"


def _has_qgis():
    if not Path(SYSTEM_PYTHON).exists():
        return False
    probe = subprocess.run([SYSTEM_PYTHON, "-c", "import qgis.core"],
                           capture_output=True, check=False,
                           env=os.environ | {"QT_QPA_PLATFORM": "offscreen"})
    return probe.returncode == 0


# CI installs both (scripts/setup.sh --with-browser): there a missing client is a
# failure, not a skip.
_IN_CI = os.environ.get("CI") == "true"
needs_qgis = pytest.mark.skipif(
    not _has_qgis() and not _IN_CI, reason="QGIS's Python bindings are missing: "
    "install python3-qgis (Debian/Ubuntu) for /usr/bin/python3")
needs_gdal = pytest.mark.skipif(shutil.which("ogrinfo") is None and not _IN_CI,
                                reason="GDAL's ogrinfo is missing (gdal-bin)")


@pytest.fixture(scope="module")
def served(app):
    from tests.browser.conftest import serve

    with serve(app) as base:
        yield base


# -- GDAL ------------------------------------------------------------------------

def _ogrinfo(base, user, secret, *args):
    env = os.environ | {"GDAL_HTTP_AUTH": "BASIC", "GDAL_HTTP_TIMEOUT": "60",
                        "GDAL_HTTP_USERPWD": f"{user}:{secret}"}
    return subprocess.run(["ogrinfo", "-ro", f"OAPIF:{base}/ogc", *args], env=env,
                          capture_output=True, text=True, timeout=300, check=False)


@needs_gdal
@pytest.mark.parametrize("user", ["planner", "village1"])
def test_gdal_counts_match_the_api(served, as_user, tokens, user):
    api = as_user(user)
    listed = _ogrinfo(served, user, tokens[user])
    assert listed.returncode == 0, listed.stderr
    expected = {c["id"] for c in api.get("/ogc/collections").get_json()[
        "collections"]}
    assert {line.split(":")[1].split()[0] for line in listed.stdout.splitlines()
            if line[:1].isdigit()} == expected
    for cid in sorted(expected):
        info = _ogrinfo(served, user, tokens[user], "-al", "-so", cid)
        assert info.returncode == 0, info.stderr
        count = int(info.stdout.split("Feature Count: ")[1].split()[0])
        want = api.get(f"/ogc/collections/{cid}/items?limit=1").get_json()[
            "numberMatched"]
        assert count == want > 0, cid
    # every feature read, page by page through rel=next (40 a page)
    grids = api.get("/api/v1/grids?level=4").get_json()
    read = _ogrinfo(served, user, tokens[user], "-al", "-q", "-oo", "PAGE_SIZE=40",
                    "grids-4")
    assert read.returncode == 0, read.stderr
    codes = [line.split("=", 1)[1].strip() for line in read.stdout.splitlines()
             if line.strip().startswith("code (String) =")]
    assert codes == [f["id"] for f in grids["features"]]


@needs_gdal
def test_gdal_refused_with_the_login_password(served, passwords):
    r = _ogrinfo(served, "planner", passwords["planner"])
    assert r.returncode != 0
    assert "401" in r.stderr


# -- QGIS (these two functions run in the system Python, see _run_qgis) ----------

def _render_tiles(template, tile, authcfg):
    """Draw tile ``z/x/y`` of the XYZ ``template`` with QGIS's vector-tile layer
    (its basic renderer, random colours) on white; count the pixels drawn.
    (QGIS 3.22's Python has no MVT decoder nor raw tile access: drawing is how
    it shows what it read.)"""
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsMapRendererSequentialJob,
        QgsMapSettings,
        QgsTileMatrix,
        QgsTileXYZ,
        QgsVectorTileBasicRenderer,
        QgsVectorTileLayer,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    z, x, y = (int(v) for v in tile.split("/"))
    layer = QgsVectorTileLayer(f"type=xyz&url={template}&zmin=0&zmax=14"
                               f"&authcfg={authcfg}", "tiles")
    out = {"valid": layer.isValid()}  # (3.22's layer.error() crashes Python)
    if not layer.isValid():
        return out
    renderer = QgsVectorTileBasicRenderer()
    renderer.setStyles(QgsVectorTileBasicRenderer.simpleStyleWithRandomColors())
    layer.setRenderer(renderer)
    settings = QgsMapSettings()
    settings.setLayers([layer])
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:3857"))
    settings.setExtent(QgsTileMatrix.fromWebMercator(z).tileExtent(
        QgsTileXYZ(x, y, z)))
    settings.setOutputSize(QSize(256, 256))
    settings.setBackgroundColor(QColor(255, 255, 255))
    job = QgsMapRendererSequentialJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    white = QColor(255, 255, 255).rgb()
    out["drawn_pixels"] = sum(image.pixel(i, j) != white
                              for i in range(image.width())
                              for j in range(image.height()))
    out["render_errors"] = [e.message for e in job.errors()]
    return out


def _qgis_client(kind, source, arg, user, token):
    """Load ``arg`` through QGIS's own provider (``oapif``: the collection of the
    landing page ``source``; ``xyz``: tile z/x/y of the template ``source``)
    with HTTP Basic from a 'Basic' configuration in QGIS's authentication
    database (in a temporary folder, as a planner's QGIS keeps it); print what
    QGIS saw as one JSON object on the last line."""
    import json
    import os
    import tempfile

    os.environ["QGIS_AUTH_DB_DIR_PATH"] = tempfile.mkdtemp(prefix="gridgov-qgis-")
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication, QgsAuthMethodConfig, QgsVectorLayer

    app = QgsApplication([], False)
    app.setPrefixPath("/usr", True)
    app.initQgis()
    auth = QgsApplication.authManager()
    auth.setMasterPassword("gridgov-test-master", True)
    config = QgsAuthMethodConfig("Basic")
    config.setName("gridgov")
    config.setConfig("username", user)
    config.setConfig("password", token)
    stored = auth.storeAuthenticationConfig(config)
    out = {"authcfg_stored": bool(stored[0] if isinstance(stored, tuple)
                                  else stored)}
    if kind == "oapif":
        layer = QgsVectorLayer(f"url='{source}' typename='{arg}' "
                               f"authcfg={config.id()}", arg, "OAPIF")
        out["valid"] = layer.isValid()
        if layer.isValid():
            out["fields"] = [f.name() for f in layer.fields()]
            features = list(layer.getFeatures())
            out["count"] = len(features)
            out["attributes"] = {
                str(f["code"]): {n: None if f[n] is None else str(f[n])
                                 for n in out["fields"]} for f in features}
            out["geometry_types"] = sorted({int(f.geometry().wkbType())
                                            for f in features})
    else:
        out |= _render_tiles(source, arg, config.id())
    print(json.dumps(out, ensure_ascii=False), flush=True)
    # QGIS 3.22 crashes tearing down a provider after exitQgis(): leave at once
    os._exit(0)


def _run_qgis(*args):
    script = "\n\n".join(textwrap.dedent(inspect.getsource(f))
                         for f in (_render_tiles, _qgis_client))
    script += "\n\nimport sys\n_qgis_client(*sys.argv[1:6])\n"
    r = subprocess.run([SYSTEM_PYTHON, "-X", "faulthandler", "-c", script,
                        *args], capture_output=True,
                       text=True, timeout=300, check=False,
                       env=os.environ | {"QT_QPA_PLATFORM": "offscreen"})
    assert r.returncode == 0, r.stderr[-3000:]
    return json.loads(r.stdout.strip().splitlines()[-1])


@needs_qgis
@pytest.mark.parametrize("level", [3, 4])
def test_qgis_loads_a_grid_level_with_basic_auth(served, as_user, tokens, level):
    seen = _run_qgis("oapif", f"{served}/ogc", f"grids-{level}", "planner",
                     tokens["planner"])
    assert seen["authcfg_stored"] and seen["valid"], seen
    api = as_user("planner").get(f"/api/v1/grids?level={level}").get_json()
    assert seen["count"] == api["numberMatched"] > 0
    assert {"code", "name", "level", "parent", "households", "version"} <= set(
        seen["fields"])
    assert seen["geometry_types"] == [6]  # MultiPolygon
    for feature in api["features"]:
        got, props = seen["attributes"][feature["id"]], feature["properties"]
        assert got["name"] == props["name"]
        assert int(got["households"]) == props["households"]
        assert int(got["version"]) == props["version"]
        assert got["parent"] == props["parent"]


@needs_qgis
def test_qgis_refused_with_the_login_password(served, passwords):
    seen = _run_qgis("oapif", f"{served}/ogc", "grids-4", "planner",
                     passwords["planner"])
    assert not seen["valid"]


def _tile(lon, lat, z):
    """The XYZ tile of a point (the Web Mercator grid)."""
    n = 2 ** z
    y = (1 - math.asinh(math.tan(math.radians(lat))) / math.pi) / 2 * n
    return int((lon + 180) / 360 * n), int(y)


@needs_qgis
def test_qgis_draws_vector_tiles_from_the_xyz_template(served, client, tokens):
    x0, y0, x1, y1 = client.get("/ogc/collections/grids-4").get_json()["extent"][
        "spatial"]["bbox"][0]
    z, x, y = 14, *_tile((x0 + x1) / 2, (y0 + y1) / 2, 14)  # the town's middle
    assert client.get(f"/tiles/grids/{z}/{x}/{y}.mvt").status_code == 200
    template = f"{served}/tiles/grids/{{z}}/{{x}}/{{y}}.mvt"
    seen = _run_qgis("xyz", template, f"{z}/{x}/{y}", "planner", tokens["planner"])
    assert seen["valid"], seen
    assert seen["drawn_pixels"] > 500, seen  # the grid boundaries, drawn
    refused = _run_qgis("xyz", template, f"{z}/{x}/{y}", "planner", "ggv_wrong")
    assert refused["drawn_pixels"] == 0, refused
