// The payments service over real gRPC with the real clients, identity and conversations
// services (InboxFixture) on the run's PostgreSQL and Redis, and the Stripe stand-in
// (tools/stripe_sim) on loopback. The stand-in's webhooks land in a sink; tests hand them
// to the service's webhook RPC when and in the order they choose (or lose them).
#pragma once

#include <algorithm>
#include <random>

#include "services/conversations/tests/inbox_fixture.h"
#include "services/payments/payments_component.h"
#include "tests/support/http_client.h"
#include "tests/support/stripe_sim_process.h"
#include "tests/support/webhook_sink.h"
#include "vetline/payments/v1/payments.grpc.pb.h"

namespace vetline::testing {

namespace pv1 = payments::v1;

inline constexpr const char* kStripeKey = kStripeSimSecretKey;
inline constexpr const char* kWebhookSecret = kStripeSimWebhookSecret;
inline constexpr char kSealKeys[] = "k1:payments-test-seal-key-0001";

struct PaymentsFixture {
  // `in_process`: the service runs in this process (crash tests run its binary instead).
  explicit PaymentsFixture(absl::Duration reconcile_every = absl::Hours(1), bool in_process = true) {
    REQUIRE(sim.ready());
    options.stripe_api_base = sim.base();
    options.secret_keys = kSealKeys;
    options.reconcile_every = reconcile_every;
    if (in_process) StartPayments();
    clinic = fx.MakeClinic("Maple Vet", "maple.example");
    other = fx.MakeClinic("Oak Vet", "oak.example");
    client = fx.MakeClient(clinic, "Ana", "Ruiz", "+15551230001", "ana@example.com");
    other_client = fx.MakeClient(other, "Ben", "Oak", "+15551230002", "ben@example.com");
  }

  void StartPayments() {
    rpc::ServiceEnv env = fx.env;
    env.platform.public_url = "http://vet.example";
    payments_service = payments::Start(env, options).value();
    address = "127.0.0.1:" + std::to_string(payments_service->server().port());
    auto channel = rpc::Dial(address);
    payments = pv1::PaymentsService::NewStub(channel);
    webhooks = pv1::StripeWebhooksService::NewStub(channel);
  }

  std::string clients_address() const {
    return "127.0.0.1:" + std::to_string(fx.clients_service->server().port());
  }

  // A conversations replica that follows the payments feed.
  void FollowInConversations() {
    fx.env.peers["payments"] = address;
    fx.AddReplica();
  }

  grpc::Status Connect(const InboxFixture::Clinic& c, pv1::StripeAccount* out = nullptr,
                       const std::string& key = kStripeKey) {
    pv1::ConnectAccountRequest req;
    req.set_secret_key(key);
    req.set_webhook_signing_secret(kWebhookSecret);
    pv1::StripeAccount a;
    grpc::Status st = payments->ConnectAccount(fx.As(c.admin).get(), req, &a);
    if (out) *out = a;
    return st;
  }

  pv1::CreatePaymentRequestRequest Deposit(const std::string& crid, int64_t amount, const std::string& client_id) {
    pv1::CreatePaymentRequestRequest req;
    req.set_client_request_id(crid);
    req.set_kind(pv1::DEPOSIT);
    req.set_client_id(client_id);
    req.set_currency("usd");
    req.set_amount(amount);
    req.set_description("Surgery deposit");
    return req;
  }

  grpc::Status Create(const pv1::CreatePaymentRequestRequest& req, pv1::PaymentRequest* out,
                      const api::Principal* who = nullptr) {
    return payments->CreatePaymentRequest(fx.As(who ? *who : clinic.staff).get(), req, out);
  }

  pv1::PaymentRequest MustCreate(const pv1::CreatePaymentRequestRequest& req) {
    pv1::PaymentRequest out;
    grpc::Status st = Create(req, &out);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return out;
  }

