-- The locate index (layers/locate_index.py) follows edits instead of rebuilding:
-- each server process keeps the grids, cameras and active staff in memory and,
-- when they change, reloads just the changed keys. Every statement writing one
-- of the three tables records which keys it touched, inside its transaction, and
-- wakes the processes with a NOTIFY at its commit. The keys are grid codes for
-- grids, camera ids for cameras (a camera whose code changes stays one entry),
-- and for staff the grid codes they were and are assigned to (a process keeps
-- each grid's staff together and reloads a grid's list whole). For a changed key
-- both the old and the new one.
--
-- A process knows where it is by the snapshot it last read (pg_current_snapshot),
-- not by an id: ids are handed out before commit, so a row with a smaller id can
-- commit after a row with a larger one, and "id > last seen" would skip it. The
-- rows a process has not applied are exactly those whose transaction its last
-- snapshot did not see: xid >= xmin of that snapshot and not visible in it
-- (PgQ's batches are cut the same way). NOTIFY is only the wake-up: it is lost
-- while a process is not listening, and a process that starts or reconnects
-- catches up from these rows.
CREATE TABLE locate_changes (
    id bigserial PRIMARY KEY,
    xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
    at timestamptz NOT NULL DEFAULT now(),
    layer text NOT NULL CHECK (layer IN ('grids', 'cameras', 'grid_staff')),
    -- NULL: the whole table (TRUNCATE)
    keys text[]
);
CREATE INDEX locate_changes_xid_idx ON locate_changes (xid);
CREATE INDEX locate_changes_at_idx ON locate_changes (at);

-- Old rows are pruned (layers/locate_follow.py: a day after). A process that saw
-- no prune since its last snapshot (the same count of prunes) lost nothing; after
-- one, a process whose last snapshot may not have seen a pruned row (xmin <= upto,
-- the highest pruned xid) cannot catch up and rebuilds its index in full.
CREATE TABLE locate_changes_pruned (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    upto xid8 NOT NULL,
    prunes bigint NOT NULL DEFAULT 0
);
INSERT INTO locate_changes_pruned (upto) VALUES ('0');

-- TG_ARGV[0]: the key column. One row per statement (a COPY of 100,000 cameras
-- writes one row of 100,000 keys), none for a statement that wrote nothing.
CREATE FUNCTION locate_changes_log() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    changed text[];
    more text[];
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        INSERT INTO locate_changes (layer, keys) VALUES (TG_TABLE_NAME, NULL);
    ELSE
        IF TG_OP IN ('UPDATE', 'DELETE') THEN
            EXECUTE format('SELECT array_agg(DISTINCT %I::text) FROM old_rows',
                           TG_ARGV[0]) INTO changed;
        END IF;
        IF TG_OP IN ('UPDATE', 'INSERT') THEN
            EXECUTE format('SELECT array_agg(DISTINCT %I::text) FROM new_rows',
                           TG_ARGV[0]) INTO more;
            IF TG_OP = 'UPDATE' THEN  -- a changed key: both, once each
                more := ARRAY(SELECT unnest(more) EXCEPT SELECT unnest(changed));
            END IF;
            changed := coalesce(changed, '{}') || more;
        END IF;
        IF cardinality(changed) > 0 THEN
            INSERT INTO locate_changes (layer, keys) VALUES (TG_TABLE_NAME, changed);
        ELSE
            RETURN NULL;
        END IF;
    END IF;
    -- delivered at commit, once per transaction (equal payloads are folded)
    PERFORM pg_notify('gridgov_locate', '');
    RETURN NULL;
END $$;

CREATE TRIGGER grids_locate_insert AFTER INSERT ON grids
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('code');
CREATE TRIGGER grids_locate_update AFTER UPDATE ON grids
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('code');
CREATE TRIGGER grids_locate_delete AFTER DELETE ON grids
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('code');
CREATE TRIGGER grids_locate_truncate AFTER TRUNCATE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('code');

CREATE TRIGGER cameras_locate_insert AFTER INSERT ON cameras
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('id');
CREATE TRIGGER cameras_locate_update AFTER UPDATE ON cameras
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('id');
CREATE TRIGGER cameras_locate_delete AFTER DELETE ON cameras
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('id');
CREATE TRIGGER cameras_locate_truncate AFTER TRUNCATE ON cameras
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('id');

CREATE TRIGGER grid_staff_locate_insert AFTER INSERT ON grid_staff
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('grid_code');
CREATE TRIGGER grid_staff_locate_update AFTER UPDATE ON grid_staff
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('grid_code');
CREATE TRIGGER grid_staff_locate_delete AFTER DELETE ON grid_staff
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('grid_code');
CREATE TRIGGER grid_staff_locate_truncate AFTER TRUNCATE ON grid_staff
    FOR EACH STATEMENT EXECUTE FUNCTION locate_changes_log('grid_code');
