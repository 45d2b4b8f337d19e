// Credentials and signatures (libsodium): argon2id password hashes, session tokens
// stored only as hashes, signed expiring links for clients, and the signature that
// lets services trust the principal the gateway authenticated.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "vetline/api/types.pb.h"

namespace vetline::auth {

// Passwords: at least 10 characters, at most 256 bytes (InvalidArgument names "password").
absl::Status CheckPasswordPolicy(std::string_view password, std::string_view field = "password");
absl::StatusOr<std::string> HashPassword(std::string_view password);  // argon2id, encoded
bool VerifyPassword(const std::string& encoded_hash, std::string_view password);

// Session tokens: "vls_" + 43 base64url characters (256 random bits). Only TokenHash()
// of a token is ever stored.
std::string NewSessionToken();
std::string TokenHash(std::string_view token);  // hex of BLAKE2b-256

// A symmetric key derived from a configured secret (at least 16 characters).
class Key {
 public:
  static absl::StatusOr<Key> FromSecret(std::string_view secret);
  const unsigned char* data() const { return bytes_; }

 private:
  unsigned char bytes_[32];
};

// Signed, expiring links: "<base64url payload>.<base64url mac>", where the payload binds
// a purpose ("portal", "video-join", ...), a subject and an expiry.
class LinkSigner {
 public:
  explicit LinkSigner(Key key) : key_(key) {}
  std::string Sign(std::string_view purpose, std::string_view subject, absl::Time expires) const;
  // The subject when the token is intact, meant for `purpose` and not expired at `now`:
  // otherwise PermissionDenied ("link expired" / "link invalid").
  absl::StatusOr<std::string> Verify(std::string_view token, std::string_view purpose,
                                     absl::Time now) const;

 private:
  Key key_;
};

// Signs a serialized Principal for gRPC metadata; services verify with the same key.
class PrincipalSigner {
 public:
  explicit PrincipalSigner(Key key) : key_(key) {}
  // Serialized principal and its MAC. The principal's expires_unix must be set.
  std::pair<std::string, std::string> Sign(const api::Principal& p) const;
  // Unauthenticated when the MAC is wrong or the principal expired at `now`.
  absl::StatusOr<api::Principal> Verify(std::string_view serialized, std::string_view mac,
                                        absl::Time now) const;

 private:
  Key key_;
};

}  // namespace vetline::auth
