-- Warnings an edit leaves on the grids it saved (issue 16): a split or redraw that
-- leaves a micro-grid with 37 households is allowed (the preview warns), and the
-- warning stays on that grid's record until a later edit or a recount brings it
-- back in range. One row per grid and kind; the planners' page and the check page
-- read them. No foreign key: a merged-away or re-coded grid's warning is cleared
-- by the edit that ends it, and the demo loader's TRUNCATE of the grids (which a
-- referencing table would refuse) empties this table through the trigger below.
CREATE TABLE grid_warnings (
    code text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('households')),
    households integer NOT NULL,
    low integer NOT NULL,
    high integer NOT NULL,
    at timestamptz NOT NULL DEFAULT now(),
    username text,
    PRIMARY KEY (code, kind)
);
CREATE INDEX grid_warnings_code_idx ON grid_warnings (code text_pattern_ops);

CREATE FUNCTION grid_warnings_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE grid_warnings;
    RETURN NULL;
END $$;

CREATE TRIGGER grids_truncate_warnings AFTER TRUNCATE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION grid_warnings_truncate();
