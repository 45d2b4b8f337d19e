// What one attempt to hand a message to a provider (Twilio, an SMTP server, a push
// service) came to. Shared by every channel adapter so the delivery worker treats them
// alike: kSent records the provider's id, kRetry goes back to the outbox with backoff,
// kFailed is final and shows `reason` (the provider's own words) to staff. A retry that
// says the provider itself is unavailable (unreachable, overloaded) rather than this one
// recipient lets the worker hold back the rest of that channel's batch.
#pragma once

#include <string>

namespace vetline::conversations::channels {

struct SendOutcome {
  enum Kind { kSent, kRetry, kFailed } kind = kRetry;
  std::string provider_id;  // Twilio's message sid, the Message-ID, the push service's Location
  std::string reason;       // the provider's words, for staff
  int provider_code = 0;    // Twilio error code, SMTP reply code, HTTP status
  bool not_texting_capable = false;  // the number cannot take texts (mark the phone)
  bool recipient_opted_out = false;  // Twilio 21610: the number texted STOP to this sender
  bool subscription_gone = false;    // push subscription expired (404/410): drop it
  bool provider_unavailable = false; // kRetry for every recipient alike, not just this one

  static SendOutcome Sent(std::string provider_id) {
    SendOutcome o;
    o.kind = kSent;
    o.provider_id = std::move(provider_id);
    return o;
  }
  static SendOutcome Retry(std::string reason, int code = 0) { return Unsent(kRetry, std::move(reason), code); }
  // The provider cannot take anything now (no connection, 429, 5xx, SMTP 421).
  static SendOutcome Unavailable(std::string reason, int code = 0) {
    SendOutcome o = Retry(std::move(reason), code);
    o.provider_unavailable = true;
    return o;
  }
  static SendOutcome Failed(std::string reason, int code = 0) { return Unsent(kFailed, std::move(reason), code); }

 private:
  static SendOutcome Unsent(Kind kind, std::string reason, int code) {
    SendOutcome o;
    o.kind = kind;
    o.reason = std::move(reason);
    o.provider_code = code;
    return o;
  }
};

}  // namespace vetline::conversations::channels
