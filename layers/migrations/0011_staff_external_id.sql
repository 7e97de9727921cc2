-- Issue 5: grid staff come in by import too; a re-import of a roster updates the
-- people it names (upsert by the roster's own id, 编号) instead of adding them again.
-- NULL for the staff entered otherwise (UNIQUE lets NULLs repeat).
ALTER TABLE grid_staff ADD COLUMN external_id text UNIQUE;
