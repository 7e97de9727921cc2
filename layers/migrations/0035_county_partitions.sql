-- Tables that grow with a province, partitioned by county (issue 18, "The
-- database"): households, incidents, incident_events, audit and track_points are
-- declaratively partitioned, LIST by `county`, the 6-digit division code that
-- starts every grid code; track points also by month (each county's partition is
-- RANGE-partitioned on `day`, the local day of its track). A county's
-- maintenance, bulk load (layers/partitions.py: a standalone table loaded,
-- indexed, then ATTACHed) and archive (DETACH) touch one partition.
--
-- `county` is a plain column: PostgreSQL allows no generated column or
-- expression in a partitioned table's primary key, and routes a row before any
-- BEFORE trigger could compute it. So:
-- * every INSERT and COPY names it (the layers compute it with county_of()); a
--   CHECK ties it to left(grid_code, 6) on households, incidents and audit, ''
--   for a row without a grid, which goes to the DEFAULT partition (there is
--   never a partition for '');
-- * an UPDATE of grid_code carries county along by a BEFORE UPDATE trigger
--   (county_follows_grid): PostgreSQL 15 moves the row to its new partition
--   after BEFORE UPDATE triggers, so a redraw or reassignment that takes a
--   household into another county works through every update path as it was
--   written (layers/assign.py, grid_edit.py, grid_recode.py, import_targets.py);
-- * incident_events take their incident's county, track_points their track's
--   (tracks, one row per worker and day, stay one table with a county and the
--   day their points are partitioned by), both held by the foreign key.
--
-- Keys: county joins every primary and unique key, last, so that an index on
-- (id, county) still serves a lookup by id alone (one probe per partition, the
-- county constant inside each). `id` stays globally unique from its sequence,
-- so /households/<id>, audit and import references keep working; incident codes
-- are UNIQUE (code, county) and unique overall by their generator
-- (layers/incidents.py _next_code: SJ + day + number under an advisory lock,
-- checked across every county) and by the imports' NOT EXISTS on the code; a
-- household's external id is UNIQUE (external_id, county), and an import that
-- names an id known in another county moves that household (layers/imports.py)
-- rather than adding a second one.
--
-- Foreign keys that pointed at these tables' ids now point at (id, county) with
-- ON UPDATE CASCADE (a household or incident that changes county takes its rows
-- along; PostgreSQL 15 runs the cross-partition move as an update of the root
-- for foreign keys) and the same ON DELETE CASCADE as before:
-- incident_events (partitioned), incident_photos and visits (one table each,
-- given a county column that a BEFORE trigger fills from the row referred to,
-- so their writers are unchanged). Tables of other migrations that refer to
-- incidents or households by id without a foreign key are unaffected.
--
-- When partitions appear: incidents, incident_events, audit and track_points get
-- a county's partitions when its first level-1 grid appears (trigger on grids);
-- households get theirs at their first write (layers/partitions.py: an import or
-- the demo; a large load into a county without rows is the detached load). A
-- write never fails for want of a partition: the DEFAULT partition takes it,
-- and partitions_settle() (the daily job, `gridgov db partitions --settle`)
-- creates the partitions of the counties found there and moves their rows out.
--
-- audit stays append-only on the partitioned table: the row triggers are cloned
-- to every partition, and each partition refuses TRUNCATE itself. The one
-- exception is the move of a county's rows out of the DEFAULT partition into its
-- new partition (same rows, same ids), which sets gridgov.partition_move for its
-- transaction.
--
-- All or nothing: the migration runs in one transaction (layers/db.py); the data
-- is copied into the new tables and the old ones dropped.

-- The county of a grid code ('' without one: the DEFAULT partition).
CREATE FUNCTION county_of(grid_code text) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$ SELECT coalesce(left(grid_code, 6), '') $$;

-- BEFORE UPDATE OF grid_code: the county follows the grid.
CREATE FUNCTION county_follows_grid() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.county := coalesce(left(NEW.grid_code, 6), '');
    RETURN NEW;
END $$;

-- The tables partitioned by county, in the order their partitions are made.
CREATE FUNCTION partitioned_tables() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY['households', 'incidents', 'incident_events', 'audit', 'track_points']
$$;

-- Convert one table, in place: a partitioned copy with its columns, defaults,
-- checks, foreign keys out, indexes and triggers (read from the catalogue, so
-- that what later migrations added comes along), county added to its keys.
CREATE FUNCTION pg_temp.partition_table(t text, county_expr text, extra text,
                                        key_tail text, source text)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    old text := t || '_0035';
    cols text;
    seq text;
    r record;
    indexes text[];
    triggers text[];
    defs text[];
    stmt text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = t::regclass AND attnum > 0 AND NOT attisdropped;
    -- plain and unique indexes that back no constraint; unique ones get the key tail
    SELECT coalesce(array_agg(CASE WHEN i.indisunique
        THEN regexp_replace(pg_get_indexdef(i.indexrelid),
                            '^(.*? USING \w+ \([^)]*)\)', '\1, ' || key_tail || ')')
        ELSE pg_get_indexdef(i.indexrelid) END), '{}') INTO indexes
    FROM pg_index i
    WHERE i.indrelid = t::regclass
      AND NOT EXISTS (SELECT FROM pg_constraint c WHERE c.conindid = i.indexrelid);
    SELECT coalesce(array_agg(pg_get_triggerdef(oid)), '{}') INTO triggers
    FROM pg_trigger WHERE tgrelid = t::regclass AND NOT tgisinternal;
    -- checks and foreign keys out, primary and unique keys with the tail
    SELECT coalesce(array_agg(format('ALTER TABLE %I ADD CONSTRAINT %I %s', t, conname,
        CASE WHEN contype IN ('p', 'u')
             THEN regexp_replace(pg_get_constraintdef(oid), '\)$', ', ' || key_tail || ')')
             ELSE pg_get_constraintdef(oid) END) ORDER BY contype, conname), '{}')
    INTO defs
    FROM pg_constraint
    WHERE conrelid = t::regclass AND contype IN ('c', 'f', 'p', 'u');
    IF EXISTS (SELECT FROM pg_attribute WHERE attrelid = t::regclass
               AND attname = 'id' AND NOT attisdropped) THEN
        seq := pg_get_serial_sequence(t, 'id');
    END IF;
    IF seq IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE %s OWNED BY NONE', seq);
    END IF;
    -- out of the way, names and all
    EXECUTE format('ALTER TABLE %I RENAME TO %I', t, old);
    FOR r IN SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE i.indrelid = old::regclass LOOP
        EXECUTE format('ALTER INDEX %I RENAME TO %I', r.relname, r.relname || '_0035');
    END LOOP;
    FOR r IN SELECT conname FROM pg_constraint
             WHERE conrelid = old::regclass AND contype IN ('c', 'f') LOOP
        EXECUTE format('ALTER TABLE %I RENAME CONSTRAINT %I TO %I', old, r.conname,
                       r.conname || '_0035');
    END LOOP;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING STORAGE'
                   ' INCLUDING COMMENTS, county text NOT NULL DEFAULT ''''%s)'
                   ' PARTITION BY LIST (county)', t, old, extra);
    EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT', t || '_default', t);
    FOR r IN EXECUTE format('SELECT DISTINCT %s AS county FROM %s', county_expr,
                            replace(source, '{old}', quote_ident(old)))
             || format(' UNION SELECT left(code, 6) FROM grids WHERE level = 1 AND %L <> %L',
                       t, 'households') LOOP
        IF r.county <> '' THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES IN (%L)%s',
                           t || '_' || r.county, t, r.county,
                           CASE WHEN t = 'track_points'
                                THEN ' PARTITION BY RANGE (day)' ELSE '' END);
            IF t = 'track_points' THEN
                EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT',
                               t || '_' || r.county || '_default', t || '_' || r.county);
            END IF;
        END IF;
    END LOOP;
    EXECUTE format('INSERT INTO %I (%s, county%s) SELECT %s, %s%s FROM %s', t, cols,
                   CASE WHEN extra <> '' THEN ', day' ELSE '' END,
                   (SELECT string_agg('o.' || c, ', ') FROM unnest(string_to_array(cols, ', ')) c),
                   county_expr,
                   CASE WHEN extra <> '' THEN ', k.day' ELSE '' END,
                   replace(source, '{old}', quote_ident(old)));
    EXECUTE format('DROP TABLE %I', old);
    IF seq IS NOT NULL THEN
        EXECUTE format('ALTER SEQUENCE %s OWNED BY %I.id', seq, t);
    END IF;
    FOREACH stmt IN ARRAY defs || indexes || triggers LOOP
        EXECUTE stmt;
    END LOOP;
END $$;

-- The foreign keys that point at the tables converted here go first (they are
-- put back below, on (id, county)).
ALTER TABLE incident_events DROP CONSTRAINT incident_events_incident_id_fkey;
ALTER TABLE incident_photos DROP CONSTRAINT incident_photos_incident_id_fkey;
ALTER TABLE visits DROP CONSTRAINT visits_household_id_fkey;
DO $$
DECLARE
    stray text;
BEGIN
    SELECT string_agg(format('%s.%s', conrelid::regclass, conname), ', ') INTO stray
    FROM pg_constraint
    WHERE contype = 'f' AND confrelid IN ('households'::regclass, 'incidents'::regclass,
                                          'incident_events'::regclass, 'audit'::regclass);
    IF stray IS NOT NULL THEN
        RAISE EXCEPTION 'foreign keys this migration does not know: %', stray;
    END IF;
END $$;

-- Tracks: the county of the worker's grid when the track was made ('' without
-- one), and (id, county, day) for the points' foreign key.
ALTER TABLE tracks ADD COLUMN county text;
UPDATE tracks t SET county = coalesce(
    (SELECT left(s.grid_code, 6) FROM grid_staff s WHERE s.id = t.staff_id), '');
ALTER TABLE tracks ALTER COLUMN county SET NOT NULL,
    ADD CONSTRAINT tracks_county_format CHECK (county ~ '^([0-9]{6})?$'),
    ADD CONSTRAINT tracks_id_county_day_key UNIQUE (id, county, day);
ALTER TABLE track_points DROP CONSTRAINT track_points_track_id_fkey;

SELECT pg_temp.partition_table('households', 'coalesce(left(o.grid_code, 6), '''')',
                               '', 'county', '{old} o');
