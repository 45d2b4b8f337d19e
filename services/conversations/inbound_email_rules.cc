#include "services/conversations/inbound_email_rules.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/core/validate.h"

namespace vetline::conversations::inbound {
namespace {

constexpr std::string_view kReplyPrefix = "reply+";
constexpr size_t kMaxScannedHeaderBytes = 64 * 1024;

absl::string_view AV(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string Sha256Hex(std::string_view bytes) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  EVP_Digest(bytes.data(), bytes.size(), digest, &len, EVP_sha256(), nullptr);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), len));
}

// Hashing both sides first makes the comparison's time independent of where (and
// whether) the lengths differ.
bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  const std::string ha = Sha256Hex(a), hb = Sha256Hex(b);
  return CRYPTO_memcmp(ha.data(), hb.data(), ha.size()) == 0;
}

bool IsAddressChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '+' ||
         c == '@' || c == '_';
}

}  // namespace

std::string ReplyAddressFor(std::string_view conversation_id, std::string_view reply_domain) {
  return absl::StrCat(AV(kReplyPrefix), AV(conversation_id), "@", AV(reply_domain));
}

bool SecretMatches(std::string_view authorization, std::string_view secret) {
  if (secret.empty()) return false;
  absl::string_view h = absl::StripAsciiWhitespace(AV(authorization));
  const size_t space = h.find(' ');
  if (space == absl::string_view::npos) return false;
  const std::string scheme = absl::AsciiStrToLower(h.substr(0, space));
  absl::string_view value = absl::StripLeadingAsciiWhitespace(h.substr(space + 1));
  std::string given;
  if (scheme == "bearer") {
    given = std::string(value);
  } else if (scheme == "basic") {
    std::string decoded;
    if (!absl::Base64Unescape(value, &decoded)) return false;
    const size_t colon = decoded.find(':');
    if (colon == std::string::npos) return false;
    given = decoded.substr(colon + 1);
  } else {
    return false;
  }
  return ConstantTimeEquals(given, secret);
}

absl::StatusOr<ReplyAddress> FindReplyAddress(const std::vector<std::string>& recipients,
                                              std::string_view reply_domain) {
  bool other_domain = false;
  for (const std::string& r : recipients) {
    const std::string lower = absl::AsciiStrToLower(absl::StripAsciiWhitespace(r));
    const size_t at = lower.rfind('@');
    if (at == std::string::npos || !absl::StartsWith(lower, AV(kReplyPrefix))) continue;
    const std::string id = lower.substr(kReplyPrefix.size(), at - kReplyPrefix.size());
    if (!validate::Id("raw", id).ok()) continue;
    if (lower.substr(at + 1) != absl::AsciiStrToLower(AV(reply_domain))) {
      other_domain = true;
      continue;
    }
    return ReplyAddress{std::string(absl::StripAsciiWhitespace(r)), id};
  }
  if (other_domain) {
    return NotFoundField("raw", absl::StrCat("the email's reply address is for another domain than ",
                                             AV(reply_domain)));
  }
  return NotFoundField("raw", absl::StrCat("no recipient of the email is a reply address (reply+<conversation>@",
                                           AV(reply_domain), ")"));
}

std::vector<std::string> ScanReplyAddresses(std::string_view raw) {
  std::string head(raw.substr(0, std::min(raw.size(), kMaxScannedHeaderBytes)));
  for (const char* end : {"\r\n\r\n", "\n\n"}) {
    if (size_t e = head.find(end); e != std::string::npos) head.resize(e);
  }
  const std::string lower = absl::AsciiStrToLower(head);
  std::vector<std::string> out;
  for (size_t at = lower.find(kReplyPrefix); at != std::string::npos;
       at = lower.find(kReplyPrefix, at + 1)) {
    if (at > 0 && IsAddressChar(head[at - 1])) continue;  // inside another word
    size_t end = at;
    while (end < head.size() && IsAddressChar(head[end])) ++end;
    out.push_back(head.substr(at, end - at));
  }
  return out;
}

bool SameAddress(std::string_view a, std::string_view b) {
  return absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(AV(a)), absl::StripAsciiWhitespace(AV(b)));
}

std::string DedupKey(std::string_view message_id, std::string_view raw) {
  absl::string_view id = absl::StripAsciiWhitespace(AV(message_id));
  if (!id.empty()) return absl::StrCat("message-id:", id);
  return absl::StrCat("sha256:", Sha256Hex(raw));
}

}  // namespace vetline::conversations::inbound
