// WebPush against an independent receiver (python3-cryptography): it verifies our VAPID
// JWT and decrypts our aes128gcm body, so a round-trip proves both RFC 8291 and 8292.
#include "services/conversations/channels/web_push.h"

#include <catch2/catch.hpp>

#include "absl/strings/escaping.h"
#include "absl/time/clock.h"
#include "libs/core/status.h"
#include "tests/support/http_client.h"
#include "tests/support/webpush_receiver.h"

namespace ch = vetline::conversations::channels;
using vetline::testing::HttpClient;
using vetline::testing::WebPushReceiver;

namespace {

ch::PushSubscription Subscribe(HttpClient& http, int status = 201) {
  nlohmann::json s = http.Post("/_subscribe", nlohmann::json{{"status", status}}.dump(),
                               {{"Content-Type", "application/json"}}).json();
  return {s["endpoint"], s["keys"]["p256dh"], s["keys"]["auth"]};
}

ch::VapidConfig Config() {
  auto keys = ch::GenerateVapidKeys();
  REQUIRE(keys.ok());
  return {.subject = "mailto:ops@vetline.example", .public_key = keys->public_key, .private_key = keys->private_key,
          .ttl = absl::Hours(6), .timeout = absl::Seconds(5), .allow_http_endpoints = true};
}

std::string Unb64(const std::string& s) {
  std::string out;
  absl::Base64Unescape(s, &out);
  return out;
}

}  // namespace

TEST_CASE("channels: a push payload round-trips through an independent Web Push receiver") {
  WebPushReceiver receiver(VETLINE_SOURCE_DIR, VETLINE_PYTHON);
  REQUIRE(receiver.ready());
  HttpClient http(receiver.port());
  const ch::VapidConfig config = Config();
  auto push = ch::WebPush::Create(config);
  REQUIRE(push.ok());
  const ch::PushSubscription sub = Subscribe(http);

  const std::string payload = R"({"title":"Clínica São Paulo","body":"Luna's results are ready 🐱","url":"/c/7f3a"})";
  ch::SendOutcome out = (*push)->Send(sub, payload);
  INFO(out.reason << " " << http.Get("/_rejected").body);
  REQUIRE(out.kind == ch::SendOutcome::kSent);
  CHECK(out.provider_id.find("/messages/1") != std::string::npos);  // the push service's Location

  // A maximal payload fits one record too.
  const std::string big(ch::kMaxPushPayload, 'x');
  REQUIRE((*push)->Send(sub, big).kind == ch::SendOutcome::kSent);

  nlohmann::json got = http.Get("/_received").json();
  REQUIRE(got.size() == 2);
  CHECK(Unb64(got[0]["payload_b64"]) == payload);
  CHECK(Unb64(got[1]["payload_b64"]) == big);
  CHECK(got[0]["ttl"] == 6 * 3600);
  CHECK(got[0]["sub"] == "mailto:ops@vetline.example");
  CHECK(got[0]["k"] == config.public_key);
  CHECK(got[0]["aud"] == "http://127.0.0.1:" + std::to_string(receiver.port()));
}

