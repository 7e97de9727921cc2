"""The deployment's basemap: one setting with presets, handed to every map page as
``cfg.basemap`` and drawn by ``gg.newMap`` (``static/gg.js``).

``GRIDGOV_BASEMAP`` (config ``BASEMAP``):

- ``none`` (the default): no basemap, nothing loaded from outside (isolated
  networks);
- ``tianditu``: 天地图, CGCS2000 (= WGS-84 within centimetres), its vector map with
  its names layer over it; ``GRIDGOV_BASEMAP_KEY`` (the browser key) required;
- ``amap`` (高德) and ``tencent`` (腾讯): GCJ-02 tiles on the standard XYZ grid;
- ``baidu`` (百度): BD-09 on Baidu's own grid (its mercator, tiles counted from
  (0, 0) upwards);
- ``offline``: a PMTiles archive (vector or raster tiles) served by gridgov itself
  from ``GRIDGOV_BASEMAP_FILE`` (default ``<data dir>/basemap.pmtiles``, which
  ``gridgov demo`` writes);
- ``custom``: ``GRIDGOV_BASEMAP_URL`` (a Leaflet template) in ``GRIDGOV_BASEMAP_CRS``
  (wgs84 | gcj02 | bd09, default wgs84); a ``GRIDGOV_BASEMAP_URL`` alone still
  means this, as it did before the presets.

The data stays WGS-84 whatever the basemap: the page's map gets a CRS that shifts
on the fly (``gg.newMap``), and the vector tiles are asked with ``shift=``
(``layers/tiles.py``). The CSP admits the hosts of the configured URLs and no
other (``csp_sources``, ``web/security.py``). A wrong setting stops the start with
one line saying what to set, never a page that silently has no map.
"""

import dataclasses
import gzip
import mmap
import os
from pathlib import Path
from urllib.parse import quote, urlsplit

from flask import Blueprint, Response, current_app, request
from pmtiles.reader import Reader
from pmtiles.tile import Compression, TileType, zxy_to_tileid
from pmtiles.writer import Writer

from api.auth import requires
from geo.catalogue import say
from layers import basemap_tiles
from layers.cluster import Cluster
from layers.errors import Invalid

__all__ = ["PRESETS", "CRS_NAMES", "Preset", "init_app", "page", "csp_sources",
           "scripts", "bp", "Archive", "default_file", "write_demo", "DEMO_ZOOMS"]

CRS_NAMES = ("wgs84", "gcj02", "bd09")


@dataclasses.dataclass(frozen=True)
class Preset:
    """An online provider: its Leaflet URL template (``{s}`` a subdomain,
    ``{key}`` the deployment's key), subdomains, attribution (plain text),
    coordinate system and zooms its tiles exist at; ``labels`` a second layer of
    names drawn over the first."""

    url: str
    subdomains: str
    attribution: str
    crs: str
    min_zoom: int
    max_zoom: int
    labels: str | None = None
    key: bool = False


PRESETS = {
    # 天地图's DataServer (web-mercator "_w" layers): vec = roads and areas, cva = the
    # Chinese names over them; t0–t7 serve the same tiles.
    "tianditu": Preset(
        "https://t{s}.tianditu.gov.cn/DataServer?T=vec_w&x={x}&y={y}&l={z}&tk={key}",
        "01234567", "天地图 Tianditu", "wgs84", 1, 18,
        labels="https://t{s}.tianditu.gov.cn/DataServer?T=cva_w&x={x}&y={y}&l={z}"
               "&tk={key}", key=True),
    "amap": Preset(
        "https://webrd0{s}.is.autonavi.com/appmaptile?lang=zh_cn&size=1&scale=1"
        "&style=8&x={x}&y={y}&z={z}", "1234", "高德地图 AutoNavi", "gcj02", 3, 18),
    # Tencent counts rows from the south ({-y}: Leaflet's TMS row)
    "tencent": Preset(
        "https://rt{s}.map.gtimg.com/tile?z={z}&x={x}&y={-y}&type=vector&styleid=3",
        "0123", "腾讯地图 Tencent", "gcj02", 3, 18),
    # Baidu's rows count from the equator northwards, its columns from the
    # meridian: gg.newMap's Baidu CRS gives {x} and {y} in that grid
    "baidu": Preset(
        "https://maponline{s}.bdimg.com/tile/?qt=vtile&x={x}&y={y}&z={z}&styles=pl"
        "&scaler=1&udt=20231102", "0123", "百度地图 Baidu", "bd09", 3, 19),
}
_CHOICES = ("none", *PRESETS, "offline", "custom")
# what the page needs beyond Leaflet, per kind of basemap (vendor folder, file)
_GCOORD = ("gcoord", "gcoord.global.prod.js")
_PROTOMAPS = ("protomaps-leaflet", "protomaps-leaflet.js")
_MIMETYPES = {TileType.MVT: "application/vnd.mapbox-vector-tile",
              TileType.PNG: "image/png", TileType.JPEG: "image/jpeg",
              TileType.WEBP: "image/webp", TileType.AVIF: "image/avif"}