  pv1::PaymentRequest Get(const std::string& id) {
    pv1::GetPaymentRequestRequest req;
    req.set_id(id);
    pv1::PaymentRequest out;
    grpc::Status st = payments->GetPaymentRequest(fx.As(clinic.staff).get(), req, &out);
    INFO(st.error_message());
    REQUIRE(st.ok());
    return out;
  }

  // The client pays on the stand-in's hosted page (no assertion: threads call it).
  int Pay(const pv1::PaymentRequest& r) {
    const std::string prefix = sim.base() + "/pay/";
    if (r.pay_url().rfind(prefix, 0) != 0) return -1;
    HttpClient http(sim.port());
    return http.Post("/pay/" + r.pay_url().substr(prefix.size()), "").status;
  }

  grpc::Status Refund(const std::string& id, const std::string& crid, int64_t amount, pv1::Refund* out = nullptr) {
    pv1::RefundPaymentRequest req;
    req.set_payment_request_id(id);
    req.set_client_request_id(crid);
    req.set_amount(amount);
    pv1::Refund r;
    grpc::Status st = payments->RefundPayment(fx.As(clinic.admin).get(), req, &r);
    if (out) *out = r;
    return st;
  }

  // Webhooks the stand-in sent since the last call (bounded wait for `at_least`).
  std::vector<RecordedRequest> NewWebhooks(size_t at_least = 0) {
    std::vector<RecordedRequest> all;
    for (int i = 0; i < 200; ++i) {
      all = sink.Requests("/stripe");
      if (all.size() >= taken + at_least) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    std::vector<RecordedRequest> out(all.begin() + std::min(taken, all.size()), all.end());
    taken = all.size();
    return out;
  }

  grpc::Status Deliver(const RecordedRequest& w, const std::string& clinic_id = "") {
    pv1::StripeWebhookRequest req;
    req.set_clinic_id(clinic_id.empty() ? clinic.id : clinic_id);
    req.set_payload(w.body);
    req.set_signature(w.header("stripe-signature"));
    pv1::StripeWebhookResponse resp;
    grpc::ClientContext ctx;
    rpc::SetDeadline(ctx, absl::Seconds(30));
    return webhooks->StripeWebhook(&ctx, req, &resp);
  }

  void DeliverAll(const std::vector<RecordedRequest>& ws) {
    for (const RecordedRequest& w : ws) {
      grpc::Status st = Deliver(w);
      INFO(st.error_message() << " " << w.body.substr(0, 200));
      REQUIRE(st.ok());
    }
  }

  nlohmann::json SimState() { return HttpClient(sim.port()).Get("/_sim/state").json(); }

  // What the stand-in holds: paid minus refunded, in minor units.
  int64_t SimNet() {
    nlohmann::json s = SimState();
    int64_t net = 0;
    for (const auto& pi : s["payment_intents"]) net += pi["amount_received"].get<int64_t>();
    for (const auto& r : s["refunds"]) net -= r["amount"].get<int64_t>();
    return net;
  }

  int64_t LedgerNet(const std::string& clinic_id = "") {
    return fx.Count("SELECT COALESCE(sum(amount), 0)::bigint AS n FROM payments.ledger WHERE clinic_id = '" +
                    (clinic_id.empty() ? clinic.id : clinic_id) + "'");
  }

  WebhookSink sink;
  // The sink answers 200: no retries in these tests.
  StripeSimProcess sim{STRIPE_SIM_BINARY, {"--webhook-url=" + sink.Url("/stripe"), "--retry-base=1h"}};
  InboxFixture fx;
  payments::PaymentsOptions options;
  std::unique_ptr<rpc::RunningService> payments_service;
  std::string address;
  std::unique_ptr<pv1::PaymentsService::Stub> payments;
  std::unique_ptr<pv1::StripeWebhooksService::Stub> webhooks;
  InboxFixture::Clinic clinic, other;
  clients::v1::Client client, other_client;
  size_t taken = 0;
};

}  // namespace vetline::testing
