// Stripe's wire format, checked against an independent implementation: Debian's
// python3-stripe (its request encoder and its webhook signature check).
#include <algorithm>

#include <catch2/catch.hpp>

#include "absl/strings/str_cat.h"
#include "libs/core/status.h"
#include "libs/testing/python_check.h"
#include "services/payments/stripe/stripe_params.h"
#include "services/payments/stripe/stripe_signature.h"

namespace vetline::payments::stripe {
namespace {

const std::string kCheck = std::string(VETLINE_SOURCE_DIR) + "/services/payments/stripe/tests/stripe_check.py";
const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

nlohmann::ordered_json CheckoutParams() {
  nlohmann::ordered_json p;
  p["mode"] = "payment";
  p["success_url"] = "https://clinic.example/portal/paid?r=1&x=é";
  p["client_reference_id"] = "req 42";
  p["metadata"]["appointment_id"] = "5b0c…";
  p["metadata"]["clinic_id"] = "c-1";
  p["line_items"] = nlohmann::ordered_json::array();
  p["line_items"].push_back({{"price_data", {{"currency", "usd"}, {"unit_amount", 5000},
                                              {"product_data", {{"name", "Deposit: wellness exam"}}}}},
                             {"quantity", 1}});
  p["line_items"].push_back({{"price_data", {{"currency", "usd"}, {"unit_amount", 1250},
                                              {"product_data", {{"name", "Nail trim"}}}}},
                             {"quantity", 2}});
  p["payment_intent_data"]["metadata"]["request_id"] = "r-1";
  p["expires_at"] = 1'800'003'600;
  p["unset_me"] = "";
  p["not_sent"] = nullptr;
  return p;
}

TEST_CASE("nested parameters flatten the way Stripe's own library sends them") {
  const nlohmann::ordered_json params = CheckoutParams();
  const auto ours = FlattenParams(params);
  CHECK(ours[0] == std::pair<std::string, std::string>{"mode", "payment"});
  CHECK(std::find(ours.begin(), ours.end(),
                  std::pair<std::string, std::string>{"line_items[1][price_data][unit_amount]", "1250"}) != ours.end());
  CHECK(std::find(ours.begin(), ours.end(),
                  std::pair<std::string, std::string>{"metadata[appointment_id]", "5b0c…"}) != ours.end());
  for (const auto& [k, v] : ours) CHECK(k != "not_sent");

  // The same pairs (the key order of an object means nothing to Stripe).
  nlohmann::json sdk = testing::RunPythonCheck(kCheck, {{"op", "encode"}, {"params", params}});
  REQUIRE(sdk.is_array());
  std::vector<std::pair<std::string, std::string>> theirs;
  for (const auto& pair : sdk) theirs.emplace_back(pair[0].get<std::string>(), pair[1].get<std::string>());
  auto sorted = ours;
  std::sort(sorted.begin(), sorted.end());
  std::sort(theirs.begin(), theirs.end());
  CHECK(theirs == sorted);
}

TEST_CASE("our webhook signatures satisfy Stripe's library, and we accept the ones it makes") {
  const std::string payload = R"({"id":"evt_1","type":"checkout.session.completed","data":{"object":{"id":"cs_1"}}})";
  const std::string header = SignatureHeader(payload, absl::Now(), {"whsec_test_secret"});
  nlohmann::json sdk = testing::RunPythonCheck(
      kCheck, {{"op", "signature"}, {"payload", payload}, {"header", header}, {"secret", "whsec_test_secret"}});
  REQUIRE(sdk.is_object());
  CHECK(sdk["verifies_ours"] == true);
  const std::string theirs = sdk["header"].get<std::string>();  // signed by the library, now
  CHECK(VerifySignature(payload, theirs, {"whsec_test_secret"}, absl::Now()).ok());
  CHECK_FALSE(VerifySignature(payload + " ", theirs, {"whsec_test_secret"}, absl::Now()).ok());
}

TEST_CASE("our signature check and stripe.Webhook.construct_event agree on good and bad signatures") {
  const std::string payload = R"({"id":"evt_4","object":"event","type":"charge.refunded","data":{"object":{}}})";
  const absl::Time now = absl::Now();
  const std::string ours = SignatureHeader(payload, now, {"whsec_a"});
  const std::string sig = ours.substr(ours.find("v1=") + 3);
  struct Case {
    std::string what, payload, header, secret;
    bool valid;
  };
  const std::vector<Case> cases = {
      {"ours, now", payload, ours, "whsec_a", true},
      {"another secret", payload, ours, "whsec_b", false},
      {"stale", payload, SignatureHeader(payload, now - absl::Minutes(10), {"whsec_a"}), "whsec_a", false},
      {"payload altered", payload + " ", ours, "whsec_a", false},
      {"rotation: the old secret", payload, SignatureHeader(payload, now, {"whsec_new", "whsec_a"}), "whsec_a", true},
      {"rotation: neither secret", payload, SignatureHeader(payload, now, {"whsec_new", "whsec_a"}), "whsec_c", false},
      {"only a v0 signature", payload, absl::StrCat("t=", absl::ToUnixSeconds(now), ",v0=", sig), "whsec_a", false},
      {"unreadable timestamp", payload, "t=abc,v1=" + sig, "whsec_a", false},
      {"no v1", payload, absl::StrCat("t=", absl::ToUnixSeconds(now)), "whsec_a", false},
      {"missing", payload, "", "whsec_a", false},
  };
  nlohmann::json in = {{"op", "verify"}, {"cases", nlohmann::json::array()}};
  for (const Case& c : cases) in["cases"].push_back({{"payload", c.payload}, {"header", c.header}, {"secret", c.secret}});
  nlohmann::json sdk = testing::RunPythonCheck(kCheck, in);
  REQUIRE(sdk.is_array());
  REQUIRE(sdk.size() == cases.size());
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO(cases[i].what);
    CHECK(sdk[i].get<bool>() == cases[i].valid);
    CHECK(VerifySignature(cases[i].payload, cases[i].header, {cases[i].secret}, absl::Now()).ok() == cases[i].valid);
  }
}

TEST_CASE("a webhook with a wrong, stale, unreadable or missing signature is refused naming the header") {
  const std::string payload = R"({"id":"evt_2"})";
  const std::string header = SignatureHeader(payload, kNow, {"whsec_a"});
  CHECK(VerifySignature(payload, header, {"whsec_a"}, kNow + absl::Minutes(4)).ok());
  struct Bad {
    std::string header;
    absl::Time now;
  };
  for (const Bad& b : std::vector<Bad>{{header, kNow + absl::Minutes(6)},           // replayed later
                                       {header, kNow - absl::Minutes(6)},           // from the future
                                       {SignatureHeader(payload, kNow, {"whsec_b"}), kNow},  // other secret
                                       {"t=abc,v1=00", kNow},
                                       {"v1=" + std::string(64, 'a'), kNow},
                                       {"t=1800000000", kNow},
                                       {"", kNow}}) {
    INFO(b.header);
    absl::Status s = VerifySignature(payload, b.header, {"whsec_a"}, b.now);
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOf(s) == "Stripe-Signature");
  }
}

TEST_CASE("during a signing-secret rotation either secret's signature is accepted") {
  const std::string payload = R"({"id":"evt_3"})";
  const std::string both = SignatureHeader(payload, kNow, {"whsec_new", "whsec_old"});
  CHECK(VerifySignature(payload, both, {"whsec_old"}, kNow).ok());
  CHECK(VerifySignature(payload, both, {"whsec_new"}, kNow).ok());
  const std::string old_only = SignatureHeader(payload, kNow, {"whsec_old"});
  CHECK(VerifySignature(payload, old_only, {"whsec_new", "whsec_old"}, kNow).ok());
  CHECK_FALSE(VerifySignature(payload, old_only, {"whsec_new"}, kNow).ok());
}

}  // namespace
}  // namespace vetline::payments::stripe