SELECT pg_temp.partition_table('incidents', 'coalesce(left(o.grid_code, 6), '''')',
                               '', 'county', '{old} o');
SELECT pg_temp.partition_table('incident_events', 'k.county', '', 'county',
                               '{old} o JOIN incidents k ON k.id = o.incident_id');
SELECT pg_temp.partition_table('audit', 'coalesce(left(o.grid_code, 6), '''')',
                               '', 'county', '{old} o');
SELECT pg_temp.partition_table('track_points', 'k.county', ', day date NOT NULL',
                               'county, day', '{old} o JOIN tracks k ON k.id = o.track_id');

ALTER TABLE households ADD CONSTRAINT households_county
    CHECK (county = coalesce(left(grid_code, 6), ''));
ALTER TABLE incidents ADD CONSTRAINT incidents_county
    CHECK (county = coalesce(left(grid_code, 6), ''));
ALTER TABLE audit ADD CONSTRAINT audit_county
    CHECK (county = coalesce(left(grid_code, 6), ''));
-- (a code or an external id alone is found through its unique key, which
-- leads with it)

ALTER TABLE incident_events ADD CONSTRAINT incident_events_incident_id_fkey
    FOREIGN KEY (incident_id, county) REFERENCES incidents (id, county)
    ON UPDATE CASCADE ON DELETE CASCADE;
