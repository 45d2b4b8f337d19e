-- A session opened by a signed portal link (PortalLinkLogin) for a client who has no
-- portal account yet: scoped to that client alone. Exactly one of staff user, portal
-- account and client owns a session.
ALTER TABLE identity.sessions ADD COLUMN client_id uuid;
ALTER TABLE identity.sessions DROP CONSTRAINT sessions_check;
ALTER TABLE identity.sessions ADD CONSTRAINT sessions_owner
  CHECK (num_nonnulls(staff_user_id, portal_account_id, client_id) = 1);
