// The payments service (its own binary) killed with -9 twenty times at random points
// while it creates Checkout Sessions and refunds: some kills fall between Stripe's
// success and our commit. After reconciliation (the same Idempotency-Keys again, and
// Stripe's event list) the ledger equals the stand-in's record, cent for cent, and no
// request has two Checkout Sessions.
#include <catch2/catch.hpp>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "services/payments/tests/payments_fixture.h"
#include "tests/support/service_process.h"

using namespace vetline;
namespace pv1 = vetline::payments::v1;

TEST_CASE("payments: killed with -9 twenty times then reconciled, the ledger equals Stripe's", "[payments][crash]") {
  testing::PaymentsFixture f(absl::Hours(1), /*in_process=*/false);
  const std::vector<std::string> env = {
      "VETLINE_REDIS=", "VETLINE_CLIENTS_ADDRESS=" + f.clients_address(), "VETLINE_BOOKING_ADDRESS=127.0.0.1:1",
      "VETLINE_STRIPE_API_BASE=" + f.sim.base(), std::string("VETLINE_PAYMENTS_SECRET_KEYS=") + testing::kSealKeys,
      "VETLINE_PAYMENTS_RECONCILE_EVERY=1s", "VETLINE_PUBLIC_URL=http://vet.example"};
  std::mt19937 rng(20261202);
  std::mutex mu;
  std::vector<std::string> created;  // request ids, for refunds in later rounds
  std::atomic<int> made{0}, refunds{0};
  for (int round = 0; round < 20; ++round) {
    testing::ServiceProcess p(VETLINE_PAYMENTS_BINARY, f.fx.db.conninfo(), testing::FreePort(), env);
    REQUIRE(p.ready());
    auto stub = pv1::PaymentsService::NewStub(p.channel());
    if (round == 0) {
      pv1::ConnectAccountRequest req;
      req.set_secret_key(testing::kStripeKey);
      req.set_webhook_signing_secret(testing::kWebhookSecret);
      pv1::StripeAccount a;
      REQUIRE(stub->ConnectAccount(f.fx.As(f.clinic.admin).get(), req, &a).ok());
    }
    std::atomic<bool> stop{false};
    std::vector<std::thread> workers;
    for (int t = 0; t < 4; ++t) {
      workers.emplace_back([&, t, round] {
        std::mt19937 wrng(round * 10 + t);
        for (int k = 0; !stop && k < 1000; ++k) {
          if (k % 3 == 2) {  // a refund of an earlier request, once Stripe's payment reached us
            std::string id;
            {
              std::lock_guard<std::mutex> lock(mu);
              if (!created.empty()) id = created[wrng() % created.size()];
            }
            if (id.empty()) continue;
            pv1::RefundPaymentRequest req;
            req.set_payment_request_id(id);
            req.set_client_request_id("rf-" + id + "-" + std::to_string(round));
            req.set_amount(100);
            pv1::Refund r;
            if (stub->RefundPayment(f.fx.As(f.clinic.admin).get(), req, &r).ok()) ++refunds;
            continue;
          }
          pv1::PaymentRequest out;
          auto req = f.Deposit("c-" + std::to_string(round) + "-" + std::to_string(t) + "-" + std::to_string(k),
                               1000 + (wrng() % 9000), f.client.id());
          if (!stub->CreatePaymentRequest(f.fx.As(f.clinic.staff).get(), req, &out).ok()) continue;
          ++made;
          if (f.Pay(out) == 200) {
            std::lock_guard<std::mutex> lock(mu);
            created.push_back(out.id());
          }
        }
      });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 450));
    p.Kill();  // mid-flight: Stripe may have answered what we never committed
    stop = true;
    for (auto& w : workers) w.join();
  }
  CHECK(made > 20);

  // A fresh process reconciles: what the kills left 'creating' gets its (one) session, and
  // every payment and refund Stripe made is in the ledger.
  testing::ServiceProcess last(VETLINE_PAYMENTS_BINARY, f.fx.db.conninfo(), testing::FreePort(), env);
  REQUIRE(last.ready());
  const bool settled = testing::WaitUntil(
      [&] {
        return f.fx.Count("SELECT count(*) AS n FROM payments.requests WHERE status = 'creating'") == 0 &&
               f.LedgerNet() == f.SimNet();
      },
      absl::Seconds(90), absl::Milliseconds(500));
  INFO("ledger " << f.LedgerNet() << " stand-in " << f.SimNet());
  CHECK(settled);
  CHECK(f.LedgerNet() == f.SimNet());
  nlohmann::json state = f.SimState();
  std::map<std::string, int> sessions_per_request;
  for (const auto& s : state["sessions"]) sessions_per_request[s["metadata"]["payment_request_id"].get<std::string>()]++;
  int twice = 0;
  for (const auto& [id, n] : sessions_per_request) twice += n > 1;
  CHECK(twice == 0);
  CHECK(static_cast<int64_t>(sessions_per_request.size()) ==
        f.fx.Count("SELECT count(*) AS n FROM payments.requests WHERE session_id IS NOT NULL"));
  int64_t stripe_refunds = state["refunds"].size();
  CHECK(stripe_refunds == f.fx.Count("SELECT count(*) AS n FROM payments.ledger WHERE entry = 'refund'"));
  WARN("20 kills: " << made << " requests made, " << sessions_per_request.size() << " sessions, " << refunds
                    << " refunds answered, " << stripe_refunds << " refunds at Stripe");
}
