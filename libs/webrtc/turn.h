// The clinic's TURN relay (coturn with use-auth-secret), for browsers and for the media
// service alike: the URLs the operator sets once and short-lived credentials in the
// "TURN REST API" scheme coturn checks on every request: username
// "<expiry unix time>:<who>", credential base64(HMAC-SHA1(shared secret, username)).
// The secret never leaves this class; only credentials derived from it do.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vetline::webrtc {

// One entry of RTCPeerConnection's iceServers.
struct IceServer {
  std::vector<std::string> urls;
  std::string username;
  std::string credential;
};

class TurnRelay {
 public:
  TurnRelay() = default;  // none configured
  // `urls`: comma-separated RFC 7065 URIs as browsers take them, "turn:host[:port]" or
  // "turns:host[:port]", optionally "?transport=udp|tcp"; empty: no relay. `secret` is
  // coturn's static-auth-secret, required with URLs. InvalidArgument names the setting.
  static absl::StatusOr<TurnRelay> Parse(std::string_view urls, std::string secret,
                                         std::string_view urls_field = "media-turn-urls",
                                         std::string_view secret_field = "media-turn-secret");

  bool configured() const { return !urls_.empty(); }
  const std::vector<std::string>& urls() const { return urls_; }

  // The relay for `who` (a participant id; no ':'), usable until `expires`; nullopt when
  // no relay is configured.
  std::optional<IceServer> For(std::string_view who, absl::Time expires) const;

  // The same credentials as webrtcbin's turn-server URIs:
  // "turn(s)://<user>:<password>@host:port[?transport=tcp]", user and password
  // percent-escaped (the username holds a ':', the credential '+', '/' and '=').
  std::vector<std::string> WebrtcbinUris(std::string_view who, absl::Time expires) const;

 private:
  std::vector<std::string> urls_;
  std::string secret_;
};

// base64(HMAC-SHA1(secret, username)): coturn's check of a REST API credential.
std::string TurnCredential(std::string_view secret, std::string_view username);

}  // namespace vetline::webrtc