TEST_CASE("channels: expired push subscriptions (404/410) are gone, 429/5xx retry, other 4xx fail") {
  WebPushReceiver receiver(VETLINE_SOURCE_DIR, VETLINE_PYTHON);
  REQUIRE(receiver.ready());
  HttpClient http(receiver.port());
  auto push = ch::WebPush::Create(Config());
  REQUIRE(push.ok());

  ch::SendOutcome gone = (*push)->Send(Subscribe(http, 410), "hi");
  CHECK(gone.kind == ch::SendOutcome::kFailed);
  CHECK(gone.subscription_gone);
  CHECK(gone.provider_code == 410);

  ch::PushSubscription unknown = Subscribe(http);
  unknown.endpoint = receiver.Url("/push/no-such-subscription");
  ch::SendOutcome missing = (*push)->Send(unknown, "hi");
  CHECK(missing.kind == ch::SendOutcome::kFailed);
  CHECK(missing.subscription_gone);

  for (int status : {429, 503}) {
    ch::SendOutcome busy = (*push)->Send(Subscribe(http, status), "hi");
    CHECK(busy.kind == ch::SendOutcome::kRetry);
    CHECK_FALSE(busy.subscription_gone);
  }
  ch::SendOutcome too_big = (*push)->Send(Subscribe(http, 413), "hi");
  CHECK(too_big.kind == ch::SendOutcome::kFailed);
  CHECK_FALSE(too_big.subscription_gone);
  CHECK(http.Get("/_received").json().empty());

  // Nobody listening: retried later.
  ch::PushSubscription sub = Subscribe(http);
  receiver.Kill();
  CHECK((*push)->Send(sub, "hi").kind == ch::SendOutcome::kRetry);
}

TEST_CASE("channels: the receiver refuses a forged VAPID token and a body it cannot decrypt") {
  // Proves the round-trip above is checked, not waved through.
  WebPushReceiver receiver(VETLINE_SOURCE_DIR, VETLINE_PYTHON);
  REQUIRE(receiver.ready());
  HttpClient http(receiver.port());
  const ch::VapidConfig config = Config();
  const ch::PushSubscription sub = Subscribe(http);
  const std::string target = sub.endpoint.substr(sub.endpoint.find("/push/"));
  auto body = ch::EncryptPushPayload(sub, "hello");
  REQUIRE(body.ok());
  auto auth = ch::VapidAuthorization(config, sub.endpoint, absl::Now());
  REQUIRE(auth.ok());
  auto post = [&](const std::string& authorization, const std::string& b) {
    return http.Post(target, b, {{"Authorization", authorization}, {"Content-Encoding", "aes128gcm"}, {"TTL", "60"},
                                 {"Content-Type", "application/octet-stream"}}).status;
  };
  std::string forged = *auth;
  const size_t sig = forged.rfind('.', forged.find(", k="));
  forged[sig + 5] = forged[sig + 5] == 'A' ? 'B' : 'A';
  CHECK(post(forged, *body) == 403);
  // Signed by another key than the k it names.
  ch::VapidConfig other = Config();
  auto other_auth = ch::VapidAuthorization(other, sub.endpoint, absl::Now());
  REQUIRE(other_auth.ok());
  const std::string mixed = other_auth->substr(0, other_auth->find(", k=")) + ", k=" + config.public_key;
  CHECK(post(mixed, *body) == 403);
  // Expired token (exp in the past).
  auto stale = ch::VapidAuthorization(config, sub.endpoint, absl::Now() - absl::Hours(13));
  CHECK(post(*stale, *body) == 403);
  // A body for another subscription does not decrypt.
  auto foreign = ch::EncryptPushPayload(Subscribe(http), "hello");
  CHECK(post(*auth, *foreign) == 400);
  std::string flipped = *body;
  flipped[flipped.size() - 20] ^= 1;
  CHECK(post(*auth, flipped) == 400);
  CHECK(post(*auth, *body) == 201);
  CHECK(http.Get("/_received").json().size() == 1);
}

TEST_CASE("channels: each push body has a fresh salt and key, and the RFC 8291 layout") {
  auto keys = ch::GenerateVapidKeys();  // any valid P-256 point serves as a subscription key here
  REQUIRE(keys.ok());
  ch::PushSubscription sub{"https://push.example/x", keys->public_key, "AAECAwQFBgcICQoLDA0ODw"};
  auto a = ch::EncryptPushPayload(sub, "same"), b = ch::EncryptPushPayload(sub, "same");
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(*a != *b);
  CHECK(a->size() == 16 + 4 + 1 + 65 + 4 + 1 + 16);
  CHECK(a->substr(16, 4) == std::string("\x00\x00\x10\x00", 4));  // record size 4096
  CHECK(static_cast<unsigned char>((*a)[20]) == 65);
  CHECK(static_cast<unsigned char>((*a)[21]) == 0x04);  // uncompressed sender key
  CHECK(a->substr(0, 16) != b->substr(0, 16));
  CHECK(a->substr(21, 65) != b->substr(21, 65));
}

