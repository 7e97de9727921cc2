-- The local gazetteer (issue 6): the dispatcher finds a place by a fragment of a
-- grid, village or camera name, a household address or (with the right) a head of
-- household's name, without an online geocoder. Trigram indexes let
-- `ILIKE '%fragment%'` use an index on the city's 1.1 M households; pg_trgm ships
-- with PostgreSQL's contrib and splits Chinese text into trigrams under C.UTF-8.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE INDEX households_address_trgm ON households USING gin (address gin_trgm_ops);
CREATE INDEX households_head_name_trgm ON households USING gin (head_name gin_trgm_ops);
CREATE INDEX grids_name_trgm ON grids USING gin (name gin_trgm_ops);
CREATE INDEX cameras_name_trgm ON cameras USING gin (name gin_trgm_ops);
