// bench_payments: the payments service over real gRPC with the clients service beside it
// and the Stripe stand-in on loopback. Creates payment requests from concurrent callers
// (each a Checkout Session at the stand-in with its Idempotency-Key, the row, the outbox
// record), pays them all at the stand-in, then hands its signed webhooks to the webhook
// RPC from concurrent callers (verified, de-duplicated by event id, applied by state),
// then replays them all once more. The ledger must equal the stand-in's record.
// Reports requests/s and webhooks/s. The last line is key=value pairs.
//
//   tools/bench payments [--requests=2000] [--callers=16]
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <thread>

#include "libs/core/config.h"
#include "libs/core/ids.h"
#include "libs/core/log.h"
#include "libs/pg/pg.h"
#include "libs/testing/servers.h"
#include "services/clients/clients_component.h"
#include "services/payments/payments_component.h"
#include "tests/support/http_client.h"
#include "tests/support/identity_stack.h"
#include "tests/support/loopback_process.h"
#include "tests/support/principals.h"
#include "tests/support/webhook_sink.h"
#include "vetline/clients/v1/clients.grpc.pb.h"
#include "vetline/payments/v1/payments.grpc.pb.h"

using namespace vetline;
namespace pv1 = vetline::payments::v1;

namespace {
constexpr char kKey[] = "sk_test_bench_payments_key";
constexpr char kWebhookSecret[] = "whsec_bench_payments_secret";
constexpr double kRequestsTarget = 100, kWebhooksTarget = 500;

double Quantile(std::vector<double> v, double p) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))];
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "bench_payments: %s\n", what.c_str());
  std::exit(1);
}
}  // namespace

