#include "libs/auth/sealed_secrets.h"

#include <sodium.h>

#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace vetline::auth {
namespace {

bool ValidId(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (char c : id) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-')) return false;
  }
  return true;
}

}  // namespace

absl::StatusOr<SecretKeyring> SecretKeyring::FromConfig(std::string_view spec) {
  if (sodium_init() < 0) return absl::InternalError("libsodium failed to initialise");
  SecretKeyring ring;
  const std::vector<std::string> entries = absl::StrSplit(std::string(spec), ',', absl::SkipWhitespace());
  for (const std::string& raw : entries) {
    const std::string entry(absl::StripAsciiWhitespace(raw));
    const size_t colon = entry.find(':');
    if (colon == std::string::npos) return absl::InvalidArgumentError("each secrets key must be written id:secret");
    const std::string id = entry.substr(0, colon);
    if (!ValidId(id)) return absl::InvalidArgumentError("a secrets key id must be 1-32 of a-z, 0-9 and -");
    if (ring.keys_.count(id)) return absl::InvalidArgumentError(absl::StrCat("secrets key id ", id, " appears twice"));
    auto key = Key::FromSecret(std::string_view(entry).substr(colon + 1));
    if (!key.ok()) return absl::InvalidArgumentError(absl::StrCat("secrets key ", id, " is shorter than 16 characters"));
    if (ring.current_.empty()) ring.current_ = id;
    ring.keys_.emplace(id, *key);
  }
  if (ring.current_.empty()) return absl::InvalidArgumentError("no secrets key configured");
  return ring;
}

std::string SecretKeyring::Seal(std::string_view plaintext) const {
  std::vector<unsigned char> out(crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES + plaintext.size());
  randombytes_buf(out.data(), crypto_secretbox_NONCEBYTES);
  crypto_secretbox_easy(out.data() + crypto_secretbox_NONCEBYTES,
                        reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(), out.data(),
                        keys_.at(current_).data());
  return absl::StrCat(current_, ":",
                      absl::WebSafeBase64Escape(absl::string_view(reinterpret_cast<const char*>(out.data()), out.size())));
}

absl::StatusOr<std::string> SecretKeyring::Open(std::string_view sealed) const {
  const absl::string_view text(sealed.data(), sealed.size());
  const size_t colon = text.find(':');
  if (colon == absl::string_view::npos) return absl::DataLossError("sealed secret unreadable");
  auto key = keys_.find(std::string_view(sealed.substr(0, colon)));
  if (key == keys_.end()) {
    return absl::FailedPreconditionError(
        absl::StrCat("sealed with secrets key ", text.substr(0, colon), ", which is not configured"));
  }
  std::string box;
  if (!absl::WebSafeBase64Unescape(text.substr(colon + 1), &box) ||
      box.size() < crypto_secretbox_NONCEBYTES + crypto_secretbox_MACBYTES) {
    return absl::DataLossError("sealed secret unreadable");
  }
  const auto* bytes = reinterpret_cast<const unsigned char*>(box.data());
  std::string plain(box.size() - crypto_secretbox_NONCEBYTES - crypto_secretbox_MACBYTES, '\0');
  if (crypto_secretbox_open_easy(reinterpret_cast<unsigned char*>(plain.data()), bytes + crypto_secretbox_NONCEBYTES,
                                 box.size() - crypto_secretbox_NONCEBYTES, bytes, key->second.data()) != 0) {
    return absl::DataLossError("sealed secret altered or sealed under another key");
  }
  return plain;
}

bool SecretKeyring::IsCurrent(std::string_view sealed) const {
  return absl::StartsWith(absl::string_view(sealed.data(), sealed.size()), absl::StrCat(current_, ":"));
}

}  // namespace vetline::auth
