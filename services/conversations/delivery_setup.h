// The delivery side of a deployment: which providers it talks to (a channel left unset
// has no sender, and its deliveries fail saying so) and how many workers drain the queue.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/config.h"
#include "services/conversations/delivery_worker.h"

namespace vetline::conversations {

struct DeliverySettings {
  std::string twilio_base_url, twilio_account_sid, twilio_auth_token;
  std::string smtp_url, smtp_user, smtp_password;
  std::string vapid_subject, vapid_public_key, vapid_private_key;
  // Tests only: push to (and register) http://127.0.0.1 endpoints of a loopback receiver.
  bool push_loopback_endpoints = false;
  int workers = 4;
  DeliveryOptions options;
  void Register(ConfigParser& p);
};

// The configured senders, checked at start (a bad setting fails the start, named).
struct DeliveryChannels {
  std::unique_ptr<channels::TwilioSms> sms;
  std::unique_ptr<channels::SmtpEmail> email;
  std::unique_ptr<channels::WebPush> push;
  DeliverySenders senders() const { return {.sms = sms.get(), .email = email.get(), .push = push.get()}; }
};
absl::StatusOr<DeliveryChannels> OpenDeliveryChannels(const DeliverySettings& settings);

}  // namespace vetline::conversations
