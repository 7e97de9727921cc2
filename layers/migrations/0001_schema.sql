-- gridgov schema, first version. Storage CRS is EPSG:4326 everywhere; metric work
-- happens in the deployment's CGCS2000 Gauss-Krüger zone or as geography.
-- Vocabulary codes in the CHECK constraints are those of geo/vocab.py
-- (tests/integration/test_schema.py keeps them in step).

CREATE EXTENSION IF NOT EXISTS postgis;

-- Grids -------------------------------------------------------------------------
-- `grids` holds the boundary in force; every earlier version of a row is kept in
-- `grid_history` by a trigger, so no boundary is ever overwritten (the planners'
-- "what did grid X look like on date D").
CREATE TABLE grids (
    code text PRIMARY KEY,
    name text NOT NULL CHECK (btrim(name) <> ''),
    level smallint NOT NULL CHECK (level BETWEEN 1 AND 4),
    parent_code text REFERENCES grids (code) DEFERRABLE INITIALLY IMMEDIATE,
    geom geometry(MultiPolygon, 4326) NOT NULL,
    households_target integer CHECK (households_target >= 0),
    notes text,
    version integer NOT NULL DEFAULT 1,
    valid_from timestamptz NOT NULL DEFAULT now(),
    -- GB/T 31000 style codes: 9-digit town division code, 12-digit village code,
    -- then three digits per level below.
    CONSTRAINT grids_code_format CHECK (code ~ ('^[0-9]{' || (6 + 3 * level) || '}$')),
    CONSTRAINT grids_parent_presence CHECK ((level = 1) = (parent_code IS NULL)),
    CONSTRAINT grids_geom_valid CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom))
);
CREATE INDEX grids_geom_gix ON grids USING gist (geom);
CREATE INDEX grids_parent_idx ON grids (parent_code);
CREATE INDEX grids_level_idx ON grids (level);

CREATE TABLE grid_history (
    code text NOT NULL,
    version integer NOT NULL,
    name text NOT NULL,
    level smallint NOT NULL,
    parent_code text,
    geom geometry(MultiPolygon, 4326) NOT NULL,
    households_target integer,
    notes text,
    valid_from timestamptz NOT NULL,
    valid_to timestamptz NOT NULL,
    PRIMARY KEY (code, version)
);
CREATE INDEX grid_history_geom_gix ON grid_history USING gist (geom);

-- A child's level is its parent's plus one and its code starts with the parent's.
-- A CHECK cannot look at another row, hence a trigger.
CREATE FUNCTION grids_check_parent() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    p grids%ROWTYPE;
BEGIN
    IF NEW.parent_code IS NULL THEN
        RETURN NEW;
    END IF;
    SELECT * INTO p FROM grids WHERE code = NEW.parent_code;
    IF NOT FOUND THEN
        RETURN NEW;  -- the foreign key reports the missing parent
    END IF;
    IF NEW.level <> p.level + 1 THEN
        RAISE EXCEPTION 'grid %: level % cannot be a child of level-% grid %',
            NEW.code, NEW.level, p.level, p.code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'grids_parent_level';
    END IF;
    IF left(NEW.code, length(p.code)) <> p.code THEN
        RAISE EXCEPTION 'grid %: code must start with its parent''s code %',
            NEW.code, p.code
            USING ERRCODE = 'check_violation', CONSTRAINT = 'grids_parent_prefix';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER grids_check_parent BEFORE INSERT OR UPDATE ON grids
    FOR EACH ROW EXECUTE FUNCTION grids_check_parent();

-- Codes are identities (households, staff, cameras and incidents refer to them);
-- a changed boundary is a new version of the same code.
CREATE FUNCTION grids_keep_history() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.code <> OLD.code THEN
        RAISE EXCEPTION 'grid codes cannot change (% -> %); create a new grid instead',
            OLD.code, NEW.code USING ERRCODE = 'check_violation';
    END IF;
    INSERT INTO grid_history (code, version, name, level, parent_code, geom,
                              households_target, notes, valid_from, valid_to)
    VALUES (OLD.code, OLD.version, OLD.name, OLD.level, OLD.parent_code, OLD.geom,
            OLD.households_target, OLD.notes, OLD.valid_from, now());
    IF TG_OP = 'UPDATE' THEN
        NEW.version := OLD.version + 1;
        NEW.valid_from := now();
        RETURN NEW;
    END IF;
    RETURN OLD;
END $$;

CREATE TRIGGER grids_keep_history BEFORE UPDATE OR DELETE ON grids
    FOR EACH ROW EXECUTE FUNCTION grids_keep_history();

-- People and things in the grids ------------------------------------------------
CREATE TABLE grid_staff (
    id bigserial PRIMARY KEY,
    name text NOT NULL CHECK (btrim(name) <> ''),
    role text NOT NULL
        CHECK (role IN ('grid_chief', 'full_time', 'part_time', 'liaison', 'volunteer')),
    phone text CHECK (phone ~ '^[0-9+\- ]{5,20}$'),
    grid_code text NOT NULL REFERENCES grids (code),
    geom geometry(Point, 4326),
    active boolean NOT NULL DEFAULT true
);
CREATE INDEX grid_staff_grid_idx ON grid_staff (grid_code);

