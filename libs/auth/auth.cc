#include "libs/auth/auth.h"

#include <sodium.h>

#include <cstring>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/core/status.h"

namespace vetline::auth {
namespace {

// sodium_init is idempotent and thread-safe; call it before any libsodium use.
void EnsureSodium() {
  static const bool ok = sodium_init() >= 0;
  (void)ok;
}

std::string Mac(const Key& key, std::string_view message) {
  unsigned char mac[crypto_auth_BYTES];
  crypto_auth(mac, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
              key.data());
  return std::string(reinterpret_cast<char*>(mac), sizeof(mac));
}

bool MacEquals(const Key& key, std::string_view message, std::string_view mac) {
  return mac.size() == crypto_auth_BYTES &&
         crypto_auth_verify(reinterpret_cast<const unsigned char*>(mac.data()),
                            reinterpret_cast<const unsigned char*>(message.data()),
                            message.size(), key.data()) == 0;
}

}  // namespace

absl::Status CheckPasswordPolicy(std::string_view password, std::string_view field) {
  if (password.size() < 10) {
    return InvalidField(field, "password must be at least 10 characters");
  }
  if (password.size() > 256) return InvalidField(field, "password must be at most 256 bytes");
  return absl::OkStatus();
}

absl::StatusOr<std::string> HashPassword(std::string_view password) {
  EnsureSodium();
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(),
                            crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return absl::ResourceExhaustedError("not enough memory to hash the password");
  }
  return std::string(out);
}

bool VerifyPassword(const std::string& encoded_hash, std::string_view password) {
  EnsureSodium();
  return crypto_pwhash_str_verify(encoded_hash.c_str(), password.data(), password.size()) == 0;
}

std::string NewSessionToken() {
  EnsureSodium();
  unsigned char raw[32];
  randombytes_buf(raw, sizeof(raw));
  return absl::StrCat("vls_",
                      absl::WebSafeBase64Escape(std::string(reinterpret_cast<char*>(raw), 32)));
}

std::string TokenHash(std::string_view token) {
  EnsureSodium();
  unsigned char h[32];
  crypto_generichash(h, sizeof(h), reinterpret_cast<const unsigned char*>(token.data()),
                     token.size(), nullptr, 0);
  return absl::BytesToHexString(std::string(reinterpret_cast<char*>(h), sizeof(h)));
}

absl::StatusOr<Key> Key::FromSecret(std::string_view secret) {
  if (secret.size() < 16) {
    return absl::InvalidArgumentError("the signing secret must be at least 16 characters");
  }
  EnsureSodium();
  Key k;
  crypto_generichash(k.bytes_, sizeof(k.bytes_),
                     reinterpret_cast<const unsigned char*>(secret.data()), secret.size(),
                     nullptr, 0);
  return k;
}

std::string LinkSigner::Sign(std::string_view purpose, std::string_view subject,
                             absl::Time expires) const {
  std::string payload =
      absl::StrCat(std::string(purpose), "|", absl::ToUnixSeconds(expires), "|", std::string(subject));
  return absl::StrCat(absl::WebSafeBase64Escape(payload), ".",
                      absl::WebSafeBase64Escape(Mac(key_, payload)));
}

absl::StatusOr<std::string> LinkSigner::Verify(std::string_view token, std::string_view purpose,
                                               absl::Time now) const {
  std::vector<std::string> parts = absl::StrSplit(std::string(token), '.');
  std::string payload, mac;
  if (parts.size() != 2 || !absl::WebSafeBase64Unescape(parts[0], &payload) ||
      !absl::WebSafeBase64Unescape(parts[1], &mac) || !MacEquals(key_, payload, mac)) {
    return absl::PermissionDeniedError("link invalid");
  }
  std::vector<std::string> fields = absl::StrSplit(payload, absl::MaxSplits('|', 2));
  int64_t expires;
  if (fields.size() != 3 || fields[0] != purpose || !absl::SimpleAtoi(fields[1], &expires)) {
    return absl::PermissionDeniedError("link invalid");
  }
  if (now >= absl::FromUnixSeconds(expires)) return absl::PermissionDeniedError("link expired");
  return fields[2];
}

std::pair<std::string, std::string> PrincipalSigner::Sign(const api::Principal& p) const {
  std::string bytes = p.SerializeAsString();
  return {bytes, Mac(key_, bytes)};
}

absl::StatusOr<api::Principal> PrincipalSigner::Verify(std::string_view serialized,
                                                       std::string_view mac,
                                                       absl::Time now) const {
  if (!MacEquals(key_, serialized, mac)) {
    return absl::UnauthenticatedError("principal signature invalid");
  }
  api::Principal p;
  if (!p.ParseFromArray(serialized.data(), static_cast<int>(serialized.size()))) {
    return absl::UnauthenticatedError("principal unreadable");
  }
  if (absl::FromUnixSeconds(p.expires_unix()) <= now) {
    return absl::UnauthenticatedError("principal expired");
  }
  return p;
}

}  // namespace vetline::auth
