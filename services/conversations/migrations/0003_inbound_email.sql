-- Every email the inbound webhook accepted past its secret: placed in a conversation
-- (accepted) or not (failed, with the reason). The raw message is always in the blob
-- store, so nothing a client wrote is lost even when it could not be placed.
CREATE TABLE conversations.inbound_items (
  id                   uuid PRIMARY KEY,
  -- The email's Message-ID, or a hash of the raw bytes when it has none: a provider's
  -- retry of the same email finds its earlier row.
  dedup_key            text NOT NULL UNIQUE,
  state                text NOT NULL CHECK (state IN ('accepted', 'failed')),
  reason               text NOT NULL DEFAULT '',
  error_code           integer NOT NULL DEFAULT 0, -- canonical code the webhook answered
  error_field          text NOT NULL DEFAULT '',
  clinic_id            uuid,          -- NULL: no conversation could be told from the email
  conversation_id      uuid REFERENCES conversations.conversations(id),
  message_id           uuid REFERENCES conversations.messages(id),
  email_message_id     text NOT NULL DEFAULT '',
  from_address         text NOT NULL DEFAULT '',
  recipient            text NOT NULL DEFAULT '',
  subject              text NOT NULL DEFAULT '',
  size_bytes           bigint NOT NULL,
  raw_blob_key         text NOT NULL,
  rejected_attachments jsonb NOT NULL DEFAULT '[]',
  receive_time         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX inbound_items_failed ON conversations.inbound_items (clinic_id, receive_time DESC, id DESC)
  WHERE state = 'failed';
