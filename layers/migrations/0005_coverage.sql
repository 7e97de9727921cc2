-- Camera coverage (issue 7): caches of what geo/coverage.py computes, kept right by
-- triggers rather than by a hash of the inputs. A hash would have to read every
-- camera, household and grid near the asked grid on each request to know whether
-- the cache still holds; the triggers know at write time what changed and delete
-- just the rows it touches, so a cached read is one indexed scan.
--
-- The triggers are statement-level with transition tables: an import or the demo
-- load of 100,000 cameras fires them once, not 100,000 times, and with an empty
-- cache they return at once. TRUNCATE (the demo loader) empties the caches.

-- The field of view of each camera in EPSG:4326 (sector or disc), for maps and
-- for the SQL test "which households does no camera see". Filled lazily.
CREATE TABLE camera_views (
    camera_id bigint PRIMARY KEY,
    geom geometry(Polygon, 4326) NOT NULL
);
CREATE INDEX camera_views_geom_gix ON camera_views USING gist (geom);

-- Coverage of each leaf grid (a grid without children: normally a micro-grid).
-- Grids above are sums of their leaves (children tile their parent), taken at
-- query time by code prefix. `blind` is the uncovered part, simplified.
CREATE TABLE coverage_leaf (
    code text PRIMARY KEY,
    area_m2 double precision NOT NULL CHECK (area_m2 >= 0),
    covered_m2 double precision NOT NULL CHECK (covered_m2 >= 0),
    households integer NOT NULL CHECK (households >= 0),
    covered_households integer NOT NULL
        CHECK (covered_households BETWEEN 0 AND households),
    blind geometry(MultiPolygon, 4326),
    computed_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX coverage_leaf_code_idx ON coverage_leaf (code text_pattern_ops);

-- Bumped by every change the caches depend on, so that a computation that read
-- its inputs before a change does not store its (stale) result. A row updated in
-- the writing transaction, not a sequence: a sequence moves before the writer
-- commits, so a computation that began in between would read the old data under
-- the new number. The computation stores its result after reading this row FOR
-- SHARE: that waits for a writer still in flight, and holds off a writer (and its
-- trigger's deletes) until the result is stored. The price: transactions writing
-- cameras, households or grids wait for each other at their first write (as the
-- tile generations of 0007 make writers of one table do anyway).
CREATE TABLE coverage_state (
    one boolean PRIMARY KEY DEFAULT true CHECK (one),
    generation bigint NOT NULL
);
INSERT INTO coverage_state (generation) VALUES (0);

-- Cameras: a change of position, kind, bearing, angle or range (not of status,
-- name or grid) drops the camera's view and the leaves within its reach.
CREATE FUNCTION coverage_cameras_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE coverage_state SET generation = generation + 1;
    IF NOT EXISTS (SELECT 1 FROM coverage_leaf)
       AND NOT EXISTS (SELECT 1 FROM camera_views) THEN
        RETURN NULL;
    END IF;
    -- the changed cameras, each at its old and its new place (one short-lived
    -- table: the two deletes below both need them)
    CREATE TEMP TABLE coverage_changed (
        id bigint, geom geometry, range_m double precision);
    IF TG_OP = 'UPDATE' THEN
        WITH moved AS (
            SELECT o.id, o.geom AS g0, o.range_m AS r0, n.geom AS g1, n.range_m AS r1
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.geom, o.kind, o.bearing, o.fov_deg, o.range_m)
                  IS DISTINCT FROM (n.geom, n.kind, n.bearing, n.fov_deg, n.range_m))
        INSERT INTO pg_temp.coverage_changed
        SELECT id, g0, r0 FROM moved UNION ALL SELECT id, g1, r1 FROM moved;
    ELSIF TG_OP = 'INSERT' THEN
        INSERT INTO pg_temp.coverage_changed SELECT id, geom, range_m FROM new_rows;
    ELSE
        INSERT INTO pg_temp.coverage_changed SELECT id, geom, range_m FROM old_rows;
    END IF;
    DELETE FROM camera_views v USING pg_temp.coverage_changed c
    WHERE v.camera_id = c.id;
    -- the reach as a box in degrees (1 % generous, as layers/locate.py does)
    DELETE FROM coverage_leaf l USING grids g, pg_temp.coverage_changed c
    WHERE l.code = g.code
      AND g.geom && ST_Expand(c.geom,
            c.range_m * 1.01 / (111320.0 * greatest(cos(radians(ST_Y(c.geom))), 0.01)),
            c.range_m * 1.01 / 111320.0);
    DROP TABLE pg_temp.coverage_changed;
    RETURN NULL;
END $$;

CREATE TRIGGER coverage_cameras_insert AFTER INSERT ON cameras
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_cameras_changed();
CREATE TRIGGER coverage_cameras_update AFTER UPDATE ON cameras
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_cameras_changed();
CREATE TRIGGER coverage_cameras_delete AFTER DELETE ON cameras
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_cameras_changed();

-- Households: a new, moved, re-assigned or removed household changes its leaf's
-- household share (edits of names or tags do not).
CREATE FUNCTION coverage_households_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE coverage_state SET generation = generation + 1;
    IF NOT EXISTS (SELECT 1 FROM coverage_leaf) THEN
        RETURN NULL;
    END IF;
    IF TG_OP = 'UPDATE' THEN
        DELETE FROM coverage_leaf l USING (
            SELECT o.grid_code AS a, n.grid_code AS b
            FROM old_rows o JOIN new_rows n USING (id)
            WHERE (o.geom, o.grid_code) IS DISTINCT FROM (n.geom, n.grid_code)) c
        WHERE l.code IN (c.a, c.b);
    ELSIF TG_OP = 'INSERT' THEN
        DELETE FROM coverage_leaf l
        WHERE l.code IN (SELECT DISTINCT grid_code FROM new_rows);
    ELSE
        DELETE FROM coverage_leaf l
        WHERE l.code IN (SELECT DISTINCT grid_code FROM old_rows);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER coverage_households_insert AFTER INSERT ON households
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_households_changed();
CREATE TRIGGER coverage_households_update AFTER UPDATE ON households
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_households_changed();
CREATE TRIGGER coverage_households_delete AFTER DELETE ON households
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_households_changed();

-- Grids: a changed, new or removed grid drops the cached leaves below it and the
-- ones above it (a grid that gains a child is no longer a leaf). Codes are digits
-- only, so they need no LIKE escaping.
CREATE FUNCTION coverage_grids_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE coverage_state SET generation = generation + 1;
    IF NOT EXISTS (SELECT 1 FROM coverage_leaf) THEN
        RETURN NULL;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        DELETE FROM coverage_leaf l USING old_rows o
        WHERE l.code LIKE o.code || '%' OR left(o.code, length(l.code)) = l.code;
    END IF;
    IF TG_OP IN ('UPDATE', 'INSERT') THEN
        DELETE FROM coverage_leaf l USING new_rows n
        WHERE l.code LIKE n.code || '%' OR left(n.code, length(l.code)) = l.code;
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER coverage_grids_insert AFTER INSERT ON grids
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_grids_changed();
CREATE TRIGGER coverage_grids_update AFTER UPDATE ON grids
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_grids_changed();
CREATE TRIGGER coverage_grids_delete AFTER DELETE ON grids
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_grids_changed();

CREATE FUNCTION coverage_truncated() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE coverage_state SET generation = generation + 1;
    TRUNCATE coverage_leaf, camera_views;
    RETURN NULL;
END $$;

CREATE TRIGGER coverage_cameras_truncate AFTER TRUNCATE ON cameras
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_truncated();
CREATE TRIGGER coverage_households_truncate AFTER TRUNCATE ON households
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_truncated();
CREATE TRIGGER coverage_grids_truncate AFTER TRUNCATE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION coverage_truncated();
