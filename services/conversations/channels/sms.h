// Text messages out through Twilio Programmable Messaging: the SmsSender interface the
// delivery worker calls (a fake in unit tests), and TwilioSms, which speaks Twilio's REST
// API exactly: POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded To,
// From, Body, StatusCallback, HTTP basic auth with the account sid and auth token.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "services/conversations/channels/send_outcome.h"

namespace vetline::conversations::channels {

struct Sms {
  std::string from;             // the clinic's own number, E.164
  std::string to;               // the client's primary, texting-capable number, E.164
  std::string body;
  std::string status_callback;  // our webhook URL for delivery updates ("" for none)
};

class SmsSender {
 public:
  virtual ~SmsSender() = default;
  // Thread-safe; never throws. See SendOutcome for what each kind means.
  virtual SendOutcome Send(const Sms& sms) = 0;
};

struct TwilioConfig {
  std::string base_url = "https://api.twilio.com";  // http://127.0.0.1:PORT for the stand-in
  std::string account_sid;                          // AC + 32 hex
  std::string auth_token;
  absl::Duration timeout = absl::Seconds(10);

  // Fails naming the setting: base_url must be http(s)://, account_sid AC + 32 hex, a
  // token, a positive timeout.
  absl::Status Validate() const;
};

class TwilioSms final : public SmsSender {
 public:
  explicit TwilioSms(TwilioConfig config);
  SendOutcome Send(const Sms& sms) override;

 private:
  TwilioConfig config_;
  std::string messages_url_;
};

// Twilio error codes meaning the number cannot take texts at all (so the phone is marked
// not texting-capable, not retried): 21614 not a mobile number, 21635 cannot be a
// landline, 30006 landline or unreachable carrier. Used for API answers and for the
// ErrorCode of status callbacks alike.
bool TwilioCodeMeansNotTextingCapable(int code);
// 21610: the recipient replied STOP to this sender; Twilio refuses until START.
inline constexpr int kTwilioUnsubscribedRecipient = 21610;

// Our per-channel delivery states.
enum class DeliveryState { kQueued, kSent, kDelivered, kFailed };
std::string_view DeliveryStateName(DeliveryState s);  // "queued", "sent", ...

// Twilio's MessageStatus (API answers and status callbacks) as our state: accepted,
// scheduled, queued, sending → queued; sent → sent; delivered, read → delivered;
// undelivered, failed, canceled → failed. nullopt for inbound-only or unknown values.
std::optional<DeliveryState> StatusFromTwilio(std::string_view status);

// Whether a callback's state may replace the stored one: callbacks can arrive out of
// order, and a late "sent" must not undo "delivered". A final state is never replaced.
bool DeliveryStateAdvances(DeliveryState stored, DeliveryState incoming);

}  // namespace vetline::conversations::channels
