-- The clinic inbox: conversations, messages, attachments, files, deliveries, statuses,
-- templates, push subscriptions and the event log. Every row carries clinic_id and every
-- query filters by it. Conversations and messages are never deleted.

-- One row per clinic that has used conversations: its defaults and sending identities.
-- Created on first use (statuses "Open" and "Closed" are seeded in the same transaction).
CREATE TABLE conversations.clinics (
  clinic_id          uuid PRIMARY KEY,
  default_status_id  uuid,
  sms_from_number    text NOT NULL DEFAULT '',   -- E.164, the clinic's own texting number
  email_from_name    text NOT NULL DEFAULT '',
  email_from_address text NOT NULL DEFAULT '',
  create_time        timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX clinics_by_sms_number ON conversations.clinics (sms_from_number)
  WHERE sms_from_number <> '';

CREATE TABLE conversations.statuses (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id   uuid NOT NULL,
  name        text NOT NULL,
  color       text NOT NULL DEFAULT '#6b7280',
  position    integer NOT NULL DEFAULT 0,
  closed      boolean NOT NULL DEFAULT false,
  retired     boolean NOT NULL DEFAULT false,
  create_time timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX statuses_name ON conversations.statuses (clinic_id, lower(name));

CREATE TABLE conversations.conversations (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id          uuid NOT NULL,
  client_id          uuid,              -- NULL: unknown sender, not linked yet
  pet_id             uuid,
  status_id          uuid NOT NULL REFERENCES conversations.statuses(id),
  assignee_user_id   uuid,
  assignee_team_id   uuid,
  archived           boolean NOT NULL DEFAULT false,
  unknown_sender     boolean NOT NULL DEFAULT false,
  sender_address     text NOT NULL DEFAULT '',
  staff_unread       integer NOT NULL DEFAULT 0,
  client_unread      integer NOT NULL DEFAULT 0,
  staff_preview      text NOT NULL DEFAULT '',   -- latest message, notes included
  client_preview     text NOT NULL DEFAULT '',   -- latest message the client may see
  last_activity_time timestamptz NOT NULL DEFAULT now(),
  create_time        timestamptz NOT NULL DEFAULT now(),
  CHECK (assignee_user_id IS NULL OR assignee_team_id IS NULL)
);
-- The queue: newest activity first, keyset by (last_activity_time, id).
CREATE INDEX conversations_queue ON conversations.conversations
  (clinic_id, archived, last_activity_time DESC, id DESC);
CREATE INDEX conversations_by_client ON conversations.conversations
  (clinic_id, client_id, last_activity_time DESC, id DESC);

CREATE TABLE conversations.messages (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id       uuid NOT NULL,
  conversation_id uuid NOT NULL REFERENCES conversations.conversations(id),
  author          text NOT NULL CHECK (author IN ('staff', 'client', 'system')),
  author_id       text NOT NULL DEFAULT '',
  body            text NOT NULL DEFAULT '',
  internal_note   boolean NOT NULL DEFAULT false,
  received_via    text NOT NULL DEFAULT 'portal'
                  CHECK (received_via IN ('portal', 'text', 'email', 'push')),
  create_time     timestamptz NOT NULL DEFAULT clock_timestamp(),
  search          tsvector GENERATED ALWAYS AS (to_tsvector('simple', body)) STORED,
  CHECK (NOT internal_note OR author = 'staff')
);
CREATE INDEX messages_by_conversation ON conversations.messages
  (conversation_id, create_time DESC, id DESC);
CREATE INDEX messages_search ON conversations.messages USING gin (search);

-- Uploaded files; attached to a message when it is sent (message_id set then).
CREATE TABLE conversations.files (
  id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id       uuid NOT NULL,
  conversation_id uuid NOT NULL REFERENCES conversations.conversations(id),
  message_id      uuid REFERENCES conversations.messages(id),
  uploaded_by     text NOT NULL,          -- 'staff:<id>' or 'client:<id>'
  filename        text NOT NULL,
  content_type    text NOT NULL,
  category        text NOT NULL CHECK (category IN ('image', 'video', 'document')),
  size_bytes      bigint NOT NULL,
  blob_key        text NOT NULL,
  create_time     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX files_by_message ON conversations.files (message_id) WHERE message_id IS NOT NULL;

-- Typed attachments other than files (video-call invitation, call record, payment
-- request, form, survey): the proto Attachment's content as JSON.
CREATE TABLE conversations.attachments (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id   uuid NOT NULL,
  message_id  uuid NOT NULL REFERENCES conversations.messages(id),
  kind        text NOT NULL CHECK (kind IN ('video_call', 'call_record', 'payment_request', 'form', 'survey')),
  content     jsonb NOT NULL,
  ref_id      text NOT NULL DEFAULT '',   -- the call / payment request / form it is about
  create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX attachments_by_message ON conversations.attachments (message_id);
CREATE UNIQUE INDEX call_records_once ON conversations.attachments (clinic_id, ref_id)
  WHERE kind = 'call_record';

-- One row per message and channel: the delivery work queue (claimed FOR UPDATE SKIP
-- LOCKED) and its staff-visible status.
CREATE TABLE conversations.deliveries (
  id              bigserial PRIMARY KEY,
  clinic_id       uuid NOT NULL,
  message_id      uuid NOT NULL REFERENCES conversations.messages(id),
  channel         text NOT NULL CHECK (channel IN ('text', 'email', 'push')),
  destination     text NOT NULL,
  state           text NOT NULL CHECK (state IN ('queued', 'sent', 'delivered', 'failed', 'cancelled')),
  reason          text NOT NULL DEFAULT '',
  attempts        integer NOT NULL DEFAULT 0,
  next_attempt_at timestamptz NOT NULL DEFAULT now(),
  provider_id     text NOT NULL DEFAULT '',
  update_time     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (message_id, channel, destination)
);
CREATE INDEX deliveries_due ON conversations.deliveries (next_attempt_at) WHERE state = 'queued';
CREATE INDEX deliveries_by_provider_id ON conversations.deliveries (provider_id) WHERE provider_id <> '';

CREATE TABLE conversations.templates (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id   uuid NOT NULL,
  name        text NOT NULL,
  body        text NOT NULL,
  update_time timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX templates_name ON conversations.templates (clinic_id, lower(name));

CREATE TABLE conversations.push_subscriptions (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id   uuid NOT NULL,
  client_id   uuid NOT NULL,
  endpoint    text NOT NULL UNIQUE,
  p256dh      text NOT NULL,
  auth        text NOT NULL,
  create_time timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX push_by_client ON conversations.push_subscriptions (clinic_id, client_id);

-- The event log behind GET /v1/events. `seq` is per clinic and taken from event_heads
-- under that row's lock, so a clinic's events commit in seq order: a client resuming
-- after seq N (Last-Event-ID) can never miss an event that committed later with a lower
-- number. Payload: the serialized Event proto as staff see it.
CREATE TABLE conversations.event_heads (
  clinic_id uuid PRIMARY KEY,
  last_seq  bigint NOT NULL
);
CREATE TABLE conversations.events (
  clinic_id       uuid NOT NULL,
  seq             bigint NOT NULL,
  client_id       uuid,              -- whose conversation (clients see only theirs)
  staff_only      boolean NOT NULL,  -- internal notes, assignment: never sent to clients
  payload         bytea NOT NULL,
  create_time     timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (clinic_id, seq)
);
