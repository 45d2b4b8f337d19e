#include "services/identity/identity_service.h"

#include "absl/strings/str_split.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/core/validate_enum.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"

namespace vetline::identity {
namespace {

constexpr char kStaffList[] = "identity.staff";
constexpr size_t kMaxPasswordBytes = 256;  // the policy's own limit (auth::CheckPasswordPolicy)
constexpr size_t kMaxTokenBytes = 128;     // session tokens are 47 characters
constexpr int kMaxTeamsPerUser = 100;
constexpr size_t kMaxLinkBytes = 512;      // portal links are ~150 characters
constexpr char kPortalLinkPurpose[] = "portal";  // conversations' and clients' portal links

// The same answer for an unknown email and a wrong password: do not reveal who exists.
absl::Status BadCredentials() {
  return absl::UnauthenticatedError("email or password is incorrect");
}

// Spends the time of a real verification when the account does not exist, so response
// time does not reveal which emails have accounts.
void VerifyAgainstDummy(std::string_view password) {
  static const std::string kDummy = auth::HashPassword("not a real password").value();
  (void)auth::VerifyPassword(kDummy, password);
}

std::string RoleText(v1::Role r) {
  switch (r) {
    case v1::ADMIN: return std::string(rpc::kRoleAdmin);
    case v1::PROVIDER: return std::string(rpc::kRoleProvider);
    default: return std::string(rpc::kRoleStaff);
  }
}

// A password being checked (not set): bounded so hashing work stays bounded.
absl::Status PasswordGiven(std::string_view field, const std::string& password) {
  if (password.empty()) return InvalidField(field, std::string(field) + " is required");
  if (password.size() > kMaxPasswordBytes) {
    return InvalidField(field, std::string(field) + " is longer than 256 bytes");
  }
  return absl::OkStatus();
}

absl::Status NotFound(std::string_view what) {
  return absl::NotFoundError(std::string(what) + " not found");
}

}  // namespace

absl::Status IdentityService::IssueSession(const std::string& clinic_id,
                                           const std::string& staff_user_id,
                                           const std::string& portal_account_id,
                                           v1::LoginResponse* out,
                                           const std::string& link_client_id) {
  std::string token = auth::NewSessionToken();
  absl::Time expires = clock_.Now() + options_.session_ttl;
  VL_RETURN_IF_ERROR(repo_.CreateSession(auth::TokenHash(token), clinic_id, staff_user_id,
                                         portal_account_id, link_client_id, expires)
                         .status());
  out->set_token(token);
  *out->mutable_expires_at() = ToTimestamp(expires);
  return absl::OkStatus();
}

grpc::Status IdentityService::Login(grpc::ServerContext*, const v1::LoginRequest* req,
                                    v1::LoginResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(std::string email, validate::Email("email", req->email()));
    VL_RETURN_IF_ERROR(PasswordGiven("password", req->password()));
    auto staff = repo_.FindStaffByEmail(email);
    if (staff.status().code() == absl::StatusCode::kNotFound) {
      VerifyAgainstDummy(req->password());
      return BadCredentials();
    }
    VL_RETURN_IF_ERROR(staff.status());
    if (!auth::VerifyPassword(staff->password_hash, req->password()) || !staff->user.active()) {
      return BadCredentials();
    }
    return IssueSession(staff->user.clinic_id(), staff->user.id(), "", resp);
  }());
}

grpc::Status IdentityService::Logout(grpc::ServerContext* ctx, const v1::LogoutRequest*,
                                     v1::LogoutResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
    if (p.session_id().empty()) return absl::FailedPreconditionError("not a session");
    return repo_.RevokeSession(p.session_id());
  }());
}

