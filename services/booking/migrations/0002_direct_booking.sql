-- Direct booking (S7): one-time codes, holds and the marks of an online booking.

-- A hold is an appointment row with status 'held' until hold_expires_at: the exclusion
-- constraints see it, so nobody else can take the slot, and an expired hold is deleted by
-- whoever books over it, in the same transaction (no worker, replica-safe). hold_owner is
-- the visitor who made it (the proved contact, or "client:<id>" for a portal client).
-- new_client: the client was created by this direct booking (PIMS write-back reads it).
ALTER TABLE booking.appointments DROP CONSTRAINT appointments_status_check;
ALTER TABLE booking.appointments ADD CONSTRAINT appointments_status_check CHECK (status IN
  ('held', 'scheduled', 'confirmed', 'checked_in', 'completed', 'cancelled', 'no_show'));
ALTER TABLE booking.appointments
  ADD COLUMN hold_expires_at timestamptz,
  ADD COLUMN hold_owner text,
  ADD COLUMN new_client boolean NOT NULL DEFAULT false,
  ADD CONSTRAINT appointments_hold_expiry CHECK ((status = 'held') = (hold_expires_at IS NOT NULL));

ALTER TABLE booking.appointments DROP CONSTRAINT appointments_provider_no_overlap;
ALTER TABLE booking.appointments DROP CONSTRAINT appointments_room_no_overlap;
ALTER TABLE booking.appointments ADD CONSTRAINT appointments_provider_no_overlap EXCLUDE USING gist
  (clinic_id WITH =, provider_id WITH =, during WITH &&)
  WHERE (blocks_slots AND status IN ('held', 'scheduled', 'confirmed', 'checked_in'))
  DEFERRABLE INITIALLY IMMEDIATE;
ALTER TABLE booking.appointments ADD CONSTRAINT appointments_room_no_overlap EXCLUDE USING gist
  (clinic_id WITH =, room_id WITH =, during WITH &&)
  WHERE (blocks_slots AND status IN ('held', 'scheduled', 'confirmed', 'checked_in'))
  DEFERRABLE INITIALLY IMMEDIATE;
DROP INDEX booking.appointments_during;
CREATE INDEX appointments_during ON booking.appointments USING gist (clinic_id, during)
  WHERE status IN ('held', 'scheduled', 'confirmed', 'checked_in');
-- Expired holds are deleted before availability is read: finding none is one probe.
CREATE INDEX appointments_holds ON booking.appointments (clinic_id, hold_expires_at) WHERE status = 'held';

-- One-time codes: only a keyed hash of the code is stored. A code is single use
-- (used_at), expires, and locks after a few wrong tries (attempts). The newest code of a
-- contact is the one that counts.
CREATE TABLE booking.direct_codes (
  id          bigserial PRIMARY KEY,
  clinic_id   uuid NOT NULL,
  contact     text NOT NULL,           -- E.164 or a lower-cased email address
  code_hash   text NOT NULL,
  expires_at  timestamptz NOT NULL,
  attempts    integer NOT NULL DEFAULT 0,
  used_at     timestamptz,
  created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX direct_codes_contact ON booking.direct_codes (clinic_id, contact, id DESC);
