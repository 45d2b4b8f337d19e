-- Texting, both ways (issue 9): who texted STOP, and which inbound texts we already have.

-- A number that texted STOP to the clinic's number; removed by START. Delivery planning
-- plans no text to it and the delivery worker cancels any that is still queued, so STOP
-- is honoured before any further send even while the clients service catches up.
CREATE TABLE conversations.sms_opt_outs (
  clinic_id   uuid NOT NULL,
  phone       text NOT NULL,             -- E.164
  create_time timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (clinic_id, phone)
);

-- One row per inbound text by Twilio's MessageSid: Twilio retries a webhook that did not
-- answer in time, and the same text must make one message. MMS media URLs are kept as
-- Twilio sent them (they are also listed in the message's text for staff).
CREATE TABLE conversations.inbound_texts (
  message_sid text PRIMARY KEY,
  clinic_id   uuid NOT NULL,
  message_id  uuid NOT NULL REFERENCES conversations.messages(id),
  from_number text NOT NULL,
  media       jsonb NOT NULL DEFAULT '[]',  -- [{"url": ..., "contentType": ...}]
  create_time timestamptz NOT NULL DEFAULT now()
);
