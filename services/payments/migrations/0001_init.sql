-- Payments (S9). Every row carries clinic_id; every query filters by it. Money is bigint
-- minor units beside its lower-case ISO 4217 currency, never a float.

-- Each clinic's own Stripe account. The secrets are sealed (libs/auth/sealed_secrets.h:
-- "<key id>:<box>") and only their last four characters are kept in the clear.
-- reconcile_due is the reconciliation lease: a replica claims a clinic by moving it on.
CREATE TABLE payments.accounts (
  clinic_id              uuid PRIMARY KEY,
  secret_key_sealed      text NOT NULL,
  webhook_secret_sealed  text NOT NULL,
  secret_key_last4       text NOT NULL,
  webhook_secret_last4   text NOT NULL,
  livemode               boolean NOT NULL,
  working                boolean NOT NULL,
  verify_time            timestamptz NOT NULL DEFAULT now(),
  connected_by           uuid,
  reconcile_due          timestamptz NOT NULL DEFAULT now(),
  events_checked_until   bigint NOT NULL DEFAULT 0,   -- unix seconds of Stripe's `created`
  update_time            timestamptz NOT NULL DEFAULT now()
);

-- A payment request. It is stored as 'creating' before Stripe is asked, so its id (the
-- root of the Checkout Session's Idempotency-Key) is fixed before any retry; reconciliation
-- finishes one a crash left there.
CREATE TABLE payments.requests (
  id                 uuid PRIMARY KEY,
  clinic_id          uuid NOT NULL,
  client_request_id  text NOT NULL,
  kind               text NOT NULL CHECK (kind IN ('deposit', 'invoice', 'consultation')),
  client_id          uuid NOT NULL,
  appointment_id     uuid,
  currency           text NOT NULL CHECK (currency ~ '^[a-z]{3}$'),
  description        text NOT NULL DEFAULT '',
  subtotal           bigint NOT NULL CHECK (subtotal > 0),
  deposits_applied   bigint NOT NULL DEFAULT 0 CHECK (deposits_applied >= 0),
  amount             bigint NOT NULL CHECK (amount >= 0 AND amount = subtotal - deposits_applied),
  status             text NOT NULL CHECK (status IN ('creating', 'requested', 'paid', 'expired',
                                                     'cancelled', 'refunded', 'partly_refunded')),
  session_id         text UNIQUE,
  pay_url            text NOT NULL DEFAULT '',
  payment_intent_id  text UNIQUE,
  paid_amount        bigint NOT NULL DEFAULT 0 CHECK (paid_amount >= 0),
  refunded_amount    bigint NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= paid_amount),
  fingerprint        text NOT NULL,          -- what the caller asked, to refuse a reused clientRequestId
  created_by         uuid,
  create_time        timestamptz NOT NULL DEFAULT now(),
  update_time        timestamptz NOT NULL DEFAULT now(),
  paid_time          timestamptz,
  UNIQUE (clinic_id, client_request_id)
);
CREATE INDEX requests_by_clinic ON payments.requests (clinic_id, create_time DESC, id DESC);
CREATE INDEX requests_by_client ON payments.requests (clinic_id, client_id, create_time DESC, id DESC);
CREATE INDEX requests_creating ON payments.requests (clinic_id, create_time) WHERE status = 'creating';

CREATE TABLE payments.request_lines (
  request_id   uuid NOT NULL REFERENCES payments.requests(id),
  position     integer NOT NULL,
  description  text NOT NULL,
  unit_amount  bigint NOT NULL CHECK (unit_amount >= 0),
  quantity     integer NOT NULL CHECK (quantity >= 1),
  PRIMARY KEY (request_id, position)
);

-- A paid deposit applied to an invoice. The primary key is the deposit: a deposit is
-- applied once, ever, whatever the code above does.
CREATE TABLE payments.deposit_applications (
  deposit_id   uuid PRIMARY KEY REFERENCES payments.requests(id),
  invoice_id   uuid NOT NULL REFERENCES payments.requests(id),
  clinic_id    uuid NOT NULL,
  amount       bigint NOT NULL CHECK (amount > 0),
  create_time  timestamptz NOT NULL DEFAULT now(),
  CHECK (deposit_id <> invoice_id)
);
CREATE INDEX deposit_applications_by_invoice ON payments.deposit_applications (invoice_id);

-- The ledger: every movement of money one row, charges positive and refunds negative,
-- keyed by Stripe's object (the PaymentIntent of a charge, the Refund of a refund), so a
-- replayed or re-read event can never count twice.
CREATE TABLE payments.ledger (
  id                bigserial PRIMARY KEY,
  clinic_id         uuid NOT NULL,
  request_id        uuid NOT NULL REFERENCES payments.requests(id),
  entry             text NOT NULL CHECK (entry IN ('charge', 'refund')),
  stripe_object_id  text NOT NULL,
  amount            bigint NOT NULL CHECK ((entry = 'charge' AND amount > 0) OR (entry = 'refund' AND amount < 0)),
  currency          text NOT NULL,
  create_time       timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, entry, stripe_object_id)
);
CREATE INDEX ledger_by_request ON payments.ledger (request_id);
CREATE INDEX ledger_by_clinic ON payments.ledger (clinic_id, create_time);

-- Stripe events already applied (webhook or reconciliation), by Stripe's event id.
CREATE TABLE payments.events (
  clinic_id     uuid NOT NULL,
  event_id      text NOT NULL,
  type          text NOT NULL,
  created       bigint NOT NULL,
  receive_time  timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (clinic_id, event_id)
);

-- Refunds asked for through Vetline, by the caller's clientRequestId: a retry answers the
-- refund Stripe made the first time (its Idempotency-Key comes from this row's id).
CREATE TABLE payments.refund_requests (
  id                 uuid PRIMARY KEY,
  clinic_id          uuid NOT NULL,
  client_request_id  text NOT NULL,
  request_id         uuid NOT NULL REFERENCES payments.requests(id),
  amount             bigint NOT NULL CHECK (amount >= 0),   -- as asked (0: what was left)
  refund_id          text,                                  -- Stripe's, once it answered
  create_time        timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, client_request_id)
);
