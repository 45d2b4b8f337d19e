// The production Stripe adapter against the stand-in over loopback: what a retry, a
// lost answer, a refusal and an outage look like to the payments service.
#include <catch2/catch.hpp>

#include "libs/core/status.h"
#include "services/payments/stripe/stripe_client.h"
#include "tests/support/http_client.h"
#include "tests/support/loopback_process.h"

namespace vetline::payments::stripe {
namespace {

constexpr char kKey[] = "sk_test_adapter_key";

class Sim : public testing::LoopbackProcess {
 public:
  Sim() : LoopbackProcess({STRIPE_SIM_BINARY, "--port=0", std::string("--secret-key=") + kKey}) {}
  Account account() const { return {"http://127.0.0.1:" + std::to_string(port()), kKey}; }
};

nlohmann::ordered_json Invoice() {
  nlohmann::ordered_json p;
  p["mode"] = "payment";
  p["success_url"] = "http://127.0.0.1:9/portal/paid";
  p["metadata"]["payment_request_id"] = "req-9";
  p["line_items"][0]["price_data"]["currency"] = "usd";
  p["line_items"][0]["price_data"]["unit_amount"] = 12000;
  p["line_items"][0]["price_data"]["product_data"]["name"] = "Dental cleaning";
  p["line_items"][0]["quantity"] = 1;
  p["line_items"][1]["price_data"]["currency"] = "usd";
  p["line_items"][1]["price_data"]["unit_amount"] = 0;  // a free line is allowed
  p["line_items"][1]["price_data"]["product_data"]["name"] = "Courtesy nail trim";
  p["line_items"][1]["quantity"] = 1;
  return p;
}

TEST_CASE("stripe adapter: idempotency keys come from our own request") {
  CHECK(IdempotencyKey("checkout", "req-1") == IdempotencyKey("checkout", "req-1"));
  CHECK(IdempotencyKey("checkout", "req-1") != IdempotencyKey("checkout", "req-2"));
  CHECK(IdempotencyKey("checkout", "req-1") != IdempotencyKey("refund", "req-1"));
  CHECK(IdempotencyKey("a", "bc") != IdempotencyKey("ab", "c"));
  CHECK(IdempotencyKey("checkout", "req-1").size() == 3 + 32);
}

TEST_CASE("stripe adapter: a retry with the same key is the same Checkout Session, even after a lost answer") {
  Sim sim;
  REQUIRE(sim.ready());
  Client stripe;
  const std::string key = IdempotencyKey("checkout", "req-9");
  auto first = stripe.Post(sim.account(), "/v1/checkout/sessions", Invoice(), key);
  REQUIRE(first.ok());
  CHECK((*first)["amount_total"] == 12000);
  CHECK((*first)["metadata"]["payment_request_id"] == "req-9");

  testing::HttpClient control(sim.port());
  REQUIRE(control.Post("/_sim/fail-after-commit?count=1", "", {}).status == 200);
  nlohmann::ordered_json other = Invoice();
  other["metadata"]["payment_request_id"] = "req-10";
  const std::string key10 = IdempotencyKey("checkout", "req-10");
  auto lost = stripe.Post(sim.account(), "/v1/checkout/sessions", other, key10);
  CHECK(lost.status().code() == absl::StatusCode::kUnavailable);  // done at Stripe, answer lost
  auto retried = stripe.Post(sim.account(), "/v1/checkout/sessions", other, key10);
  REQUIRE(retried.ok());
  auto again = stripe.Post(sim.account(), "/v1/checkout/sessions", Invoice(), key);
  REQUIRE(again.ok());
  CHECK((*again)["id"] == (*first)["id"]);
  CHECK(control.Get("/_sim/state").json()["sessions"].size() == 2);

  auto fetched = stripe.Get(sim.account(), "/v1/checkout/sessions/" + (*retried)["id"].get<std::string>());
  REQUIRE(fetched.ok());
  CHECK((*fetched)["metadata"]["payment_request_id"] == "req-10");
}

TEST_CASE("stripe adapter: refusals, a bad key, a conflict and an outage become our own errors") {
  Sim sim;
  REQUIRE(sim.ready());
  Client stripe(absl::Seconds(5));
  nlohmann::ordered_json no_items = Invoice();
  no_items.erase("line_items");
  auto refused = stripe.Post(sim.account(), "/v1/checkout/sessions", no_items, IdempotencyKey("checkout", "x"));
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(refused.status().message() == "the payment provider refused the request");  // Stripe's words stay in logs

  Account wrong = sim.account();
  wrong.secret_key = "sk_test_not_this_one";
  auto bad_key = stripe.Post(wrong, "/v1/checkout/sessions", Invoice(), IdempotencyKey("checkout", "y"));
  CHECK(bad_key.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(bad_key.status().message().find("secret key") != std::string::npos);

  REQUIRE(stripe.Post(sim.account(), "/v1/checkout/sessions", Invoice(), IdempotencyKey("checkout", "z")).ok());
  nlohmann::ordered_json changed = Invoice();
  changed["line_items"][0]["price_data"]["unit_amount"] = 1;
  auto conflict = stripe.Post(sim.account(), "/v1/checkout/sessions", changed, IdempotencyKey("checkout", "z"));
  CHECK(conflict.status().code() == absl::StatusCode::kAborted);

  CHECK(stripe.Get(sim.account(), "/v1/checkout/sessions/cs_test_nope").status().code() ==
        absl::StatusCode::kNotFound);

  testing::HttpClient control(sim.port());
  REQUIRE(control.Post("/_sim/down?seconds=30", "", {}).status == 200);
  CHECK(stripe.Get(sim.account(), "/v1/events").status().code() == absl::StatusCode::kUnavailable);
  Account nowhere{"http://127.0.0.1:9", kKey};  // nothing listens on the discard port
  CHECK(stripe.Get(nowhere, "/v1/events").status().code() == absl::StatusCode::kUnavailable);
}

}  // namespace
}  // namespace vetline::payments::stripe
