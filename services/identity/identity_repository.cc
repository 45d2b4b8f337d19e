#include "services/identity/identity_repository.h"

#include "libs/core/time.h"

#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"

namespace vetline::identity {
namespace {

// Staff columns with the user's teams folded into one comma-separated column.
#define STAFF_COLUMNS                                                                   \
  "s.id, s.clinic_id, s.email, s.name, s.role, s.password_hash, s.active, s.created_at, " \
  "coalesce((SELECT string_agg(tm.team_id::text, ',' ORDER BY tm.team_id) "              \
  "FROM identity.team_members tm WHERE tm.user_id = s.id), '') AS team_ids "

constexpr pg::Statement kInsertClinic{
    "identity_insert_clinic",
    "INSERT INTO identity.clinics (name, time_zone, phone, pims_kind) VALUES ($1, $2, $3, $4) "
    "RETURNING id, name, time_zone, phone, pims_kind, created_at"};
constexpr pg::Statement kGetClinic{
    "identity_get_clinic",
    "SELECT id, name, time_zone, phone, pims_kind, created_at FROM identity.clinics "
    "WHERE id = $1"};
constexpr pg::Statement kInsertStaff{
    "identity_insert_staff",
    "INSERT INTO identity.staff_users (clinic_id, email, name, role, password_hash) "
    "VALUES ($1, $2, $3, $4, $5) RETURNING id"};
constexpr pg::Statement kStaffByEmail{
    "identity_staff_by_email",
    "SELECT " STAFF_COLUMNS "FROM identity.staff_users s WHERE s.email = $1"};
constexpr pg::Statement kStaffById{
    "identity_staff_by_id",
    "SELECT " STAFF_COLUMNS "FROM identity.staff_users s WHERE s.clinic_id = $1 AND s.id = $2"};
constexpr pg::Statement kListStaff{
    "identity_list_staff",
    "SELECT " STAFF_COLUMNS "FROM identity.staff_users s "
    "WHERE s.clinic_id = $1 AND s.email > $2 ORDER BY s.email LIMIT $3"};
constexpr pg::Statement kUpdateStaff{
    "identity_update_staff",
    "UPDATE identity.staff_users SET name = coalesce($3, name), role = coalesce($4, role) "
    "WHERE clinic_id = $1 AND id = $2 RETURNING id"};
constexpr pg::Statement kDeactivateStaff{
    "identity_deactivate_staff",
    "UPDATE identity.staff_users SET active = false WHERE clinic_id = $1 AND id = $2 "
    "RETURNING id"};
constexpr pg::Statement kCountActiveAdmins{
    "identity_count_admins",
    "SELECT count(*) AS n FROM identity.staff_users "
    "WHERE clinic_id = $1 AND role = 'admin' AND active"};
// Serialises admin changes of one clinic so the last-admin check cannot race.
constexpr pg::Statement kLockClinic{
    "identity_lock_clinic", "SELECT id FROM identity.clinics WHERE id = $1 FOR UPDATE"};
constexpr pg::Statement kSetPassword{
    "identity_set_password",
    "UPDATE identity.staff_users SET password_hash = $3 WHERE clinic_id = $1 AND id = $2 "
    "RETURNING id"};
constexpr pg::Statement kRevokeOtherStaffSessions{
    "identity_revoke_other_staff_sessions",
    "UPDATE identity.sessions SET revoked_at = now() "
    "WHERE staff_user_id = $1 AND revoked_at IS NULL AND id::text <> $2"};
constexpr pg::Statement kClearTeams{
    "identity_clear_teams", "DELETE FROM identity.team_members WHERE user_id = $1"};
constexpr pg::Statement kAddTeamMember{
    "identity_add_team_member",
    "INSERT INTO identity.team_members (team_id, user_id) "
    "SELECT t.id, $2 FROM identity.teams t WHERE t.clinic_id = $1 AND t.id = $3 "
    "RETURNING team_id"};
constexpr pg::Statement kInsertTeam{
    "identity_insert_team",
    "INSERT INTO identity.teams (clinic_id, name) VALUES ($1, $2) RETURNING id, clinic_id, name"};
constexpr pg::Statement kListTeams{
    "identity_list_teams",
    "SELECT t.id, t.clinic_id, t.name, coalesce((SELECT string_agg(m.user_id::text, ',' "
    "ORDER BY m.user_id) FROM identity.team_members m WHERE m.team_id = t.id), '') AS members "
    "FROM identity.teams t WHERE t.clinic_id = $1 ORDER BY t.name"};
#define PORTAL_COLUMNS "id, clinic_id, email, name, password_hash, client_id, created_at "
constexpr pg::Statement kInsertPortal{
    "identity_insert_portal",
    "INSERT INTO identity.portal_accounts (clinic_id, email, name, password_hash) "
    "VALUES ($1, $2, $3, $4) RETURNING " PORTAL_COLUMNS};
constexpr pg::Statement kPortalByEmail{
    "identity_portal_by_email",
    "SELECT " PORTAL_COLUMNS "FROM identity.portal_accounts WHERE clinic_id = $1 AND email = $2"};
constexpr pg::Statement kPortalById{
    "identity_portal_by_id",
    "SELECT " PORTAL_COLUMNS "FROM identity.portal_accounts WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kPortalOfClient{
    "identity_portal_of_client",
    "SELECT " PORTAL_COLUMNS "FROM identity.portal_accounts WHERE clinic_id = $1 AND client_id = $2 "
    "ORDER BY created_at, id LIMIT 1"};
constexpr pg::Statement kListProspects{
    "identity_list_prospects",
    "SELECT " PORTAL_COLUMNS "FROM identity.portal_accounts "
    "WHERE clinic_id = $1 AND client_id IS NULL ORDER BY created_at, id"};
constexpr pg::Statement kLinkProspect{
    "identity_link_prospect",
    "UPDATE identity.portal_accounts SET client_id = $3 WHERE clinic_id = $1 AND id = $2 "
    "RETURNING " PORTAL_COLUMNS};
constexpr pg::Statement kInsertSession{
    "identity_insert_session",
    "INSERT INTO identity.sessions (token_hash, clinic_id, staff_user_id, portal_account_id, "
    "client_id, expires_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"};
constexpr pg::Statement kFindSession{
    "identity_find_session",
    "SELECT id, clinic_id, staff_user_id, portal_account_id, client_id FROM identity.sessions "
    "WHERE token_hash = $1 AND revoked_at IS NULL AND expires_at > $2"};
constexpr pg::Statement kRevokeSession{
    "identity_revoke_session",
    "UPDATE identity.sessions SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL"};
constexpr pg::Statement kRevokeUserSessions{
    "identity_revoke_user_sessions",
    "UPDATE identity.sessions SET revoked_at = now() "
    "WHERE staff_user_id = $1 AND revoked_at IS NULL"};

v1::PimsKind PimsFromText(const std::string& s) {
  if (s == "cornerstone") return v1::CORNERSTONE;
  if (s == "avimark") return v1::AVIMARK;
  return v1::NONE;
}
std::string PimsToText(v1::PimsKind k) {
  switch (k) {
    case v1::CORNERSTONE: return "cornerstone";
    case v1::AVIMARK: return "avimark";
    default: return "none";
  }
}
v1::Role RoleFromText(const std::string& s) {
  if (s == "admin") return v1::ADMIN;
  if (s == "provider") return v1::PROVIDER;
  return v1::STAFF;
}

v1::Clinic ClinicRow(const pg::Result& r, int i) {
  v1::Clinic c;
  c.set_id(r.Text(i, "id"));
  c.set_name(r.Text(i, "name"));
  c.set_time_zone(r.Text(i, "time_zone"));
  c.set_phone(r.Text(i, "phone"));
  c.set_pims_kind(PimsFromText(r.Text(i, "pims_kind")));
  *c.mutable_create_time() = ToTimestamp(r.Time(i, "created_at"));
  return c;
}

StaffRecord StaffRow(const pg::Result& r, int i) {
  StaffRecord s;
  s.user.set_id(r.Text(i, "id"));
  s.user.set_clinic_id(r.Text(i, "clinic_id"));
  s.user.set_email(r.Text(i, "email"));
  s.user.set_name(r.Text(i, "name"));
  s.user.set_role(RoleFromText(r.Text(i, "role")));
  s.user.set_active(r.Bool(i, "active"));
  *s.user.mutable_create_time() = ToTimestamp(r.Time(i, "created_at"));
  for (auto& t : absl::StrSplit(r.Text(i, "team_ids"), ',', absl::SkipEmpty())) {
    s.user.add_team_ids(std::string(t));
  }
  s.password_hash = r.Text(i, "password_hash");
  return s;
}

PortalRecord PortalRow(const pg::Result& r, int i) {
  PortalRecord p;
  p.account.set_id(r.Text(i, "id"));
  p.account.set_clinic_id(r.Text(i, "clinic_id"));
  p.account.set_email(r.Text(i, "email"));
  p.account.set_name(r.Text(i, "name"));
  p.account.set_client_id(r.Text(i, "client_id"));
  p.account.set_prospect(r.IsNull(i, r.column("client_id")));
  *p.account.mutable_create_time() = ToTimestamp(r.Time(i, "created_at"));
  p.password_hash = r.Text(i, "password_hash");
  return p;
}

absl::StatusOr<StaffRecord> OneStaff(absl::StatusOr<pg::Result> r, std::string_view what) {
  if (!r.ok()) return r.status();
  if (r->rows() == 0) return absl::NotFoundError(std::string(what) + " not found");
  return StaffRow(*r, 0);
}

// A unique violation on the staff email reads as a clear, field-named conflict.
absl::Status EmailTaken(absl::Status st) {
  if (st.code() == absl::StatusCode::kAlreadyExists) {
    absl::Status out = absl::AlreadyExistsError("a user with this email already exists");
    out.SetPayload(kFieldPayload, absl::Cord("email"));
    return out;
  }
  return st;
}

}  // namespace

absl::StatusOr<std::pair<v1::Clinic, v1::StaffUser>> IdentityRepository::CreateClinic(
    const v1::Clinic& clinic, const v1::StaffUser& admin, const std::string& password_hash) {
  std::pair<v1::Clinic, v1::StaffUser> out;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result c, s.Exec(kInsertClinic, {clinic.name(), clinic.time_zone(),
                                                             clinic.phone(),
                                                             PimsToText(clinic.pims_kind())}));
    out.first = ClinicRow(c, 0);
    auto id = s.Exec(kInsertStaff, {out.first.id(), admin.email(), admin.name(), "admin",
                                    password_hash});
    if (!id.ok()) return EmailTaken(id.status());
    VL_ASSIGN_OR_RETURN(StaffRecord admin_record,
                        OneStaff(s.Exec(kStaffById, {out.first.id(), id->Text(0, "id")}), "user"));
    out.second = admin_record.user;
    return absl::OkStatus();
  }));
  return out;
}

