-- The monthly analysis reports (《安全稳定月报分析》, issue 19) generated on the 1st
-- by the job queue (layers/jobs.py, layers/monthly_report.py generate_month):
-- one row per grid (every town and village) and month, its Word and PDF files as
-- they were generated, listed on /reports and downloaded from there (each
-- download audited like a report made on demand: the overdue incidents it lists
-- are a reading of incidents). A second run for the same grid and month replaces
-- the row. No foreign key to grids: the row records the report as it was; the
-- demo loader's TRUNCATE of the grids empties it through the trigger below.
CREATE TABLE monthly_reports (
    id bigserial PRIMARY KEY,
    grid_code text NOT NULL,
    month text NOT NULL CHECK (month ~ '^[0-9]{4}-[0-9]{2}$'),
    title text NOT NULL,
    generated_at timestamptz NOT NULL DEFAULT now(),
    generated_by text NOT NULL,
    -- how many overdue incidents the report lists (the audit row's records)
    overdue_listed integer NOT NULL DEFAULT 0,
    docx bytea NOT NULL,
    pdf bytea NOT NULL,
    UNIQUE (grid_code, month)
);
CREATE INDEX monthly_reports_grid_idx ON monthly_reports (grid_code text_pattern_ops);

CREATE FUNCTION monthly_reports_truncate() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    TRUNCATE monthly_reports;
    RETURN NULL;
END $$;

CREATE TRIGGER grids_truncate_monthly_reports AFTER TRUNCATE ON grids
    FOR EACH STATEMENT EXECUTE FUNCTION monthly_reports_truncate();
