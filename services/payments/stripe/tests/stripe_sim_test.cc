// The Stripe stand-in speaks Stripe's wire protocol: its objects fit Stripe's published
// fixtures, idempotency keys behave as Stripe documents, errors come as Stripe's error
// object, and webhooks carry a Stripe-Signature that our check (and python3-stripe's,
// in stripe_wire_test) accepts, retried until answered.
#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>

#include "libs/core/status.h"
#include "libs/http/form.h"
#include "libs/testing/python_check.h"
#include "libs/testing/wait.h"
#include "services/payments/stripe/stripe_params.h"
#include "services/payments/stripe/stripe_signature.h"
#include "tests/support/http_client.h"
#include "tests/support/loopback_process.h"
#include "tests/support/webhook_sink.h"

namespace vetline::payments::stripe {
namespace {

using testing::HttpClient;
using testing::HttpResponse;
using testing::WaitUntil;
using testing::WebhookSink;

constexpr char kKey[] = "sk_test_sim_key";
constexpr char kWebhookSecret[] = "whsec_sim_secret";

class Sim : public testing::LoopbackProcess {
 public:
  explicit Sim(const std::string& webhook_url = "")
      : LoopbackProcess({STRIPE_SIM_BINARY, "--port=0", std::string("--secret-key=") + kKey,
                         std::string("--webhook-secret=") + kWebhookSecret, "--webhook-url=" + webhook_url,
                         "--retry-base=200ms"}) {}
};

HttpResponse Post(HttpClient& c, const std::string& path, const nlohmann::ordered_json& params,
                  const std::string& idempotency_key = "") {
  std::map<std::string, std::string> h = {{"Authorization", std::string("Bearer ") + kKey},
                                          {"Content-Type", "application/x-www-form-urlencoded"},
                                          {"Stripe-Version", "2024-06-20"}};
  if (!idempotency_key.empty()) h["Idempotency-Key"] = idempotency_key;
  return c.Post(path, http::EncodeForm(FlattenParams(params)), h);
}

HttpResponse Get(HttpClient& c, const std::string& path) {
  return c.Get(path, {{"Authorization", std::string("Bearer ") + kKey}});
}

nlohmann::ordered_json Deposit(int64_t amount = 5000) {
  nlohmann::ordered_json p;
  p["mode"] = "payment";
  p["success_url"] = "http://127.0.0.1:9/portal/paid";
  p["client_reference_id"] = "req-1";
  p["metadata"]["payment_request_id"] = "req-1";
  p["payment_intent_data"]["metadata"]["payment_request_id"] = "req-1";
  p["line_items"][0]["price_data"]["currency"] = "usd";
  p["line_items"][0]["price_data"]["unit_amount"] = amount;
  p["line_items"][0]["price_data"]["product_data"]["name"] = "Deposit";
  p["line_items"][0]["quantity"] = 1;
  return p;
}

TEST_CASE("stripe-sim: an idempotency key replays the first answer and refuses other parameters") {
  Sim sim;
  REQUIRE(sim.ready());
  HttpClient c(sim.port());
  HttpResponse first = Post(c, "/v1/checkout/sessions", Deposit(), "key-1");
  REQUIRE(first.status == 200);
  CHECK(first.json()["amount_total"] == 5000);
  CHECK(first.json()["status"] == "open");
  HttpResponse again = Post(c, "/v1/checkout/sessions", Deposit(), "key-1");
  CHECK(again.status == 200);
  CHECK(again.json()["id"] == first.json()["id"]);
  CHECK(again.header("idempotent-replayed") == "true");
  HttpResponse other = Post(c, "/v1/checkout/sessions", Deposit(6000), "key-1");
  CHECK(other.status == 400);
  CHECK(other.json()["error"]["type"] == "idempotency_error");
  CHECK(Get(c, "/_sim/state").json()["sessions"].size() == 1);

  // Validation errors are not kept: the same key may then be used for a good request.
  nlohmann::ordered_json no_items = Deposit();
  no_items.erase("line_items");
  HttpResponse missing = Post(c, "/v1/checkout/sessions", no_items, "key-2");
  CHECK(missing.status == 400);
  CHECK(missing.json()["error"]["param"] == "line_items");
  CHECK(missing.json()["error"]["code"] == "parameter_missing");
  CHECK(Post(c, "/v1/checkout/sessions", Deposit(), "key-2").status == 200);

  HttpResponse bad_key = c.Post("/v1/checkout/sessions", "mode=payment", {{"Authorization", "Bearer sk_test_wrong"}});
  CHECK(bad_key.status == 401);
  CHECK(bad_key.json()["error"]["type"] == "invalid_request_error");
}

TEST_CASE("stripe-sim: paying, refunding and their signed webhooks, retried until answered") {
  WebhookSink sink;
  sink.SetStatus("/stripe", 500);  // the first deliveries fail
  Sim sim(sink.Url("/stripe"));
  REQUIRE(sim.ready());
  HttpClient c(sim.port());
  nlohmann::json session = Post(c, "/v1/checkout/sessions", Deposit(), "pay-1").json();
  const std::string url = session["url"].get<std::string>();
  const std::string pay_path = url.substr(url.find("/pay/"));
  CHECK(c.Get(pay_path).status == 200);
  CHECK(c.Get("/pay/cs_test_unknown").status == 404);
  // Paid, the page sends the payer back to the success_url, as Stripe's does.
  HttpResponse done = c.Post(pay_path, "", {});
  CHECK(done.status == 200);
  CHECK(done.body.find("http-equiv=refresh content=\"0;url=http://127.0.0.1:9/portal/paid\"") != std::string::npos);
  CHECK(c.Post(pay_path, "", {}).status == 409);  // paid once only
  nlohmann::json paid = Get(c, "/v1/checkout/sessions/" + session["id"].get<std::string>()).json();
  CHECK(paid["status"] == "complete");
  CHECK(paid["payment_status"] == "paid");
  const std::string pi = paid["payment_intent"].get<std::string>();

  // A partial refund, one too large, then the rest.
  nlohmann::ordered_json refund;
  refund["payment_intent"] = pi;
  refund["amount"] = 2000;
  HttpResponse part = Post(c, "/v1/refunds", refund, "refund-1");
  REQUIRE(part.status == 200);
  CHECK(part.json()["amount"] == 2000);
  refund["amount"] = 3001;
  HttpResponse too_much = Post(c, "/v1/refunds", refund, "refund-2");
  CHECK(too_much.status == 400);
  CHECK(too_much.json()["error"]["param"] == "amount");
  refund.erase("amount");
  CHECK(Post(c, "/v1/refunds", refund, "refund-3").json()["amount"] == 3000);

  REQUIRE(WaitUntil([&] { return sink.Requests("/stripe").size() >= 3; }, absl::Seconds(10)));
  sink.SetStatus("/stripe", 200);
  // Seven events — payment_intent.succeeded, charge.succeeded, checkout.session.completed,
  // then refund.created and charge.refunded for each refund — each delivered at last,
  // after the failures.
  auto delivered = [&] {
    std::set<std::string> ids;
    for (const auto& d : Get(c, "/_sim/deliveries").json()) {
      if (d["status"] == 200) ids.insert(d["event"].get<std::string>());
    }
    return ids.size();
  };
  REQUIRE(WaitUntil([&] { return delivered() == 7; }, absl::Seconds(20)));
  std::map<std::string, std::string> type_of;  // event id → type, as received
  for (const auto& r : sink.Requests("/stripe")) {
    INFO(r.body);
    CHECK(VerifySignature(r.body, r.header("stripe-signature"), {kWebhookSecret}, absl::Now()).ok());
    CHECK_FALSE(VerifySignature(r.body, r.header("stripe-signature"), {"whsec_other"}, absl::Now()).ok());
    const nlohmann::json event = nlohmann::json::parse(r.body);
    type_of[event["id"].get<std::string>()] = event["type"].get<std::string>();
  }
  CHECK(type_of.size() == 7);
  auto count = [&](const std::string& type) {
    return std::count_if(type_of.begin(), type_of.end(), [&](const auto& e) { return e.second == type; });
  };
  CHECK(count("checkout.session.completed") == 1);
  CHECK(count("charge.refunded") == 2);
  nlohmann::json events = Get(c, "/v1/events?type=charge.refunded").json();
  REQUIRE(events["data"].size() == 2);
  CHECK(events["data"][0]["data"]["object"]["refunded"] == true);  // newest first

  // Every object fits Stripe's published fixtures.
  const std::string fixtures = std::string(VETLINE_PROVIDERS_DIR) + "/stripe/fixtures3.json";
  INFO("Stripe's fixtures are read from " << fixtures << " (cmake -DVETLINE_PROVIDERS_DIR=...)");
  REQUIRE(std::ifstream(fixtures).good());
  nlohmann::json objects = nlohmann::json::array({paid, Get(c, "/v1/payment_intents/" + pi).json(), part.json()});
  for (const auto& e : Get(c, "/v1/events").json()["data"]) {
    objects.push_back(e);
    objects.push_back(e["data"]["object"]);
  }
  const std::string check = std::string(VETLINE_SOURCE_DIR) + "/services/payments/stripe/tests/stripe_contract_check.py";
  nlohmann::json result = testing::RunPythonCheck(check, {{"fixtures", fixtures}, {"objects", objects}});
  REQUIRE(result.is_object());
  CHECK(result["problems"] == nlohmann::json::array());
  nlohmann::json wrong = paid;
  wrong["livemode"] = "no";  // a boolean at Stripe
  wrong["vetline_extra"] = 1;
  CHECK(testing::RunPythonCheck(check, {{"fixtures", fixtures}, {"objects", {wrong}}})["problems"].size() == 2);
}

TEST_CASE("stripe-sim: a request done but answered 500 is replayed by its key, not done twice") {
  Sim sim;
  REQUIRE(sim.ready());
  HttpClient c(sim.port());
  REQUIRE(c.Post("/_sim/fail-after-commit?count=1", "", {}).status == 200);
  HttpResponse lost = Post(c, "/v1/checkout/sessions", Deposit(), "retry-me");
  CHECK(lost.status == 500);
  CHECK(lost.json()["error"]["type"] == "api_error");
  HttpResponse retried = Post(c, "/v1/checkout/sessions", Deposit(), "retry-me");
  CHECK(retried.status == 200);
  CHECK(Get(c, "/_sim/state").json()["sessions"].size() == 1);
  CHECK(Get(c, "/v1/checkout/sessions/" + retried.json()["id"].get<std::string>()).status == 200);
}

TEST_CASE("stripe-sim: refunds list by PaymentIntent and lists page with starting_after") {
  Sim sim;
  REQUIRE(sim.ready());
  HttpClient c(sim.port());
  std::vector<std::string> intents;
  for (int i = 0; i < 2; ++i) {
    nlohmann::json s = Post(c, "/v1/checkout/sessions", Deposit(4000), "list-" + std::to_string(i)).json();
    const std::string url = s["url"].get<std::string>();
    REQUIRE(c.Post(url.substr(url.find("/pay/")), "", {}).status == 200);
    intents.push_back(Get(c, "/v1/checkout/sessions/" + s["id"].get<std::string>()).json()["payment_intent"].get<std::string>());
  }
  for (int amount : {1000, 500}) {
    nlohmann::ordered_json refund;
    refund["payment_intent"] = intents[0];
    refund["amount"] = amount;
    REQUIRE(Post(c, "/v1/refunds", refund, "rf-" + std::to_string(amount)).status == 200);
  }
  nlohmann::json mine = Get(c, "/v1/refunds?payment_intent=" + intents[0]).json();
  CHECK(mine["object"] == "list");
  CHECK(mine["data"].size() == 2);
  CHECK(Get(c, "/v1/refunds?payment_intent=" + intents[1]).json()["data"].size() == 0);

  // Events newest first, two a page: the pages join up with no event twice or missing.
  std::vector<std::string> seen;
  std::string after;
  for (int page = 0; page < 20; ++page) {
    nlohmann::json list =
        Get(c, "/v1/events?limit=2" + (after.empty() ? std::string() : "&starting_after=" + after)).json();
    for (const auto& e : list["data"]) seen.push_back(e["id"].get<std::string>());
    if (!list["has_more"].get<bool>()) break;
    after = seen.back();
  }
  const size_t all = Get(c, "/v1/events?limit=100").json()["data"].size();
  CHECK(seen.size() == all);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == all);
  CHECK(all == 2 * 3 + 2 * 2);  // three per payment, two per refund
}

}  // namespace
}  // namespace vetline::payments::stripe