ALTER TABLE track_points ADD CONSTRAINT track_points_track_id_fkey
    FOREIGN KEY (track_id, county, day) REFERENCES tracks (id, county, day)
    ON UPDATE CASCADE ON DELETE CASCADE;

-- One table each, a county filled from the row referred to (an unknown id gets
-- a county no row has, so the foreign key reports it as before).
CREATE FUNCTION county_of_referred() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    found text;
BEGIN
    EXECUTE format('SELECT county FROM %I WHERE id = $1', TG_ARGV[0])
        INTO found USING (to_jsonb(NEW) ->> TG_ARGV[1])::bigint;
    NEW.county := coalesce(found, '?');
    RETURN NEW;
END $$;

ALTER TABLE incident_photos ADD COLUMN county text;
UPDATE incident_photos p SET county = k.county FROM incidents k WHERE k.id = p.incident_id;
ALTER TABLE incident_photos ALTER COLUMN county SET NOT NULL,
    ADD CONSTRAINT incident_photos_incident_id_fkey
    FOREIGN KEY (incident_id, county) REFERENCES incidents (id, county)
    ON UPDATE CASCADE ON DELETE CASCADE;
CREATE TRIGGER incident_photos_county BEFORE INSERT OR UPDATE OF incident_id
    ON incident_photos FOR EACH ROW
    EXECUTE FUNCTION county_of_referred('incidents', 'incident_id');

