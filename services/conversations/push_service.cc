#include "services/conversations/push_service.h"

#include "absl/strings/match.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "services/conversations/channels/web_push.h"
#include "services/conversations/conversations_service.h"

namespace vetline::conversations {

absl::Status PushService::CheckEndpoint(const std::string& endpoint) const {
  constexpr char kLoopback[] = "http://127.0.0.1:";
  if (options_.allow_loopback_endpoints && absl::StartsWith(endpoint, kLoopback) &&
      endpoint.size() <= 2048 && endpoint.find('@') == std::string::npos) {
    return absl::OkStatus();
  }
  return channels::CheckPushEndpoint(endpoint);
}

grpc::Status PushService::RegisterPushSubscription(grpc::ServerContext* ctx,
                                                   const v1::RegisterPushSubscriptionRequest* req,
                                                   v1::PushSubscription* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireClient(*ctx, signer_));
    if (p.client_id().empty()) {
      return absl::FailedPreconditionError("this portal account is not linked to a client yet");
    }
    VL_RETURN_IF_ERROR(CheckEndpoint(req->endpoint()));
    VL_RETURN_IF_ERROR(channels::CheckPushKeys(
        {.endpoint = req->endpoint(), .p256dh = req->keys().p256dh(), .auth = req->keys().auth()}));
    VL_ASSIGN_OR_RETURN(*out, repo_.Register(p.clinic_id(), p.client_id(), req->endpoint(),
                                             req->keys().p256dh(), req->keys().auth()));
    return absl::OkStatus();
  }());
}

grpc::Status PushService::DeletePushSubscription(grpc::ServerContext* ctx,
                                                 const v1::DeletePushSubscriptionRequest* req,
                                                 v1::DeletePushSubscriptionResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(api::Principal p, rpc::RequireStaffOrClient(*ctx, signer_));
    VL_RETURN_IF_ERROR(validate::Id("id", req->id()));
    // Subscriptions are the client's own: staff (and prospects) have none to remove.
    if (p.kind() != api::Principal::CLIENT || p.client_id().empty()) {
      return NotFoundField("id", "no push subscription with this id");
    }
    return repo_.Delete(p.clinic_id(), p.client_id(), req->id());
  }());
}

grpc::Status PushService::GetVapidPublicKey(grpc::ServerContext*, const v1::GetVapidPublicKeyRequest*,
                                            v1::VapidPublicKey* out) {
  return rpc::ToGrpc([&]() -> absl::Status {
    if (options_.vapid_public_key.empty()) {
      return absl::FailedPreconditionError("push notifications are not set up on this server");
    }
    out->set_public_key(options_.vapid_public_key);
    return absl::OkStatus();
  }());
}

}  // namespace vetline::conversations
