#include "services/conversations/delivery_setup.h"

#include "libs/core/status.h"

namespace vetline::conversations {

void DeliverySettings::Register(ConfigParser& p) {
  p.String("twilio-base-url", &twilio_base_url, "Twilio's REST API (a stand-in's in tests)",
           "https://api.twilio.com");
  p.String("twilio-account-sid", &twilio_account_sid, "Twilio account sid (empty: no texts)", "");
  p.String("twilio-auth-token", &twilio_auth_token, "Twilio auth token", "");
  p.String("smtp-url", &smtp_url, "smtp://host:port of the mail relay (empty: no email)", "");
  p.String("smtp-user", &smtp_user, "SMTP AUTH user", "");
  p.String("smtp-password", &smtp_password, "SMTP AUTH password", "");
  p.String("email-from", &options.email_from, "sender address when a clinic set none", "");
  p.String("reply-domain", &options.reply_domain,
           "domain of per-conversation reply addresses (empty: no reply address)", "");
  p.String("vapid-subject", &vapid_subject, "VAPID contact, mailto:... (empty: no push)", "");
  p.String("vapid-public-key", &vapid_public_key, "VAPID public key, base64url", "");
  p.String("vapid-private-key", &vapid_private_key, "VAPID private key, base64url", "");
  p.Bool("push-allow-loopback", &push_loopback_endpoints,
         "tests only: accept and push to http://127.0.0.1 subscription endpoints", false);
  p.Int("delivery-workers", &workers,
        "threads sending queued deliveries (0: this replica sends none; another does)", 4, 0, 64);
  p.Duration("delivery-lease", &options.lease,
             "how long a claimed delivery is held before another worker may try it (a worker "
             "that died mid-send)", absl::Minutes(2));
  p.Int("delivery-max-attempts", &options.retry.max_attempts,
        "tries before a delivery fails for good", 8, 1, 1000);
}

absl::StatusOr<DeliveryChannels> OpenDeliveryChannels(const DeliverySettings& s) {
  DeliveryChannels out;
  if (!s.twilio_account_sid.empty()) {
    channels::TwilioConfig c{.base_url = s.twilio_base_url,
                             .account_sid = s.twilio_account_sid,
                             .auth_token = s.twilio_auth_token};
    VL_RETURN_IF_ERROR(c.Validate());
    out.sms = std::make_unique<channels::TwilioSms>(std::move(c));
  }
  if (!s.smtp_url.empty()) {
    channels::SmtpConfig c{.url = s.smtp_url, .user = s.smtp_user, .password = s.smtp_password};
    VL_RETURN_IF_ERROR(c.Validate());
    out.email = std::make_unique<channels::SmtpEmail>(std::move(c));
  }
  if (!s.vapid_subject.empty()) {
    VL_ASSIGN_OR_RETURN(out.push, channels::WebPush::Create({.subject = s.vapid_subject,
                                                             .public_key = s.vapid_public_key,
                                                             .private_key = s.vapid_private_key,
                                                             .allow_http_endpoints = s.push_loopback_endpoints}));
  }
  return out;
}

}  // namespace vetline::conversations
