#include "services/conversations/channels/twilio_webhooks.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "services/conversations/channels/twilio_signature.h"

namespace vetline::conversations::channels {
namespace {

absl::StatusOr<std::string> Required(const http::FormParams& form, const char* name) {
  std::string v = http::FormValue(form, name);
  if (v.empty()) return InvalidField(name, absl::StrCat(name, " is required"));
  return v;
}

}  // namespace

absl::StatusOr<http::FormParams> VerifyTwilioWebhook(std::string_view auth_token, std::string_view url,
                                               std::string_view body, std::string_view signature) {
  http::FormParams form = http::ParseForm(body);
  if (signature.empty()) return absl::PermissionDeniedError("X-Twilio-Signature is missing");
  if (!VerifyTwilioSignature(auth_token, url, form, signature)) {
    return absl::PermissionDeniedError("X-Twilio-Signature does not match");
  }
  return form;
}

absl::StatusOr<TwilioStatusUpdate> ParseTwilioStatusCallback(const http::FormParams& form) {
  TwilioStatusUpdate u;
  VL_ASSIGN_OR_RETURN(u.message_sid, Required(form, "MessageSid"));
  u.account_sid = http::FormValue(form, "AccountSid");
  u.twilio_status = http::FormValue(form, "MessageStatus");
  if (u.twilio_status.empty()) u.twilio_status = http::FormValue(form, "SmsStatus");  // older callbacks
  std::optional<DeliveryState> state = StatusFromTwilio(u.twilio_status);
  if (!state) return InvalidField("MessageStatus", absl::StrCat("unknown message status '", u.twilio_status, "'"));
  u.state = *state;
  const std::string code = http::FormValue(form, "ErrorCode");
  if (!code.empty() && !absl::SimpleAtoi(code, &u.error_code)) return InvalidField("ErrorCode", "must be a number");
  u.not_texting_capable = TwilioCodeMeansNotTextingCapable(u.error_code);
  return u;
}

absl::StatusOr<TwilioInboundText> ParseTwilioInboundText(const http::FormParams& form) {
  TwilioInboundText t;
  VL_ASSIGN_OR_RETURN(t.message_sid, Required(form, "MessageSid"));
  VL_ASSIGN_OR_RETURN(t.from, Required(form, "From"));
  VL_ASSIGN_OR_RETURN(t.to, Required(form, "To"));
  t.account_sid = http::FormValue(form, "AccountSid");
  t.body = http::FormValue(form, "Body");
  int media = 0;
  const std::string num_media = http::FormValue(form, "NumMedia");
  if (!num_media.empty() && (!absl::SimpleAtoi(num_media, &media) || media < 0 || media > 10)) {
    return InvalidField("NumMedia", "must be a number from 0 to 10");
  }
  for (int i = 0; i < media; ++i) {
    VL_ASSIGN_OR_RETURN(std::string url, Required(form, absl::StrCat("MediaUrl", i).c_str()));
    t.media_urls.push_back(std::move(url));
    t.media_types.push_back(http::FormValue(form, absl::StrCat("MediaContentType", i)));
  }
  return t;
}

}  // namespace vetline::conversations::channels
