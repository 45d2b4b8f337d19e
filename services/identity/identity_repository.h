// All SQL of the identity service. Every read and write of clinic data takes the
// clinic id, so a caller can only ever reach its own clinic's rows.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "vetline/identity/v1/identity.pb.h"

namespace vetline::identity {

namespace v1 = ::vetline::identity::v1;

struct StaffRecord {
  v1::StaffUser user;
  std::string password_hash;
};

struct PortalRecord {
  v1::PortalAccount account;
  std::string password_hash;
};

struct SessionRecord {
  std::string session_id;
  std::string clinic_id;
  std::optional<StaffRecord> staff;
  std::optional<PortalRecord> portal;
  std::string link_client_id;  // neither: a signed link's session, scoped to this client
};

class IdentityRepository {
 public:
  explicit IdentityRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  // Clinics. CreateClinic also creates its first admin, in one transaction.
  absl::StatusOr<std::pair<v1::Clinic, v1::StaffUser>> CreateClinic(
      const v1::Clinic& clinic, const v1::StaffUser& admin, const std::string& password_hash);
  absl::StatusOr<v1::Clinic> GetClinic(const std::string& id);

  // Staff.
  absl::StatusOr<StaffRecord> FindStaffByEmail(const std::string& email);
  absl::StatusOr<StaffRecord> GetStaff(const std::string& clinic_id, const std::string& id);
  absl::StatusOr<std::vector<v1::StaffUser>> ListStaff(const std::string& clinic_id,
                                                       const std::string& after_email, int limit);
  absl::StatusOr<v1::StaffUser> CreateStaff(const v1::StaffUser& user,
                                            const std::string& password_hash);
  // Applies name/role/teams changes; refuses to leave the clinic without an active admin.
  absl::StatusOr<v1::StaffUser> UpdateStaff(const std::string& clinic_id, const std::string& id,
                                            const std::optional<std::string>& name,
                                            const std::optional<std::string>& role,
                                            const std::optional<std::vector<std::string>>& teams);
  absl::StatusOr<v1::StaffUser> DeactivateStaff(const std::string& clinic_id,
                                                const std::string& id);
  absl::Status SetStaffPassword(const std::string& clinic_id, const std::string& id,
                                const std::string& password_hash,
                                const std::string& keep_session_id);

  // Teams.
  absl::StatusOr<v1::Team> CreateTeam(const std::string& clinic_id, const std::string& name);
  absl::StatusOr<std::vector<v1::Team>> ListTeams(const std::string& clinic_id);

  // Portal accounts and prospects.
  absl::StatusOr<v1::PortalAccount> CreatePortalAccount(const v1::PortalAccount& account,
                                                        const std::string& password_hash);
  absl::StatusOr<PortalRecord> FindPortalAccount(const std::string& clinic_id,
                                                 const std::string& email);
  absl::StatusOr<PortalRecord> GetPortalAccount(const std::string& clinic_id,
                                                const std::string& id);
  // The oldest portal account linked to `client_id`, or NotFound.
  absl::StatusOr<PortalRecord> FindPortalAccountOfClient(const std::string& clinic_id,
                                                         const std::string& client_id);
  absl::StatusOr<std::vector<v1::PortalAccount>> ListProspects(const std::string& clinic_id);
  absl::StatusOr<v1::PortalAccount> LinkProspect(const std::string& clinic_id,
                                                 const std::string& id,
                                                 const std::string& client_id);

  // Sessions: owned by exactly one of a staff user, a portal account or (a signed
  // link's session) a client.
  absl::StatusOr<std::string> CreateSession(const std::string& token_hash,
                                            const std::string& clinic_id,
                                            const std::string& staff_user_id,
                                            const std::string& portal_account_id,
                                            const std::string& client_id, absl::Time expires);
  // The live session (not revoked, not expired at `now`, user active) or NotFound.
  absl::StatusOr<SessionRecord> FindLiveSession(const std::string& token_hash, absl::Time now);
  absl::Status RevokeSession(const std::string& session_id);

 private:
  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace vetline::identity
