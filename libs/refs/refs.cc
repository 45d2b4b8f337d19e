#include "libs/refs/refs.h"

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/rpc.h"

namespace vetline::refs {
namespace {

absl::Status NotInClinic(std::string_view field, std::string_view what) {
  return NotFoundField(field, absl::StrCat("no ", std::string(what), " with this ",
                                           std::string(field), " in your clinic"));
}

// One mapping of the owner's answer for every kind of id: a miss is NotFound on the
// field, a malformed id InvalidArgument on it, anything else "try again" (the detail is
// for operators, logged here).
absl::Status Answer(const grpc::Status& st, std::string_view field, std::string_view what) {
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      return absl::OkStatus();
    case grpc::StatusCode::NOT_FOUND:
      return NotInClinic(field, what);
    case grpc::StatusCode::INVALID_ARGUMENT:
      return InvalidField(field, absl::StrCat(std::string(field), " is not a valid id"));
    case grpc::StatusCode::PERMISSION_DENIED:
    case grpc::StatusCode::UNAUTHENTICATED:
      return absl::PermissionDeniedError(absl::StrCat("you may not refer to ", std::string(what), "s"));
    default:
      log::Warn("id check failed", {{"what", std::string(what)},
                                    {"code", rpc::CodeName(st.error_code())},
                                    {"detail", st.error_message()}});
      return absl::UnavailableError(
          absl::StrCat(std::string(what), "s cannot be checked right now; try again"));
  }
}

void Prepare(grpc::ClientContext& ctx, const api::Principal& caller,
             const auth::PrincipalSigner& signer, absl::Duration deadline) {
  rpc::AttachPrincipal(ctx, caller, signer);
  rpc::SetDeadline(ctx, deadline);
}

// Asks the owner `call(ctx, &answer)` as the caller about the id in `field`; the answer
// must belong to the caller's clinic (the owner scopes it; this is defence in depth).
template <typename Answered, typename Call>
absl::StatusOr<Answered> Ask(const api::Principal& caller, const auth::PrincipalSigner& signer,
                             absl::Duration deadline, std::string_view field, std::string_view id,
                             std::string_view what, Call call) {
  VL_RETURN_IF_ERROR(validate::Id(field, id));
  grpc::ClientContext ctx;
  Prepare(ctx, caller, signer, deadline);
  Answered out;
  VL_RETURN_IF_ERROR(Answer(call(&ctx, &out), field, what));
  if (out.clinic_id() != caller.clinic_id()) return NotInClinic(field, what);
  return out;
}

}  // namespace

GrpcClientRefs::GrpcClientRefs(std::shared_ptr<grpc::ChannelInterface> clients,
                               auth::PrincipalSigner signer, absl::Duration deadline)
    : stub_(clients::v1::ClientsService::NewStub(std::move(clients))),
      signer_(signer),
      deadline_(deadline) {}

absl::StatusOr<clients::v1::Client> GrpcClientRefs::Get(const api::Principal& caller,
                                                        std::string_view field,
                                                        std::string_view client_id) const {
  clients::v1::GetClientRequest req;
  req.set_id(std::string(client_id));
  VL_ASSIGN_OR_RETURN(clients::v1::Client client,
                      Ask<clients::v1::Client>(caller, signer_, deadline_, field, client_id, "client",
                                               [&](grpc::ClientContext* ctx, clients::v1::Client* out) {
                                                 return stub_->GetClient(ctx, req, out);
                                               }));
  if (!client.merged_into_id().empty()) {
    return FieldError(absl::StatusCode::kFailedPrecondition, field,
                      absl::StrCat("this client profile was merged into ", client.merged_into_id(),
                                   "; use that one"));
  }
  return client;
}

GrpcStaffRefs::GrpcStaffRefs(std::shared_ptr<grpc::ChannelInterface> identity,
                             auth::PrincipalSigner signer, absl::Duration deadline)
    : stub_(identity::v1::IdentityService::NewStub(std::move(identity))),
      signer_(signer),
      deadline_(deadline) {}

absl::Status GrpcStaffRefs::CheckUser(const api::Principal& caller, std::string_view field,
                                      std::string_view user_id) const {
  identity::v1::GetStaffRequest req;
  req.set_id(std::string(user_id));
  VL_ASSIGN_OR_RETURN(identity::v1::StaffUser user,
                      Ask<identity::v1::StaffUser>(
                          caller, signer_, deadline_, field, user_id, "staff user",
                          [&](grpc::ClientContext* ctx, identity::v1::StaffUser* out) {
                            return stub_->GetStaff(ctx, req, out);
                          }));
  if (!user.active()) {
    return FieldError(absl::StatusCode::kFailedPrecondition, field,
                      "this staff user is deactivated");
  }
  return absl::OkStatus();
}

absl::Status GrpcStaffRefs::CheckTeam(const api::Principal& caller, std::string_view field,
                                      std::string_view team_id) const {
  VL_RETURN_IF_ERROR(validate::Id(field, team_id));
  grpc::ClientContext ctx;
  Prepare(ctx, caller, signer_, deadline_);
  identity::v1::ListTeamsResponse teams;
  VL_RETURN_IF_ERROR(Answer(stub_->ListTeams(&ctx, {}, &teams), field, "team"));
  for (const identity::v1::Team& t : teams.teams()) {
    if (t.id() == team_id && t.clinic_id() == caller.clinic_id()) return absl::OkStatus();
  }
  return NotInClinic(field, "team");
}

absl::StatusOr<identity::v1::Clinic> GrpcStaffRefs::Clinic(const api::Principal& caller) const {
  grpc::ClientContext ctx;
  Prepare(ctx, caller, signer_, deadline_);
  identity::v1::GetClinicRequest req;
  req.set_id(caller.clinic_id());
  identity::v1::Clinic clinic;
  grpc::Status st = stub_->GetClinic(&ctx, req, &clinic);
  // No such clinic is an answer (a public page naming a made-up clinic), not an outage.
  if (st.error_code() == grpc::StatusCode::NOT_FOUND) return absl::NotFoundError("no such clinic");
  if (!st.ok()) {
    log::Warn("clinic lookup failed",
              {{"code", rpc::CodeName(st.error_code())}, {"detail", st.error_message()}});
    return absl::UnavailableError("the clinic's details cannot be read right now; try again");
  }
  return clinic;
}

GrpcConversationRefs::GrpcConversationRefs(std::shared_ptr<grpc::ChannelInterface> conversations,
                                           auth::PrincipalSigner signer, absl::Duration deadline)
    : stub_(conversations::v1::ConversationsService::NewStub(std::move(conversations))),
      signer_(signer),
      deadline_(deadline) {}

absl::Status GrpcConversationRefs::Check(const api::Principal& caller, std::string_view field,
                                         std::string_view conversation_id) const {
  conversations::v1::GetConversationRequest req;
  req.set_id(std::string(conversation_id));
  return Ask<conversations::v1::Conversation>(
             caller, signer_, deadline_, field, conversation_id, "conversation",
             [&](grpc::ClientContext* ctx, conversations::v1::Conversation* out) {
               return stub_->GetConversation(ctx, req, out);
             })
      .status();
}

}  // namespace vetline::refs
