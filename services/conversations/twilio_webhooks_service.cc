#include "services/conversations/twilio_webhooks_service.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/rpc/rpc.h"

namespace vetline::conversations {

TwilioWebhooksService::TwilioWebhooksService(SmsInbound& inbound, TwilioWebhookOptions options)
    : inbound_(inbound), options_(std::move(options)) {
  while (!options_.public_url.empty() && options_.public_url.back() == '/') options_.public_url.pop_back();
}

absl::StatusOr<http::FormParams> TwilioWebhooksService::Verified(
    const v1::TwilioWebhookRequest& req) const {
  if (options_.auth_token.empty() || options_.account_sid.empty()) {
    return absl::PermissionDeniedError("texting is not set up for this deployment");
  }
  if (!absl::StartsWith(req.target(), "/")) {
    return absl::PermissionDeniedError("X-Twilio-Signature does not match");
  }
  VL_ASSIGN_OR_RETURN(http::FormParams form,
                      channels::VerifyTwilioWebhook(options_.auth_token,
                                                    absl::StrCat(options_.public_url, req.target()),
                                                    req.form(), req.signature()));
  // Signed with our token, but another account's webhook must not act on ours.
  if (http::FormValue(form, "AccountSid") != options_.account_sid) {
    return absl::PermissionDeniedError("this webhook is for another Twilio account");
  }
  return form;
}

grpc::Status TwilioWebhooksService::TwilioStatus(grpc::ServerContext*,
                                                 const v1::TwilioWebhookRequest* req,
                                                 v1::TwilioStatusResponse*) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(http::FormParams form, Verified(*req));
    VL_ASSIGN_OR_RETURN(channels::TwilioStatusUpdate u, channels::ParseTwilioStatusCallback(form));
    return inbound_.Status(u);
  }());
}

grpc::Status TwilioWebhooksService::TwilioInbound(grpc::ServerContext*,
                                                  const v1::TwilioWebhookRequest* req,
                                                  v1::TwilioInboundResponse* resp) {
  return rpc::ToGrpc([&]() -> absl::Status {
    VL_ASSIGN_OR_RETURN(http::FormParams form, Verified(*req));
    VL_ASSIGN_OR_RETURN(channels::TwilioInboundText t, channels::ParseTwilioInboundText(form));
    VL_ASSIGN_OR_RETURN(*resp->mutable_twiml(), inbound_.Receive(t));
    return absl::OkStatus();
  }());
}

}  // namespace vetline::conversations
