-- The schedule's entities (appointment types, providers, rooms, block-offs,
-- appointments): their counts per run, one row per run and entity (clients and pets
-- keep their columns on runs).
CREATE TABLE pims_sync.run_counts (
  run_id     uuid NOT NULL REFERENCES pims_sync.runs(id),
  entity     text NOT NULL,
  inserted   bigint NOT NULL DEFAULT 0,
  updated    bigint NOT NULL DEFAULT 0,
  unchanged  bigint NOT NULL DEFAULT 0,
  failed     bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (run_id, entity)
);

-- Why a run skipped an entity (its connector does not serve it); NULL: not skipped.
-- Checkpoint rows are now made by the first save of each entity.
ALTER TABLE pims_sync.checkpoints ADD COLUMN skipped text;
