-- 研判 records (issue 19): the three-level chain 街镇 → 区综治中心 →
-- 区委平安建设领导小组 of the field reports (seeds/001). The town (a level-1 grid)
-- is the first 研判 level of every deployment and needs no row; the levels above
-- it are configured by an administrator: ordered by rank (2, 3 …), each covering
-- some grids (usually towns) or, covers NULL, the whole deployment.
CREATE TABLE judgement_levels (
    id bigserial PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (char_length(name) BETWEEN 1 AND 100),
    rank integer NOT NULL CHECK (rank BETWEEN 2 AND 20),
    covers text[] CHECK (covers IS NULL OR cardinality(covers) > 0),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- two levels of one rank may cover different towns (two districts), never the
-- same: the next level of an item is found by rank and cover (layers/judgements.py)

-- The users who sit at a level above the town (its 研判 meetings): they, with
-- the permission judgements:edit, record and change that level's items. A
-- person may sit at several levels (the 政法委 secretary at the district
-- centre and in the leading group), hence a table and not a column of users.
CREATE TABLE judgement_level_members (
    level_id bigint NOT NULL REFERENCES judgement_levels (id) ON DELETE CASCADE,
    user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (level_id, user_id)
);

-- A 研判 item: a warning or a set of incidents taken to a meeting at a level.
-- level_id NULL is the town's 研判 (town_code). grid_code: the grid the item is
-- about (the warning's grid, the grid holding all its incidents), which scopes
-- it like every other row (code LIKE the user's prefix). No foreign keys to the
-- warnings or incidents: the row keeps what it was about, and the demo loader's
-- TRUNCATE of the grids empties it through the trigger below, as the warnings.
CREATE TABLE judgement_items (
    id bigserial PRIMARY KEY,
    level_id bigint REFERENCES judgement_levels (id),
    town_code text,                   -- the town of a town-level item
    grid_code text NOT NULL,
    warning_id bigint,
    incidents text[] NOT NULL DEFAULT '{}',
    title text NOT NULL CHECK (char_length(title) BETWEEN 1 AND 200),
    meeting_on date,                  -- the meeting (China date); NULL: to hold
    participants text,
    assessment text,
    decisions text,
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'resolved', 'escalated')),
    resolution text,
    escalated_from bigint UNIQUE REFERENCES judgement_items (id),
    escalation_reason text,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    closed_at timestamptz,
    CHECK ((level_id IS NULL) = (town_code IS NOT NULL)),
    CHECK ((status = 'open') = (closed_at IS NULL))
);
CREATE INDEX judgement_items_grid_idx ON judgement_items (grid_code text_pattern_ops);
CREATE INDEX judgement_items_status_idx ON judgement_items (status, created_at);
CREATE INDEX judgement_items_warning_idx ON judgement_items (warning_id);

-- The follow-up tasks of an item: an owner (a user), a deadline, open → done.
CREATE TABLE judgement_tasks (
    id bigserial PRIMARY KEY,
    item_id bigint NOT NULL REFERENCES judgement_items (id) ON DELETE CASCADE,
    description text NOT NULL CHECK (char_length(description) BETWEEN 1 AND 1000),
    owner_id bigint NOT NULL REFERENCES users (id),
    deadline timestamptz NOT NULL,
    status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'done')),
    note text,
    done_by text,
    done_at timestamptz,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK ((status = 'done') = (done_at IS NOT NULL))
);
CREATE INDEX judgement_tasks_item_idx ON judgement_tasks (item_id);
CREATE INDEX judgement_tasks_open_idx ON judgement_tasks (deadline) WHERE status = 'open';

CREATE FUNCTION judgement_items_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE judgement_tasks, judgement_items;
    RETURN NULL;
END $$;

CREATE TRIGGER grids_truncate_judgements AFTER TRUNCATE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION judgement_items_truncate();
