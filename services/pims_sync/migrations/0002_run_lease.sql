-- A run's lease: renewed by the process doing the run while it is alive. A `running`
-- run whose lease has expired was killed (or lost its database) and is reported as
-- `interrupted`; the next run of the clinic marks it so and resumes it.
ALTER TABLE pims_sync.runs DROP CONSTRAINT runs_state_check;
ALTER TABLE pims_sync.runs ADD CONSTRAINT runs_state_check
  CHECK (state IN ('running', 'succeeded', 'failed', 'interrupted'));
-- Runs left `running` by a version without leases count as interrupted at once.
ALTER TABLE pims_sync.runs ADD COLUMN lease_until timestamptz NOT NULL DEFAULT now();

-- Where an incremental run continues: the cursor after its last stored batch.
ALTER TABLE pims_sync.checkpoints ADD COLUMN cursor text;
