-- Where a running import has got to, for the page that sent it: the import
-- itself is one transaction, invisible until it commits, so its phases are
-- written here by a second connection as they start (a handful of rows per
-- import). UNLOGGED: a crash loses only the progress of imports that died too.
CREATE UNLOGGED TABLE import_progress (
    token text PRIMARY KEY CHECK (token ~ '^[A-Za-z0-9_-]{8,64}$'),
    user_id bigint NOT NULL,
    phase text NOT NULL,
    rows bigint,
    seconds double precision NOT NULL DEFAULT 0,
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX import_progress_updated_idx ON import_progress (updated_at);
