#include "libs/webrtc/turn.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/core/status.h"

namespace vetline::webrtc {
namespace {

// coturn refuses shorter secrets nowhere, but a guessable one lets anyone relay.
constexpr size_t kMinSecret = 16;

struct TurnUrl {
  bool tls = false;
  std::string host;  // IPv6 literals keep their brackets
  int port = 0;
  bool tcp = false;
};

absl::StatusOr<TurnUrl> ParseUrl(absl::string_view url, const std::string& field) {
  auto bad = [&](absl::string_view why) {
    return InvalidField(field, absl::StrCat(field, ": \"", url, "\" ", why));
  };
  TurnUrl u;
  absl::string_view rest = url;
  if (absl::ConsumePrefix(&rest, "turns:")) {
    u.tls = true;
  } else if (!absl::ConsumePrefix(&rest, "turn:")) {
    return bad("is not a TURN URL (turn:host:port or turns:host:port)");
  }
  if (absl::StartsWith(rest, "//")) return bad("must not have \"//\" (turn:host:port, as browsers take it)");
  absl::string_view query;
  if (size_t q = rest.find('?'); q != absl::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  absl::string_view port;
  if (absl::StartsWith(rest, "[")) {
    size_t close = rest.find(']');
    if (close == absl::string_view::npos) return bad("has an unclosed IPv6 address");
    u.host = std::string(rest.substr(0, close + 1));
    absl::string_view after = rest.substr(close + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) return bad("has text after the IPv6 address");
    port = after;
  } else {
    size_t colon = rest.rfind(':');
    u.host = std::string(rest.substr(0, colon));
    if (colon != absl::string_view::npos) port = rest.substr(colon + 1);
  }
  if (u.host.empty() || u.host.find_first_of("@/ ") != std::string::npos) return bad("has no valid host");
  u.port = u.tls ? 5349 : 3478;  // RFC 7065's defaults
  if (!port.empty() && (!absl::SimpleAtoi(port, &u.port) || u.port < 1 || u.port > 65535)) {
    return bad("has an invalid port");
  }
  if (!query.empty()) {
    if (query == "transport=tcp") {
      u.tcp = true;
    } else if (query != "transport=udp") {
      return bad("may only end in ?transport=udp or ?transport=tcp");
    }
  }
  if (u.tls && !query.empty() && !u.tcp) return bad("is turns: over UDP (turns: is TLS over TCP)");
  return u;
}

// Percent-escapes everything but RFC 3986's unreserved characters.
std::string Escape(absl::string_view s) {
  std::string out;
  for (char c : s) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      absl::StrAppend(&out, "%", absl::AsciiStrToUpper(absl::BytesToHexString(absl::string_view(&c, 1))));
    }
  }
  return out;
}

}  // namespace

std::string TurnCredential(std::string_view secret, std::string_view username) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(username.data()), username.size(), mac, &mac_len);
  return absl::Base64Escape(absl::string_view(reinterpret_cast<const char*>(mac), mac_len));
}

absl::StatusOr<TurnRelay> TurnRelay::Parse(std::string_view urls, std::string secret,
                                           std::string_view urls_field, std::string_view secret_field) {
  TurnRelay relay;
  const std::string field(urls_field);
  for (absl::string_view url : absl::StrSplit(absl::string_view(urls.data(), urls.size()), ',', absl::SkipWhitespace())) {
    url = absl::StripAsciiWhitespace(url);
    VL_RETURN_IF_ERROR(ParseUrl(url, field).status());
    relay.urls_.emplace_back(url);
  }
  if (!relay.configured()) {
    if (!secret.empty()) {
      return InvalidField(urls_field, absl::StrCat(std::string(secret_field), " is set but ", std::string(urls_field),
                                                   " is empty: set the relay's URLs too"));
    }
    return relay;
  }
  if (secret.size() < kMinSecret) {
    return InvalidField(secret_field, absl::StrCat(std::string(secret_field), " must be set with ",
                                                   std::string(urls_field), " (coturn's static-auth-secret, at least ",
                                                   kMinSecret, " characters)"));
  }
  relay.secret_ = std::move(secret);
  return relay;
}

std::optional<IceServer> TurnRelay::For(std::string_view who, absl::Time expires) const {
  if (!configured()) return std::nullopt;
  IceServer server;
  server.urls = urls_;
  server.username = absl::StrCat(absl::ToUnixSeconds(expires), ":", std::string(who));
  server.credential = TurnCredential(secret_, server.username);
  return server;
}

std::vector<std::string> TurnRelay::WebrtcbinUris(std::string_view who, absl::Time expires) const {
  std::vector<std::string> out;
  std::optional<IceServer> server = For(who, expires);
  if (!server) return out;
  const std::string userinfo = absl::StrCat(Escape(server->username), ":", Escape(server->credential), "@");
  for (const std::string& url : urls_) {
    absl::StatusOr<TurnUrl> u = ParseUrl(url, "");  // checked in Parse
    if (!u.ok()) continue;
    out.push_back(absl::StrCat(u->tls ? "turns://" : "turn://", userinfo, u->host, ":", u->port,
                               u->tcp && !u->tls ? "?transport=tcp" : ""));
  }
  return out;
}

}  // namespace vetline::webrtc
