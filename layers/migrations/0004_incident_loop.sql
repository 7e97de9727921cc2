-- The incident loop (issue 6): where an incident was routed, and what each event
-- carried beyond its note (target, escalation levels, outcome, satisfaction,
-- a linked duplicate report).
ALTER TABLE incidents
    ADD COLUMN department text CHECK (department IS NULL OR btrim(department) <> '');
ALTER TABLE incident_events ADD COLUMN details jsonb;

-- 跟踪督办: the overdue list is open incidents by deadline.
CREATE INDEX incidents_open_deadline_idx ON incidents (deadline) WHERE closed_at IS NULL;
-- duplicates: open incidents of one category near a point, recent first
CREATE INDEX incidents_open_category_idx ON incidents (category, created_at)
    WHERE closed_at IS NULL;
