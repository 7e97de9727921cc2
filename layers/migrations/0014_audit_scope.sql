-- Audit rows say where (issue 13): the grid code of the data a row is about, so a
-- scoped admin reads only the rows of their jurisdiction, and, for reads of
-- personal data, how many records one request returned. Old rows keep NULL: the
-- table refuses updates (0001), and a NULL grid is visible to global admins only.
ALTER TABLE audit ADD COLUMN grid_code text, ADD COLUMN records integer;
CREATE INDEX audit_grid_idx ON audit (grid_code text_pattern_ops);
