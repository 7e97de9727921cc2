-- The coverage caches' generation (layers/coverage.py) becomes the tile
-- generations of grids, cameras and households (0007), which statement triggers
-- on the same three tables already bump, in 16 slots taken with SKIP LOCKED.
-- 0005's single coverage_state row made every writer of any of the three tables
-- wait for the commit of any other (a 40-second household import held up every
-- camera edit); the slots do not.
--
-- The four trigger functions of 0005 lose their one line bumping coverage_state:
-- rewritten from their own definitions rather than copied here whole, so that
-- 0005 stays the one place their logic is written.
DO $$
DECLARE
    fn text;
    body text;
    bump constant text := 'UPDATE coverage_state SET generation = generation + 1;';
BEGIN
    FOREACH fn IN ARRAY ARRAY['coverage_cameras_changed', 'coverage_households_changed',
                              'coverage_grids_changed', 'coverage_truncated'] LOOP
        body := pg_get_functiondef(fn::regproc);
        IF position(bump IN body) = 0 THEN
            RAISE EXCEPTION 'function % does not bump coverage_state as 0005 wrote it', fn;
        END IF;
        EXECUTE replace(body, bump, '');
    END LOOP;
END $$;

DROP TABLE coverage_state;
