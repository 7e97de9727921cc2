"""``python -m bench tiles``: vector tiles of the city, ours beside bare PostGIS.

For the grids and households layers, at z12 (every tile over the city) and z14
(``--tiles`` tiles around random points inside the city), p50 / p99 of:

- ours uncached: ``layers.tiles.get_tile`` with a cache that keeps nothing (one
  generation read, then the tile query);
- baseline: bare ``ST_AsMVT`` of the same features (same rows and fields: for
  households below z14 the same counts per cell, written plainly with
  ``ST_Transform`` + ``ST_SnapToGrid``), prepared, on the same connection;
- baseline: the same features as GeoJSON (``ST_AsGeoJSON``, full geometry);
- reference: what the tile would be without zoom rules (every level-4 grid; every
  household as a point: DESIGN.md's 32 ms / 319 ms rows), on the ``--raw`` tiles
  holding the most households (GeoJSON of households' counted tiles: the same);
- ours cached: ``get_tile`` from a warm cache in process, and ``GET /tiles/…``
  through Flask's test client with an admin token (token lookup, generation read,
  response).

Each round visits every tile once and runs the candidates one after the other on
it, so a passing load falls on all alike. Largest tile sizes are printed per zoom.
Bars: p50 within 1.2× of bare ST_AsMVT uncached, under 2 ms cached, no tile over
500 KB.
"""

import argparse
import time

import numpy as np
from psycopg import sql

__all__ = ["main"]

RATIO_BAR = 1.2
CACHED_BAR_MS = 2.0
SIZE_BAR = 500 * 1024

_ENV = "ST_TileEnvelope(%(z)s, %(x)s, %(y)s)"
_BOX = "ST_Transform(ST_TileEnvelope(%(z)s, %(x)s, %(y)s), 4326)"
_BARE = {
    "grids": sql.SQL(
        "SELECT ST_AsMVT(q, 'grids') FROM ("
        " SELECT code, name, level,"
        "  ST_AsMVTGeom(ST_Transform(geom, 3857), " + _ENV + ") AS geom"
        " FROM grids WHERE geom && " + _BOX + " AND level = ANY(%(levels)s)) q"),
    "households_points": sql.SQL(
        "SELECT ST_AsMVT(q, 'households') FROM ("
        " SELECT id, ST_AsMVTGeom(ST_Transform(geom, 3857), " + _ENV + ") AS geom"
        " FROM households WHERE geom && " + _BOX + ") q"),
    # counts per cell of 1/32 tile, the plain way: transform each point, snap it to
    # its cell's centre (the grid's origin is the tile's corner + half a cell)
    "households_counts": sql.SQL(
        "SELECT ST_AsMVT(q, 'households') FROM ("
        " SELECT count(*) AS count, ST_AsMVTGeom(ST_MakeEnvelope("
        "   ST_X(c) - %(half)s, ST_Y(c) - %(half)s,"
        "   ST_X(c) + %(half)s, ST_Y(c) + %(half)s, 3857), "
        + _ENV + ", 4096, 0, false) AS geom"
        " FROM (SELECT ST_SnapToGrid(ST_Transform(geom, 3857), %(x0)s, %(y0)s,"
        "        %(cell)s, %(cell)s) AS c FROM households"
        "       WHERE geom && " + _BOX + ") s GROUP BY c) q"),
    "grids_level4": sql.SQL(
        "SELECT ST_AsMVT(q, 'grids') FROM ("
        " SELECT code, name, level,"
        "  ST_AsMVTGeom(ST_Transform(geom, 3857), " + _ENV + ") AS geom"
        " FROM grids WHERE geom && " + _BOX + " AND level = 4) q"),
}
_GEOJSON = {
    "grids": sql.SQL(
        "SELECT json_build_object('type', 'FeatureCollection', 'features',"
        " coalesce(json_agg(ST_AsGeoJSON(q.*)::json), '[]'))::text FROM ("
        " SELECT code, name, level, geom FROM grids"
        " WHERE geom && " + _BOX + " AND level = ANY(%(levels)s)) q"),
    "households": sql.SQL(
        "SELECT json_build_object('type', 'FeatureCollection', 'features',"
        " coalesce(json_agg(ST_AsGeoJSON(q.*)::json), '[]'))::text FROM ("
        " SELECT id, geom FROM households WHERE geom && " + _BOX + ") q"),
}