absl::StatusOr<v1::Clinic> IdentityRepository::GetClinic(const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetClinic, {id}));
  if (r.rows() == 0) return absl::NotFoundError("clinic not found");
  return ClinicRow(r, 0);
}

absl::StatusOr<StaffRecord> IdentityRepository::FindStaffByEmail(const std::string& email) {
  return OneStaff(pool_->Exec(kStaffByEmail, {email}), "user");
}

absl::StatusOr<StaffRecord> IdentityRepository::GetStaff(const std::string& clinic_id,
                                                         const std::string& id) {
  return OneStaff(pool_->Exec(kStaffById, {clinic_id, id}), "staff user");
}

absl::StatusOr<std::vector<v1::StaffUser>> IdentityRepository::ListStaff(
    const std::string& clinic_id, const std::string& after_email, int limit) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListStaff, {clinic_id, after_email, limit}));
  std::vector<v1::StaffUser> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(StaffRow(r, i).user);
  return out;
}

absl::StatusOr<v1::StaffUser> IdentityRepository::CreateStaff(const v1::StaffUser& user,
                                                              const std::string& password_hash) {
  std::string role = user.role() == v1::ADMIN ? "admin" : user.role() == v1::PROVIDER ? "provider"
                                                                                      : "staff";
  auto r = pool_->Exec(kInsertStaff,
                       {user.clinic_id(), user.email(), user.name(), role, password_hash});
  if (!r.ok()) return EmailTaken(r.status());
  VL_ASSIGN_OR_RETURN(StaffRecord s, GetStaff(user.clinic_id(), r->Text(0, "id")));
  return s.user;
}

