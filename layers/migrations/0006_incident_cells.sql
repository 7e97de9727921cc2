-- Heatmap and hot spots (issue 7): incidents counted per day, category, grid and
-- square cell, so that a density over any time window never reads the points.
--
-- A cell is a `cell_m` (50 m) square of the deployment's CGCS2000 Gauss-Krüger zone,
-- indexed (ix, iy) = floor(x / cell_m), floor(y / cell_m); coarser cells are integer
-- divisions of these (100 m = ix / 2, …), so one table serves every zoom. The grid
-- code is kept so that a jurisdiction (code LIKE prefix) reads only its own counts.
-- Rows are kept in step by statement-level triggers on `incidents` with transition
-- tables: a COPY of a million incidents fires one aggregate INSERT, not a million
-- upserts, and the incident loop's status changes (no key changes) write nothing.
--
-- Readers keep a copy of the table in memory (layers/density.py). `generation`
-- goes up, in the same transaction, with every change of a count, and the change
-- itself goes to `incident_cells_log` under that number, so that a copy at
-- generation g catches up by reading the log after g instead of the whole table.
-- Changes of more than 10,000 counts at once (bulk loads, recounts) are not logged:
-- `log_from` then moves up, and copies older than it reload everything.

CREATE TABLE incident_cells_state (
    singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    -- tells one database's copy from another's in a process serving several
    token uuid NOT NULL DEFAULT gen_random_uuid(),
    generation bigint NOT NULL DEFAULT 0,
    -- every change after this generation is in incident_cells_log
    log_from bigint NOT NULL DEFAULT 0,
    -- chosen from the first incidents' mean longitude (reset by TRUNCATE), as
    -- geo.crs.gk_zone_epsg does
    srid integer CHECK (srid BETWEEN 4534 AND 4554),
    cell_m double precision NOT NULL DEFAULT 50 CHECK (cell_m > 0)
);
INSERT INTO incident_cells_state DEFAULT VALUES;

CREATE TABLE incident_cells (
    category text NOT NULL,
    day date NOT NULL,          -- China time (Asia/Shanghai) of created_at
    grid_code text NOT NULL,
    ix integer NOT NULL,
    iy integer NOT NULL,
    n integer NOT NULL,
    PRIMARY KEY (category, day, grid_code, ix, iy)
);

CREATE TABLE incident_cells_log (
    generation bigint NOT NULL,
    category text NOT NULL,
    day date NOT NULL,
    grid_code text NOT NULL,
    ix integer NOT NULL,
    iy integer NOT NULL,
    d integer NOT NULL
);
CREATE INDEX incident_cells_log_generation_idx ON incident_cells_log (generation);

-- geo.crs.gk_zone_epsg in SQL: the CGCS2000 3-degree zone of a longitude.
CREATE FUNCTION incident_cells_zone(lon double precision) RETURNS integer
LANGUAGE sql IMMUTABLE AS $$
    SELECT 4534 + (least(greatest(3 * floor(lon / 3 + 0.5), 75), 135)::integer - 75) / 3
$$;

-- A new generation whose changes are not logged: copies older than it reload.
CREATE FUNCTION incident_cells_unlogged() RETURNS void
LANGUAGE sql AS $$
    DELETE FROM incident_cells_log;
    UPDATE incident_cells_state
    SET generation = generation + 1, log_from = generation + 1;
$$;