grpc::Status IdentityService::GetMe(grpc::ServerContext* ctx, const v1::GetMeRequest*,
                                    v1::Me* me) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
    me->set_kind(p.kind());
    if (p.kind() == api::Principal::STAFF) {
      VL_ASSIGN_OR_RETURN(StaffRecord s, repo_.GetStaff(p.clinic_id(), p.user_id()));
      *me->mutable_staff() = s.user;
    } else if (p.kind() == api::Principal::CLIENT && p.user_id().empty()) {
      // A signed link's session: the client, without an account (no email or name yet).
      me->mutable_portal_account()->set_clinic_id(p.clinic_id());
      me->mutable_portal_account()->set_client_id(p.client_id());
    } else if (p.kind() == api::Principal::CLIENT) {
      VL_ASSIGN_OR_RETURN(PortalRecord a, repo_.GetPortalAccount(p.clinic_id(), p.user_id()));
      *me->mutable_portal_account() = a.account;
    } else {
      return absl::PermissionDeniedError("a service principal has no profile");
    }
    VL_ASSIGN_OR_RETURN(*me->mutable_clinic(), repo_.GetClinic(p.clinic_id()));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::ChangePassword(grpc::ServerContext* ctx,
                                             const v1::ChangePasswordRequest* req,
                                             v1::ChangePasswordResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(PasswordGiven("currentPassword", req->current_password()));
    VL_RETURN_IF_ERROR(auth::CheckPasswordPolicy(req->new_password(), "newPassword"));
    VL_ASSIGN_OR_RETURN(StaffRecord s, repo_.GetStaff(p.clinic_id(), p.user_id()));
    if (!auth::VerifyPassword(s.password_hash, req->current_password())) {
      return InvalidField("currentPassword", "current password is incorrect");
    }
    VL_ASSIGN_OR_RETURN(std::string hash, auth::HashPassword(req->new_password()));
    // Other sessions end: a changed password is often a response to a leaked one.
    return repo_.SetStaffPassword(p.clinic_id(), p.user_id(), hash, p.session_id());
  }());
}