absl::StatusOr<v1::StaffUser> IdentityRepository::UpdateStaff(
    const std::string& clinic_id, const std::string& id, const std::optional<std::string>& name,
    const std::optional<std::string>& role,
    const std::optional<std::vector<std::string>>& teams) {
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kLockClinic, {clinic_id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result u, s.Exec(kUpdateStaff, {clinic_id, id, name, role}));
    if (u.rows() == 0) return absl::NotFoundError("staff user not found");
    VL_ASSIGN_OR_RETURN(pg::Result admins, s.Exec(kCountActiveAdmins, {clinic_id}));
    if (admins.Int(0, "n") == 0) {
      return absl::FailedPreconditionError("the clinic must keep at least one active admin");
    }
    if (teams) {
      VL_RETURN_IF_ERROR(s.Exec(kClearTeams, {id}).status());
      for (const std::string& team : *teams) {
        VL_ASSIGN_OR_RETURN(pg::Result t, s.Exec(kAddTeamMember, {clinic_id, id, team}));
        if (t.rows() == 0) {
          absl::Status st = absl::NotFoundError("team " + team + " not found");
          st.SetPayload(kFieldPayload, absl::Cord("teamIds"));
          return st;
        }
      }
    }
    return absl::OkStatus();
  }));
  VL_ASSIGN_OR_RETURN(StaffRecord s, GetStaff(clinic_id, id));
  return s.user;
}

