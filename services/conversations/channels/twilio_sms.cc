#include "services/conversations/channels/sms.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "libs/http/form.h"
#include "libs/http/http_post.h"

namespace vetline::conversations::channels {
namespace {

bool IsHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) return false;
  }
  return true;
}

// Twilio's error body: {"code": 21211, "message": "...", "more_info": "...", "status": 400}.
struct TwilioError {
  int code = 0;
  std::string message;
};

TwilioError ParseError(const std::string& body, int http_status) {
  TwilioError e;
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_object()) {
    if (j.contains("code") && j["code"].is_number_integer()) e.code = j["code"].get<int>();
    if (j.contains("message") && j["message"].is_string()) e.message = j["message"].get<std::string>();
  }
  if (e.message.empty()) e.message = absl::StrCat("Twilio answered HTTP ", http_status);
  return e;
}

}  // namespace

absl::Status TwilioConfig::Validate() const {
  if (!absl::StartsWith(base_url, "http://") && !absl::StartsWith(base_url, "https://")) {
    return absl::InvalidArgumentError("twilio base_url must start with http:// or https://");
  }
  if (account_sid.size() != 34 || !absl::StartsWith(account_sid, "AC") ||
      !IsHex(std::string_view(account_sid).substr(2))) {
    return absl::InvalidArgumentError("twilio account_sid must be AC followed by 32 hex digits");
  }
  if (auth_token.empty()) return absl::InvalidArgumentError("twilio auth_token is required");
  if (timeout <= absl::ZeroDuration()) return absl::InvalidArgumentError("twilio timeout must be positive");
  return absl::OkStatus();
}

TwilioSms::TwilioSms(TwilioConfig config) : config_(std::move(config)) {
  std::string base = config_.base_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  messages_url_ = absl::StrCat(base, "/2010-04-01/Accounts/", config_.account_sid, "/Messages.json");
}

SendOutcome TwilioSms::Send(const Sms& sms) {
  try {
    http::FormParams form = {{"To", sms.to}, {"From", sms.from}, {"Body", sms.body}};
    if (!sms.status_callback.empty()) form.emplace_back("StatusCallback", sms.status_callback);
    http::HttpRequest req;
    req.url = messages_url_;
    req.headers = {"Content-Type: application/x-www-form-urlencoded", "Accept: application/json"};
    req.body = http::EncodeForm(form);
    req.basic_user = config_.account_sid;
    req.basic_password = config_.auth_token;
    req.timeout = config_.timeout;
    http::HttpResult res = http::HttpPost(req);
    if (res.status == 0) return SendOutcome::Unavailable(absl::StrCat("Twilio unreachable: ", res.transport_error));
    if (res.status >= 200 && res.status < 300) {
      nlohmann::json j = nlohmann::json::parse(res.body, nullptr, false);
      if (!j.is_object() || !j.contains("sid") || !j["sid"].is_string()) {
        // Accepted or not, we cannot tell: retrying may send twice, but losing is worse.
        return SendOutcome::Retry("Twilio answered without a message sid", res.status);
      }
      SendOutcome out = SendOutcome::Sent(j["sid"].get<std::string>());
      if (j.contains("status") && j["status"].is_string()) {
        std::optional<DeliveryState> st = StatusFromTwilio(j["status"].get<std::string>());
        if (st == DeliveryState::kFailed) {
          int code = j.contains("error_code") && j["error_code"].is_number_integer()
                         ? j["error_code"].get<int>() : 0;
          std::string msg = j.contains("error_message") && j["error_message"].is_string()
                                ? j["error_message"].get<std::string>() : "Twilio marked the message failed";
          SendOutcome failed = SendOutcome::Failed(msg, code);
          failed.provider_id = out.provider_id;
          failed.not_texting_capable = TwilioCodeMeansNotTextingCapable(code);
          return failed;
        }
      }
      return out;
    }
    TwilioError e = ParseError(res.body, res.status);
    if (res.status == 429 || res.status >= 500) {
      return SendOutcome::Unavailable(e.message, e.code ? e.code : res.status);
    }
    SendOutcome out = SendOutcome::Failed(e.message, e.code ? e.code : res.status);
    out.not_texting_capable = TwilioCodeMeansNotTextingCapable(e.code);
    out.recipient_opted_out = e.code == kTwilioUnsubscribedRecipient;
    return out;
  } catch (const std::exception& ex) {
    return SendOutcome::Retry(absl::StrCat("sending the text failed: ", ex.what()));
  }
}

bool TwilioCodeMeansNotTextingCapable(int code) {
  return code == 21614 || code == 21635 || code == 30006;
}

std::string_view DeliveryStateName(DeliveryState s) {
  switch (s) {
    case DeliveryState::kQueued: return "queued";
    case DeliveryState::kSent: return "sent";
    case DeliveryState::kDelivered: return "delivered";
    case DeliveryState::kFailed: return "failed";
  }
  return "queued";
}

std::optional<DeliveryState> StatusFromTwilio(std::string_view status) {
  if (status == "accepted" || status == "scheduled" || status == "queued" || status == "sending") {
    return DeliveryState::kQueued;
  }
  if (status == "sent") return DeliveryState::kSent;
  if (status == "delivered" || status == "read") return DeliveryState::kDelivered;
  if (status == "undelivered" || status == "failed" || status == "canceled") return DeliveryState::kFailed;
  return std::nullopt;
}

bool DeliveryStateAdvances(DeliveryState stored, DeliveryState incoming) {
  auto rank = [](DeliveryState s) {
    switch (s) {
      case DeliveryState::kQueued: return 0;
      case DeliveryState::kSent: return 1;
      case DeliveryState::kDelivered:
      case DeliveryState::kFailed: return 2;
    }
    return 0;
  };
  return rank(incoming) > rank(stored);
}

}  // namespace vetline::conversations::channels
