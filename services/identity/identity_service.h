// The identity service's gRPC edge: who may call what, input validation, and the
// single conversion from absl::Status to grpc::Status.
#pragma once

#include <memory>

#include "libs/auth/auth.h"
#include "libs/core/clock.h"
#include "libs/core/page_token.h"
#include "libs/refs/refs.h"
#include "services/identity/identity_repository.h"
#include "vetline/identity/v1/identity.grpc.pb.h"

namespace vetline::identity {

struct IdentityOptions {
  absl::Duration session_ttl = absl::Hours(12);
};

class IdentityService final : public v1::IdentityService::Service {
 public:
  // `clients` resolves the client ids requests name (LinkProspect, a portal link's
  // client); `links` verifies the signed portal links of the clinic's messages;
  // `page_tokens` reads and writes the lists' page tokens.
  IdentityService(IdentityRepository& repo, const auth::PrincipalSigner& signer,
                  auth::LinkSigner links, const Clock& clock, IdentityOptions options,
                  const refs::ClientRefs& clients, PageTokens page_tokens)
      : repo_(repo),
        signer_(signer),
        links_(links),
        clock_(clock),
        options_(options),
        clients_(clients),
        page_tokens_(std::move(page_tokens)) {}

  grpc::Status Login(grpc::ServerContext*, const v1::LoginRequest*, v1::LoginResponse*) override;
  grpc::Status Logout(grpc::ServerContext*, const v1::LogoutRequest*,
                      v1::LogoutResponse*) override;
  grpc::Status GetMe(grpc::ServerContext*, const v1::GetMeRequest*, v1::Me*) override;
  grpc::Status ChangePassword(grpc::ServerContext*, const v1::ChangePasswordRequest*,
                              v1::ChangePasswordResponse*) override;
  grpc::Status GetClinic(grpc::ServerContext*, const v1::GetClinicRequest*, v1::Clinic*) override;
  grpc::Status ListStaff(grpc::ServerContext*, const v1::ListStaffRequest*,
                         v1::ListStaffResponse*) override;
  grpc::Status CreateStaff(grpc::ServerContext*, const v1::CreateStaffRequest*,
                           v1::StaffUser*) override;
  grpc::Status GetStaff(grpc::ServerContext*, const v1::GetStaffRequest*, v1::StaffUser*) override;
  grpc::Status UpdateStaff(grpc::ServerContext*, const v1::UpdateStaffRequest*,
                           v1::StaffUser*) override;
  grpc::Status DeactivateStaff(grpc::ServerContext*, const v1::DeactivateStaffRequest*,
                               v1::StaffUser*) override;
  grpc::Status CreateTeam(grpc::ServerContext*, const v1::CreateTeamRequest*, v1::Team*) override;
  grpc::Status ListTeams(grpc::ServerContext*, const v1::ListTeamsRequest*,
                         v1::ListTeamsResponse*) override;
  grpc::Status PortalSignup(grpc::ServerContext*, const v1::PortalSignupRequest*,
                            v1::PortalAccount*) override;
  grpc::Status PortalLogin(grpc::ServerContext*, const v1::PortalLoginRequest*,
                           v1::LoginResponse*) override;
  grpc::Status PortalLinkLogin(grpc::ServerContext*, const v1::PortalLinkLoginRequest*,
                               v1::LoginResponse*) override;
  grpc::Status ListProspects(grpc::ServerContext*, const v1::ListProspectsRequest*,
                             v1::ListProspectsResponse*) override;
  grpc::Status LinkProspect(grpc::ServerContext*, const v1::LinkProspectRequest*,
                            v1::PortalAccount*) override;
  grpc::Status Authenticate(grpc::ServerContext*, const v1::AuthenticateRequest*,
                            api::Principal*) override;
  grpc::Status CreateClinic(grpc::ServerContext*, const v1::CreateClinicRequest*,
                            v1::CreateClinicResponse*) override;

 private:
  absl::Status IssueSession(const std::string& clinic_id, const std::string& staff_user_id,
                            const std::string& portal_account_id, v1::LoginResponse* out,
                            const std::string& link_client_id = "");

  IdentityRepository& repo_;
  const auth::PrincipalSigner& signer_;
  auth::LinkSigner links_;
  const Clock& clock_;
  IdentityOptions options_;
  const refs::ClientRefs& clients_;
  PageTokens page_tokens_;
};

}  // namespace vetline::identity
