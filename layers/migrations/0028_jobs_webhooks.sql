-- Other systems (issue 17): inbound cases keep the sender's reference, outbound
-- webhooks and their outbox. The job queue's own tables (procrastinate_*) come
-- from procrastinate's schema, applied by layers/db.py after the migrations.

-- An inbound case's reference in the system that sent it (12345 hotline, 信访 …):
-- one incident per (system, reference), however often the delivery is retried.
-- external_sha256: the fingerprint of what was registered, so that a resend is
-- told from another case sent under the same reference (409).
ALTER TABLE incidents
    ADD COLUMN external_system text,
    ADD COLUMN external_ref text,
    ADD COLUMN external_sha256 text,
    ADD CONSTRAINT incidents_external_pair
        CHECK ((external_system IS NULL) = (external_ref IS NULL));
CREATE UNIQUE INDEX incidents_external_ref_idx ON incidents (external_system, external_ref)
    WHERE external_ref IS NOT NULL;

-- A receiver of incident events: its URL, the shared secret of the signature,
-- the events wanted and the jurisdiction covered (a grid's subtree; NULL the
-- whole deployment).
CREATE TABLE webhooks (
    id bigserial PRIMARY KEY,
    name text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    url text NOT NULL CHECK (url ~ '^https?://' AND char_length(url) <= 2000),
    secret text NOT NULL CHECK (char_length(secret) BETWEEN 16 AND 200),
    events text[] NOT NULL CHECK (cardinality(events) > 0),
    grid_code text,  -- no foreign key: a grid redrawn away leaves the hook visible
    active boolean NOT NULL DEFAULT true,
    created_by text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- The outbox: one row per (webhook, event), written in the transaction of the
-- change; the body is fixed then (the signature covers those bytes, every
-- attempt sends them again). job_id: the procrastinate job that sends it.
CREATE TABLE webhook_deliveries (
    id bigserial PRIMARY KEY,
    webhook_id bigint NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event text NOT NULL,
    incident_code text NOT NULL,
    grid_code text,
    body text NOT NULL,
    status text NOT NULL DEFAULT 'pending'
        CHECK (status IN ('pending', 'retrying', 'delivered', 'failed')),
    attempts integer NOT NULL DEFAULT 0,
    last_status integer,
    last_error text,
    job_id bigint,
    created_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz,
    delivered_at timestamptz
);
CREATE INDEX webhook_deliveries_webhook_idx ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_job_idx ON webhook_deliveries (job_id);
CREATE INDEX webhook_deliveries_open_idx ON webhook_deliveries (status)
    WHERE status <> 'delivered';
