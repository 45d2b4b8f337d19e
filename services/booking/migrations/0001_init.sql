-- The clinic's schedule (S7). Every row carries clinic_id; every query filters by it.
-- Instants are timestamptz (UTC); the clinic's IANA zone turns wall-clock hours into them.
-- No double booking, ever: the EXCLUDE constraints on appointments refuse two active
-- appointments of one provider, or of one room, whose time ranges overlap, whatever the
-- code above does. btree_gist lets them lead with the (uuid) clinic and resource ids.
CREATE EXTENSION IF NOT EXISTS btree_gist;

-- The PIMS's scheduling settings (a sync overwrites those it sets) and the clinic's own.
CREATE TABLE booking.settings (
  clinic_id                 uuid PRIMARY KEY,
  time_zone                 text NOT NULL,
  minimum_notice_minutes    integer NOT NULL DEFAULT 120 CHECK (minimum_notice_minutes >= 0),
  booking_horizon_days      integer NOT NULL DEFAULT 60 CHECK (booking_horizon_days BETWEEN 1 AND 730),
  slot_granularity_minutes  integer NOT NULL DEFAULT 15 CHECK (slot_granularity_minutes BETWEEN 1 AND 1440),
  buffer_before_minutes     integer NOT NULL DEFAULT 0 CHECK (buffer_before_minutes BETWEEN 0 AND 1440),
  buffer_after_minutes      integer NOT NULL DEFAULT 0 CHECK (buffer_after_minutes BETWEEN 0 AND 1440),
  allow_new_clients         boolean NOT NULL DEFAULT false,
  cancel_cutoff_minutes     integer NOT NULL DEFAULT 1440 CHECK (cancel_cutoff_minutes >= 0),
  updated_at                timestamptz NOT NULL DEFAULT now()
);

-- Name, duration and active come from the PIMS (pims_hash: digest of the last synced
-- record); the online flags are the clinic's choice and never touched by a sync.
-- provider_ids / room_ids: who may see it and which rooms it uses, in preference order
-- (empty: any provider; no room).
CREATE TABLE booking.appointment_types (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id           uuid NOT NULL,
  pims_id             text,
  pims_hash           text,
  name                text NOT NULL,
  duration_minutes    integer NOT NULL CHECK (duration_minutes BETWEEN 1 AND 1440),
  online_bookable     boolean NOT NULL DEFAULT false,
  telemedicine        boolean NOT NULL DEFAULT false,
  new_client_allowed  boolean NOT NULL DEFAULT false,
  provider_ids        uuid[] NOT NULL DEFAULT '{}',
  room_ids            uuid[] NOT NULL DEFAULT '{}',
  active              boolean NOT NULL DEFAULT true,
  pims_deleted        boolean NOT NULL DEFAULT false,
  created_at          timestamptz NOT NULL DEFAULT now(),
  updated_at          timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, pims_id),
  UNIQUE (clinic_id, id)
);

-- has_schedule: the provider works the hours in booking.hours, not all clinic hours.
CREATE TABLE booking.providers (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id     uuid NOT NULL,
  pims_id       text,
  pims_hash     text,
  name          text NOT NULL,
  active        boolean NOT NULL DEFAULT true,
  pims_deleted  boolean NOT NULL DEFAULT false,
  has_schedule  boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, pims_id),
  UNIQUE (clinic_id, id)
);

CREATE TABLE booking.rooms (
  id            uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id     uuid NOT NULL,
  pims_id       text,
  pims_hash     text,
  name          text NOT NULL,
  active        boolean NOT NULL DEFAULT true,
  pims_deleted  boolean NOT NULL DEFAULT false,
  created_at    timestamptz NOT NULL DEFAULT now(),
  updated_at    timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, pims_id),
  UNIQUE (clinic_id, id)
);

