// The gRPC edge of Twilio's webhooks (TwilioWebhooksService, anonymous routes): nothing
// is read from a request before its X-Twilio-Signature checks out against the account's
// auth token and the public URL it was sent to, and its AccountSid is ours; otherwise
// PERMISSION_DENIED (403) and nothing is recorded.
#pragma once

#include <string>

#include "services/conversations/sms_inbound.h"
#include "vetline/conversations/v1/twilio_webhooks.grpc.pb.h"

namespace vetline::conversations {

struct TwilioWebhookOptions {
  std::string public_url;   // what Twilio calls, e.g. https://vet.example (no trailing /)
  std::string account_sid;  // ours; "" with no Twilio set up: every webhook is refused
  std::string auth_token;
};

class TwilioWebhooksService final : public v1::TwilioWebhooksService::Service {
 public:
  TwilioWebhooksService(SmsInbound& inbound, TwilioWebhookOptions options);

  grpc::Status TwilioStatus(grpc::ServerContext*, const v1::TwilioWebhookRequest*,
                            v1::TwilioStatusResponse*) override;
  grpc::Status TwilioInbound(grpc::ServerContext*, const v1::TwilioWebhookRequest*,
                             v1::TwilioInboundResponse*) override;

 private:
  // The form, once signature and account check out.
  absl::StatusOr<http::FormParams> Verified(const v1::TwilioWebhookRequest& req) const;

  SmsInbound& inbound_;
  TwilioWebhookOptions options_;
};

}  // namespace vetline::conversations
