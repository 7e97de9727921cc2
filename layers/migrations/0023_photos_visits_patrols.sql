-- The phone app's records: incident photos, household visits (入户走访) with
-- proposed tags awaiting confirmation, and live patrols (tracks.patrol_id).

-- Photos of an incident: the JPEG lives in the photo store (api/photo_store.py)
-- under its sha256; the same picture of the same incident is one row.
CREATE TABLE incident_photos (
    id bigserial PRIMARY KEY,
    incident_id bigint NOT NULL REFERENCES incidents (id) ON DELETE CASCADE,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    width integer NOT NULL CHECK (width > 0),
    height integer NOT NULL CHECK (height > 0),
    bytes integer NOT NULL CHECK (bytes > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text,
    UNIQUE (incident_id, sha256)
);

CREATE TABLE visits (
    id bigserial PRIMARY KEY,
    household_id bigint NOT NULL REFERENCES households (id) ON DELETE CASCADE,
    grid_code text,
    user_id bigint REFERENCES users (id) ON DELETE SET NULL,
    username text NOT NULL,
    staff_id bigint REFERENCES grid_staff (id) ON DELETE SET NULL,
    visited_at timestamptz NOT NULL,
    note text CHECK (char_length(note) <= 2000),
    size_seen smallint CHECK (size_seen BETWEEN 0 AND 50),
    geom geometry(Point, 4326),
    accuracy_m double precision CHECK (accuracy_m >= 0),
    distance_m double precision,
    tag_proposed text,
    tag_state text CHECK (tag_state IN ('pending', 'confirmed')),
    tag_decided_by text,
    tag_decided_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT visits_tag_state CHECK ((tag_proposed IS NULL) = (tag_state IS NULL))
);
CREATE INDEX visits_household_idx ON visits (household_id, visited_at);
CREATE INDEX visits_grid_idx ON visits (grid_code text_pattern_ops, visited_at);
CREATE INDEX visits_pending_idx ON visits (tag_state) WHERE tag_state = 'pending';

-- A patrol recorded by a phone: one track per patrol and local day, its points
-- appended batch after batch.
ALTER TABLE tracks ADD COLUMN patrol_id uuid;
CREATE UNIQUE INDEX tracks_patrol_day_idx ON tracks (patrol_id, day)
    WHERE patrol_id IS NOT NULL;