def _tiles_at(conn, z, n, seed):
    """Tiles over the city: every one at z12 and below, else those holding ``n``
    random points inside the towns."""
    from bench.locate import _random_points

    def tile_of(lon, lat):
        size = 360.0 / 2**z
        x = int((lon + 180.0) // size)
        merc = np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))
        y = int((np.pi - merc) / (2 * np.pi) * 2**z)
        return x, y

    if z <= 12:
        (x0, y0, x1, y1), = conn.execute(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM"
            " (SELECT ST_Extent(geom) AS e FROM grids WHERE level = 1) s")
        (ax, ay), (bx, by) = tile_of(x0, y1), tile_of(x1, y0)
        return [(z, x, y) for x in range(ax, bx + 1) for y in range(ay, by + 1)]
    points = _random_points(conn, n, seed)
    return sorted({(z, *tile_of(lon, lat)) for lon, lat in points})


def _busiest(conn, tile_list, n):
    """The ``n`` tiles holding the most households (the references' worst cases)."""
    counts = [conn.execute("SELECT count(*) FROM households WHERE geom && " + _BOX,
                           {"z": z, "x": x, "y": y}, prepare=True).fetchone()[0]
              for z, x, y in tile_list]
    return {tile_list[i] for i in np.argsort(counts)[::-1][:n]}


def _params(z, x, y):
    from layers import tiles

    half = 20037508.342789244
    size = 2 * half / 2**z
    cell = size / tiles.CELLS
    return {"z": z, "x": x, "y": y, "levels": list(tiles.grid_levels(z)),
            "cell": cell, "half": cell / 2, "x0": -half + x * size + cell / 2,
            "y0": half - (y + 1) * size + cell / 2}


def _timed(fn):
    started = time.perf_counter()
    out = fn()
    return time.perf_counter() - started, out


def _row(label, seconds, sizes=None, note=""):
    ms = np.asarray(seconds) * 1e3
    p50, p99 = np.percentile(ms, 50), np.percentile(ms, 99)
    size = f"  largest {max(sizes) / 1024:8.1f} KB" if sizes else ""
    print(f"    {label:<58} p50 {p50:8.2f} ms  p99 {p99:8.2f} ms{size}{note}",
          flush=True)
    return p50


