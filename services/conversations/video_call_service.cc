#include "services/conversations/video_call_service.h"

#include <google/protobuf/util/json_util.h>

#include "absl/strings/str_cat.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/inbox_rules.h"

namespace vetline::conversations {
namespace {

constexpr size_t kMaxTextBytes = 8000;  // the words before the link; the link is added
constexpr char kDefaultText[] = "You are invited to a video call with the clinic.";

absl::Status CheckInput(const google::protobuf::Timestamp* scheduled_start, const std::string& text) {
  // Years 1..9999, as RFC 3339 (and PostgreSQL's timestamptz) can hold them.
  if (scheduled_start && (scheduled_start->seconds() < -62135596800 ||
                          scheduled_start->seconds() > 253402300799 ||
                          scheduled_start->nanos() < 0 || scheduled_start->nanos() > 999999999)) {
    return InvalidField("scheduledStart", "scheduledStart is not a valid time");
  }
  if (text.size() > kMaxTextBytes) {
    return InvalidField("text", "text is longer than 8000 bytes");
  }
  if (!text.empty()) VL_RETURN_IF_ERROR(rules::CheckMessage(text, 0));
  return absl::OkStatus();
}

}  // namespace

GrpcMediaCalls::GrpcMediaCalls(std::shared_ptr<grpc::ChannelInterface> media,
                               auth::PrincipalSigner signer, absl::Duration deadline)
    : stub_(media::v1::MediaService::NewStub(std::move(media))),
      signer_(signer),
      deadline_(deadline) {}

absl::StatusOr<media::v1::CreateCallResponse> GrpcMediaCalls::Create(
    const api::Principal& caller, const media::v1::CreateCallRequest& req) const {
  grpc::ClientContext ctx;
  rpc::AttachPrincipal(ctx, caller, signer_);
  rpc::SetDeadline(ctx, deadline_);
  media::v1::CreateCallResponse resp;
  grpc::Status st = stub_->CreateCall(&ctx, req, &resp);
  switch (st.error_code()) {
    case grpc::StatusCode::OK:
      return resp;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::NOT_FOUND:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::PERMISSION_DENIED:
      return rpc::FromGrpc(st);  // media's words about our request, field names as ours
    default:
      log::Warn("media CreateCall failed", {{"code", rpc::CodeName(st.error_code())},
                                             {"detail", st.error_message()}});
      return absl::UnavailableError(
          "video calls are unavailable right now; nothing was sent, try again");
  }
}

grpc::Status VideoCallService::StartVideoCall(grpc::ServerContext* ctx,
                                              const v1::StartVideoCallRequest* req,
                                              v1::VideoCallStarted* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal caller, rpc::RequireStaff(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("conversationId", req->conversation_id()));
    const auto* start = req->has_scheduled_start() ? &req->scheduled_start() : nullptr;
    VL_RETURN_IF_ERROR(CheckInput(start, req->text()));
    return Start(caller, req->conversation_id(), start, req->text(), out);
  }());
}

grpc::Status VideoCallService::StartClientVideoCall(grpc::ServerContext* ctx,
                                                    const v1::StartClientVideoCallRequest* req,
                                                    v1::VideoCallStarted* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal caller, rpc::RequireStaff(*ctx, signer_));
    const auto* start = req->has_scheduled_start() ? &req->scheduled_start() : nullptr;
    VL_RETURN_IF_ERROR(CheckInput(start, req->text()));
    // Start chat's own rules (the client and pet checked, one conversation per client).
    v1::StartConversationRequest chat;
    chat.set_client_id(req->client_id());
    chat.set_pet_id(req->pet_id());
    v1::Conversation conversation;
    VL_RETURN_IF_ERROR(rpc::FromGrpc(inbox_.StartConversation(ctx, &chat, &conversation)));
    return Start(caller, conversation.id(), start, req->text(), out);
  }());
}

absl::Status VideoCallService::Start(const api::Principal& caller,
                                     const std::string& conversation_id,
                                     const google::protobuf::Timestamp* scheduled_start,
                                     const std::string& text, v1::VideoCallStarted* out) {
  Viewer v{.clinic_id = caller.clinic_id(), .user_id = caller.user_id()};
  VL_ASSIGN_OR_RETURN(ConversationRecord conv, repo_.GetConversation(v, conversation_id));
  if (conv.conversation.client_id().empty()) {
    return FieldError(absl::StatusCode::kFailedPrecondition, "conversationId",
                      "link this conversation to a client before inviting them to a video call");
  }
  if (media_ == nullptr) {
    return absl::UnavailableError("video calls are not set up on this server");
  }
  media::v1::CreateCallRequest create;
  create.set_client_id(conv.conversation.client_id());
  create.set_conversation_id(conversation_id);
  if (scheduled_start) *create.mutable_scheduled_start() = *scheduled_start;
  // No transaction is open here: media checks the conversation by calling us back.
  VL_ASSIGN_OR_RETURN(media::v1::CreateCallResponse call, media_->Create(caller, create));

  v1::Attachment invitation;
  v1::VideoCallInvitation* inv = invitation.mutable_video_call();
  inv->set_call_id(call.call().id());
  inv->set_join_url(call.invitation().join_url());
  if (call.call().has_scheduled_start()) *inv->mutable_scheduled_start() = call.call().scheduled_start();
  *inv->mutable_expire_time() = call.invitation().expire_time();
  std::string content;
  if (!google::protobuf::util::MessageToJsonString(invitation, &content).ok()) {
    return absl::InternalError("encoding the invitation failed");
  }
  NewMessage m;
  m.conversation_id = conversation_id;
  m.author = v1::STAFF;
  m.author_id = caller.user_id();
  // The link is in the text too: a text or an email carries the words, not the attachment.
  m.text = absl::StrCat(text.empty() ? kDefaultText : text, "\nJoin the video call: ",
                        call.invitation().join_url());
  m.attachments.push_back({.kind = "video_call", .content = content, .ref_id = call.call().id()});
  VL_ASSIGN_OR_RETURN(m.deliveries, inbox_.DeliveriesFor(caller, conv.conversation));
  Events events;
  // A failure from here on leaves an unused call in media (nobody holds its link).
  VL_ASSIGN_OR_RETURN(*out->mutable_message(), repo_.SendMessage(v, m, &events));
  inbox_.Announce(events);
  inbox_.Present(v, *out->mutable_message());
  VL_ASSIGN_OR_RETURN(ConversationRecord after, repo_.GetConversation(v, conversation_id));
  *out->mutable_conversation() = inbox_.Present(v, std::move(after));
  out->set_call_id(call.call().id());
  return absl::OkStatus();
}

}  // namespace vetline::conversations