-- Everything again from `incidents` (the migration, and `layers.density.refresh`).
CREATE FUNCTION incident_cells_refresh() RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    st incident_cells_state%ROWTYPE;
BEGIN
    SELECT * INTO st FROM incident_cells_state FOR UPDATE;
    TRUNCATE incident_cells;
    SELECT incident_cells_zone(avg(ST_X(geom))) INTO st.srid FROM incidents;
    IF st.srid IS NOT NULL THEN
        INSERT INTO incident_cells (category, day, grid_code, ix, iy, n)
        SELECT category, day, grid_code, ix, iy, count(*)
        FROM (SELECT category, grid_code,
                     (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
                     floor(ST_X(p) / st.cell_m)::integer AS ix,
                     floor(ST_Y(p) / st.cell_m)::integer AS iy
              FROM (SELECT category, grid_code, created_at,
                           ST_Transform(geom, st.srid) AS p
                    FROM incidents WHERE grid_code IS NOT NULL) i) k
        GROUP BY category, day, grid_code, ix, iy;
    END IF;
    UPDATE incident_cells_state SET srid = st.srid;
    PERFORM incident_cells_unlogged();
END $$;

-- The counts that a statement added (new_rows) and removed (old_rows), applied.
CREATE FUNCTION incident_cells_apply() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    st incident_cells_state%ROWTYPE;
    g bigint;
    changed bigint := 0;
    moved refcursor;
    r record;
    k incident_cells%ROWTYPE;
BEGIN
    SELECT * INTO st FROM incident_cells_state;
    IF st.srid IS NULL THEN
        IF TG_OP <> 'INSERT' THEN
            RETURN NULL;  -- nothing counted yet, so nothing to take away
        END IF;
        SELECT incident_cells_zone(avg(ST_X(geom))) INTO st.srid FROM new_rows;
        IF st.srid IS NULL THEN
            RETURN NULL;
        END IF;
        UPDATE incident_cells_state SET srid = st.srid;
    END IF;
    IF TG_OP = 'INSERT' THEN
        -- only additions: one aggregate upsert (a COPY of the whole city lands
        -- here), logged unless it is a bulk load
        SELECT count(*) INTO changed FROM new_rows;
        IF changed > 10000 THEN
            INSERT INTO incident_cells AS c (category, day, grid_code, ix, iy, n)
            SELECT category, day, grid_code, ix, iy, count(*)
            FROM (SELECT category, grid_code,
                         (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
                         floor(ST_X(p) / st.cell_m)::integer AS ix,
                         floor(ST_Y(p) / st.cell_m)::integer AS iy
                  FROM (SELECT category, grid_code, created_at,
                               ST_Transform(geom, st.srid) AS p
                        FROM new_rows WHERE grid_code IS NOT NULL) i) k
            GROUP BY category, day, grid_code, ix, iy
            ON CONFLICT (category, day, grid_code, ix, iy)
            DO UPDATE SET n = c.n + EXCLUDED.n;
            PERFORM incident_cells_unlogged();
            RETURN NULL;
        END IF;
        -- the row lock on the state orders the generations as the commits
        UPDATE incident_cells_state SET generation = generation + 1
        RETURNING generation INTO g;
        WITH added AS (
            SELECT category, day, grid_code, ix, iy, count(*)::integer AS n
            FROM (SELECT category, grid_code,
                         (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
                         floor(ST_X(p) / st.cell_m)::integer AS ix,
                         floor(ST_Y(p) / st.cell_m)::integer AS iy
                  FROM (SELECT category, grid_code, created_at,
                               ST_Transform(geom, st.srid) AS p
                        FROM new_rows WHERE grid_code IS NOT NULL) i) k
            GROUP BY category, day, grid_code, ix, iy),
        counted AS (
            INSERT INTO incident_cells AS c (category, day, grid_code, ix, iy, n)
            SELECT * FROM added
            ON CONFLICT (category, day, grid_code, ix, iy)
            DO UPDATE SET n = c.n + EXCLUDED.n)
        INSERT INTO incident_cells_log (generation, category, day, grid_code, ix, iy, d)
        SELECT g, * FROM added;
    ELSE
        -- updates and deletes, row by row (few rows: one incident's step, or the
        -- incidents of a redrawn grid); an update that leaves category, grid,
        -- time and place alone (the loop's status changes) writes nothing and
        -- leaves the generation, hence the readers' copies, as they were
        -- (a transition table exists only for its own event: two cursors)
        IF TG_OP = 'UPDATE' THEN
            OPEN moved FOR
                WITH pair AS (
                    SELECT o.category AS o_category, o.grid_code AS o_grid_code,
                           o.created_at AS o_created_at, o.geom AS o_geom,
                           n.category, n.grid_code, n.created_at, n.geom
                    FROM old_rows o JOIN new_rows n USING (id)
                    WHERE (o.category, o.grid_code, o.created_at, ST_AsEWKB(o.geom))
                          IS DISTINCT FROM
                          (n.category, n.grid_code, n.created_at, ST_AsEWKB(n.geom)))
                SELECT category, grid_code, created_at, geom, 1 AS d FROM pair
                UNION ALL
                SELECT o_category, o_grid_code, o_created_at, o_geom, -1 FROM pair;
        ELSE
            OPEN moved FOR
                SELECT category, grid_code, created_at, geom, -1 AS d FROM old_rows;
        END IF;
        LOOP
            FETCH moved INTO r;
            EXIT WHEN NOT FOUND;
            CONTINUE WHEN r.grid_code IS NULL;
            IF g IS NULL THEN
                UPDATE incident_cells_state SET generation = generation + 1
                RETURNING generation INTO g;
            END IF;
            k := (r.category, (r.created_at AT TIME ZONE 'Asia/Shanghai')::date,
                  r.grid_code,
                  floor(ST_X(ST_Transform(r.geom, st.srid)) / st.cell_m)::integer,
                  floor(ST_Y(ST_Transform(r.geom, st.srid)) / st.cell_m)::integer,
                  r.d);
            INSERT INTO incident_cells AS c (category, day, grid_code, ix, iy, n)
            VALUES (k.category, k.day, k.grid_code, k.ix, k.iy, k.n)
            ON CONFLICT (category, day, grid_code, ix, iy)
            DO UPDATE SET n = c.n + EXCLUDED.n;
            INSERT INTO incident_cells_log (generation, category, day, grid_code, ix,
                                            iy, d)
            VALUES (g, k.category, k.day, k.grid_code, k.ix, k.iy, k.n);
            changed := changed + 1;
        END LOOP;
        CLOSE moved;
        IF changed = 0 THEN
            RETURN NULL;
        END IF;
        -- a count gone to zero is no row (the keys are few: one per changed row)
        DELETE FROM incident_cells c
        USING old_rows o
        WHERE o.grid_code IS NOT NULL
          AND (c.category, c.day, c.grid_code, c.ix, c.iy)
              = (o.category, (o.created_at AT TIME ZONE 'Asia/Shanghai')::date,
                 o.grid_code,
                 floor(ST_X(ST_Transform(o.geom, st.srid)) / st.cell_m)::integer,
                 floor(ST_Y(ST_Transform(o.geom, st.srid)) / st.cell_m)::integer)
          AND c.n <= 0;
    END IF;
    -- the log keeps the last 1,000 generations; a copy older reloads everything
    IF g % 1000 = 0 THEN
        DELETE FROM incident_cells_log WHERE generation <= g - 1000;
        UPDATE incident_cells_state SET log_from = greatest(log_from, g - 1000);
    END IF;
    RETURN NULL;
END $$;

-- (A trigger with transition tables serves one event: hence three.)
CREATE TRIGGER incident_cells_insert AFTER INSERT ON incidents
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incident_cells_apply();
CREATE TRIGGER incident_cells_update AFTER UPDATE ON incidents
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incident_cells_apply();
CREATE TRIGGER incident_cells_delete AFTER DELETE ON incidents
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION incident_cells_apply();

CREATE FUNCTION incident_cells_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE incident_cells;
    -- the next data may lie elsewhere: its zone is chosen again
    UPDATE incident_cells_state SET srid = NULL;
    PERFORM incident_cells_unlogged();
    RETURN NULL;
END $$;

CREATE TRIGGER incident_cells_truncate AFTER TRUNCATE ON incidents
    FOR EACH STATEMENT EXECUTE FUNCTION incident_cells_truncate();

SELECT incident_cells_refresh();
