-- Conversations other services ask for (booking's `conversation.requested` feed records:
-- a direct booking, a request form). One row per requestId, written in the consumer's
-- transaction, so a replayed record posts nothing twice.
CREATE TABLE conversations.requested (
  clinic_id        uuid NOT NULL,
  request_id       text NOT NULL,
  conversation_id  uuid NOT NULL REFERENCES conversations.conversations(id),
  create_time      timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (clinic_id, request_id)
);
