-- Website-widget request forms and the staff appointments view (S7, issue 10).

-- Columns of the appointments view; empty filter arrays match everything. position orders
-- them left to right (gaps allowed; reordering rewrites them all).
CREATE TABLE booking.view_columns (
  id                    uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id             uuid NOT NULL,
  name                  text NOT NULL,
  position              integer NOT NULL,
  appointment_type_ids  uuid[] NOT NULL DEFAULT '{}',
  provider_ids          uuid[] NOT NULL DEFAULT '{}',
  room_ids              uuid[] NOT NULL DEFAULT '{}',
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX view_columns_clinic ON booking.view_columns (clinic_id, position);

-- questions: [{id, label, kind, required, options}] as the service checked them. A deleted
-- form (deleted_at) leaves the widget and the lists; its requests keep pointing at it.
CREATE TABLE booking.request_forms (
  id                          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id                   uuid NOT NULL,
  name                        text NOT NULL,
  description                 text NOT NULL DEFAULT '',
  active                      boolean NOT NULL DEFAULT false,
  questions                   jsonb NOT NULL DEFAULT '[]',
  existing_clients_only       boolean NOT NULL DEFAULT false,
  visited_within_months       integer NOT NULL DEFAULT 0 CHECK (visited_within_months BETWEEN 0 AND 120),
  requires_camera_microphone  boolean NOT NULL DEFAULT false,
  deleted_at                  timestamptz,
  created_at                  timestamptz NOT NULL DEFAULT now(),
  updated_at                  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, id)
);
CREATE INDEX request_forms_clinic ON booking.request_forms (clinic_id, name) WHERE deleted_at IS NULL;

-- What a visitor submitted: answers [{questionId, label, value}] with the label as asked.
-- contact_verified: the contact was proved (visitor token or portal sign-in).
CREATE TABLE booking.form_requests (
  id                uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id         uuid NOT NULL,
  form_id           uuid NOT NULL,
  client_id         uuid,
  pet_id            uuid,
  contact           text NOT NULL DEFAULT '',
  contact_name      text NOT NULL DEFAULT '',
  contact_verified  boolean NOT NULL DEFAULT false,
  answers           jsonb NOT NULL,
  status            text NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'handled')),
  handled_by        text,
  created_at        timestamptz NOT NULL DEFAULT now(),
  updated_at        timestamptz NOT NULL DEFAULT now(),
  FOREIGN KEY (clinic_id, form_id) REFERENCES booking.request_forms (clinic_id, id)
);
CREATE INDEX form_requests_newest ON booking.form_requests (clinic_id, form_id, created_at DESC, id DESC);
