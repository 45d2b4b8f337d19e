#include "libs/refs/refs.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/rpc.h"

namespace vetline::refs {

GrpcClientRefs::GrpcClientRefs(std::shared_ptr<grpc::ChannelInterface> clients,
                               auth::PrincipalSigner signer, absl::Duration deadline)
    : stub_(clients::v1::ClientsService::NewStub(std::move(clients))),
      signer_(signer),
      deadline_(deadline) {}

absl::Status GrpcClientRefs::Check(const api::Principal& caller, std::string_view field,
                                   std::string_view client_id) const {
  VL_RETURN_IF_ERROR(validate::Id(field, client_id));
  grpc::ClientContext ctx;
  rpc::AttachPrincipal(ctx, caller, signer_);
  rpc::SetDeadline(ctx, deadline_);
  clients::v1::GetClientRequest req;
  req.set_id(std::string(client_id));
  clients::v1::Client client;
  grpc::Status st = stub_->GetClient(&ctx, req, &client);
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      break;
    case grpc::StatusCode::NOT_FOUND:
      return NotFoundField(
          field, absl::StrCat("no client with this ", std::string(field), " in your clinic"));
    case grpc::StatusCode::INVALID_ARGUMENT:
      return InvalidField(field, absl::StrCat(std::string(field), " is not a valid id"));
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::PermissionDeniedError("you may not refer to client profiles");
    default:
      // The detail is for operators; the caller hears only that it may retry.
      log::Warn("client id check failed",
                {{"code", rpc::CodeName(st.error_code())}, {"detail", st.error_message()}});
      return absl::UnavailableError("client profiles cannot be checked right now; try again");
  }
  if (client.clinic_id() != caller.clinic_id()) {  // defence in depth: GetClient is scoped
    return NotFoundField(
        field, absl::StrCat("no client with this ", std::string(field), " in your clinic"));
  }
  if (!client.merged_into_id().empty()) {
    return FieldError(absl::StatusCode::kFailedPrecondition, field,
                      absl::StrCat("this client profile was merged into ", client.merged_into_id(),
                                   "; use that one"));
  }
  return absl::OkStatus();
}

}  // namespace vetline::refs
