-- PIMS sync: per-clinic connector settings, run reports, checkpoints, record errors.
CREATE TABLE pims_sync.connectors (
  clinic_id   uuid PRIMARY KEY,
  kind        text NOT NULL CHECK (kind IN ('cornerstone', 'avimark', 'none')),
  address     text NOT NULL DEFAULT '',
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE pims_sync.runs (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id          uuid NOT NULL,
  mode               text NOT NULL CHECK (mode IN ('full', 'incremental')),
  state              text NOT NULL CHECK (state IN ('running', 'succeeded', 'failed')),
  attempts           int NOT NULL DEFAULT 1,
  started_at         timestamptz NOT NULL DEFAULT now(),
  finished_at        timestamptz,
  cursor_at_start    text NOT NULL DEFAULT '',
  clients_inserted   bigint NOT NULL DEFAULT 0,
  clients_updated    bigint NOT NULL DEFAULT 0,
  clients_unchanged  bigint NOT NULL DEFAULT 0,
  clients_failed     bigint NOT NULL DEFAULT 0,
  pets_inserted      bigint NOT NULL DEFAULT 0,
  pets_updated       bigint NOT NULL DEFAULT 0,
  pets_unchanged     bigint NOT NULL DEFAULT 0,
  pets_failed        bigint NOT NULL DEFAULT 0,
  active_seconds     double precision NOT NULL DEFAULT 0,
  error              text NOT NULL DEFAULT ''
);
CREATE INDEX runs_clinic ON pims_sync.runs (clinic_id, started_at DESC);

-- Written in the same transaction as the counts, after the clients service stored the
-- batch: a killed run resumes from here and re-sends at most one batch (idempotent).
CREATE TABLE pims_sync.checkpoints (
  run_id    uuid NOT NULL REFERENCES pims_sync.runs(id),
  entity    text NOT NULL,
  position  bigint NOT NULL DEFAULT 0,
  done      boolean NOT NULL DEFAULT false,
  PRIMARY KEY (run_id, entity)
);

CREATE TABLE pims_sync.run_errors (
  id       bigserial PRIMARY KEY,
  run_id   uuid NOT NULL REFERENCES pims_sync.runs(id),
  entity   text NOT NULL,
  pims_id  text NOT NULL,
  field    text NOT NULL,
  message  text NOT NULL
);
CREATE INDEX run_errors_run ON pims_sync.run_errors (run_id, id);

-- Where the next incremental sync of a clinic starts.
CREATE TABLE pims_sync.cursors (
  clinic_id        uuid PRIMARY KEY,
  cursor           text NOT NULL,
  last_success_at  timestamptz NOT NULL
);