TEST_CASE("channels: bad push subscriptions and VAPID settings are refused, naming what is wrong") {
  auto push = ch::WebPush::Create(Config());
  REQUIRE(push.ok());
  auto keys = ch::GenerateVapidKeys();
  ch::PushSubscription good{"http://127.0.0.1:9/push/x", keys->public_key, "AAECAwQFBgcICQoLDA0ODw"};
  ch::PushSubscription bad = good;
  bad.p256dh = "not-a-key";
  ch::SendOutcome o = (*push)->Send(bad, "hi");
  CHECK(o.kind == ch::SendOutcome::kFailed);
  CHECK(o.reason.find("p256dh") != std::string::npos);
  bad = good;
  bad.auth = "AAEC";
  CHECK((*push)->Send(bad, "hi").reason.find("auth") != std::string::npos);
  bad = good;
  bad.endpoint = "ftp://x";
  CHECK((*push)->Send(bad, "hi").kind == ch::SendOutcome::kFailed);
  CHECK((*push)->Send(good, std::string(ch::kMaxPushPayload + 1, 'x')).kind == ch::SendOutcome::kFailed);
  // A point off the curve.
  std::string off(65, '\x01');
  off[0] = 4;
  bad = good;
  bad.p256dh = absl::WebSafeBase64Escape(off);
  CHECK((*push)->Send(bad, "hi").kind == ch::SendOutcome::kFailed);

  ch::VapidConfig https_only = Config();
  https_only.allow_http_endpoints = false;
  ch::SendOutcome plain = (*ch::WebPush::Create(https_only))->Send(good, "hi");
  CHECK(plain.kind == ch::SendOutcome::kFailed);
  CHECK(plain.reason.find("https") != std::string::npos);

  ch::VapidConfig c = Config();
  c.subject = "ops@vetline.example";
  CHECK(ch::WebPush::Create(c).status().message().find("subject") != std::string::npos);
  c = Config();
  c.private_key = Config().private_key;  // another pair's private key
  CHECK(ch::WebPush::Create(c).status().message().find("does not match") != std::string::npos);
  c = Config();
  c.public_key = "AAAA";
  CHECK(ch::WebPush::Create(c).status().message().find("public_key") != std::string::npos);
  auto k1 = ch::GenerateVapidKeys(), k2 = ch::GenerateVapidKeys();
  CHECK(k1->private_key != k2->private_key);
  std::string pub;
  REQUIRE(absl::WebSafeBase64Unescape(k1->public_key, &pub));
  CHECK(pub.size() == 65);
}

TEST_CASE("channels: only https endpoints of known browser push services are accepted for subscriptions") {
  for (const char* ok : {"https://fcm.googleapis.com/fcm/send/abc:APA91b", "https://updates.push.services.mozilla.com/wpush/v2/gAAA",
                         "https://web.push.apple.com/QGx8", "https://wns2-par02p.notify.windows.com/w/?token=x",
                         "https://FCM.googleapis.com:443/fcm/send/x"}) {
    INFO(ok);
    CHECK(ch::CheckPushEndpoint(ok).ok());
  }
  for (const char* bad : {"http://fcm.googleapis.com/fcm/send/x", "https://169.254.169.254/latest/meta-data",
                          "https://evilfcm.googleapis.com.attacker.example/x", "https://notfcm.googleapis.com.evil/x",
                          "https://user@fcm.googleapis.com/x", "https://internal.vetline.svc/admin", "ftp://x", ""}) {
    INFO(bad);
    absl::Status s = ch::CheckPushEndpoint(bad);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    auto field = s.GetPayload(vetline::kFieldPayload);
    CHECK((field && std::string(*field) == "endpoint"));
  }
}
