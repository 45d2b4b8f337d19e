#include "services/conversations/channels/twilio_signature.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <optional>

#include "absl/strings/escaping.h"

namespace vetline::conversations::channels {
namespace {

// The URL with its port removed or the scheme's default added; nullopt when unchanged.
struct UrlParts {
  std::string scheme, host, port, rest;
};

std::optional<UrlParts> SplitUrl(std::string_view url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  UrlParts p;
  p.scheme = std::string(url.substr(0, scheme_end));
  std::string_view after = url.substr(scheme_end + 3);
  size_t path = after.find_first_of("/?#");
  std::string_view authority = after.substr(0, path);
  p.rest = path == std::string_view::npos ? "" : std::string(after.substr(path));
  // userinfo@host:port; IPv6 literals keep their brackets.
  size_t at = authority.rfind('@');
  std::string userinfo = at == std::string_view::npos ? "" : std::string(authority.substr(0, at + 1));
  std::string_view hostport = at == std::string_view::npos ? authority : authority.substr(at + 1);
  size_t colon = hostport.rfind(':');
  size_t bracket = hostport.rfind(']');
  if (colon != std::string_view::npos && (bracket == std::string_view::npos || colon > bracket)) {
    p.host = userinfo + std::string(hostport.substr(0, colon));
    p.port = std::string(hostport.substr(colon + 1));
  } else {
    p.host = userinfo + std::string(hostport);
  }
  return p;
}

}  // namespace

std::string TwilioSignature(std::string_view auth_token, std::string_view url,
                            const http::FormParams& params) {
  http::FormParams sorted = params;
  // Byte order of UTF-8 is code-point order, which is how Twilio's SDKs sort.
  std::stable_sort(sorted.begin(), sorted.end());
  std::string data(url);
  for (const auto& [name, value] : sorted) {
    data += name;
    data += value;
  }
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), auth_token.data(), static_cast<int>(auth_token.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_len);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

bool VerifyTwilioSignature(std::string_view auth_token, std::string_view url,
                           const http::FormParams& params, std::string_view signature) {
  auto matches = [&](std::string_view candidate) {
    std::string expected = TwilioSignature(auth_token, candidate, params);
    return expected.size() == signature.size() &&
           CRYPTO_memcmp(expected.data(), signature.data(), expected.size()) == 0;
  };
  if (signature.empty()) return false;
  if (matches(url)) return true;
  std::optional<UrlParts> p = SplitUrl(url);
  if (!p) return false;
  if (!p->port.empty()) return matches(p->scheme + "://" + p->host + p->rest);
  std::string port = p->scheme == "https" ? "443" : "80";
  return matches(p->scheme + "://" + p->host + ":" + port + p->rest);
}

}  // namespace vetline::conversations::channels
