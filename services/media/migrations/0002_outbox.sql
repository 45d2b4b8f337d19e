-- Events for other services (the conversations service adds "call.ended" records to the
-- conversation), written in the transaction of the change; see libs/outbox.
CREATE TABLE media.outbox (
  id            bigserial PRIMARY KEY,
  topic         text NOT NULL,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX outbox_unpublished ON media.outbox (id) WHERE published_at IS NULL;