-- Opening hours (provider_id NULL) and provider schedules: a weekly pattern (ISO weekday,
-- 1 = Monday .. 7 = Sunday) plus dated exceptions (day) that replace that day's pattern; an exception
-- without minutes is a closed day. Minutes after local midnight, [open, close).
CREATE TABLE booking.hours (
  id            bigserial PRIMARY KEY,
  clinic_id     uuid NOT NULL,
  provider_id   uuid,
  weekday       smallint CHECK (weekday BETWEEN 1 AND 7),
  day           date,
  open_minute   integer,
  close_minute  integer,
  FOREIGN KEY (clinic_id, provider_id) REFERENCES booking.providers (clinic_id, id) ON DELETE CASCADE,
  CHECK ((weekday IS NULL) <> (day IS NULL)),
  CHECK ((open_minute IS NULL) = (close_minute IS NULL)),
  CHECK (day IS NOT NULL OR open_minute IS NOT NULL),
  CHECK (open_minute IS NULL OR (open_minute >= 0 AND open_minute < close_minute AND close_minute <= 1440))
);
CREATE INDEX hours_owner ON booking.hours (clinic_id, provider_id);

-- Time nobody can book: one provider's, one room's, or the whole clinic's (both NULL).
CREATE TABLE booking.block_offs (
  id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id    uuid NOT NULL,
  pims_id      text,
  pims_hash    text,
  provider_id  uuid,
  room_id      uuid,
  during       tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)),
  reason       text NOT NULL DEFAULT '',
  created_by   text,                      -- staff user id; NULL for the PIMS
  created_at   timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (clinic_id, provider_id) REFERENCES booking.providers (clinic_id, id),
  FOREIGN KEY (clinic_id, room_id) REFERENCES booking.rooms (clinic_id, id),
  UNIQUE (clinic_id, pims_id)
);
CREATE INDEX block_offs_during ON booking.block_offs USING gist (clinic_id, during);

-- client_id / pet_id are Vetline ids, NULL while the PIMS names a client or patient not
-- synced yet (client_pims_id / patient_pims_id keep what it said). during is [start, end).
-- blocks_slots: the row takes part in the no-double-booking constraints. Always true for
-- appointments made in Vetline; false only for a PIMS appointment that overlaps another
-- one the PIMS already has (the PIMS is the truth, so it is stored and reported).
-- version counts moves, for optimistic updates.
CREATE TABLE booking.appointments (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id        uuid NOT NULL,
  client_id        uuid,
  pet_id           uuid,
  client_pims_id   text,
  patient_pims_id  text,
  type_id          uuid,
  provider_id      uuid,
  room_id          uuid,
  during           tstzrange NOT NULL CHECK (NOT isempty(during) AND NOT lower_inf(during) AND NOT upper_inf(during)),
  status           text NOT NULL CHECK (status IN ('scheduled', 'confirmed', 'checked_in', 'completed',
                                                   'cancelled', 'no_show')),
  source           text NOT NULL CHECK (source IN ('pims', 'direct_booking', 'staff')),
  description      text NOT NULL DEFAULT '',
  pims_id          text,
  pims_hash        text,
  blocks_slots     boolean NOT NULL DEFAULT true,
  version          integer NOT NULL DEFAULT 1,
  created_by       text,                  -- staff user id for source = staff
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (clinic_id, type_id) REFERENCES booking.appointment_types (clinic_id, id),
  FOREIGN KEY (clinic_id, provider_id) REFERENCES booking.providers (clinic_id, id),
  FOREIGN KEY (clinic_id, room_id) REFERENCES booking.rooms (clinic_id, id),
  UNIQUE (clinic_id, pims_id),
  -- Deferrable so that one sync batch may swap two appointments' times; checked at once
  -- (initially immediate) everywhere else.
  CONSTRAINT appointments_provider_no_overlap EXCLUDE USING gist
    (clinic_id WITH =, provider_id WITH =, during WITH &&)
    WHERE (blocks_slots AND status IN ('scheduled', 'confirmed', 'checked_in'))
    DEFERRABLE INITIALLY IMMEDIATE,
  CONSTRAINT appointments_room_no_overlap EXCLUDE USING gist
    (clinic_id WITH =, room_id WITH =, during WITH &&)
    WHERE (blocks_slots AND status IN ('scheduled', 'confirmed', 'checked_in'))
    DEFERRABLE INITIALLY IMMEDIATE
);
-- A day's schedule and availability read every appointment of the clinic in a range.
CREATE INDEX appointments_during ON booking.appointments USING gist (clinic_id, during)
  WHERE status IN ('scheduled', 'confirmed', 'checked_in');
