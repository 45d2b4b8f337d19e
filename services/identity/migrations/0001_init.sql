-- Identity: clinics, staff, teams, client portal accounts, sessions.
-- Every row belongs to exactly one clinic; every query filters by clinic_id.

CREATE TABLE identity.clinics (
  id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  time_zone   text NOT NULL,
  phone       text NOT NULL CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
  pims_kind   text NOT NULL CHECK (pims_kind IN ('none', 'cornerstone', 'avimark')),
  created_at  timestamptz NOT NULL DEFAULT now()
);

-- Staff sign in with email alone, so a staff email is unique across clinics.
CREATE TABLE identity.staff_users (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id      uuid NOT NULL REFERENCES identity.clinics(id),
  email          text NOT NULL UNIQUE CHECK (email = lower(email)),
  name           text NOT NULL,
  role           text NOT NULL CHECK (role IN ('admin', 'provider', 'staff')),
  password_hash  text NOT NULL,
  active         boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX staff_users_clinic_email ON identity.staff_users (clinic_id, email);

CREATE TABLE identity.teams (
  id         uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id  uuid NOT NULL REFERENCES identity.clinics(id),
  name       text NOT NULL,
  UNIQUE (clinic_id, name)
);

CREATE TABLE identity.team_members (
  team_id  uuid NOT NULL REFERENCES identity.teams(id) ON DELETE CASCADE,
  user_id  uuid NOT NULL REFERENCES identity.staff_users(id),
  PRIMARY KEY (team_id, user_id)
);

-- A portal account without a client_id is a prospect: staff link it to a client record.
CREATE TABLE identity.portal_accounts (
  id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  clinic_id      uuid NOT NULL REFERENCES identity.clinics(id),
  email          text NOT NULL CHECK (email = lower(email)),
  name           text NOT NULL,
  password_hash  text NOT NULL,
  client_id      uuid,
  created_at     timestamptz NOT NULL DEFAULT now(),
  UNIQUE (clinic_id, email)
);

-- Only a hash of each session token is stored.
CREATE TABLE identity.sessions (
  id                 uuid PRIMARY KEY DEFAULT gen_random_uuid(),
  token_hash         text NOT NULL UNIQUE,
  clinic_id          uuid NOT NULL REFERENCES identity.clinics(id),
  staff_user_id      uuid REFERENCES identity.staff_users(id),
  portal_account_id  uuid REFERENCES identity.portal_accounts(id),
  created_at         timestamptz NOT NULL DEFAULT now(),
  expires_at         timestamptz NOT NULL,
  revoked_at         timestamptz,
  CHECK ((staff_user_id IS NULL) <> (portal_account_id IS NULL))
);
CREATE INDEX sessions_staff_user ON identity.sessions (staff_user_id) WHERE revoked_at IS NULL;
CREATE INDEX sessions_portal_account ON identity.sessions (portal_account_id) WHERE revoked_at IS NULL;
