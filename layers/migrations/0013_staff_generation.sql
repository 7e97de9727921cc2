-- The locate index (layers/locate_index.py) keeps the grids, cameras and active
-- staff in each server process and must learn at once when any of them changes.
-- Grids and cameras already bump their data generation in every writing
-- statement (0007); grid_staff gets the same 16 slots and the same trigger.
INSERT INTO tile_generations (layer, slot, generation)
SELECT 'grid_staff', slot, (extract(epoch FROM clock_timestamp()) * 1000)::bigint
FROM generate_series(0, 15) AS slot;

CREATE TRIGGER grid_staff_generation
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON grid_staff
    FOR EACH STATEMENT EXECUTE FUNCTION tile_generation_bump();