int main(int argc, char** argv) {
  int n_requests, n_callers;
  ConfigParser flags("bench_payments");
  flags.Int("requests", &n_requests, "payment requests to create", 2000, 1, 100000);
  flags.Int("callers", &n_callers, "concurrent callers", 16, 1, 100);
  if (absl::Status st = flags.Parse(argc, argv); !st.ok()) {
    std::fprintf(stderr, "%s\n", std::string(st.message()).c_str());
    return 2;
  }
  log::Init("bench", log::Level::kWarning);
  testing::WebhookSink sink;
  testing::LoopbackProcess sim({STRIPE_SIM_BINARY, "--port=0", std::string("--secret-key=") + kKey,
                                std::string("--webhook-secret=") + kWebhookSecret,
                                "--webhook-url=" + sink.Url("/stripe"), "--retry-base=1h"});
  if (!sim.ready()) Die("stripe-sim did not start");
  const std::string sim_base = "http://127.0.0.1:" + std::to_string(sim.port());

  testing::TestDatabase clients_db, db;
  auto clients = clients::Start(testing::TestServiceEnv(clients_db.conninfo()), {}).value();
  rpc::ServiceEnv env = testing::TestServiceEnv(db.conninfo(), false, 16);
  env.peers = {{"clients", "127.0.0.1:" + std::to_string(clients->server().port())}};
  env.platform.public_url = "http://vet.example";
  payments::PaymentsOptions options{.stripe_api_base = sim_base,
                                    .secret_keys = "k1:bench-payments-seal-key-01", .reconcile_every = absl::Hours(1)};
  auto service = payments::Start(env, options).value();
  auto channel = rpc::Dial("127.0.0.1:" + std::to_string(service->server().port()));
  auto stub = pv1::PaymentsService::NewStub(channel);
  auto webhooks = pv1::StripeWebhooksService::NewStub(channel);
  auto pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 2}).value();
  const auth::PrincipalSigner signer(auth::Key::FromSecret(testing::kTestInternalSecret).value());

  const std::string clinic = NewUuid();
  const api::Principal staff = testing::StaffPrincipal(clinic, NewUuid(), "staff");
  const api::Principal admin = testing::StaffPrincipal(clinic, NewUuid(), "admin");
  clients::v1::CreateClientRequest creq;
  creq.set_first_name("Ana");
  creq.set_last_name("Bench");
  clients::v1::Client client;
  if (!clients::v1::ClientsService::NewStub(rpc::Dial("127.0.0.1:" + std::to_string(clients->server().port())))
           ->CreateClient(testing::ContextAs(staff, signer).get(), creq, &client)
           .ok()) {
    Die("CreateClient failed");
  }
  pv1::ConnectAccountRequest connect;
  connect.set_secret_key(kKey);
  connect.set_webhook_signing_secret(kWebhookSecret);
  pv1::StripeAccount account;
  grpc::Status cst = stub->ConnectAccount(testing::ContextAs(admin, signer).get(), connect, &account);
  if (!cst.ok()) Die("ConnectAccount: " + cst.error_message());

  // 1. Payment requests.
  std::atomic<int> next{0}, failed{0};
  std::vector<std::string> pay_ids(n_requests);
  std::vector<std::vector<double>> latencies(n_callers);
  absl::Time t0 = absl::Now();
  std::vector<std::thread> callers;
  for (int c = 0; c < n_callers; ++c) {
    callers.emplace_back([&, c] {
      for (int i = next++; i < n_requests; i = next++) {
        pv1::CreatePaymentRequestRequest req;
        req.set_client_request_id("bench-" + std::to_string(i));
        req.set_kind(pv1::DEPOSIT);
        req.set_client_id(client.id());
        req.set_currency("usd");
        req.set_amount(1000 + i % 5000);
        pv1::PaymentRequest out;
        const absl::Time s = absl::Now();
        grpc::Status st = stub->CreatePaymentRequest(testing::ContextAs(staff, signer).get(), req, &out);
        latencies[c].push_back(absl::ToDoubleMilliseconds(absl::Now() - s));
        if (!st.ok()) {
          if (++failed <= 5) std::fprintf(stderr, "create: %s\n", st.error_message().c_str());
          continue;
        }
        pay_ids[i] = out.pay_url().substr(out.pay_url().rfind('/') + 1);
      }
    });
  }
  for (auto& t : callers) t.join();
  const double create_s = absl::ToDoubleSeconds(absl::Now() - t0);
  std::vector<double> create_lat;
  for (auto& v : latencies) create_lat.insert(create_lat.end(), v.begin(), v.end());

  // 2. Everything paid at the stand-in; its webhooks gathered (not timed).
  callers.clear();
  next = 0;
  for (int c = 0; c < 8; ++c) {
    callers.emplace_back([&] {
      testing::HttpClient http(sim.port());
      for (int i = next++; i < n_requests; i = next++) {
        if (!pay_ids[i].empty()) http.Post("/pay/" + pay_ids[i], "");
      }
    });
  }
  for (auto& t : callers) t.join();
  const size_t expected_hooks = 3 * static_cast<size_t>(n_requests - failed);
  std::vector<testing::RecordedRequest> hooks;
  for (int i = 0; i < 2400 && hooks.size() < expected_hooks; ++i) {
    hooks = sink.Requests("/stripe");
    if (hooks.size() < expected_hooks) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (hooks.size() < expected_hooks) Die("the stand-in's webhooks did not all arrive");

  // 3. Webhooks applied, then all replayed once (duplicates).
  auto deliver = [&](std::atomic<int>& errors) {
    std::atomic<size_t> at{0};
    std::vector<std::thread> ts;
    const absl::Time s = absl::Now();
    for (int c = 0; c < n_callers; ++c) {
      ts.emplace_back([&] {
        for (size_t i = at++; i < hooks.size(); i = at++) {
          pv1::StripeWebhookRequest req;
          req.set_clinic_id(clinic);
          req.set_payload(hooks[i].body);
          req.set_signature(hooks[i].header("stripe-signature"));
          pv1::StripeWebhookResponse resp;
          grpc::ClientContext ctx;
          rpc::SetDeadline(ctx, absl::Seconds(30));
          grpc::Status st = webhooks->StripeWebhook(&ctx, req, &resp);
          if (!st.ok() && ++errors <= 5) std::fprintf(stderr, "webhook: %s\n", st.error_message().c_str());
        }
      });
    }
    for (auto& t : ts) t.join();
    return absl::ToDoubleSeconds(absl::Now() - s);
  };
  std::atomic<int> hook_errors{0};
  const double apply_s = deliver(hook_errors);
  const double replay_s = deliver(hook_errors);

  pg::Result ledger(nullptr);
  (void)pool->WithSession([&](pg::Session& s) -> absl::Status {
    auto r = s.ExecRaw("SELECT COALESCE(sum(amount), 0)::bigint AS n FROM payments.ledger");
    if (r.ok()) ledger = std::move(*r);
    return r.status();
  });
  const int64_t ledger_net = ledger.Int(0, "n");
  int64_t sim_net = 0;
  const nlohmann::json state = testing::HttpClient(sim.port()).Get("/_sim/state").json();
  for (const auto& pi : state["payment_intents"]) {
    sim_net += pi["amount_received"].get<int64_t>();
  }
  const double rps = n_requests / create_s, wps = hooks.size() / apply_s, dps = hooks.size() / replay_s;
  const bool exact = ledger_net == sim_net && failed == 0 && hook_errors == 0;
  const bool met = exact && rps >= kRequestsTarget && wps >= kWebhooksTarget;
  std::printf("payments: %d payment requests from %d callers (gRPC, Checkout Session at the stand-in each)\n",
              n_requests, n_callers);
  std::printf("  %.0f requests/s (target %.0f), latency p50 %.2f ms p99 %.2f ms, %d failed (target 0)\n", rps,
              kRequestsTarget, Quantile(create_lat, 0.5), Quantile(create_lat, 0.99), failed.load());
  std::printf("  %zu signed webhooks applied: %.0f webhooks/s (target %.0f); replayed as duplicates: %.0f/s\n",
              hooks.size(), wps, kWebhooksTarget, dps);
  std::printf("  ledger %lld, stand-in %lld minor units (target equal); webhook errors %d  (%s)\n",
              static_cast<long long>(ledger_net), static_cast<long long>(sim_net), hook_errors.load(),
              met ? "targets met" : "MISSED");
  std::printf("requests=%d callers=%d requests_per_s=%.0f create_p50_ms=%.2f create_p99_ms=%.2f webhooks=%zu "
              "webhooks_per_s=%.0f duplicates_per_s=%.0f ledger=%lld stand_in=%lld exact=%s targets_met=%s\n",
              n_requests, n_callers, rps, Quantile(create_lat, 0.5), Quantile(create_lat, 0.99),
              hooks.size(), wps, dps, static_cast<long long>(ledger_net), static_cast<long long>(sim_net),
              exact ? "yes" : "no", met ? "yes" : "no");
  return met ? 0 : 1;
}