absl::StatusOr<v1::StaffUser> IdentityRepository::DeactivateStaff(const std::string& clinic_id,
                                                                  const std::string& id) {
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kLockClinic, {clinic_id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result u, s.Exec(kDeactivateStaff, {clinic_id, id}));
    if (u.rows() == 0) return absl::NotFoundError("staff user not found");
    VL_ASSIGN_OR_RETURN(pg::Result admins, s.Exec(kCountActiveAdmins, {clinic_id}));
    if (admins.Int(0, "n") == 0) {
      return absl::FailedPreconditionError("the clinic must keep at least one active admin");
    }
    return s.Exec(kRevokeUserSessions, {id}).status();
  }));
  VL_ASSIGN_OR_RETURN(StaffRecord s, GetStaff(clinic_id, id));
  return s.user;
}

absl::Status IdentityRepository::SetStaffPassword(const std::string& clinic_id,
                                                  const std::string& id,
                                                  const std::string& password_hash,
                                                  const std::string& keep_session_id) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result u, s.Exec(kSetPassword, {clinic_id, id, password_hash}));
    if (u.rows() == 0) return absl::NotFoundError("staff user not found");
    return s.Exec(kRevokeOtherStaffSessions, {id, keep_session_id}).status();
  });
}

absl::StatusOr<v1::Team> IdentityRepository::CreateTeam(const std::string& clinic_id,
                                                        const std::string& name) {
  auto r = pool_->Exec(kInsertTeam, {clinic_id, name});
  if (r.status().code() == absl::StatusCode::kAlreadyExists) {
    absl::Status st = absl::AlreadyExistsError("a team with this name already exists");
    st.SetPayload(kFieldPayload, absl::Cord("name"));
    return st;
  }
  if (!r.ok()) return r.status();
  v1::Team t;
  t.set_id(r->Text(0, "id"));
  t.set_clinic_id(r->Text(0, "clinic_id"));
  t.set_name(r->Text(0, "name"));
  return t;
}

