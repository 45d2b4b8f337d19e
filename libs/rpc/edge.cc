#include "libs/rpc/edge.h"

#include "libs/core/status.h"
#include "libs/rpc/rpc.h"

namespace vetline::rpc {
namespace {

absl::StatusOr<api::Principal> RequireKind(const grpc::ServerContext& ctx,
                                           const auth::PrincipalSigner& signer,
                                           api::Principal::Kind kind, const char* denied) {
  VL_ASSIGN_OR_RETURN(api::Principal p, PrincipalOf(ctx, signer));
  if (p.kind() != kind) return absl::PermissionDeniedError(denied);
  return p;
}

}  // namespace

bool IsAdmin(const api::Principal& p) {
  return p.kind() == api::Principal::STAFF && p.role() == kRoleAdmin;
}

absl::StatusOr<api::Principal> RequireStaff(const grpc::ServerContext& ctx,
                                            const auth::PrincipalSigner& signer) {
  return RequireKind(ctx, signer, api::Principal::STAFF, "only clinic staff may do this");
}

absl::StatusOr<api::Principal> RequireAdmin(const grpc::ServerContext& ctx,
                                            const auth::PrincipalSigner& signer) {
  VL_ASSIGN_OR_RETURN(api::Principal p, RequireStaff(ctx, signer));
  if (!IsAdmin(p)) return absl::PermissionDeniedError("only clinic admins may do this");
  return p;
}

absl::StatusOr<api::Principal> RequireClient(const grpc::ServerContext& ctx,
                                             const auth::PrincipalSigner& signer) {
  return RequireKind(ctx, signer, api::Principal::CLIENT, "only a client's portal account may do this");
}

absl::StatusOr<api::Principal> RequireStaffOrClient(const grpc::ServerContext& ctx,
                                                    const auth::PrincipalSigner& signer) {
  VL_ASSIGN_OR_RETURN(api::Principal p, PrincipalOf(ctx, signer));
  if (p.kind() == api::Principal::STAFF || p.kind() == api::Principal::CLIENT) return p;
  return absl::PermissionDeniedError("only clinic staff and clients may do this");
}

absl::StatusOr<api::Principal> RequireService(const grpc::ServerContext& ctx,
                                              const auth::PrincipalSigner& signer) {
  return RequireKind(ctx, signer, api::Principal::SERVICE, "only Vetline services may call this");
}

absl::StatusOr<api::Principal> RequireClinicStaffOrService(const grpc::ServerContext& ctx,
                                                           const auth::PrincipalSigner& signer) {
  VL_ASSIGN_OR_RETURN(api::Principal p, PrincipalOf(ctx, signer));
  if (p.kind() == api::Principal::STAFF) return p;
  if (p.kind() == api::Principal::SERVICE && !p.clinic_id().empty()) return p;
  return absl::PermissionDeniedError("only clinic staff may do this");
}

api::Principal ServiceForClinic(const std::string& clinic_id) {
  api::Principal p;
  p.set_kind(api::Principal::SERVICE);
  p.set_clinic_id(clinic_id);
  return p;
}

}  // namespace vetline::rpc