ALTER TABLE visits ADD COLUMN county text;
UPDATE visits v SET county = h.county FROM households h WHERE h.id = v.household_id;
ALTER TABLE visits ALTER COLUMN county SET NOT NULL,
    ADD CONSTRAINT visits_household_id_fkey
    FOREIGN KEY (household_id, county) REFERENCES households (id, county)
    ON UPDATE CASCADE ON DELETE CASCADE;
CREATE TRIGGER visits_county BEFORE INSERT OR UPDATE OF household_id
    ON visits FOR EACH ROW
    EXECUTE FUNCTION county_of_referred('households', 'household_id');

-- The county follows the grid on every update path.
CREATE TRIGGER households_county_follows_grid BEFORE UPDATE OF grid_code ON households
    FOR EACH ROW WHEN (OLD.grid_code IS DISTINCT FROM NEW.grid_code)
    EXECUTE FUNCTION county_follows_grid();
CREATE TRIGGER incidents_county_follows_grid BEFORE UPDATE OF grid_code ON incidents
    FOR EACH ROW WHEN (OLD.grid_code IS DISTINCT FROM NEW.grid_code)
    EXECUTE FUNCTION county_follows_grid();

-- audit: append-only, but for the move out of DEFAULT (see the top).
CREATE OR REPLACE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('gridgov.partition_move', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit rows cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit_default
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
DO $$
DECLARE
    p regclass;
BEGIN
    FOR p IN SELECT inhrelid::regclass FROM pg_inherits
             WHERE inhparent = 'audit'::regclass AND inhrelid <> 'audit_default'::regclass
    LOOP
        EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON %s'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()', p);
    END LOOP;
END $$;

-- Partitions ----------------------------------------------------------------------

-- The month partitions of one county's track points: from the month of `since`
-- to `ahead` months after the current one (rows of those months waiting in the
-- county's DEFAULT month partition are moved in). Returns how many were made.
CREATE FUNCTION track_point_months_add(part text, since date, ahead integer)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    m date := date_trunc('month', since)::date;
    upto date := (date_trunc('month', now() AT TIME ZONE 'Asia/Shanghai')
                  + make_interval(months => ahead))::date;
    name text;
    made integer := 0;
    cols text;
BEGIN
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = 'track_points'::regclass AND attnum > 0
      AND NOT attisdropped;
    WHILE m <= upto LOOP
        name := part || '_' || to_char(m, 'YYYYMM');
        IF to_regclass(name) IS NULL THEN
            EXECUTE format('CREATE TEMP TABLE _months ON COMMIT DROP AS'
                           ' WITH d AS (DELETE FROM %I WHERE day >= %L AND day < %L'
                           ' RETURNING *) SELECT %s FROM d',
                           part || '_default', m, (m + interval '1 month')::date, cols);
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           name, part, m, (m + interval '1 month')::date);
            EXECUTE format('INSERT INTO track_points (%s) SELECT %s FROM _months',
                           cols, cols);
            DROP TABLE _months;
            made := made + 1;
        END IF;
        m := (m + interval '1 month')::date;
    END LOOP;
    RETURN made;
END $$;

