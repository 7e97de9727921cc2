-- Issue 17, 网格公示牌: a town's notices (and any PDF of more pages than a request
-- should wait for: NOTICES_SYNC_PAGES) are drawn by the job queue
-- (layers/notice_prints.py, the task gridgov.print_notices): a row per print,
-- its progress while it is drawn and the PDF once it is ready, downloaded within
-- the jurisdiction as the synchronous one is. Who asked (name, role, the root of
-- their jurisdiction) is kept: the job draws what they may see. No foreign key
-- to grids: the row records what was printed; the daily purge deletes a print
-- some days after it finished (layers/jobs.py).
CREATE TABLE notice_prints (
    id bigserial PRIMARY KEY,
    grid_code text NOT NULL,
    requested_by text NOT NULL,
    role text NOT NULL,
    scope text,                      -- the requester's root; NULL: everywhere
    pages integer NOT NULL CHECK (pages > 0),
    done integer NOT NULL DEFAULT 0 CHECK (done >= 0),
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'running', 'ready', 'failed')),
    error text,
    pdf bytea,
    job_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    CHECK ((status = 'ready') = (pdf IS NOT NULL))
);
CREATE INDEX notice_prints_grid ON notice_prints (grid_code, id DESC);
