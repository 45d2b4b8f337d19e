-- Video calls, who was in them, their WHIP/WHEP sessions and their recordings.
-- Every call row carries clinic_id; staff queries filter by it. Recordings are never
-- deleted: their track files and composed file stay where the blob store put them.
CREATE TABLE media.calls (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id        uuid NOT NULL,
  host_id          uuid NOT NULL,
  client_id        text,
  conversation_id  text,
  scheduled_start  timestamptz,
  state            text NOT NULL CHECK (state IN ('scheduled', 'waiting', 'live', 'ended')),
  create_time      timestamptz NOT NULL DEFAULT now(),
  start_time       timestamptz,
  end_time         timestamptz
);
CREATE INDEX calls_by_clinic ON media.calls (clinic_id, create_time DESC, id);

CREATE TABLE media.participants (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_id          uuid NOT NULL REFERENCES media.calls(id),
  display_name     text NOT NULL,
  role             text NOT NULL CHECK (role IN ('host', 'client', 'guest')),
  state            text NOT NULL CHECK (state IN ('waiting', 'admitted', 'removed', 'left')),
  invitation_hash  text,            -- the invitation used; a removed one cannot be reused
  muted            boolean NOT NULL DEFAULT false,
  camera_off       boolean NOT NULL DEFAULT false,
  join_time        timestamptz NOT NULL DEFAULT now(),
  leave_time       timestamptz
);
CREATE INDEX participants_by_call ON media.participants (call_id, join_time);

-- A WHIP publication (camera, screen) or a WHEP subscription to one.
CREATE TABLE media.sessions (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_id          uuid NOT NULL REFERENCES media.calls(id),
  participant_id   uuid NOT NULL REFERENCES media.participants(id),
  kind             text NOT NULL CHECK (kind IN ('camera', 'screen', 'subscription')),
  publication_id   uuid REFERENCES media.sessions(id),
  create_time      timestamptz NOT NULL DEFAULT now(),
  end_time         timestamptz
);
CREATE INDEX live_sessions ON media.sessions (call_id) WHERE end_time IS NULL;

CREATE TABLE media.recordings (
  id               uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  call_id          uuid NOT NULL REFERENCES media.calls(id),
  clinic_id        uuid NOT NULL,
  start_time       timestamptz NOT NULL DEFAULT now(),
  stop_time        timestamptz,
  state            text NOT NULL CHECK (state IN ('recording', 'pending', 'composing', 'ready', 'failed')),
  progress         double precision NOT NULL DEFAULT 0,
  error            text NOT NULL DEFAULT '',
  duration_seconds double precision NOT NULL DEFAULT 0,
  interrupted      boolean NOT NULL DEFAULT false,
  blob_key         text,
  update_time      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX recordings_by_call ON media.recordings (call_id);
CREATE INDEX recordings_to_compose ON media.recordings (stop_time) WHERE state = 'pending';

-- One file per publication per recording, as written live.
CREATE TABLE media.recording_tracks (
  recording_id     uuid NOT NULL REFERENCES media.recordings(id),
  publication_id   uuid NOT NULL REFERENCES media.sessions(id),
  path             text NOT NULL,
  start_time       timestamptz NOT NULL,
  PRIMARY KEY (recording_id, path)
);
