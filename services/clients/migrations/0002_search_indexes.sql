-- Search indexes for names that repeat a lot (measured with tools/bench search on 100k
-- clients and 150k pets drawn from 40 pet names and 60 surnames):
-- * The GiST trigram indexes of 0001 could not prune: with many rows per name every
--   inner page's signature covers nearly every trigram, so a name that matches nothing
--   (a pet's name looked up among clients) walked the whole index (~30 ms).
-- * Exact and prefix matches, the best ranked, now come from btree indexes and stop
--   after a page of results; only what is left is ranked by trigram distance, from GIN
--   indexes, which rule out non-matches cheaply. GIN on the name alone: a clinic_id key
--   in a GIN index holds every row of the clinic and costs more to read than it saves.
DROP INDEX clients.clients_search_name;
DROP INDEX clients.pets_search_name;
CREATE INDEX clients_search_name ON clients.clients (clinic_id, search_name text_pattern_ops);
CREATE INDEX clients_first_name ON clients.clients (clinic_id, lower(first_name) text_pattern_ops);
CREATE INDEX clients_search_trgm ON clients.clients USING gin (search_name gin_trgm_ops);
CREATE INDEX pets_search_name ON clients.pets (clinic_id, search_name text_pattern_ops);
CREATE INDEX pets_search_trgm ON clients.pets USING gin (search_name gin_trgm_ops);
-- Phone digits: the same GIN lesson, and the planner's generic plan uses it too.
DROP INDEX clients.phones_digits;
CREATE INDEX phones_digits ON clients.phones USING gin (digits gin_trgm_ops);
