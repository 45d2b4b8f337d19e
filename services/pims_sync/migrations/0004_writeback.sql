-- Write-back (S3): what Vetline writes to a clinic's PIMS through its connector, one row
-- per record: an appointment booked, moved or cancelled in Vetline (one row per
-- appointment: a later change makes it pending again and the worker writes the
-- appointment as it stands), the new client or pet it needed (parent_id: that
-- appointment's row), or a conversation exported as a client communication note.
-- The row's id is the idempotency key of the PIMS create call, so a retry, a replayed
-- feed record or two replicas never create a second PIMS record.
-- generation counts the events that made the row pending: a write finished for an older
-- generation leaves the row pending. claimed_until: a worker's lease on the row.
CREATE TABLE pims_sync.writebacks (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id        uuid NOT NULL,
  what             text NOT NULL CHECK (what IN ('appointment', 'client', 'pet', 'note')),
  vetline_id       text NOT NULL,
  action           text NOT NULL CHECK (action IN ('create', 'move', 'cancel')),
  state            text NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'written', 'failed')),
  attempts         integer NOT NULL DEFAULT 0,
  last_error       text,
  pims_id          text,
  new_client       boolean NOT NULL DEFAULT false,
  payload          jsonb,                    -- notes: what to write
  parent_id        uuid REFERENCES pims_sync.writebacks(id),
  generation       integer NOT NULL DEFAULT 1,
  next_attempt_at  timestamptz NOT NULL DEFAULT now(),
  claimed_until    timestamptz,
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, what, vetline_id)
);
CREATE INDEX writebacks_due ON pims_sync.writebacks (next_attempt_at)
  WHERE state = 'pending' AND what IN ('appointment', 'note');
CREATE INDEX writebacks_clinic ON pims_sync.writebacks (clinic_id, state, updated_at DESC);