-- A county's partition of `parent`: a standalone table like it with a CHECK of
-- the bound, ATTACHed (a SHARE UPDATE EXCLUSIVE lock on the parent: readers and
-- writers of the other counties go on). Rows of that county waiting in the
-- DEFAULT partition are moved in first, with the rows that refer to them (a
-- foreign key's cascade would delete those). Returns false when it existed.
CREATE FUNCTION county_partition_add(parent text, county text) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
    part text := parent || '_' || county;
    cols text;
    waiting boolean;
    fk record;
    kept text[] := '{}';
    n integer := 0;
BEGIN
    IF county !~ '^[0-9]{6}$' THEN
        RAISE EXCEPTION 'a county is six digits, not %', county
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF parent <> ALL (partitioned_tables()) THEN
        RAISE EXCEPTION '% is not partitioned by county', parent
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_regclass(part) IS NOT NULL THEN
        RETURN false;
    END IF;
    SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum) INTO cols
    FROM pg_attribute WHERE attrelid = parent::regclass AND attnum > 0
      AND NOT attisdropped;
    EXECUTE format('SELECT EXISTS (SELECT FROM %I WHERE county = %L)',
                   parent || '_default', county) INTO waiting;
    IF waiting THEN
        FOR fk IN SELECT DISTINCT c.conrelid::regclass::text AS child
                  FROM pg_constraint c
                  WHERE c.contype = 'f' AND c.confrelid = parent::regclass
                    AND c.conparentid = 0 LOOP
            n := n + 1;
            EXECUTE format('CREATE TEMP TABLE %I ON COMMIT DROP AS'
                           ' SELECT * FROM %I WHERE county = %L',
                           '_kept_' || n, fk.child, county);
            kept := kept || fk.child;
        END LOOP;
        EXECUTE format('CREATE TEMP TABLE _moving ON COMMIT DROP AS'
                       ' SELECT %s FROM %I WHERE county = %L',
                       cols, parent || '_default', county);
        PERFORM set_config('gridgov.partition_move', 'on', true);
        EXECUTE format('DELETE FROM %I WHERE county = %L', parent || '_default', county);
        PERFORM set_config('gridgov.partition_move', 'off', true);
    END IF;
    EXECUTE format('CREATE TABLE %I (LIKE %I INCLUDING DEFAULTS INCLUDING CONSTRAINTS'
                   ' INCLUDING STORAGE)%s',
                   part, parent, CASE WHEN parent = 'track_points'
                                      THEN ' PARTITION BY RANGE (day)' ELSE '' END);
    IF parent = 'track_points' THEN
        EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT',
                       part || '_default', part);
        PERFORM track_point_months_add(part, now()::date - 31, 2);
    ELSE
        EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (county = %L)',
                       part, part || '_bound', county);
    END IF;
    EXECUTE format('ALTER TABLE %I ATTACH PARTITION %I FOR VALUES IN (%L)',
                   parent, part, county);
    IF parent = 'audit' THEN
        EXECUTE format('CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON %I'
                       ' FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only()', part);
    END IF;
    IF waiting THEN
        EXECUTE format('INSERT INTO %I (%s) SELECT %s FROM _moving', parent, cols, cols);
        DROP TABLE _moving;
        FOR i IN 1 .. n LOOP
            EXECUTE format('INSERT INTO %I SELECT * FROM %I', kept[i], '_kept_' || i);
            EXECUTE format('DROP TABLE %I', '_kept_' || i);
        END LOOP;
    END IF;
    RETURN true;
END $$;

-- A level-1 grid brings its county's partitions of the tables many small writes
-- go to (households get theirs at their first write: layers/partitions.py).
CREATE FUNCTION county_partitions_for_grids() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    c text;
    t text;
BEGIN
    FOR c IN SELECT DISTINCT left(code, 6) FROM new_rows WHERE level = 1 LOOP
        FOREACH t IN ARRAY partitioned_tables() LOOP
            IF t <> 'households' THEN
                PERFORM county_partition_add(t, c);
            END IF;
        END LOOP;
    END LOOP;
    RETURN NULL;
END $$;
CREATE TRIGGER grids_county_partitions AFTER INSERT ON grids
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION county_partitions_for_grids();

-- Every county found in a DEFAULT partition gets its partition and its rows
-- (the daily job); returns the partitions made, as 'table_county'.
CREATE FUNCTION partitions_settle() RETURNS text[]
LANGUAGE plpgsql AS $$
DECLARE
    t text;
    c text;
    found text[];
    made text[] := '{}';
BEGIN
    FOREACH t IN ARRAY partitioned_tables() LOOP
        EXECUTE format('SELECT array_agg(DISTINCT county) FROM %I WHERE county <> ''''',
                       t || '_default') INTO found;
        FOREACH c IN ARRAY coalesce(found, '{}') LOOP
            IF county_partition_add(t, c) THEN
                made := made || (t || '_' || c);
            END IF;
        END LOOP;
    END LOOP;
    RETURN made;
END $$;

-- The month partitions of the track points copied above (they waited in each
-- county's DEFAULT month), from the first month with points on.
DO $$
DECLARE
    p text;
    first date;
BEGIN
    FOR p IN SELECT inhrelid::regclass::text FROM pg_inherits
             WHERE inhparent = 'track_points'::regclass
               AND inhrelid <> 'track_points_default'::regclass LOOP
        EXECUTE format('SELECT min(day) FROM %I', p) INTO first;
        PERFORM track_point_months_add(
            p, least(coalesce(first, now()::date), now()::date - 31), 2);
    END LOOP;
END $$;

ANALYZE households, incidents, incident_events, audit, track_points, tracks;
