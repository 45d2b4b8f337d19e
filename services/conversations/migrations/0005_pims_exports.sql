-- Conversations exported to the PIMS as client communication notes (pims_export.proto).
-- Each export remembers the last message it took, so the next takes only what is newer;
-- its id is the `exportId` of the conversation.exported record pims_sync writes from.
CREATE TABLE conversations.pims_exports (
  id                  uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id           uuid NOT NULL,
  conversation_id     uuid NOT NULL REFERENCES conversations.conversations(id),
  client_id           uuid NOT NULL,
  exported_by         text NOT NULL,
  message_count       integer NOT NULL CHECK (message_count > 0),
  first_message_time  timestamptz NOT NULL,
  last_message_time   timestamptz NOT NULL,
  last_message_id     uuid NOT NULL,
  note                text NOT NULL,
  more_to_export      boolean NOT NULL DEFAULT false,
  create_time         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX pims_exports_by_conversation ON conversations.pims_exports
  (clinic_id, conversation_id, create_time DESC);
