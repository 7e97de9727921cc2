-- Early warnings (预警, issue 19): the daily run (layers/early_warning.py) writes a
-- row per series that is warming up -- a grid at any level and an incident
-- category ("grid"), or a space-time cluster of cells ("cluster") -- and people
-- act on it: acknowledge it, send it to 研判, or dismiss it with a reason. A
-- series still warming up the next day updates its open row (figures, last day)
-- rather than adding one, so the list holds one line per thing to look at.
-- No foreign key to grids: the row records where the warning was, and the demo
-- loader's TRUNCATE of the grids empties it through the trigger below.
CREATE TABLE early_warnings (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('grid', 'cluster')),
    grid_code text NOT NULL,
    -- NULL for a cluster: all categories together
    category text,
    first_day date NOT NULL,        -- the run that raised it (China time)
    last_day date NOT NULL,         -- the last run that still found it
    since date NOT NULL,            -- when the rise began
    window_days integer NOT NULL CHECK (window_days > 0),
    observed integer NOT NULL,
    expected double precision NOT NULL,
    p double precision NOT NULL,
    q double precision,             -- Benjamini-Hochberg adjusted (grids)
    -- a cluster's cells (EPSG:4326); NULL for a grid
    geom geometry(Polygon, 4326),
    incidents text[] NOT NULL DEFAULT '{}',
    status text NOT NULL DEFAULT 'open'
        CHECK (status IN ('open', 'acknowledged', 'assessing', 'dismissed')),
    reason text,
    handled_by text,
    handled_at timestamptz,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX early_warnings_grid_idx ON early_warnings (grid_code text_pattern_ops);
CREATE INDEX early_warnings_status_idx ON early_warnings (status, last_day);
-- one live warning per series: the next day's run finds and updates it
CREATE UNIQUE INDEX early_warnings_live_idx
    ON early_warnings (kind, grid_code, coalesce(category, ''))
    WHERE status <> 'dismissed';

CREATE FUNCTION early_warnings_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE early_warnings;
    RETURN NULL;
END $$;

CREATE TRIGGER grids_truncate_early_warnings AFTER TRUNCATE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION early_warnings_truncate();