def _one(conn, layer, tile_list, rounds, raw_tiles, app_client):
    from layers import tiles
    from layers.access import SYSTEM

    z = tile_list[0][0]
    nothing = tiles.TileCache(0)  # keeps nothing: every call builds the tile
    points = z >= tiles.POINT_ZOOM.get(layer, 0)
    bare = _BARE["grids" if layer == "grids" else
                 "households_points" if points else "households_counts"]
    raw = _BARE["grids_level4" if layer == "grids" else "households_points"]

    def ours(t):
        return tiles.get_tile(conn, SYSTEM, layer, *t, cache=nothing).body

    def run(query, t):
        return conn.execute(query, _params(*t), prepare=True).fetchone()[0] or b""

    times = {k: [] for k in ("ours", "bare", "geojson", "raw")}
    sizes = {k: [] for k in times}
    for t in tile_list:  # warm PostgreSQL's buffers and psycopg's prepared plans
        ours(t), run(bare, t)
    for _ in range(rounds):
        for t in tile_list:
            for key, fn in (("ours", lambda t=t: ours(t)),
                            ("bare", lambda t=t: run(bare, t)),
                            ("geojson", lambda t=t: run(_GEOJSON[layer], t)),
                            ("raw", lambda t=t: run(raw, t))):
                if key == "raw" and t not in raw_tiles:
                    continue
                if key == "geojson" and not (layer == "grids" or points
                                             or t in raw_tiles):
                    continue
                seconds, body = _timed(fn)
                times[key].append(seconds)
                sizes[key].append(len(body))
    what = ("same rows and fields" if layer == "grids" else
            "same points" if points else "same counts, ST_Transform+ST_SnapToGrid")
    base = _row(f"baseline  bare ST_AsMVT ({what})", times["bare"], sizes["bare"])
    _row("baseline  same features as GeoJSON (ST_AsGeoJSON)", times["geojson"],
         sizes["geojson"],
         "" if len(times["geojson"]) == len(times["bare"]) else
         f"  ({len(raw_tiles)} tiles)")
    if not (layer == "households" and points):
        ref = ("every level-4 grid" if layer == "grids"
               else "every household as a point")
        _row(f"reference bare ST_AsMVT, {ref}", times["raw"], sizes["raw"],
             f"  ({len(raw_tiles)} tiles)")
    mine = _row("ours      get_tile, uncached", times["ours"], sizes["ours"])
    ratio = mine / base
    print(f"    ours / bare p50 {ratio:.2f}× (bar ≤ {RATIO_BAR}×: "
          f"{'met' if ratio <= RATIO_BAR else 'MISSED'})")

    cache = tiles.TileCache(512 * 1024 * 1024)
    for t in tile_list:
        tiles.get_tile(conn, SYSTEM, layer, *t, cache=cache)
    cached, through = [], []
    for _ in range(rounds):
        for t in tile_list:
            cached.append(_timed(lambda t=t: tiles.get_tile(
                conn, SYSTEM, layer, *t, cache=cache))[0])
    p50c = _row("ours      get_tile, cached (in process)", cached)
    client, flask_cache = app_client
    paths = [f"/tiles/{layer}/{z}/{x}/{y}.mvt" for z, x, y in tile_list]
    for p in paths:
        client.get(p)
    for _ in range(rounds):
        for p in paths:
            seconds, r = _timed(lambda p=p: client.get(p))
            assert r.status_code in (200, 204), r.status_code
            through.append(seconds)
    p50h = _row("ours      GET /tiles/… cached (Flask test client, token)", through)
    print(f"    cached p50 {p50c:.3f} ms in process, {p50h:.3f} ms by HTTP (bar < "
          f"{CACHED_BAR_MS} ms: {'met' if p50h < CACHED_BAR_MS else 'MISSED'})")
    return ratio <= RATIO_BAR and p50h < CACHED_BAR_MS and max(sizes["ours"]) < SIZE_BAR


def _client(url):
    from layers import db, users
    from layers.access import SYSTEM
    from web import create_app

    with db.connect(url) as conn:
        token = users.create_token(conn, SYSTEM, "admin", "bench")
        conn.commit()
    app = create_app({"DATABASE_URL": url,
                      "SECRET_KEY": "bench-secret-key-not-for-production"})
    client = app.test_client()
    client.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    return client, app.extensions["gridgov.tiles"]


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m bench tiles",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--tiles", type=int, default=60,
                        help="random points whose z14 tiles are measured")
    parser.add_argument("--raw", type=int, default=6,
                        help="tiles per zoom for the references without zoom rules")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)

    from bench.locate import city_database
    from layers import db, tiles
    from layers.access import SYSTEM

    url = city_database(args.seed)
    app_client = _client(url)
    ok = True
    with db.connect(url, autocommit=True) as conn:
        for z in (12, 14):
            tile_list = _tiles_at(conn, z, args.tiles, args.seed)
            raw_tiles = _busiest(conn, tile_list, args.raw)
            for layer in ("grids", "households"):
                print(f"{layer}, z{z}: {len(tile_list)} tiles × {args.rounds} rounds",
                      flush=True)
                ok = _one(conn, layer, tile_list, args.rounds, raw_tiles,
                          app_client) and ok
        largest = {}
        for layer in ("cameras", "incidents"):
            for z in (12, 14):
                tile_list = _tiles_at(conn, z, args.tiles, args.seed)
                seconds, sizes = [], []
                for t in tile_list:
                    s, tile = _timed(lambda t=t, layer=layer: tiles.get_tile(
                        conn, SYSTEM, layer, *t))
                    seconds.append(s)
                    sizes.append(len(tile.body))
                print(f"{layer}, z{z}: {len(tile_list)} tiles", flush=True)
                _row("ours      get_tile, uncached", seconds, sizes)
                largest[layer, z] = max(sizes)
        ok = ok and max(largest.values()) < SIZE_BAR
    print(f"bars {'met' if ok else 'NOT all met'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
