-- locate sizes its camera search box by the largest range of any camera:
-- max(range_m) read from this index costs microseconds.
CREATE INDEX cameras_range_idx ON cameras (range_m);
