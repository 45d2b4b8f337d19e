// What Twilio posts to us: status callbacks for texts we sent and inbound texts, read
// from the form body after the X-Twilio-Signature check. The gateway or the service
// calls these; nothing here knows the service's tables.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/http/form.h"
#include "services/conversations/channels/sms.h"

namespace vetline::conversations::channels {

// The form, once `signature` (the X-Twilio-Signature header) checks out for `url` (the
// full URL Twilio called, as configured) and `body`; PermissionDenied otherwise.
absl::StatusOr<http::FormParams> VerifyTwilioWebhook(std::string_view auth_token, std::string_view url,
                                               std::string_view body, std::string_view signature);

struct TwilioStatusUpdate {
  std::string message_sid, account_sid, twilio_status;  // twilio_status: e.g. "undelivered"
  DeliveryState state = DeliveryState::kQueued;
  int error_code = 0;                // ErrorCode, 0 when none
  bool not_texting_capable = false;  // the code says the number cannot take texts
};
// InvalidArgument naming the form field (MessageSid, MessageStatus, ErrorCode).
absl::StatusOr<TwilioStatusUpdate> ParseTwilioStatusCallback(const http::FormParams& form);

struct TwilioInboundText {
  std::string message_sid, account_sid, from, to, body;
  std::vector<std::string> media_urls;  // MediaUrl0..N-1 (MMS), with their content types
  std::vector<std::string> media_types;
};
// InvalidArgument naming the form field (MessageSid, From, To, NumMedia).
absl::StatusOr<TwilioInboundText> ParseTwilioInboundText(const http::FormParams& form);

}  // namespace vetline::conversations::channels
