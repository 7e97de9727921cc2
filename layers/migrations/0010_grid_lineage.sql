-- What a grid code became (issue 4, split and merge above level 4): a split
-- hands part of a grid to a new code, a merge ends a code in another, and a grid
-- whose parent changes gets a new code (codes are prefixes of their children's,
-- and a code never changes in place: 0001's trigger). grid_history keeps the old
-- boundaries; this table links the old codes to the new ones, so that "what did
-- X become" (and "where did Y come from") is one indexed read.
CREATE TABLE grid_lineage (
    id bigserial PRIMARY KEY,
    at timestamptz NOT NULL DEFAULT now(),
    old_code text NOT NULL,
    new_code text NOT NULL,
    -- split: part of old_code became new_code (old_code lives on);
    -- merge: old_code ended inside new_code; recode: the same area, a new code
    kind text NOT NULL CHECK (kind IN ('split', 'merge', 'recode')),
    username text,
    CONSTRAINT grid_lineage_changes CHECK (old_code <> new_code)
);
CREATE INDEX grid_lineage_old_idx ON grid_lineage (old_code);
CREATE INDEX grid_lineage_new_idx ON grid_lineage (new_code);

-- The lineage goes with the history it explains: the demo loader empties
-- grid_history with TRUNCATE (layers/demo.py), and then the lineage too.
CREATE FUNCTION grid_lineage_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE grid_lineage;
    RETURN NULL;
END $$;

CREATE TRIGGER grid_history_truncate_lineage AFTER TRUNCATE ON grid_history
    FOR EACH STATEMENT EXECUTE FUNCTION grid_lineage_truncate();