CREATE TABLE households (
    id bigserial PRIMARY KEY,
    external_id text UNIQUE,
    address text NOT NULL,
    head_name text,
    phone text,
    size smallint CHECK (size BETWEEN 1 AND 50),
    tags text[] NOT NULL DEFAULT '{}',
    geom geometry(Point, 4326) NOT NULL,
    grid_code text REFERENCES grids (code),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX households_geom_gix ON households USING gist (geom);
-- text_pattern_ops: serves both equality and the code-prefix LIKE of subtrees
CREATE INDEX households_grid_idx ON households (grid_code text_pattern_ops);

CREATE TABLE cameras (
    id bigserial PRIMARY KEY,
    code text NOT NULL UNIQUE,
    name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('fixed', 'ptz', 'checkpoint')),
    bearing double precision CHECK (bearing >= 0 AND bearing < 360),
    fov_deg double precision NOT NULL CHECK (fov_deg > 0 AND fov_deg <= 360),
    range_m double precision NOT NULL CHECK (range_m > 0 AND range_m <= 2000),
    owner text NOT NULL CHECK (owner IN ('police', 'social')),
    status text NOT NULL DEFAULT 'online' CHECK (status IN ('online', 'offline', 'fault')),
    geom geometry(Point, 4326) NOT NULL,
    grid_code text REFERENCES grids (code),
    -- a fixed camera or checkpoint looks somewhere: it needs a bearing
    CONSTRAINT cameras_bearing_needed CHECK (kind = 'ptz' OR bearing IS NOT NULL)
);
CREATE INDEX cameras_geom_gix ON cameras USING gist (geom);
CREATE INDEX cameras_grid_idx ON cameras (grid_code);

-- Incidents and their closed loop -------------------------------------------------
CREATE TABLE incidents (
    id bigserial PRIMARY KEY,
    code text NOT NULL UNIQUE,
    category text NOT NULL
        CHECK (category IN ('dispute', 'public_order', 'environment', 'illegal_building')),
    subtype text,
    source text NOT NULL
        CHECK (source IN ('grid_worker', 'walk_in', 'hotline', 'video', 'petition')),
    reporter text,
    description text,
    geom geometry(Point, 4326) NOT NULL,
    grid_code text REFERENCES grids (code),
    status text NOT NULL DEFAULT 'registered'
        CHECK (status IN ('registered', 'dispatched', 'handling', 'closed', 'evaluated')),
    assignee_id bigint REFERENCES grid_staff (id),
    deadline timestamptz,
    escalation_level smallint NOT NULL DEFAULT 4 CHECK (escalation_level BETWEEN 1 AND 4),
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    outcome text
        CHECK (outcome IN ('mediated', 'not_mediated', 'litigation', 'handled', 'transferred')),
    satisfaction smallint CHECK (satisfaction BETWEEN 1 AND 5),
    CONSTRAINT incidents_closed_consistent
        CHECK ((status IN ('closed', 'evaluated')) = (closed_at IS NOT NULL))
);
CREATE INDEX incidents_geom_gix ON incidents USING gist (geom);
CREATE INDEX incidents_grid_idx ON incidents (grid_code);
CREATE INDEX incidents_created_idx ON incidents (created_at);
CREATE INDEX incidents_open_idx ON incidents (status) WHERE closed_at IS NULL;

CREATE TABLE incident_events (
    id bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    at timestamptz NOT NULL DEFAULT now(),
    action text NOT NULL,
    status text
        CHECK (status IN ('registered', 'dispatched', 'handling', 'closed', 'evaluated')),
    actor text,
    note text
);
CREATE INDEX incident_events_incident_idx ON incident_events (incident_id, at);

-- Field data ------------------------------------------------------------------------
CREATE TABLE imports (
    id bigserial PRIMARY KEY,
    file_name text NOT NULL,
    file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    layer text NOT NULL,
    options jsonb NOT NULL DEFAULT '{}',
    username text,
    created_at timestamptz NOT NULL DEFAULT now(),
    counts jsonb NOT NULL DEFAULT '{}',
    errors jsonb NOT NULL DEFAULT '[]'
);
CREATE INDEX imports_hash_idx ON imports (file_sha256, layer);

CREATE TABLE tracks (
    id bigserial PRIMARY KEY,
    staff_id bigint REFERENCES grid_staff (id),
    day date NOT NULL,
    name text,
    import_id bigint REFERENCES imports (id),
    geom geometry(MultiLineString, 4326)
);
CREATE INDEX tracks_geom_gix ON tracks USING gist (geom);
CREATE INDEX tracks_staff_day_idx ON tracks (staff_id, day);

CREATE TABLE track_points (
    track_id bigint NOT NULL REFERENCES tracks (id) ON DELETE CASCADE,
    seq integer NOT NULL,
    at timestamptz,
    elevation_m double precision,
    speed_mps double precision,
    geom geometry(Point, 4326) NOT NULL,
    PRIMARY KEY (track_id, seq)
);

-- What this database holds (e.g. which generated demo, so that `gridgov demo` never
-- wipes real data).
CREATE TABLE meta (
    key text PRIMARY KEY,
    value jsonb NOT NULL
);

-- Audit: append-only --------------------------------------------------------------
CREATE TABLE audit (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    username text,
    action text NOT NULL,
    table_name text NOT NULL,
    row_key text,
    before jsonb,
    after jsonb,
    geom_before geometry(Geometry, 4326),
    geom_after geometry(Geometry, 4326)
);
CREATE INDEX audit_at_idx ON audit (at);
CREATE INDEX audit_row_idx ON audit (table_name, row_key);

CREATE FUNCTION audit_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit rows cannot be changed or deleted'
        USING ERRCODE = 'insufficient_privilege';
END $$;

CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
