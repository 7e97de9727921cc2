"""Vector tiles of a generated basemap (the demo town's roads, water and place
names: ``geo/demo/basemap.py``), built by PostGIS.

The features go into temporary tables (web mercator, this session only); one
statement per zoom then builds every tile of the area with ``ST_AsMVT``, each
tile the concatenation of its three layers (an MVT's layers are independent
messages: concatenated tiles are one tile). Nothing is written to gridgov's own
tables. ``web/basemap.py`` writes the tiles into a PMTiles archive.
"""

from psycopg import sql

__all__ = ["build", "EXTENT", "BUFFER"]

EXTENT = 4096
BUFFER = 64

# layer -> (its columns besides the geometry, first zoom it shows at)
_LAYERS = {
    "water": (("name",), 10),
    "roads": (("kind", "name"), 10),
    "places": (("kind", "name"), 10),
}
# what thins out at low zoom: minor lanes and the small waters from z13, village
# names from z12 (a town's map at z10–11 shows its river, its roads, its name)
_FROM_ZOOM = {
    "water": sql.SQL("(%(z)s >= 13 OR ST_Length(f.geom) > 3000 "
                     "OR ST_Area(f.geom) > 200000)"),
    "roads": sql.SQL("(%(z)s >= 13 OR f.kind = 'major')"),
    "places": sql.SQL("(%(z)s >= 12 OR f.kind = 'town')"),
}


def _load(conn, layer, frame):
    columns = _LAYERS[layer][0]
    table = sql.Identifier(f"basemap_{layer}")
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {t}").format(t=table))
    conn.execute(sql.SQL(
        "CREATE TEMP TABLE {t} ({cols}, geom geometry)").format(
        t=table, cols=sql.SQL(", ").join(
            sql.SQL("{} text").format(sql.Identifier(c)) for c in columns)))
    with conn.cursor() as cur, cur.copy(sql.SQL(
            "COPY {t} ({cols}, geom) FROM STDIN").format(
            t=table, cols=sql.SQL(", ").join(map(sql.Identifier, columns)))) as copy:
        for row in frame.itertuples(index=False):
            values = [getattr(row, c) for c in columns]
            copy.write_row([*values, f"SRID=4326;{row.geometry.wkt}"])
    conn.execute(sql.SQL("UPDATE {t} SET geom = ST_Transform(geom, 3857)").format(
        t=table))
    conn.execute(sql.SQL("CREATE INDEX ON {t} USING gist (geom)").format(t=table))
    conn.execute(sql.SQL("ANALYZE {t}").format(t=table))


def _layer_mvt(layer):
    columns, _ = _LAYERS[layer]
    return sql.SQL("""
        coalesce((SELECT ST_AsMVT(q, {name}, {extent}, 'geom') FROM (
            SELECT {cols}, ST_AsMVTGeom(f.geom, t.env, {extent}, {buffer}, true) AS geom
            FROM {table} f
            WHERE f.geom && t.wide AND {thin}) q), ''::bytea)
    """).format(name=sql.Literal(layer), extent=sql.Literal(EXTENT),
                buffer=sql.Literal(BUFFER), table=sql.Identifier(f"basemap_{layer}"),
                cols=sql.SQL(", ").join(sql.SQL("f.{}").format(sql.Identifier(c))
                                        for c in columns),
                thin=_FROM_ZOOM[layer])


# Every tile of zoom z over the features' extent, its three layers concatenated;
# empty tiles left out.
_TILES = sql.SQL("""
    WITH ext AS (
        SELECT ST_Extent(geom) AS box FROM (
            SELECT geom FROM basemap_roads UNION ALL SELECT geom FROM basemap_water
            UNION ALL SELECT geom FROM basemap_places) a),
    span AS (
        SELECT floor((ST_XMin(box) + 20037508.342789244) / %(size)s)::int AS x0,
               floor((ST_XMax(box) + 20037508.342789244) / %(size)s)::int AS x1,
               floor((20037508.342789244 - ST_YMax(box)) / %(size)s)::int AS y0,
               floor((20037508.342789244 - ST_YMin(box)) / %(size)s)::int AS y1
        FROM ext),
    t AS (
        SELECT x, y, ST_TileEnvelope(%(z)s, x, y) AS env,
               ST_TileEnvelope(%(z)s, x, y, margin => %(margin)s) AS wide
        FROM span, generate_series(span.x0, span.x1) x,
             generate_series(span.y0, span.y1) y)
    SELECT x, y, {water} || {roads} || {places} AS mvt FROM t
""").format(water=_layer_mvt("water"), roads=_layer_mvt("roads"),
            places=_layer_mvt("places"))


def build(conn, layers, zooms):
    """Yield ``(z, x, y, mvt bytes)`` of every non-empty tile of ``zooms``.

    Parameters
    ----------
    layers : dict
        ``{"roads": GeoDataFrame, "water": ..., "places": ...}`` in EPSG:4326 with
        the columns of :data:`_LAYERS` (``geo.demo.basemap.features``).
    zooms : iterable of int
    """
    for layer in _LAYERS:
        _load(conn, layer, layers[layer])
    # the planner guesses 10^6 tiles from generate_series and compiles the query
    # (JIT): 7 s of compiling for a statement of milliseconds
    conn.execute("SET jit = off")
    for z in zooms:
        size = 2 * 20037508.342789244 / 2**z
        rows = conn.execute(_TILES, {"z": z, "size": size,
                                     "margin": BUFFER / EXTENT}).fetchall()
        for x, y, mvt in rows:
            if mvt:
                yield z, x, y, bytes(mvt)
    conn.execute("RESET jit")
