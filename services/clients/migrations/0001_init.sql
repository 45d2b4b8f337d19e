-- Client profiles. Every row carries clinic_id; every query filters by it.
-- pg_trgm gives index-backed fuzzy search. Names use GiST indexes, whose distance
-- ordering returns the best k matches without ranking every match (a common surname
-- matches thousands); phone digits use GIN for substring matches. btree_gist/btree_gin
-- let each index lead with the clinic id, so one clinic's search never reads another's.
CREATE EXTENSION IF NOT EXISTS pg_trgm;
CREATE EXTENSION IF NOT EXISTS btree_gin;
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE clients.clients (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id           uuid NOT NULL,
  first_name          text NOT NULL,
  last_name           text NOT NULL,
  pims_id             text,                       -- NULL when created in Vetline
  pims_hash           text,                       -- digest of the last synced PIMS record
  email_enabled       boolean NOT NULL DEFAULT true,
  text_enabled        boolean NOT NULL DEFAULT true,
  push_status         text NOT NULL DEFAULT 'not_installed'
                      CHECK (push_status IN ('not_installed', 'enabled', 'disabled')),
  nps_survey_enabled  boolean NOT NULL DEFAULT true,
  last_visit_date     date,
  portal_status       text NOT NULL DEFAULT 'no_account'
                      CHECK (portal_status IN ('no_account', 'invited', 'active')),
  pims_active         boolean NOT NULL DEFAULT true,
  pims_deleted        boolean NOT NULL DEFAULT false,
  merged_into         uuid REFERENCES clients.clients(id),
  search_name         text GENERATED ALWAYS AS (lower(first_name || ' ' || last_name)) STORED,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT clients_pims_id_unique UNIQUE (clinic_id, pims_id),
  CONSTRAINT clients_not_merged_into_self CHECK (merged_into IS DISTINCT FROM id)
);
CREATE INDEX clients_search_name ON clients.clients USING gist (clinic_id, search_name gist_trgm_ops);
CREATE INDEX clients_last_name ON clients.clients (clinic_id, lower(last_name) text_pattern_ops);

CREATE TABLE clients.phones (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id        uuid NOT NULL,
  client_id        uuid NOT NULL REFERENCES clients.clients(id),
  number           text NOT NULL CHECK (number ~ '^\+[1-9][0-9]{6,14}$'),
  digits           text GENERATED ALWAYS AS (substr(number, 2)) STORED,
  type             text NOT NULL DEFAULT 'other'
                   CHECK (type IN ('mobile', 'home', 'work', 'other')),
  texting_capable  boolean NOT NULL DEFAULT false,
  is_primary       boolean NOT NULL DEFAULT false,
  primary_set_by   text,                      -- 'pims' or a staff user id
  source           text NOT NULL CHECK (source IN ('pims', 'vetline')),
  created_at       timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT phones_number_unique UNIQUE (client_id, number)
);
-- Exactly one primary number per client is a database guarantee, not a convention.
CREATE UNIQUE INDEX phones_one_primary ON clients.phones (client_id) WHERE is_primary;
CREATE INDEX phones_digits ON clients.phones USING gin (clinic_id, digits gin_trgm_ops);

CREATE TABLE clients.emails (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id   uuid NOT NULL,
  client_id   uuid NOT NULL REFERENCES clients.clients(id),
  address     text NOT NULL CHECK (address = lower(address)),
  is_primary  boolean NOT NULL DEFAULT false,
  source      text NOT NULL CHECK (source IN ('pims', 'vetline')),
  created_at  timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT emails_address_unique UNIQUE (client_id, address)
);
CREATE UNIQUE INDEX emails_one_primary ON clients.emails (client_id) WHERE is_primary;
CREATE INDEX emails_address ON clients.emails (clinic_id, address);

CREATE TABLE clients.pets (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id     uuid NOT NULL,
  client_id     uuid NOT NULL REFERENCES clients.clients(id),
  name          text NOT NULL,
  species       text NOT NULL DEFAULT '',
  breed         text NOT NULL DEFAULT '',
  sex           text NOT NULL DEFAULT '',
  birth_date    date,
  pims_id       text,
  pims_hash     text,
  deceased      boolean NOT NULL DEFAULT false,
  active        boolean NOT NULL DEFAULT true,
  pims_deleted  boolean NOT NULL DEFAULT false,
  search_name   text GENERATED ALWAYS AS (lower(name)) STORED,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT pets_pims_id_unique UNIQUE (clinic_id, pims_id)
);
CREATE INDEX pets_client ON clients.pets (client_id);
CREATE INDEX pets_search_name ON clients.pets USING gist (clinic_id, search_name gist_trgm_ops);
