-- Phone patrols: the day's line is extended batch after batch (layers/patrols.py).
-- last_at, the time of the track's latest point, tells whether a batch comes
-- after every point already stored (the line is then extended with the batch)
-- or falls among them (the line is rebuilt from the points in time order).
ALTER TABLE tracks ADD COLUMN last_at timestamptz;
UPDATE tracks t SET last_at = (SELECT max(at) FROM track_points p
                               WHERE p.track_id = t.id)
    WHERE t.patrol_id IS NOT NULL;
-- Lines are kept uncompressed: coordinates hardly compress, and compressing a
-- day's line again at every batch cost a quarter of the database's work per
-- batch (python -m bench field, CPU seconds of the backends).
ALTER TABLE tracks ALTER COLUMN geom SET STORAGE EXTERNAL;
