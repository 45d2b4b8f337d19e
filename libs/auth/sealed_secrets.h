// Secrets kept at rest (a clinic's Stripe secret key and webhook signing secret):
// libsodium secretbox (XSalsa20-Poly1305) under a key named by an id, so keys rotate
// without downtime — new secrets are sealed with the current key, older ones still open
// with the key their id names until they are sealed again.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "libs/auth/auth.h"

namespace vetline::auth {

class SecretKeyring {
 public:
  // From configuration: "id:secret[,id:secret…]", the first key current. Ids are short
  // names ([a-z0-9-]); each secret at least 16 characters (Key::FromSecret). Errors
  // name the problem, never a secret.
  static absl::StatusOr<SecretKeyring> FromConfig(std::string_view spec);

  // "<key id>:<base64url(nonce || box)>", a fresh random nonce each time.
  std::string Seal(std::string_view plaintext) const;
  // The plaintext, or FailedPrecondition when the key it names is not configured, or
  // DataLoss when the box was altered or sealed under another key of that name.
  absl::StatusOr<std::string> Open(std::string_view sealed) const;
  // Sealed with the current key: nothing to do in a rotation.
  bool IsCurrent(std::string_view sealed) const;
  const std::string& current_id() const { return current_; }

 private:
  SecretKeyring() = default;
  std::string current_;
  std::map<std::string, Key, std::less<>> keys_;
};

}  // namespace vetline::auth