grpc::Status IdentityService::GetClinic(grpc::ServerContext* ctx, const v1::GetClinicRequest* req,
                                        v1::Clinic* clinic) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::PrincipalOf(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    // Another clinic's id answers exactly like a missing one.
    if (req->id() != p.clinic_id()) return NotFound("clinic");
    VL_ASSIGN_OR_RETURN(*clinic, repo_.GetClinic(req->id()));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::ListStaff(grpc::ServerContext* ctx, const v1::ListStaffRequest* req,
                                        v1::ListStaffResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(int size, validate::PageSize("pageSize", req->page_size()));
    std::string after;
    if (!req->page_token().empty()) {
      VL_ASSIGN_OR_RETURN(auto cursor, page_tokens_.Decode("pageToken", req->page_token(),
                                                           kStaffList, p.clinic_id(), 1));
      after = std::move(cursor[0]);
    }
    VL_ASSIGN_OR_RETURN(auto staff, repo_.ListStaff(p.clinic_id(), after, size + 1));
    bool more = static_cast<int>(staff.size()) > size;
    if (more) staff.pop_back();
    for (auto& s : staff) *resp->add_staff() = std::move(s);
    if (more) {
      resp->set_next_page_token(
          page_tokens_.Encode(kStaffList, p.clinic_id(), {resp->staff().rbegin()->email()}));
    }
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::CreateStaff(grpc::ServerContext* ctx,
                                          const v1::CreateStaffRequest* req, v1::StaffUser* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    v1::StaffUser user;
    user.set_clinic_id(p.clinic_id());
    VL_ASSIGN_OR_RETURN(*user.mutable_email(), validate::Email("email", req->email()));
    VL_ASSIGN_OR_RETURN(*user.mutable_name(), validate::Name("name", req->name()));
    VL_RETURN_IF_ERROR(validate::Enum("role", req->role()));
    user.set_role(req->role());
    VL_RETURN_IF_ERROR(auth::CheckPasswordPolicy(req->password()));
    VL_ASSIGN_OR_RETURN(std::string hash, auth::HashPassword(req->password()));
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateStaff(user, hash));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::GetStaff(grpc::ServerContext* ctx, const v1::GetStaffRequest* req,
                                       v1::StaffUser* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_ASSIGN_OR_RETURN(StaffRecord s, repo_.GetStaff(p.clinic_id(), req->id()));
    *out = s.user;
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::UpdateStaff(grpc::ServerContext* ctx,
                                          const v1::UpdateStaffRequest* req, v1::StaffUser* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    std::optional<std::string> name, role;
    if (!req->name().empty()) {
      VL_ASSIGN_OR_RETURN(name, validate::Name("name", req->name()));
    }
    VL_RETURN_IF_ERROR(validate::OptionalEnum("role", req->role()));
    if (req->role() != v1::ROLE_UNSPECIFIED) role = RoleText(req->role());
    std::optional<std::vector<std::string>> teams;
    if (req->team_ids_size() > kMaxTeamsPerUser) {
      return InvalidField("teamIds", "a user can be in at most 100 teams");
    }
    if (req->set_team_ids()) {
      teams.emplace();
      for (const std::string& t : req->team_ids()) {
        VL_RETURN_IF_ERROR(validate::Id("teamIds", t));
        teams->push_back(t);
      }
    } else if (req->team_ids_size() > 0) {
      return InvalidField("setTeamIds", "set setTeamIds to true to replace the user's teams");
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.UpdateStaff(p.clinic_id(), req->id(), name, role, teams));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::DeactivateStaff(grpc::ServerContext* ctx,
                                              const v1::DeactivateStaffRequest* req,
                                              v1::StaffUser* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    if (req->id() == p.user_id()) {
      return absl::FailedPreconditionError("you cannot deactivate yourself");
    }
    VL_ASSIGN_OR_RETURN(*out, repo_.DeactivateStaff(p.clinic_id(), req->id()));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::CreateTeam(grpc::ServerContext* ctx, const v1::CreateTeamRequest* req,
                                         v1::Team* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireAdmin(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(std::string name, validate::Name("name", req->name(), 100));
    VL_ASSIGN_OR_RETURN(*out, repo_.CreateTeam(p.clinic_id(), name));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::ListTeams(grpc::ServerContext* ctx, const v1::ListTeamsRequest*,
                                        v1::ListTeamsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto teams, repo_.ListTeams(p.clinic_id()));
    for (auto& t : teams) *resp->add_teams() = std::move(t);
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::PortalSignup(grpc::ServerContext*,
                                           const v1::PortalSignupRequest* req,
                                           v1::PortalAccount* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    v1::PortalAccount a;
    a.set_clinic_id(req->clinic_id());
    VL_ASSIGN_OR_RETURN(*a.mutable_email(), validate::Email("email", req->email()));
    VL_ASSIGN_OR_RETURN(*a.mutable_name(), validate::Name("name", req->name()));
    VL_RETURN_IF_ERROR(auth::CheckPasswordPolicy(req->password()));
    if (auto c = repo_.GetClinic(a.clinic_id()); !c.ok()) return c.status();
    VL_ASSIGN_OR_RETURN(std::string hash, auth::HashPassword(req->password()));
    // Matching against client records arrives with the clients service; until staff link
    // it, every sign-up is a prospect.
    VL_ASSIGN_OR_RETURN(*out, repo_.CreatePortalAccount(a, hash));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::PortalLogin(grpc::ServerContext*, const v1::PortalLoginRequest* req,
                                          v1::LoginResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    VL_ASSIGN_OR_RETURN(std::string email, validate::Email("email", req->email()));
    VL_RETURN_IF_ERROR(PasswordGiven("password", req->password()));
    auto account = repo_.FindPortalAccount(req->clinic_id(), email);
    if (account.status().code() == absl::StatusCode::kNotFound) {
      VerifyAgainstDummy(req->password());
      return BadCredentials();
    }
    VL_RETURN_IF_ERROR(account.status());
    if (!auth::VerifyPassword(account->password_hash, req->password())) return BadCredentials();
    return IssueSession(req->clinic_id(), "", account->account.id(), resp);
  }());
}

grpc::Status IdentityService::PortalLinkLogin(grpc::ServerContext*,
                                              const v1::PortalLinkLoginRequest* req,
                                              v1::LoginResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    // Every refusal names `link` and says what to do next; none says which part failed
    // beyond expired or not valid.
    auto refused = [](std::string_view why) {
      return FieldError(absl::StatusCode::kPermissionDenied, "link", why);
    };
    const absl::Status invalid = refused(
        "this link is not valid: open it again from your clinic's message, or sign in with your email and password");
    if (req->link().empty()) return InvalidField("link", "link is required");
    if (!req->clinic_id().empty()) VL_RETURN_IF_ERROR(validate::Id("clinicId", req->clinic_id()));
    if (req->link().size() > kMaxLinkBytes) return invalid;
    auto subject = links_.Verify(req->link(), kPortalLinkPurpose, clock_.Now());
    if (!subject.ok()) {
      if (subject.status().message() == "link expired") {
        return refused("this link has expired: ask your clinic to send a new one, or sign in with your email and password");
      }
      return invalid;
    }
    // "<clinic>/<client>", as conversations and clients sign it.
    std::vector<std::string> parts = absl::StrSplit(*subject, absl::MaxSplits('/', 1));
    if (parts.size() != 2 || !validate::Id("link", parts[0]).ok() || !validate::Id("link", parts[1]).ok()) {
      return invalid;
    }
    const std::string& clinic_id = parts[0];
    const std::string& client_id = parts[1];
    if (!req->clinic_id().empty() && req->clinic_id() != clinic_id) {
      return refused("this link is for another clinic: open it from that clinic's message");
    }
    if (auto c = repo_.GetClinic(clinic_id); !c.ok()) {
      return c.status().code() == absl::StatusCode::kNotFound ? invalid : c.status();
    }
    // The client must still be one of the clinic's (not removed, not merged away).
    if (absl::Status st = clients_.Check(rpc::ServiceForClinic(clinic_id), "link", client_id); !st.ok()) {
      return st.code() == absl::StatusCode::kUnavailable ? st : invalid;
    }
    // The client's own account when they have one; else the link alone lets them in,
    // scoped to that client.
    auto account = repo_.FindPortalAccountOfClient(clinic_id, client_id);
    if (account.ok()) return IssueSession(clinic_id, "", account->account.id(), resp);
    if (account.status().code() != absl::StatusCode::kNotFound) return account.status();
    return IssueSession(clinic_id, "", "", resp, client_id);
  }());
}

grpc::Status IdentityService::ListProspects(grpc::ServerContext* ctx,
                                            const v1::ListProspectsRequest*,
                                            v1::ListProspectsResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_ASSIGN_OR_RETURN(auto list, repo_.ListProspects(p.clinic_id()));
    for (auto& a : list) *resp->add_prospects() = std::move(a);
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::LinkProspect(grpc::ServerContext* ctx,
                                           const v1::LinkProspectRequest* req,
                                           v1::PortalAccount* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    VL_RETURN_IF_ERROR(validate::Id("clientId", req->client_id()));
    // The client record must be one of this clinic's: another clinic's id or a made-up
    // one is a field error, and nothing is linked.
    VL_RETURN_IF_ERROR(clients_.Check(p, "clientId", req->client_id()));
    VL_ASSIGN_OR_RETURN(*out, repo_.LinkProspect(p.clinic_id(), req->id(), req->client_id()));
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::Authenticate(grpc::ServerContext* ctx,
                                           const v1::AuthenticateRequest* req,
                                           api::Principal* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(rpc::RequireService(*ctx, signer_).status());
    if (req->token().empty() || req->token().size() > kMaxTokenBytes) {
      return absl::UnauthenticatedError("no session token");
    }
    auto s = repo_.FindLiveSession(auth::TokenHash(req->token()), clock_.Now());
    if (s.status().code() == absl::StatusCode::kNotFound) {
      return absl::UnauthenticatedError("session expired or revoked");
    }
    VL_RETURN_IF_ERROR(s.status());
    out->set_clinic_id(s->clinic_id);
    out->set_session_id(s->session_id);
    if (s->staff) {
      out->set_kind(api::Principal::STAFF);
      out->set_user_id(s->staff->user.id());
      out->set_role(RoleText(s->staff->user.role()));
    } else if (s->portal) {
      out->set_kind(api::Principal::CLIENT);
      out->set_user_id(s->portal->account.id());
      out->set_client_id(s->portal->account.client_id());
    } else {
      // A signed link's session: the client, without a portal account.
      out->set_kind(api::Principal::CLIENT);
      out->set_client_id(s->link_client_id);
    }
    return absl::OkStatus();
  }());
}

grpc::Status IdentityService::CreateClinic(grpc::ServerContext* ctx,
                                           const v1::CreateClinicRequest* req,
                                           v1::CreateClinicResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(rpc::RequireService(*ctx, signer_).status());
    v1::Clinic c;
    VL_ASSIGN_OR_RETURN(*c.mutable_name(), validate::Name("name", req->name()));
    VL_RETURN_IF_ERROR(validate::TimeZone("timeZone", req->time_zone()));
    c.set_time_zone(req->time_zone());
    VL_ASSIGN_OR_RETURN(*c.mutable_phone(), validate::Phone("phone", req->phone()));
    VL_RETURN_IF_ERROR(validate::OptionalEnum("pimsKind", req->pims_kind()));
    c.set_pims_kind(req->pims_kind() == v1::PIMS_KIND_UNSPECIFIED ? v1::NONE : req->pims_kind());
    v1::StaffUser admin;
    VL_ASSIGN_OR_RETURN(*admin.mutable_email(), validate::Email("adminEmail", req->admin_email()));
    VL_ASSIGN_OR_RETURN(*admin.mutable_name(), validate::Name("adminName", req->admin_name()));
    VL_RETURN_IF_ERROR(auth::CheckPasswordPolicy(req->admin_password(), "adminPassword"));
    VL_ASSIGN_OR_RETURN(std::string hash, auth::HashPassword(req->admin_password()));
    VL_ASSIGN_OR_RETURN(auto created, repo_.CreateClinic(c, admin, hash));
    *resp->mutable_clinic() = std::move(created.first);
    *resp->mutable_admin() = std::move(created.second);
    return absl::OkStatus();
  }());
}

}  // namespace vetline::identity
