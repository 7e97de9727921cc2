-- Vector tiles are cached in the server's memory (layers/tiles.py). A cached tile is
-- keyed by its layer's data generation: a number that grows with every committed
-- statement writing the layer's table, so a request learns whether its cached tile
-- is still good from one small index read, and every server process sees the
-- change.
--
-- The bump is an UPDATE inside the writing transaction, so the new number becomes
-- visible exactly when the data does (a sequence would be seen before the commit,
-- and a tile built in between would be cached under the new number with the old
-- data). One row per layer would make writers of a table wait for each other's
-- commit (a 40-second import would hold up every household edit and grid edit):
-- each layer has 16 slots instead, a writer bumps one that no other transaction
-- holds (SKIP LOCKED), and the generation is the sum of the slots. A later
-- snapshot sees every commit an earlier one saw, and each commit adds at least 1,
-- so two snapshots with the same sum saw the same writes.
--
-- Slots are set from the clock, in milliseconds, and never go below it, so a
-- database dropped and loaded again never repeats a sum a running server cached
-- tiles under.
CREATE TABLE tile_generations (
    layer text NOT NULL,
    slot smallint NOT NULL,
    generation bigint NOT NULL,
    PRIMARY KEY (layer, slot)
);

INSERT INTO tile_generations (layer, slot, generation)
SELECT layer, slot, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
FROM unnest(ARRAY['grids', 'cameras', 'households', 'incidents']) AS layer,
     generate_series(0, 15) AS slot;

CREATE FUNCTION tile_generation_bump() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    free smallint;
BEGIN
    SELECT slot INTO free FROM tile_generations
    WHERE layer = TG_TABLE_NAME
    ORDER BY slot LIMIT 1
    FOR UPDATE SKIP LOCKED;
    -- all 16 held by other writers: wait for the first one
    UPDATE tile_generations
    SET generation = greatest(generation + 1,
                              (extract(epoch FROM clock_timestamp()) * 1000)::bigint)
    WHERE layer = TG_TABLE_NAME AND slot = coalesce(free, 0);
    RETURN NULL;
END $$;

-- Per statement, not per row: a COPY of a million households bumps once.
CREATE TRIGGER grids_tile_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION tile_generation_bump();
CREATE TRIGGER cameras_tile_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON cameras
    FOR EACH STATEMENT EXECUTE FUNCTION tile_generation_bump();
CREATE TRIGGER households_tile_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON households
    FOR EACH STATEMENT EXECUTE FUNCTION tile_generation_bump();
CREATE TRIGGER incidents_tile_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION tile_generation_bump();

-- The incidents tile shows the open incidents by default: a few percent of the
-- table (the city: 53,000 of 1,000,000). Through the full spatial index a z12 tile
-- visits ~38,000 incidents scattered over ~21,000 heap pages to keep ~2,000.
CREATE INDEX incidents_open_geom_gix ON incidents USING gist (geom)
    WHERE closed_at IS NULL;
