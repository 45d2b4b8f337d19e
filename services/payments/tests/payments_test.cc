// The payments service end to end over real gRPC, PostgreSQL and Redis, with the real
// clients, identity and conversations services and the Stripe stand-in on loopback:
// accounts, payment requests reaching the client's conversation, webhooks, refunds,
// deposits on invoices, the ledger, and what a retry, a replay or a lost webhook does.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libs/testing/servers.h"
#include "libs/testing/wait.h"
#include "services/gateway/gateway.h"
#include "services/payments/stripe/stripe_signature.h"
#include "services/payments/tests/payments_fixture.h"

using namespace vetline;
using testing::PaymentsFixture;
namespace pv1 = vetline::payments::v1;

namespace {

std::string Field(const grpc::Status& st) { return st.error_details(); }

}  // namespace

TEST_CASE("payments: the account's secrets never come back and a refused key is not stored", "[payments]") {
  PaymentsFixture f;
  pv1::StripeAccount a;
  grpc::Status bad = f.Connect(f.clinic, &a, "sk_test_this_key_is_wrong");
  CHECK(bad.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Field(bad) == "secretKey");
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.accounts") == 0);

  pv1::StripeAccount stored;
  grpc::Status no_admin = f.payments->ConnectAccount(f.fx.As(f.clinic.staff).get(), {}, &stored);
  CHECK(no_admin.error_code() == grpc::StatusCode::PERMISSION_DENIED);

  REQUIRE(f.Connect(f.clinic, &a).ok());
  CHECK(a.connected());
  CHECK(a.working());
  CHECK(a.secret_key_last4() == "_key");
  CHECK(a.webhook_path() == "/v1/webhooks/stripe/" + f.clinic.id);
  CHECK(a.DebugString().find(testing::kStripeKey) == std::string::npos);
  pv1::StripeAccount got;
  REQUIRE(f.payments->GetAccount(f.fx.As(f.clinic.staff).get(), {}, &got).ok());
  CHECK(got.secret_key_last4() == "_key");
  CHECK(got.DebugString().find("sk_test") == std::string::npos);
  // Sealed at rest: the database never holds the key itself.
  CHECK(f.fx.Count(std::string("SELECT count(*) AS n FROM payments.accounts WHERE secret_key_sealed LIKE '%") +
                   testing::kStripeKey + "%' OR webhook_secret_sealed LIKE '%whsec%'") == 0);
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.accounts WHERE secret_key_sealed LIKE 'k1:%'") == 1);

  // A clinic without an account cannot ask for money, and nothing is written.
  pv1::PaymentRequest out;
  grpc::Status none = f.Create(f.Deposit("d-1", 5000, f.other_client.id()), &out, &f.other.staff);
  CHECK(none.error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  CHECK(none.error_message().find("Stripe account") != std::string::npos);
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.requests") == 0);
}

TEST_CASE("payments: a clinic's Stripe secrets are never written to the logs", "[payments]") {
  PaymentsFixture f;
  // Everything this process logs (every service here writes JSON lines to stderr) into a file.
  char path[] = "/tmp/vetline-payments-log-XXXXXX";
  const int file = mkstemp(path);
  REQUIRE(file >= 0);
  std::fflush(stderr);
  const int saved = dup(STDERR_FILENO);
  dup2(file, STDERR_FILENO);
  {
    CHECK_FALSE(f.Connect(f.clinic, nullptr, "sk_test_this_key_is_wrong").ok());
    REQUIRE(f.Connect(f.clinic).ok());
    pv1::PaymentRequest r = f.MustCreate(f.Deposit("logged", 4000, f.client.id()));
    REQUIRE(f.Pay(r) == 200);
    std::vector<testing::RecordedRequest> hooks = f.NewWebhooks(3);
    testing::RecordedRequest forged = hooks.at(0);
    forged.headers["stripe-signature"] = payments::stripe::SignatureHeader(forged.body, absl::Now(), {"whsec_forger"});
    CHECK_FALSE(f.Deliver(forged).ok());
    f.DeliverAll(hooks);
    REQUIRE(f.Refund(r.id(), "logged-refund", 1000).ok());
  }
  std::fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  std::ifstream in(path);
  const std::string logged((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  close(file);
  std::remove(path);
  CHECK(logged.find("stripe account connected") != std::string::npos);  // the capture saw the logs
  CHECK(logged.find(testing::kStripeKey) == std::string::npos);
  CHECK(logged.find("sk_test_this_key_is_wrong") == std::string::npos);
  CHECK(logged.find(testing::kWebhookSecret) == std::string::npos);
}

TEST_CASE("payments: a deposit reaches the client's conversation and paying it is in the ledger", "[payments]") {
  PaymentsFixture f;
  f.FollowInConversations();
  REQUIRE(f.Connect(f.clinic).ok());
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("deposit-1", 5000, f.client.id()));
  CHECK(r.status() == pv1::REQUESTED);
  CHECK(r.amount() == 5000);
  CHECK(r.amount_text() == "50.00 USD");
  CHECK(r.pay_url().find("/pay/cs_test_") != std::string::npos);

  // The pay link arrives as a system message with a payment_request attachment.
  auto conv = f.fx.Start(f.clinic.staff, f.client.id());
  std::vector<testing::cv1::Message> messages;
  REQUIRE(testing::WaitUntil(
      [&] {
        messages = f.fx.Messages(f.clinic.staff, conv.id());
        return !messages.empty() && messages[0].text().find(r.pay_url()) != std::string::npos;
      },
      absl::Seconds(15)));
  CHECK(messages[0].author() == testing::cv1::SYSTEM);
  CHECK(messages[0].text().find("50.00 USD") != std::string::npos);
  REQUIRE(messages[0].attachments_size() == 1);
  CHECK(messages[0].attachments(0).payment_request().payment_request_id() == r.id());
  CHECK(messages[0].attachments(0).payment_request().portal_url() == r.pay_url());
  CHECK(messages[0].attachments(0).payment_request().status() == "requested");
  CHECK(messages[0].deliveries_size() > 0);  // sent to the client like any message

  REQUIRE(f.Pay(r) == 200);
  f.DeliverAll(f.NewWebhooks(3));
  pv1::PaymentRequest paid = f.Get(r.id());
  CHECK(paid.status() == pv1::PAID);
  CHECK(paid.paid_amount() == 5000);
  CHECK(f.LedgerNet() == 5000);
  REQUIRE(testing::WaitUntil(
      [&] {
        messages = f.fx.Messages(f.clinic.staff, conv.id());
        return messages[0].text().find("paid") != std::string::npos;
      },
      absl::Seconds(15)));
  CHECK(messages[0].text().find("50.00 USD") != std::string::npos);
  // The status is on the attachment: the new message's and the pay link's, kept current.
  REQUIRE(messages.size() == 2);
  for (const auto& m : messages) {
    REQUIRE(m.attachments_size() == 1);
    CHECK(m.attachments(0).payment_request().status() == "paid");
  }

  // Balances and the report add up to the ledger.
  pv1::GetBalancesResponse balances;
  REQUIRE(f.payments->GetBalances(f.fx.As(f.clinic.admin).get(), {}, &balances).ok());
  REQUIRE(balances.balances_size() == 1);
  CHECK(balances.balances(0).net() == 5000);
  pv1::GetPaymentsReportRequest rr;
  const std::string today = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  rr.set_from(today);
  rr.set_to(today);
  pv1::GetPaymentsReportResponse report;
  REQUIRE(f.payments->GetPaymentsReport(f.fx.As(f.clinic.admin).get(), rr, &report).ok());
  REQUIRE(report.totals_size() == 1);
  CHECK(report.totals(0).net() == 5000);
  REQUIRE(report.rows_size() == 1);
  CHECK(report.rows(0).kind() == pv1::DEPOSIT);
  CHECK(report.rows(0).charges() == 1);
}

TEST_CASE("payments: a client reads their own payment request and nobody else's", "[payments]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("deposit-portal", 4550, f.client.id()));
  auto cy = f.fx.MakeClient(f.clinic, "Cy", "Moss", "+15551230009", "cy@example.com");
  pv1::PaymentRequest theirs = f.MustCreate(f.Deposit("deposit-other", 1000, cy.id()));
  auto portal = [&](const std::string& clinic_id, const std::string& client_id) {
    api::Principal p;
    p.set_kind(api::Principal::CLIENT);
    p.set_clinic_id(clinic_id);
    p.set_user_id("6f1c2a4e-0b7d-4c1e-9a55-3d2f8e7b6a01");
    p.set_client_id(client_id);
    return p;
  };
  auto get = [&](const api::Principal& who, const std::string& id, pv1::PaymentRequest* out) {
    pv1::GetPaymentRequestRequest req;
    req.set_id(id);
    return f.payments->GetPaymentRequest(f.fx.As(who).get(), req, out);
  };

  // The portal's pay page: what, how much, its status and the pay link.
  pv1::PaymentRequest seen;
  grpc::Status st = get(portal(f.clinic.id, f.client.id()), r.id(), &seen);
  INFO(st.error_message());
  REQUIRE(st.ok());
  CHECK(seen.amount_text() == "45.50 USD");
  CHECK(seen.description() == "Surgery deposit");
  CHECK(seen.status() == pv1::REQUESTED);
  CHECK(seen.pay_url() == r.pay_url());

  // Another client's request, one from another clinic's client, and a prospect with no
  // client record: as missing as an id that does not exist.
  pv1::PaymentRequest none;
  CHECK(get(portal(f.clinic.id, f.client.id()), theirs.id(), &none).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(get(portal(f.other.id, f.other_client.id()), r.id(), &none).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(get(portal(f.clinic.id, ""), r.id(), &none).error_code() == grpc::StatusCode::NOT_FOUND);
  CHECK(none.pay_url().empty());
  // The list stays the staff's.
  pv1::ListPaymentRequestsResponse list;
  CHECK(f.payments->ListPaymentRequests(f.fx.As(portal(f.clinic.id, f.client.id())).get(), {}, &list).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
}

TEST_CASE("payments: bad input is a clear error naming the field and writes nothing", "[payments]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  pv1::PaymentRequest out;
  struct Case {
    std::string what;
    pv1::CreatePaymentRequestRequest req;
    grpc::StatusCode code;
    std::string field;
  };
  std::vector<Case> cases;
  auto add = [&](std::string what, auto change, grpc::StatusCode code, std::string field) {
    pv1::CreatePaymentRequestRequest req = f.Deposit("bad-" + std::to_string(cases.size()), 5000, f.client.id());
    change(req);
    cases.push_back({std::move(what), req, code, std::move(field)});
  };
  const auto kInvalid = grpc::StatusCode::INVALID_ARGUMENT;
  add("zero", [](auto& r) { r.set_amount(0); }, kInvalid, "amount");
  add("negative", [](auto& r) { r.set_amount(-100); }, kInvalid, "amount");
  add("absurd", [](auto& r) { r.set_amount(int64_t{1} << 50); }, kInvalid, "amount");
  add("unknown currency", [](auto& r) { r.set_currency("xyz"); }, kInvalid, "currency");
  add("no kind", [](auto& r) { r.set_kind(pv1::PAYMENT_KIND_UNSPECIFIED); }, kInvalid, "kind");
  add("no client request id", [](auto& r) { r.set_client_request_id(""); }, kInvalid, "clientRequestId");
  add("invoice without lines", [](auto& r) { r.set_kind(pv1::INVOICE); r.set_amount(0); }, kInvalid, "lineItems");
  add("another clinic's client", [&](auto& r) { r.set_client_id(f.other_client.id()); },
      grpc::StatusCode::NOT_FOUND, "clientId");
  add("a made-up client", [](auto& r) { r.set_client_id("7b0c1f3e-1111-4222-8333-444455556666"); },
      grpc::StatusCode::NOT_FOUND, "clientId");
  add("not an id", [](auto& r) { r.set_client_id("nope"); }, kInvalid, "clientId");
  for (const Case& c : cases) {
    INFO(c.what);
    grpc::Status st = f.Create(c.req, &out);
    CHECK(st.error_code() == c.code);
    CHECK(Field(st) == c.field);
    CHECK(st.error_message().find("SQLSTATE") == std::string::npos);
  }
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.requests") == 0);
  CHECK(f.SimState()["sessions"].size() == 0);

  // Another clinic's payment is not found; a refund above what was paid is refused.
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("d-ok", 5000, f.client.id()));
  pv1::GetPaymentRequestRequest get;
  get.set_id(r.id());
  CHECK(f.payments->GetPaymentRequest(f.fx.As(f.other.staff).get(), get, &out).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  pv1::RefundPaymentRequest foreign;
  foreign.set_payment_request_id(r.id());
  foreign.set_client_request_id("rf-x");
  pv1::Refund refund;
  CHECK(f.payments->RefundPayment(f.fx.As(f.other.admin).get(), foreign, &refund).error_code() ==
        grpc::StatusCode::NOT_FOUND);
  CHECK(f.Refund(r.id(), "rf-unpaid", 0).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  REQUIRE(f.Pay(r) == 200);
  f.DeliverAll(f.NewWebhooks(3));
  grpc::Status over = f.Refund(r.id(), "rf-over", 5001);
  CHECK(over.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Field(over) == "amount");
  CHECK(f.payments->RefundPayment(f.fx.As(f.clinic.staff).get(), foreign, &refund).error_code() ==
        grpc::StatusCode::PERMISSION_DENIED);
  CHECK(f.SimState()["refunds"].size() == 0);

  // A bad or stale signature: refused before anything is read, nothing recorded.
  f.NewWebhooks();
  pv1::PaymentRequest r2 = f.MustCreate(f.Deposit("d-two", 2500, f.client.id()));
  REQUIRE(f.Pay(r2) == 200);
  std::vector<testing::RecordedRequest> ws = f.NewWebhooks(3);
  REQUIRE(!ws.empty());
  const int64_t events_before = f.fx.Count("SELECT count(*) AS n FROM payments.events");
  testing::RecordedRequest forged = ws[0];
  forged.headers["stripe-signature"] =
      payments::stripe::SignatureHeader(forged.body, absl::Now(), {"whsec_someone_else"});
  grpc::Status st = f.Deliver(forged);
  CHECK(st.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Field(st) == "Stripe-Signature");
  testing::RecordedRequest stale = ws[0];
  stale.headers["stripe-signature"] =
      payments::stripe::SignatureHeader(stale.body, absl::Now() - absl::Minutes(10), {testing::kWebhookSecret});
  CHECK(f.Deliver(stale).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  testing::RecordedRequest altered = ws[0];
  altered.body.replace(altered.body.find("2500"), 4, "9999");
  CHECK(f.Deliver(altered).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(f.Deliver(ws[0], f.other.id).error_code() == grpc::StatusCode::INVALID_ARGUMENT);  // no account there
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.events") == events_before);
  CHECK(f.Get(r2.id()).status() == pv1::REQUESTED);

  // A pay link for a cancelled request no longer pays.
  pv1::PaymentRequest r3 = f.MustCreate(f.Deposit("d-three", 1000, f.client.id()));
  pv1::CancelPaymentRequestRequest cancel;
  cancel.set_id(r3.id());
  pv1::PaymentRequest cancelled;
  REQUIRE(f.payments->CancelPaymentRequest(f.fx.As(f.clinic.staff).get(), cancel, &cancelled).ok());
  CHECK(cancelled.status() == pv1::CANCELLED);
  CHECK(f.Pay(r3) == 409);
  CHECK(f.payments->CancelPaymentRequest(f.fx.As(f.clinic.staff).get(), cancel, &cancelled).ok());  // a retry
  cancel.set_id(r.id());
  CHECK(f.payments->CancelPaymentRequest(f.fx.As(f.clinic.staff).get(), cancel, &cancelled).error_code() ==
        grpc::StatusCode::FAILED_PRECONDITION);  // paid
}

TEST_CASE("payments: a new sealing key reseals the clinic's secrets on use and the old key can then go",
          "[payments][rotation]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  auto sealed_under = [&](const std::string& id) {
    return f.fx.Count("SELECT count(*) AS n FROM payments.accounts WHERE secret_key_sealed LIKE '" + id +
                      ":%' AND webhook_secret_sealed LIKE '" + id + ":%'");
  };
  REQUIRE(sealed_under("k1") == 1);
  // Step 1 of a rotation: the new key first, the old one kept. Nothing is reconnected.
  f.payments_service.reset();
  f.options.secret_keys = std::string("k2:payments-test-seal-key-0002,") + testing::kSealKeys;
  f.StartPayments();
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("after-rotation", 1500, f.client.id()));
  CHECK(r.status() == pv1::REQUESTED);
  CHECK(sealed_under("k2") == 1);  // opened with k1, sealed again with k2 on that use
  CHECK(sealed_under("k1") == 0);
  // Step 2: every row resealed, the old key goes; the webhook secret still opens.
  f.payments_service.reset();
  f.options.secret_keys = "k2:payments-test-seal-key-0002";
  f.StartPayments();
  REQUIRE(f.Pay(r) == 200);
  f.DeliverAll(f.NewWebhooks(3));
  CHECK(f.Get(r.id()).status() == pv1::PAID);
  pv1::StripeAccount account;
  REQUIRE(f.payments->GetAccount(f.fx.As(f.clinic.staff).get(), {}, &account).ok());
  CHECK(account.working());
}

TEST_CASE("payments: zero- and three-decimal currencies are charged in their own minor units and add up",
          "[payments][currencies]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  // 5,000 yen (no decimals) and an invoice of 2 x 1.250 KWD (three decimals).
  pv1::CreatePaymentRequestRequest yen = f.Deposit("yen", 5000, f.client.id());
  yen.set_currency("JPY");
  pv1::PaymentRequest y = f.MustCreate(yen);
  CHECK(y.amount_text() == "5000 JPY");
  CHECK(y.currency() == "jpy");
  pv1::CreatePaymentRequestRequest dinar;
  dinar.set_client_request_id("kwd");
  dinar.set_kind(pv1::INVOICE);
  dinar.set_client_id(f.client.id());
  dinar.set_currency("kwd");
  auto* line = dinar.add_line_items();
  line->set_description("Vaccination");
  line->set_unit_amount(1250);
  line->set_quantity(2);
  pv1::PaymentRequest k = f.MustCreate(dinar);
  CHECK(k.amount() == 2500);
  CHECK(k.amount_text() == "2.500 KWD");
  // Stripe takes three-decimal amounts in steps of ten: 1.255 KWD is refused before it is asked.
  dinar.set_client_request_id("kwd-odd");
  dinar.mutable_line_items(0)->set_unit_amount(1255);
  pv1::PaymentRequest out;
  grpc::Status odd = f.Create(dinar, &out);
  CHECK(odd.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(Field(odd) == "lineItems[0].unitAmount");
  // Stripe was asked for the same minor units.
  std::map<std::string, int64_t> asked;
  const nlohmann::json sim = f.SimState();  // kept: a loop over a temporary's member dangles
  for (const auto& s : sim["sessions"]) asked[s["currency"]] = s["amount_total"].get<int64_t>();
  CHECK(asked == std::map<std::string, int64_t>{{"jpy", 5000}, {"kwd", 2500}});

  REQUIRE(f.Pay(y) == 200);
  REQUIRE(f.Pay(k) == 200);
  f.DeliverAll(f.NewWebhooks(6));
  CHECK(f.Refund(k.id(), "kwd-odd-refund", 505).error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  pv1::Refund refund;
  REQUIRE(f.Refund(k.id(), "kwd-refund", 500, &refund).ok());
  f.DeliverAll(f.NewWebhooks(1));
  CHECK(f.Get(k.id()).status() == pv1::PARTLY_REFUNDED);

  // Balances and the report per currency equal the ledger's sums, to the minor unit.
  std::map<std::string, int64_t> ledger;
  for (const char* c : {"jpy", "kwd"}) {
    ledger[c] = f.fx.Count(std::string("SELECT COALESCE(sum(amount), 0)::bigint AS n FROM payments.ledger WHERE "
                                       "clinic_id = '") + f.clinic.id + "' AND currency = '" + c + "'");
  }
  CHECK(ledger == std::map<std::string, int64_t>{{"jpy", 5000}, {"kwd", 2000}});
  pv1::GetBalancesResponse balances;
  REQUIRE(f.payments->GetBalances(f.fx.As(f.clinic.admin).get(), {}, &balances).ok());
  std::map<std::string, int64_t> net;
  for (const auto& b : balances.balances()) {
    net[b.currency()] = b.net();
    CHECK(b.net() == b.charged() - b.refunded());
  }
  CHECK(net == ledger);
  pv1::GetPaymentsReportRequest rr;
  const std::string today = absl::FormatTime("%Y-%m-%d", absl::Now(), absl::UTCTimeZone());
  rr.set_from(today);
  rr.set_to(today);
  pv1::GetPaymentsReportResponse report;
  REQUIRE(f.payments->GetPaymentsReport(f.fx.As(f.clinic.admin).get(), rr, &report).ok());
  std::map<std::string, int64_t> totals, rows;
  for (const auto& t : report.totals()) totals[t.currency()] = t.net();
  for (const auto& row : report.rows()) rows[row.currency()] += row.net();
  CHECK(totals == ledger);
  CHECK(rows == ledger);
  CHECK(f.LedgerNet() == f.SimNet());
}

TEST_CASE("payments: a retried request with the same clientRequestId makes one Checkout Session", "[payments]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  std::vector<std::thread> threads;
  std::vector<std::string> ids(5);
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      pv1::PaymentRequest out;
      if (f.Create(f.Deposit("same-key", 5000, f.client.id()), &out).ok()) ids[i] = out.id() + " " + out.pay_url();
    });
  }
  for (auto& t : threads) t.join();
  CHECK(std::set<std::string>(ids.begin(), ids.end()).size() == 1);
  CHECK(!ids[0].empty());
  CHECK(f.SimState()["sessions"].size() == 1);
  // The same id for another ask is refused.
  pv1::PaymentRequest out;
  grpc::Status reused = f.Create(f.Deposit("same-key", 7000, f.client.id()), &out);
  CHECK(reused.error_code() == grpc::StatusCode::ALREADY_EXISTS);
  CHECK(Field(reused) == "clientRequestId");

  // Stripe made the session but its answer was lost: the request waits as 'creating'
  // and the retry gets the same session from Stripe's idempotency.
  testing::HttpClient control(f.sim.port());
  REQUIRE(control.Post("/_sim/fail-after-commit?count=1", "").status == 200);
  grpc::Status lost = f.Create(f.Deposit("lost-answer", 3000, f.client.id()), &out);
  CHECK(lost.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(f.SimState()["sessions"].size() == 2);
  REQUIRE(f.Create(f.Deposit("lost-answer", 3000, f.client.id()), &out).ok());
  CHECK(out.status() == pv1::REQUESTED);
  CHECK(f.SimState()["sessions"].size() == 2);
}

TEST_CASE("payments: an invoice applies the client's paid deposits once and never goes below zero", "[payments]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  pv1::PaymentRequest d = f.MustCreate(f.Deposit("dep", 5000, f.client.id()));
  REQUIRE(f.Pay(d) == 200);
  f.DeliverAll(f.NewWebhooks(3));
  REQUIRE(f.Get(d.id()).status() == pv1::PAID);

  pv1::CreatePaymentRequestRequest inv;
  inv.set_client_request_id("inv-1");
  inv.set_kind(pv1::INVOICE);
  inv.set_client_id(f.client.id());
  inv.set_currency("usd");
  inv.set_apply_deposits(true);
  auto* l1 = inv.add_line_items();
  l1->set_description("Surgery");
  l1->set_unit_amount(10000);
  auto* l2 = inv.add_line_items();
  l2->set_description("Medication");
  l2->set_unit_amount(1000);
  l2->set_quantity(2);
  pv1::PaymentRequest i1 = f.MustCreate(inv);
  CHECK(i1.subtotal() == 12000);
  CHECK(i1.amount() == 7000);  // total minus the $50 deposit
  REQUIRE(i1.applied_deposits_size() == 1);
  CHECK(i1.applied_deposits(0).deposit_id() == d.id());
  nlohmann::json sessions = f.SimState()["sessions"];
  bool found = false;
  for (const auto& s : sessions) found = found || (s["id"] == i1.pay_url().substr(i1.pay_url().rfind('/') + 1) &&
                                                   s["amount_total"] == 7000);
  CHECK(found);
  // The deposit cannot be refunded now that it paid part of the invoice.
  CHECK(f.Refund(d.id(), "rf-dep", 0).error_code() == grpc::StatusCode::FAILED_PRECONDITION);

  // A second invoice finds no deposit left.
  inv.set_client_request_id("inv-2");
  pv1::PaymentRequest i2 = f.MustCreate(inv);
  CHECK(i2.amount() == 12000);
  CHECK(i2.applied_deposits_size() == 0);

  // An invoice smaller than the deposit: applied in part, nothing to pay.
  pv1::PaymentRequest d2 = f.MustCreate(f.Deposit("dep-2", 5000, f.client.id()));
  REQUIRE(f.Pay(d2) == 200);
  f.DeliverAll(f.NewWebhooks(3));
  inv.clear_line_items();
  inv.set_client_request_id("inv-3");
  auto* small = inv.add_line_items();
  small->set_description("Recheck");
  small->set_unit_amount(3000);
  pv1::PaymentRequest i3 = f.MustCreate(inv);
  CHECK(i3.amount() == 0);
  CHECK(i3.status() == pv1::PAID);
  CHECK(i3.pay_url().empty());
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.deposit_applications") == 2);
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.requests WHERE amount < 0") == 0);
}

TEST_CASE("payments: refunds whole and partial are idempotent and match Stripe", "[payments]") {
  PaymentsFixture f;
  f.FollowInConversations();
  REQUIRE(f.Connect(f.clinic).ok());
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("d", 8000, f.client.id()));
  REQUIRE(f.Pay(r) == 200);
  f.DeliverAll(f.NewWebhooks(3));
  pv1::Refund a, again, b;
  REQUIRE(f.Refund(r.id(), "rf-1", 3000, &a).ok());
  CHECK(a.amount() == 3000);
  CHECK(a.payment_request().status() == pv1::PARTLY_REFUNDED);
  REQUIRE(f.Refund(r.id(), "rf-1", 3000, &again).ok());  // a retry: the same refund
  CHECK(again.id() == a.id());
  CHECK(f.SimState()["refunds"].size() == 1);
  REQUIRE(f.Refund(r.id(), "rf-2", 0, &b).ok());  // the rest
  CHECK(b.amount() == 5000);
  CHECK(b.payment_request().status() == pv1::REFUNDED);
  CHECK(f.Refund(r.id(), "rf-3", 1).error_code() == grpc::StatusCode::FAILED_PRECONDITION);
  // The refunds' own webhooks change nothing more.
  f.DeliverAll(f.NewWebhooks(4));
  CHECK(f.LedgerNet() == 0);
  CHECK(f.SimNet() == 0);
  CHECK(f.Get(r.id()).refunded_amount() == 8000);
  auto conv = f.fx.Start(f.clinic.staff, f.client.id());
  REQUIRE(testing::WaitUntil(
      [&] {
        auto m = f.fx.Messages(f.clinic.staff, conv.id());
        return !m.empty() && m[0].text().find("refunded in full") != std::string::npos;
      },
      absl::Seconds(15)));
}

TEST_CASE("payments: a refund seen before its payment is applied in the right order", "[payments]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("d", 4000, f.client.id()));
  REQUIRE(f.Pay(r) == 200);
  std::vector<testing::RecordedRequest> paid = f.NewWebhooks(3);
  // The refund is made in Stripe's dashboard: its events come before the payment's.
  testing::HttpClient http(f.sim.port());
  nlohmann::json state = f.SimState();
  REQUIRE(state["payment_intents"].size() == 1);
  const std::string intent = state["payment_intents"][0]["id"];
  auto res = http.Post("/v1/refunds", "payment_intent=" + intent + "&amount=1500",
                       {{"Authorization", std::string("Bearer ") + testing::kStripeKey},
                        {"Content-Type", "application/x-www-form-urlencoded"}});
  REQUIRE(res.status == 200);
  std::vector<testing::RecordedRequest> refunded = f.NewWebhooks(2);
  f.DeliverAll(refunded);
  f.DeliverAll(paid);
  pv1::PaymentRequest got = f.Get(r.id());
  CHECK(got.paid_amount() == 4000);
  CHECK(got.refunded_amount() == 1500);
  CHECK(got.status() == pv1::PARTLY_REFUNDED);
  CHECK(f.LedgerNet() == f.SimNet());
}

TEST_CASE("payments: a day's webhooks replayed three times in random order leave the ledger exact", "[payments]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  std::mt19937 rng(11);
  std::vector<pv1::PaymentRequest> requests;
  for (int i = 0; i < 30; ++i) {
    requests.push_back(f.MustCreate(f.Deposit("day-" + std::to_string(i), 1000 + 37 * i, f.client.id())));
  }
  for (int i = 0; i < 30; ++i) {
    if (i % 5 != 4) REQUIRE(f.Pay(requests[i]) == 200);  // a fifth stay unpaid
  }
  // Refunds made in Stripe's dashboard, whole and partial: we learn of them by webhook.
  nlohmann::json intents = f.SimState()["payment_intents"];
  REQUIRE(intents.size() == 24);
  testing::HttpClient http(f.sim.port());
  for (size_t i = 0; i < intents.size(); i += 3) {
    const int64_t amount = i % 2 ? intents[i]["amount"].get<int64_t>() : 500;
    auto res = http.Post("/v1/refunds",
                         "payment_intent=" + intents[i]["id"].get<std::string>() + "&amount=" + std::to_string(amount),
                         {{"Authorization", std::string("Bearer ") + testing::kStripeKey},
                          {"Content-Type", "application/x-www-form-urlencoded"}});
    REQUIRE(res.status == 200);
  }
  std::vector<testing::RecordedRequest> day = f.NewWebhooks(24 * 3 + 8 * 2);
  REQUIRE(day.size() == 24 * 3 + 8 * 2);
  std::vector<testing::RecordedRequest> replay;
  for (int round = 0; round < 3; ++round) replay.insert(replay.end(), day.begin(), day.end());
  std::shuffle(replay.begin(), replay.end(), rng);
  f.DeliverAll(replay);
  CHECK(f.LedgerNet() == f.SimNet());
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.ledger WHERE entry = 'charge'") == 24);
  for (int i = 0; i < 30; ++i) {
    pv1::PaymentRequest got = f.Get(requests[i].id());
    INFO(i);
    CHECK(got.paid_amount() == (i % 5 == 4 ? 0 : requests[i].amount()));
  }
}

TEST_CASE("payments: reconciliation repairs lost webhooks and a request a lost answer left behind", "[payments]") {
  PaymentsFixture f(absl::Seconds(1));
  REQUIRE(f.Connect(f.clinic).ok());
  // Two replicas reconcile side by side (the lease and the row locks keep them apart).
  auto replica = payments::Start(f.fx.env, f.options).value();
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("d", 6000, f.client.id()));
  testing::HttpClient control(f.sim.port());
  REQUIRE(control.Post("/_sim/fail-after-commit?count=1", "").status == 200);
  pv1::PaymentRequest out;
  CHECK(f.Create(f.Deposit("lost", 2000, f.client.id()), &out).error_code() == grpc::StatusCode::UNAVAILABLE);
  REQUIRE(f.Pay(r) == 200);
  // No webhook is ever delivered: the worker reads Stripe's events and sessions itself.
  REQUIRE(testing::WaitUntil([&] { return f.Get(r.id()).status() == pv1::PAID; }, absl::Seconds(20)));
  REQUIRE(testing::WaitUntil(
      [&] { return f.fx.Count("SELECT count(*) AS n FROM payments.requests WHERE status = 'creating'") == 0; },
      absl::Seconds(30)));
  CHECK(f.SimState()["sessions"].size() == 2);
  CHECK(f.LedgerNet() == 6000);
  CHECK(f.LedgerNet() == f.SimNet());
}

TEST_CASE("payments: Stripe's webhooks reach the service through the gateway's raw route", "[payments][gateway]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  gateway::GatewayOptions g;
  g.http_address = "127.0.0.1:" + std::to_string(testing::FreePort());
  g.backends = {{"payments", f.address}};
  g.internal_secret = testing::kTestInternalSecret;
  g.registry = std::make_shared<prometheus::Registry>();
  auto gw = gateway::Gateway::Start(g).value();
  const std::string path = "/v1/webhooks/stripe/" + f.clinic.id;
  testing::HttpClient control(f.sim.port());
  REQUIRE(control.Post("/_sim/webhooks?url=" + absl::StrCat("http://127.0.0.1:", gw->port(), path), "").status ==
          200);
  pv1::PaymentRequest r = f.MustCreate(f.Deposit("via-gateway", 4200, f.client.id()));
  REQUIRE(f.Pay(r) == 200);
  REQUIRE(testing::WaitUntil([&] { return f.Get(r.id()).status() == pv1::PAID; }, absl::Seconds(15)));
  CHECK(f.LedgerNet() == 4200);
  nlohmann::json deliveries;
  REQUIRE(testing::WaitUntil(
      [&] {
        deliveries = control.Get("/_sim/deliveries").json();
        return deliveries.size() >= 3;
      },
      absl::Seconds(15), absl::Milliseconds(50)));
  CHECK(deliveries.size() == 3);
  for (const auto& d : deliveries) CHECK(d["status"] == 200);

  // A forged one over HTTP: 400 naming the header, nothing recorded.
  const int64_t events = f.fx.Count("SELECT count(*) AS n FROM payments.events");
  testing::HttpClient http(gw->port());
  const std::string body = R"({"id":"evt_forged","type":"payment_intent.succeeded","created":1,"data":{"object":{}}})";
  auto res = http.Post(path, body,
                       {{"Content-Type", "application/json; charset=utf-8"},
                        {"Stripe-Signature", payments::stripe::SignatureHeader(body, absl::Now(), {"whsec_forger"})}});
  CHECK(res.status == 400);
  CHECK(res.json()["error"]["field"] == "Stripe-Signature");
  auto unsigned_res = http.Post(path, body, {{"Content-Type", "application/json"}});
  CHECK(unsigned_res.status == 400);
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.events") == events);
}

TEST_CASE("payments: 1000 requests each sent 5 times at once make one session and one charge each",
          "[payments][retries]") {
  PaymentsFixture f;
  REQUIRE(f.Connect(f.clinic).ok());
  constexpr int kRequests = 1000, kCopies = 5, kGroups = 5;
  // Group g's five threads walk the same clientRequestIds together: every request is in
  // flight five times at once.
  std::vector<std::vector<std::string>> answers(kRequests, std::vector<std::string>(kCopies));
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int g = 0; g < kGroups; ++g) {
    for (int c = 0; c < kCopies; ++c) {
      threads.emplace_back([&, g, c] {
        for (int i = g; i < kRequests; i += kGroups) {
          pv1::PaymentRequest out;
          grpc::Status st = f.Create(f.Deposit("many-" + std::to_string(i), 100 + i, f.client.id()), &out);
          if (!st.ok()) {
            ++errors;
            continue;
          }
          answers[i][c] = out.id() + " " + out.pay_url();
        }
      });
    }
  }
  for (auto& t : threads) t.join();
  CHECK(errors == 0);
  std::set<std::string> requests;
  int differing = 0;
  for (const auto& a : answers) {
    differing += std::set<std::string>(a.begin(), a.end()).size() != 1;
    requests.insert(a[0]);
  }
  CHECK(differing == 0);
  CHECK(requests.size() == kRequests);
  CHECK(f.SimState()["sessions"].size() == kRequests);
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.requests") == kRequests);

  // Each paid once: one charge each in the ledger, even with every webhook twice.
  for (const std::string& a : requests) {
    pv1::PaymentRequest r;
    r.set_pay_url(a.substr(a.find(' ') + 1));
    REQUIRE(f.Pay(r) == 200);
    REQUIRE(f.Pay(r) == 409);  // a second payment of one session is refused
  }
  std::vector<testing::RecordedRequest> hooks = f.NewWebhooks(3 * kRequests);
  REQUIRE(hooks.size() == 3 * kRequests);
  const std::vector<testing::RecordedRequest> once = hooks;
  hooks.insert(hooks.end(), once.begin(), once.end());
  std::vector<std::thread> deliverers;
  std::atomic<size_t> next{0};
  for (int t = 0; t < 8; ++t) {
    deliverers.emplace_back([&] {
      for (size_t i = next++; i < hooks.size(); i = next++) {
        if (!f.Deliver(hooks[i]).ok()) ++errors;
      }
    });
  }
  for (auto& t : deliverers) t.join();
  CHECK(errors == 0);
  CHECK(f.fx.Count("SELECT count(*) AS n FROM payments.ledger WHERE entry = 'charge'") == kRequests);
  CHECK(f.fx.Count("SELECT count(DISTINCT request_id) AS n FROM payments.ledger") == kRequests);
  CHECK(f.LedgerNet() == f.SimNet());
}
