// X-Twilio-Signature against Twilio's own SDK (python3-twilio's RequestValidator): the
// same signature for the same URL and parameters, including non-ASCII text, and our
// check refuses anything altered.
#include "services/conversations/channels/twilio_signature.h"

#include <catch2/catch.hpp>

#include "libs/http/form.h"
#include "libs/testing/python_check.h"

namespace ch = vetline::conversations::channels;
// The check scripts beside these tests.
const std::string kChecks = std::string(VETLINE_SOURCE_DIR) + "/services/conversations/channels/tests/";

namespace {

struct Case {
  std::string token, url;
  vetline::http::FormParams params;
};

std::vector<Case> Cases() {
  return {
      {"12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
       {{"CallSid", "CA1234567890ABCDE"}, {"Caller", "+12349013030"}, {"Digits", "1234"},
        {"From", "+12349013030"}, {"To", "+18005551212"}}},
      {"f00dfeedf00dfeedf00dfeedf00dfeed", "https://vetline.example/v1/webhooks/twilio/status",
       {{"MessageStatus", "delivered"}, {"MessageSid", "SM0123456789abcdef0123456789abcdef"},
        {"AccountSid", "AC0123456789abcdef0123456789abcdef"}, {"ApiVersion", "2010-04-01"},
        {"SmsStatus", "delivered"}, {"SmsSid", "SM0123456789abcdef0123456789abcdef"}}},
      // Non-ASCII bodies and names: UTF-8 bytes, sorted in code-point order.
      {"tökén", "http://127.0.0.1:8443/v1/webhooks/twilio/inbound?clinic=k%C3%B6ln",
       {{"Body", "Grüße aus Köln 🐶 — ça va?"}, {"From", "+4922112345"}, {"Zeta", "ζ"},
        {"Äpfel", "ü"}, {"apple", "a b+c&d=e"}, {"NumMedia", "0"}}},
      {"tok", "https://example.org/path", {}},
      {"x", "https://example.org/ü/путь?q=日本", {{"Body", ""}, {"empty", ""}}},
  };
}

}  // namespace

TEST_CASE("channels: our X-Twilio-Signature equals the Twilio SDK's, and each accepts the other's") {
  std::vector<Case> cases = Cases();
  nlohmann::json input = nlohmann::json::array();
  std::vector<std::string> ours;
  for (const Case& c : cases) {
    ours.push_back(ch::TwilioSignature(c.token, c.url, c.params));
    nlohmann::json params = nlohmann::json::array();
    for (const auto& [k, v] : c.params) params.push_back({k, v});
    input.push_back({{"token", c.token}, {"url", c.url}, {"params", params}, {"ours", ours.back()}});
  }
  nlohmann::json sdk = vetline::testing::RunPythonCheck(kChecks + "twilio_signature_check.py", input);
  REQUIRE(sdk.is_array());
  REQUIRE(sdk.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i << " url " << cases[i].url);
    CHECK(sdk[i]["signature"].get<std::string>() == ours[i]);
    CHECK(sdk[i]["validates_ours"].get<bool>());
    CHECK(ch::VerifyTwilioSignature(cases[i].token, cases[i].url, cases[i].params,
                                    sdk[i]["signature"].get<std::string>()));
  }
}

TEST_CASE("channels: a webhook signature check refuses altered parameters, URLs, tokens and signatures") {
  const Case c = Cases()[1];
  const std::string sig = ch::TwilioSignature(c.token, c.url, c.params);
  CHECK(ch::VerifyTwilioSignature(c.token, c.url, c.params, sig));

  vetline::http::FormParams changed = c.params;
  changed[0].second = "failed";
  CHECK_FALSE(ch::VerifyTwilioSignature(c.token, c.url, changed, sig));
  vetline::http::FormParams added = c.params;
  added.emplace_back("ErrorCode", "30006");
  CHECK_FALSE(ch::VerifyTwilioSignature(c.token, c.url, added, sig));
  CHECK_FALSE(ch::VerifyTwilioSignature(c.token, c.url + "?x=1", c.params, sig));
  CHECK_FALSE(ch::VerifyTwilioSignature("another-token", c.url, c.params, sig));
  CHECK_FALSE(ch::VerifyTwilioSignature(c.token, c.url, c.params, ""));
  CHECK_FALSE(ch::VerifyTwilioSignature(c.token, c.url, c.params, sig.substr(0, sig.size() - 1)));
  std::string flipped = sig;
  flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
  CHECK_FALSE(ch::VerifyTwilioSignature(c.token, c.url, c.params, flipped));
  // Parameter order on the wire does not matter: they are sorted before signing.
  vetline::http::FormParams reversed(c.params.rbegin(), c.params.rend());
  CHECK(ch::VerifyTwilioSignature(c.token, c.url, reversed, sig));
}

TEST_CASE("channels: a signature made over the URL with the default port also verifies without it") {
  vetline::http::FormParams p = {{"Body", "hi"}};
  const std::string with_port = ch::TwilioSignature("t", "https://vetline.example:443/hook", p);
  CHECK(ch::VerifyTwilioSignature("t", "https://vetline.example/hook", p, with_port));
  const std::string without = ch::TwilioSignature("t", "https://vetline.example/hook", p);
  CHECK(ch::VerifyTwilioSignature("t", "https://vetline.example:443/hook", p, without));
  CHECK_FALSE(ch::VerifyTwilioSignature("t", "https://vetline.example/hook2", p, without));
  CHECK_FALSE(ch::VerifyTwilioSignature("t", "http://vetline.example/hook", p, without));
}

TEST_CASE("channels: form encoding round-trips names and values with reserved and non-ASCII bytes") {
  vetline::http::FormParams p = {{"Body", "a b+c&d=e%f ü 🐶"}, {"To", "+15005550006"}, {"Empty", ""}};
  const std::string wire = vetline::http::EncodeForm(p);
  CHECK(wire.find(' ') == std::string::npos);
  CHECK(wire.find("To=%2B15005550006") != std::string::npos);
  CHECK(vetline::http::ParseForm(wire) == p);
  CHECK(vetline::http::ParseForm("Body=hello+world&X=%41%zz") ==
        vetline::http::FormParams{{"Body", "hello world"}, {"X", "A%zz"}});
  CHECK(vetline::http::FormValue(p, "To") == "+15005550006");
  CHECK(vetline::http::FormValue(p, "Missing").empty());
}
