#include "services/payments/stripe/stripe_signature.h"

#include <sodium.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/status.h"

namespace vetline::payments::stripe {
namespace {

constexpr char kField[] = "Stripe-Signature";

std::string Mac(std::string_view secret, std::string_view signed_payload) {
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(signed_payload.data()),
                                signed_payload.size());
  crypto_auth_hmacsha256_final(&state, mac);
  return std::string(reinterpret_cast<const char*>(mac), sizeof(mac));
}

std::string SignedPayload(int64_t t, std::string_view payload) {
  return absl::StrCat(t, ".", absl::string_view(payload.data(), payload.size()));
}

}  // namespace

std::string SignatureHeader(std::string_view payload, absl::Time t, const std::vector<std::string>& secrets) {
  const int64_t seconds = absl::ToUnixSeconds(t);
  std::string header = absl::StrCat("t=", seconds);
  for (const std::string& secret : secrets) {
    absl::StrAppend(&header, ",v1=", absl::BytesToHexString(Mac(secret, SignedPayload(seconds, payload))));
  }
  return header;
}

absl::Status VerifySignature(std::string_view payload, std::string_view header,
                             const std::vector<std::string>& secrets, absl::Time now, absl::Duration tolerance) {
  int64_t t = 0;
  bool has_t = false;
  std::vector<std::string> v1;
  for (absl::string_view part : absl::StrSplit(absl::string_view(header.data(), header.size()), ',')) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(absl::StripAsciiWhitespace(part), '=');
    if (kv.first == "t") {
      has_t = absl::SimpleAtoi(kv.second, &t);
    } else if (kv.first == "v1") {
      std::string raw = absl::HexStringToBytes(kv.second);
      if (raw.size() == crypto_auth_hmacsha256_BYTES && kv.second.size() == 2 * raw.size()) v1.push_back(raw);
    }  // other schemes (v0, test-mode extras) are ignored, as Stripe's libraries do
  }
  if (!has_t) return InvalidField(kField, "Stripe-Signature has no timestamp");
  if (v1.empty()) return InvalidField(kField, "Stripe-Signature has no v1 signature");
  bool matched = false;
  for (const std::string& secret : secrets) {
    const std::string expected = Mac(secret, SignedPayload(t, payload));
    for (const std::string& got : v1) {
      // Constant time over equal lengths (both 32 bytes).
      matched |= sodium_memcmp(expected.data(), got.data(), expected.size()) == 0;
    }
  }
  if (!matched) return InvalidField(kField, "no Stripe-Signature matches this payload and the signing secret");
  if (absl::AbsDuration(now - absl::FromUnixSeconds(t)) > tolerance) {
    return InvalidField(kField, "the Stripe-Signature timestamp is outside the tolerance (a replay?)");
  }
  return absl::OkStatus();
}

}  // namespace vetline::payments::stripe