absl::StatusOr<std::vector<v1::Team>> IdentityRepository::ListTeams(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListTeams, {clinic_id}));
  std::vector<v1::Team> out;
  for (int i = 0; i < r.rows(); ++i) {
    v1::Team t;
    t.set_id(r.Text(i, "id"));
    t.set_clinic_id(r.Text(i, "clinic_id"));
    t.set_name(r.Text(i, "name"));
    for (auto& m : absl::StrSplit(r.Text(i, "members"), ',', absl::SkipEmpty())) {
      t.add_member_ids(std::string(m));
    }
    out.push_back(std::move(t));
  }
  return out;
}

absl::StatusOr<v1::PortalAccount> IdentityRepository::CreatePortalAccount(
    const v1::PortalAccount& a, const std::string& password_hash) {
  auto r = pool_->Exec(kInsertPortal, {a.clinic_id(), a.email(), a.name(), password_hash});
  if (!r.ok()) return EmailTaken(r.status());
  return PortalRow(*r, 0).account;
}

absl::StatusOr<PortalRecord> IdentityRepository::FindPortalAccount(const std::string& clinic_id,
                                                                   const std::string& email) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kPortalByEmail, {clinic_id, email}));
  if (r.rows() == 0) return absl::NotFoundError("portal account not found");
  return PortalRow(r, 0);
}

absl::StatusOr<PortalRecord> IdentityRepository::GetPortalAccount(const std::string& clinic_id,
                                                                  const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kPortalById, {clinic_id, id}));
  if (r.rows() == 0) return absl::NotFoundError("portal account not found");
  return PortalRow(r, 0);
}

absl::StatusOr<PortalRecord> IdentityRepository::FindPortalAccountOfClient(const std::string& clinic_id,
                                                                           const std::string& client_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kPortalOfClient, {clinic_id, client_id}));
  if (r.rows() == 0) return absl::NotFoundError("portal account not found");
  return PortalRow(r, 0);
}

absl::StatusOr<std::vector<v1::PortalAccount>> IdentityRepository::ListProspects(
    const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListProspects, {clinic_id}));
  std::vector<v1::PortalAccount> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(PortalRow(r, i).account);
  return out;
}

absl::StatusOr<v1::PortalAccount> IdentityRepository::LinkProspect(const std::string& clinic_id,
                                                                   const std::string& id,
                                                                   const std::string& client_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kLinkProspect, {clinic_id, id, client_id}));
  if (r.rows() == 0) return absl::NotFoundError("prospect not found");
  return PortalRow(r, 0).account;
}

absl::StatusOr<std::string> IdentityRepository::CreateSession(const std::string& token_hash,
                                                              const std::string& clinic_id,
                                                              const std::string& staff_user_id,
                                                              const std::string& portal_account_id,
                                                              const std::string& client_id,
                                                              absl::Time expires) {
  auto opt = [](const std::string& s) {
    return s.empty() ? std::optional<std::string>() : std::optional<std::string>(s);
  };
  VL_ASSIGN_OR_RETURN(pg::Result r,
                      pool_->Exec(kInsertSession, {token_hash, clinic_id, opt(staff_user_id),
                                                   opt(portal_account_id), opt(client_id), expires}));
  return r.Text(0, "id");
}

absl::StatusOr<SessionRecord> IdentityRepository::FindLiveSession(const std::string& token_hash,
                                                                  absl::Time now) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kFindSession, {token_hash, now}));
  if (r.rows() == 0) return absl::NotFoundError("session not found");
  SessionRecord s;
  s.session_id = r.Text(0, "id");
  s.clinic_id = r.Text(0, "clinic_id");
  if (auto staff = r.Optional(0, "staff_user_id")) {
    VL_ASSIGN_OR_RETURN(s.staff, GetStaff(s.clinic_id, *staff));
    if (!s.staff->user.active()) return absl::NotFoundError("session not found");
  } else if (auto account = r.Optional(0, "portal_account_id")) {
    VL_ASSIGN_OR_RETURN(s.portal, GetPortalAccount(s.clinic_id, *account));
  } else {
    s.link_client_id = r.Text(0, "client_id");
  }
  return s;
}

absl::Status IdentityRepository::RevokeSession(const std::string& session_id) {
  return pool_->Exec(kRevokeSession, {session_id}).status();
}

}  // namespace vetline::identity
