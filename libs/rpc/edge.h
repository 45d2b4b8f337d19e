// Who may call: the caller checks every service makes at its gRPC edge, on the principal
// the gateway signed. Roles are compared through these helpers, never as bare strings.
#pragma once

#include <string>
#include <string_view>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "libs/auth/auth.h"
#include "vetline/api/types.pb.h"

namespace vetline::rpc {

// Staff roles as they travel in Principal.role.
inline constexpr std::string_view kRoleAdmin = "admin";
inline constexpr std::string_view kRoleProvider = "provider";
inline constexpr std::string_view kRoleStaff = "staff";

bool IsAdmin(const api::Principal& p);

// The verified principal when it is a clinic's staff user (any role), else
// PermissionDenied; Unauthenticated without a valid signature.
absl::StatusOr<api::Principal> RequireStaff(const grpc::ServerContext& ctx,
                                            const auth::PrincipalSigner& signer);
// A staff user with the admin role.
absl::StatusOr<api::Principal> RequireAdmin(const grpc::ServerContext& ctx,
                                            const auth::PrincipalSigner& signer);
// A pet owner's portal account.
absl::StatusOr<api::Principal> RequireClient(const grpc::ServerContext& ctx,
                                             const auth::PrincipalSigner& signer);
// Clinic staff or a pet owner's portal account (what each may see is the caller's rule).
absl::StatusOr<api::Principal> RequireStaffOrClient(const grpc::ServerContext& ctx,
                                                    const auth::PrincipalSigner& signer);
// Another Vetline service or job (internal RPCs the gateway never exposes).
absl::StatusOr<api::Principal> RequireService(const grpc::ServerContext& ctx,
                                              const auth::PrincipalSigner& signer);

// A clinic's staff user, or a Vetline service acting for one clinic (clinic_id set): a
// webhook that has no caller of its own reads what that clinic's staff could.
absl::StatusOr<api::Principal> RequireClinicStaffOrService(const grpc::ServerContext& ctx,
                                                           const auth::PrincipalSigner& signer);
// The principal a service signs to act for `clinic_id`.
api::Principal ServiceForClinic(const std::string& clinic_id);

}  // namespace vetline::rpc
