// Test support: calling a service as a given principal, signed with the internal key
// exactly as the gateway (staff, clients) or another service (the PIMS sync) does.
#pragma once

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "libs/auth/auth.h"
#include "libs/rpc/rpc.h"

namespace vetline::testing {

inline api::Principal StaffPrincipal(const std::string& clinic_id, const std::string& user_id = "u-1",
                                     const std::string& role = "staff") {
  api::Principal p;
  p.set_kind(api::Principal::STAFF);
  p.set_clinic_id(clinic_id);
  p.set_user_id(user_id);
  p.set_role(role);
  return p;
}

// A pet owner signed in to the portal: `client_id` empty is a prospect (no client record
// linked yet).
inline api::Principal ClientPrincipal(const std::string& clinic_id, const std::string& client_id,
                                      const std::string& account_id = "pa-1") {
  api::Principal p;
  p.set_kind(api::Principal::CLIENT);
  p.set_clinic_id(clinic_id);
  p.set_user_id(account_id);
  p.set_client_id(client_id);
  return p;
}

inline api::Principal ServicePrincipal(const std::string& clinic_id,
                                       const std::string& name = "test-service") {
  api::Principal p;
  p.set_kind(api::Principal::SERVICE);
  p.set_clinic_id(clinic_id);
  p.set_user_id(name);
  return p;
}

// A fresh context carrying `p` and a deadline.
inline std::unique_ptr<grpc::ClientContext> ContextAs(const api::Principal& p,
                                                      const auth::PrincipalSigner& signer,
                                                      absl::Duration deadline = absl::Seconds(30)) {
  auto ctx = std::make_unique<grpc::ClientContext>();
  rpc::SetDeadline(*ctx, deadline);
  rpc::AttachPrincipal(*ctx, p, signer);
  return ctx;
}

}  // namespace vetline::testing
