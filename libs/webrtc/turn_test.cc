// The clinic's TURN relay settings and the credentials handed to each participant: the
// username coturn reads the expiry from, the HMAC-SHA1 it checks (against Python's hmac),
// what a bad setting says, and nothing at all when no relay is configured.
#include "libs/webrtc/turn.h"

#include <catch2/catch.hpp>

#include "absl/strings/match.h"
#include "libs/testing/python_check.h"

using vetline::webrtc::IceServer;
using vetline::webrtc::TurnCredential;
using vetline::webrtc::TurnRelay;

namespace {

constexpr char kSecret[] = "north-clinic-turn-secret-2026";
const std::string kCheck = std::string(VETLINE_SOURCE_DIR) + "/libs/webrtc/turn_check.py";

TurnRelay Relay(std::string_view urls) {
  absl::StatusOr<TurnRelay> r = TurnRelay::Parse(urls, kSecret);
  REQUIRE(r.ok());
  return *r;
}

}  // namespace

TEST_CASE("turn: a participant's credential is <expiry>:<id> and base64 HMAC-SHA1 of it as Python computes") {
  TurnRelay relay = Relay("turn:turn.riverside.example:3478?transport=udp, turns:turn.riverside.example:5349?transport=tcp");
  absl::Time expires = absl::FromUnixSeconds(1796212800);  // 2026-12-02T12:00:00Z
  std::optional<IceServer> s = relay.For("0f3c9a52-7d1e-4b8a-9c2d-5e6f7a8b9c0d", expires);
  REQUIRE(s);
  CHECK(s->urls == std::vector<std::string>{"turn:turn.riverside.example:3478?transport=udp",
                                            "turns:turn.riverside.example:5349?transport=tcp"});
  CHECK(s->username == "1796212800:0f3c9a52-7d1e-4b8a-9c2d-5e6f7a8b9c0d");

  nlohmann::json cases = nlohmann::json::array({
      {{"secret", kSecret}, {"username", s->username}},
      {{"secret", "another-clinic-secret-xyz"}, {"username", "1700000000:media"}},
      {{"secret", "s\xc3\xb6me-\xe2\x82\xac-secret-with-bytes"}, {"username", "1:p"}},
  });
  nlohmann::json python = vetline::testing::RunPythonCheck(kCheck, cases);
  REQUIRE(python.is_array());
  REQUIRE(python.size() == 3);
  CHECK(s->credential == python[0].get<std::string>());
  CHECK(TurnCredential("another-clinic-secret-xyz", "1700000000:media") == python[1].get<std::string>());
  CHECK(TurnCredential("s\xc3\xb6me-\xe2\x82\xac-secret-with-bytes", "1:p") == python[2].get<std::string>());
  // The answer carries a credential derived from the secret, never the secret.
  CHECK_FALSE(absl::StrContains(s->credential, kSecret));
  CHECK_FALSE(absl::StrContains(s->username, kSecret));
}

TEST_CASE("turn: the expiry in the username is the one asked for and a later one gives another credential") {
  TurnRelay relay = Relay("turn:127.0.0.1:3478");
  absl::Time now = absl::FromUnixSeconds(1796200000);
  std::optional<IceServer> a = relay.For("p1", now + absl::Hours(12));
  std::optional<IceServer> b = relay.For("p1", now + absl::Hours(13));
  std::optional<IceServer> other = relay.For("p2", now + absl::Hours(12));
  REQUIRE((a && b && other));
  CHECK(a->username == "1796243200:p1");
  CHECK(b->username == "1796246800:p1");
  CHECK(a->credential != b->credential);
  CHECK(a->credential != other->credential);  // bound to the participant too
}

TEST_CASE("turn: no relay configured means no ICE server and no webrtcbin TURN URI") {
  absl::StatusOr<TurnRelay> none = TurnRelay::Parse("", "");
  REQUIRE(none.ok());
  CHECK_FALSE(none->configured());
  CHECK_FALSE(none->For("p1", absl::Now() + absl::Hours(1)).has_value());
  CHECK(none->WebrtcbinUris("media", absl::Now() + absl::Hours(1)).empty());
  CHECK_FALSE(TurnRelay().For("p1", absl::Now()).has_value());
}

TEST_CASE("turn: webrtcbin gets each URL with the credentials escaped into its userinfo") {
  TurnRelay relay = Relay("turn:turn.riverside.example?transport=udp,turn:[2001:db8::7]:3479?transport=tcp,"
                          "turns:turn.riverside.example:443?transport=tcp");
  absl::Time expires = absl::FromUnixSeconds(1796212800);
  std::optional<IceServer> s = relay.For("media", expires);
  REQUIRE(s);
  std::vector<std::string> uris = relay.WebrtcbinUris("media", expires);
  REQUIRE(uris.size() == 3);
  // The ':' inside the username is escaped, or webrtcbin would split user and password there.
  std::string user = "1796212800%3Amedia";
  std::string pass;
  for (char c : s->credential) {
    pass += c == '+' ? "%2B" : c == '/' ? "%2F" : c == '=' ? "%3D" : std::string(1, c);
  }
  CHECK(uris[0] == "turn://" + user + ":" + pass + "@turn.riverside.example:3478");
  CHECK(uris[1] == "turn://" + user + ":" + pass + "@[2001:db8::7]:3479?transport=tcp");
  CHECK(uris[2] == "turns://" + user + ":" + pass + "@turn.riverside.example:443");
}

TEST_CASE("turn: bad settings name the setting and say what is wrong") {
  auto message = [](std::string_view urls, std::string secret) {
    absl::StatusOr<TurnRelay> r = TurnRelay::Parse(urls, std::move(secret));
    REQUIRE_FALSE(r.ok());
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    return std::string(r.status().message());
  };
  CHECK(absl::StrContains(message("turn://u:p@turn.example:3478", kSecret), "media-turn-urls"));
  CHECK(absl::StrContains(message("stun:turn.example:3478", kSecret), "is not a TURN URL"));
  CHECK(absl::StrContains(message("turn:turn.example:99999", kSecret), "invalid port"));
  CHECK(absl::StrContains(message("turn:turn.example?transport=sctp", kSecret), "transport=udp"));
  CHECK(absl::StrContains(message("turn::3478", kSecret), "no valid host"));
  CHECK(absl::StrContains(message("turn:turn.example:3478", ""), "media-turn-secret must be set"));
  CHECK(absl::StrContains(message("turn:turn.example:3478", "short"), "at least 16"));
  CHECK(absl::StrContains(message("", kSecret), "media-turn-urls is empty"));
  // A failed setting never echoes the secret.
  CHECK_FALSE(absl::StrContains(message("turn:turn.example:99999", kSecret), kSecret));
}
