// Web Push to the subscriptions the portal or app registers: the PushSender interface the
// delivery worker calls (a fake in unit tests) and WebPush, which encrypts the payload
// per RFC 8291 (aes128gcm: ECDH P-256 with the subscription's p256dh key and auth
// secret, HKDF-SHA256, AES-128-GCM) and signs a VAPID JWT per RFC 8292 (ES256), then
// POSTs to the push service (RFC 8030) with TTL and Content-Encoding: aes128gcm.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "services/conversations/channels/send_outcome.h"

namespace vetline::conversations::channels {

// As the browser's PushSubscription.toJSON() gives it: keys in base64url.
struct PushSubscription {
  std::string endpoint;  // https://… of the push service
  std::string p256dh;    // the user agent's P-256 public key (65 bytes uncompressed)
  std::string auth;      // the 16-byte auth secret
};

class PushSender {
 public:
  virtual ~PushSender() = default;
  // Thread-safe; never throws. 404/410 → kFailed with subscription_gone (drop it);
  // 429/5xx and network errors → kRetry; other 4xx → kFailed.
  virtual SendOutcome Send(const PushSubscription& subscription, std::string_view payload) = 0;
};

struct VapidConfig {
  std::string subject;      // mailto:ops@… or https://…
  std::string public_key;   // base64url, 65-byte uncompressed P-256 point (the browser's applicationServerKey)
  std::string private_key;  // base64url, 32-byte P-256 scalar
  absl::Duration ttl = absl::Hours(24);  // how long the push service may hold the message
  absl::Duration timeout = absl::Seconds(10);
  // Tests only: also POST to http:// endpoints (loopback receivers). Off, only https.
  bool allow_http_endpoints = false;
};

// Whether a subscription endpoint (client input, stored at registration) may be used: an
// https URL on a known browser push service (FCM, Mozilla, Apple, Windows), so a portal
// user cannot make the server POST to arbitrary hosts. InvalidArgument on "endpoint".
absl::Status CheckPushEndpoint(std::string_view endpoint);
// Whether a subscription's keys can be encrypted to: p256dh a base64url 65-byte
// uncompressed point on P-256, auth a base64url 16-byte secret. InvalidArgument on
// "keys.p256dh" or "keys.auth".
absl::Status CheckPushKeys(const PushSubscription& subscription);

struct VapidKeys {
  std::string public_key, private_key;  // base64url, as VapidConfig takes them
};
// A fresh VAPID key pair (for `vetline up` and new deployments).
absl::StatusOr<VapidKeys> GenerateVapidKeys();

// The largest payload one aes128gcm record of 4096 bytes can carry.
inline constexpr size_t kMaxPushPayload = 3993;

class WebPush final : public PushSender {
 public:
  // Checks the settings (subject, a key pair that matches, ttl, timeout), naming the bad one.
  static absl::StatusOr<std::unique_ptr<WebPush>> Create(VapidConfig config);
  ~WebPush() override;
  SendOutcome Send(const PushSubscription& subscription, std::string_view payload) override;

  struct Impl;

 private:
  explicit WebPush(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// RFC 8291 body for one subscription (header: salt, record size 4096, the sender's
// ephemeral public key; then the single encrypted record). Fresh salt and key each call.
absl::StatusOr<std::string> EncryptPushPayload(const PushSubscription& subscription, std::string_view payload);

// The VAPID Authorization header value for `endpoint`: "vapid t=<JWT>, k=<public key>".
absl::StatusOr<std::string> VapidAuthorization(const VapidConfig& config, std::string_view endpoint, absl::Time now);

}  // namespace vetline::conversations::channels
