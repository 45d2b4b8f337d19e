-- Fuzzy name matching over each clinic's distinct names instead of over every row
-- (measured with tools/bench search on 100k clients and 150k pets):
-- * A trigram GIN scan cannot stop early: it merges the posting list of every trigram
--   of the query, and the common ones ("  m", "ell") hold a quarter of the rows. A
--   two-word name cost 5-8 ms in the index alone, before rechecking each candidate.
-- * Names repeat (a pet name is shared by thousands of pets, a surname by hundreds of
--   clients), so the distinct names are a small list: ranking them by trigram distance
--   is cheap, and the rows of the nearest names come from the btree name indexes, a
--   page at a time. This is pg_trgm's documented "table of distinct words" technique.
-- * The lists only grow (a renamed or deleted name stays and simply matches no row);
--   they are kept by statement triggers, one INSERT per write statement.
-- * The trigram GIN indexes on the rows go: nothing reads them now, and every write
--   paid for them. Without them the generic plan read a pet name's rows through a
--   bitmap of every match (~3,800 for "bella"); with client_id in the name index an
--   index-only scan stops after a page.
CREATE TABLE clients.client_names (
  clinic_id   uuid NOT NULL,
  search_name text NOT NULL,
  PRIMARY KEY (clinic_id, search_name)
);
CREATE INDEX client_names_trgm ON clients.client_names USING gin (search_name gin_trgm_ops);
CREATE TABLE clients.pet_names (
  clinic_id   uuid NOT NULL,
  search_name text NOT NULL,
  PRIMARY KEY (clinic_id, search_name)
);
CREATE INDEX pet_names_trgm ON clients.pet_names USING gin (search_name gin_trgm_ops);

-- One function for both tables: the written rows' names join the table's list.
CREATE FUNCTION clients.remember_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_TABLE_NAME = 'clients' THEN
    INSERT INTO clients.client_names (clinic_id, search_name)
    SELECT DISTINCT clinic_id, search_name FROM written ON CONFLICT DO NOTHING;
  ELSE
    INSERT INTO clients.pet_names (clinic_id, search_name)
    SELECT DISTINCT clinic_id, search_name FROM written ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER client_names_on_insert AFTER INSERT ON clients.clients
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION clients.remember_names();
CREATE TRIGGER client_names_on_update AFTER UPDATE ON clients.clients
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION clients.remember_names();
CREATE TRIGGER pet_names_on_insert AFTER INSERT ON clients.pets
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION clients.remember_names();
CREATE TRIGGER pet_names_on_update AFTER UPDATE ON clients.pets
  REFERENCING NEW TABLE AS written FOR EACH STATEMENT EXECUTE FUNCTION clients.remember_names();

INSERT INTO clients.client_names SELECT DISTINCT clinic_id, search_name FROM clients.clients;
INSERT INTO clients.pet_names SELECT DISTINCT clinic_id, search_name FROM clients.pets;

DROP INDEX clients.clients_search_trgm;
DROP INDEX clients.pets_search_trgm;
DROP INDEX clients.pets_search_name;
CREATE INDEX pets_search_name ON clients.pets (clinic_id, search_name text_pattern_ops)
  INCLUDE (client_id);