bp = Blueprint("basemap", __name__)


def default_file():
    """Where the offline basemap is looked for: the data directory's
    ``basemap.pmtiles`` (``gridgov demo`` writes its town's there)."""
    return Cluster.default().home / "basemap.pmtiles"


class Archive:
    """A PMTiles archive read in place (memory-mapped): its header and its tiles."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            with open(self.path, "rb") as f:
                self._map = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ)
            self._reader = Reader(lambda offset, length:
                                  self._map[offset:offset + length])
            self.header = self._reader.header()
        except Exception as exc:  # noqa: BLE001
            # the pmtiles reader raises its own classes (no magic number, a
            # version it does not read): all mean "not a usable archive"
            raise RuntimeError(say("err_basemap_file", path=self.path,
                                   reason=f"{type(exc).__name__}: {exc}")) from None
        self.kind = "vector" if self.header["tile_type"] == TileType.MVT else "raster"
        self.mimetype = _MIMETYPES.get(self.header["tile_type"],
                                       "application/octet-stream")

    def get(self, z, x, y):
        """The tile's bytes as stored, or None."""
        if not (0 <= z <= 30 and 0 <= x < 2**z and 0 <= y < 2**z):
            return None
        return self._reader.get(z, x, y)

    def bounds(self):
        """[west, south, east, north] in degrees."""
        h = self.header
        return [h["min_lon_e7"] / 1e7, h["min_lat_e7"] / 1e7,
                h["max_lon_e7"] / 1e7, h["max_lat_e7"] / 1e7]


def _settings(config):
    """The basemap the configuration asks for, checked: ``(name, preset or None,
    archive or None)``; RuntimeError with what to set when it is wrong."""
    name = str(config.get("BASEMAP") or "").strip().lower()
    if not name:  # before the presets, a URL alone configured a basemap
        name = "custom" if config.get("BASEMAP_URL") else "none"
    if name not in _CHOICES:
        raise RuntimeError(say("err_basemap_unknown", name=name,
                               names=", ".join(_CHOICES)))
    if name in PRESETS:
        preset = PRESETS[name]
        key = str(config.get("BASEMAP_KEY") or "").strip()
        if preset.key and not key:
            raise RuntimeError(say("err_basemap_key", name=name))
        if key:
            preset = dataclasses.replace(
                preset, url=preset.url.replace("{key}", quote(key, safe="")),
                labels=preset.labels and preset.labels.replace(
                    "{key}", quote(key, safe="")))
        return name, preset, None
    if name == "custom":
        url = str(config.get("BASEMAP_URL") or "").strip()
        scheme = urlsplit(url).scheme
        if not url or (scheme and scheme not in ("http", "https")) or (
                not scheme and not url.startswith("/")):
            raise RuntimeError(say("err_basemap_url"))
        crs = str(config.get("BASEMAP_CRS") or "wgs84").strip().lower()
        if crs not in CRS_NAMES:
            raise RuntimeError(say("err_basemap_crs", crs=crs,
                                   names=", ".join(CRS_NAMES)))
        preset = Preset(url, str(config.get("BASEMAP_SUBDOMAINS") or "abc"),
                        str(config.get("BASEMAP_ATTRIBUTION") or ""), crs, 0,
                        int(config.get("BASEMAP_MAX_ZOOM") or 19))
        return name, preset, None
    if name == "offline":
        return name, None, Archive(config.get("BASEMAP_FILE") or default_file())
    return name, None, None


def init_app(app):
    """Check the setting once (RuntimeError at start-up when it is wrong) and keep
    it in ``app.extensions["gridgov.basemap"]``."""
    name, preset, archive = _settings(app.config)
    app.extensions["gridgov.basemap"] = {"name": name, "preset": preset,
                                         "archive": archive}
    app.jinja_env.globals["basemap_scripts"] = scripts
    app.register_blueprint(bp)


def _held(app=None):
    return (app or current_app).extensions["gridgov.basemap"]


def page():
    """``cfg.basemap`` of a map page: what ``gg.newMap`` needs.

    ``{name, crs, url, labels, subdomains, attribution, minZoom, maxZoom, kind}``;
    ``url`` None for ``none``; ``kind`` "raster" or "vector" (an offline vector
    archive, drawn with protomaps-leaflet); ``crs`` the system the tiles are in
    (wgs84, gcj02, bd09): the page's CRS shifts the WGS-84 data onto them.
    """
    held = _held()
    out = {"name": held["name"], "crs": "wgs84", "url": None, "labels": None,
           "subdomains": "", "attribution": "", "minZoom": 0, "maxZoom": 19,
           "kind": "raster", "tms": False}
    preset, archive = held["preset"], held["archive"]
    if preset:
        out |= {"crs": preset.crs, "url": preset.url, "labels": preset.labels,
                "subdomains": preset.subdomains, "attribution": preset.attribution,
                "minZoom": preset.min_zoom, "maxZoom": preset.max_zoom}
    elif archive:
        h = archive.header
        out |= {"url": request.script_root + "/basemap/{z}/{x}/{y}",
                "attribution": "gridgov", "minZoom": h["min_zoom"],
                "maxZoom": h["max_zoom"], "kind": archive.kind,
                "bounds": archive.bounds()}
    return out


def scripts():
    """The vendored scripts a map page loads after Leaflet for this basemap: gcoord
    (the shifted CRSs, typed coordinates) always; protomaps-leaflet for an offline
    vector archive. Templates: ``{% for src in basemap_scripts() %}``."""
    from web.assets import local_url

    held = _held()
    wanted = [_GCOORD]
    if held["archive"] is not None and held["archive"].kind == "vector":
        wanted.append(_PROTOMAPS)
    return [local_url(*item) for item in wanted]


def csp_sources(app):
    """The origins the pages may load basemap images from: each host of the
    configured URLs, its ``{s}`` spelled out over the subdomains (a CSP host may
    start with ``*.`` only); none for ``none``, ``offline`` and a URL on gridgov
    itself."""
    preset = _held(app)["preset"]
    if preset is None:
        return []
    out = []
    for template in filter(None, (preset.url, preset.labels)):
        parts = urlsplit(template)
        if not parts.scheme:
            continue  # served by gridgov: 'self'
        hosts = ([parts.netloc.replace("{s}", s) for s in preset.subdomains]
                 if "{s}" in parts.netloc else [parts.netloc])
        out += [f"{parts.scheme}://{h}" for h in hosts
                if f"{parts.scheme}://{h}" not in out]
    return out


@bp.get("/basemap/<int(signed=True):z>/<int(signed=True):x>/<int(signed=True):y>")
@requires("map:view")
def tile(z, x, y):
    """One tile of the offline basemap, as the archive holds it (gzip-compressed
    vector tiles say so in Content-Encoding); 204 where the archive has none, or
    when no offline basemap is configured."""
    for name, value in (("z", z), ("x", x), ("y", y)):
        if value < 0:
            raise Invalid(say("err_tile_index", name=name, top=2 ** max(z, 0) - 1,
                              z=z, value=value), field=name)
    archive = _held()["archive"]
    data = archive.get(z, x, y) if archive is not None else None
    if not data:
        return Response(status=204)
    response = Response(bytes(data), mimetype=archive.mimetype)
    if archive.header["tile_compression"] == Compression.GZIP:
        response.headers["Content-Encoding"] = "gzip"
    response.headers["Cache-Control"] = "private, max-age=3600"
    return response


# The demo's basemap: z10 shows the whole town, z17 its lanes (~260 m a tile).
DEMO_ZOOMS = range(10, 18)
_DEMO_FIELDS = {
    "roads": {"kind": "major | minor", "name": "String"},
    "water": {"name": "String"},
    "places": {"kind": "town | village", "name": "String"},
}


def write_demo(conn, path, scale="town", seed=1, zooms=DEMO_ZOOMS):
    """Write the demo's generated basemap (``geo.demo.basemap``: roads, water,
    places) to the PMTiles archive ``path``: vector tiles built by PostGIS
    (``layers.basemap_tiles``), gzip-compressed as PMTiles readers expect.
    Written beside and renamed into place, so a server reading the old file
    never sees half of the new one. Returns ``(tiles, bytes)``.
    """
    from geo.demo.basemap import features  # heavy: only when a demo is wanted

    layers = features(scale, seed)
    tiles = sorted((zxy_to_tileid(z, x, y), gzip.compress(mvt, mtime=0))
                   for z, x, y, mvt in basemap_tiles.build(conn, layers, zooms))
    west, south = (min(f.total_bounds[i] for f in layers.values()) for i in (0, 1))
    east, north = (max(f.total_bounds[i] for f in layers.values()) for i in (2, 3))
    town = layers["places"][layers["places"]["kind"] == "town"].geometry.iloc[0]
    header = {
        "tile_type": TileType.MVT, "tile_compression": Compression.GZIP,
        "min_lon_e7": int(west * 1e7), "min_lat_e7": int(south * 1e7),
        "max_lon_e7": int(east * 1e7), "max_lat_e7": int(north * 1e7),
        "center_zoom": 13, "center_lon_e7": int(town.x * 1e7),
        "center_lat_e7": int(town.y * 1e7),
    }
    metadata = {
        "name": "gridgov demo basemap", "attribution": "gridgov demo",
        "description": f"generated: scale {scale}, seed {seed}",
        "vector_layers": [{"id": layer, "fields": fields, "minzoom": min(zooms),
                           "maxzoom": max(zooms)}
                          for layer, fields in _DEMO_FIELDS.items()],
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as f:
        writer = Writer(f)
        for tile_id, data in tiles:
            writer.write_tile(tile_id, data)
        writer.finalize(header, metadata)
    os.replace(partial, path)
    return len(tiles), path.stat().st_size
