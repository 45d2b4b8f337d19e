// The payments rules on their own: what a request may ask, deposits on an invoice,
// refund limits, statuses from money, and what Stripe's events say.
#include "services/payments/payments_rules.h"

#include <catch2/catch.hpp>

#include "libs/core/status.h"

namespace vetline::payments {
namespace {

RequestInput Deposit(int64_t amount) {
  return {.client_request_id = "r1", .kind = 1, .currency = "usd", .amount = amount, .description = "Surgery deposit"};
}

RequestInput Invoice(std::vector<Line> lines) {
  return {.client_request_id = "r2", .kind = 2, .currency = "usd", .lines = std::move(lines)};
}

std::string FieldOfError(const absl::StatusOr<CheckedRequest>& r) { return std::string(FieldOf(r.status())); }

TEST_CASE("a deposit is one line of its amount") {
  auto r = CheckRequest(Deposit(5000));
  REQUIRE(r.ok());
  CHECK(r->kind == Kind::kDeposit);
  CHECK(r->subtotal == 5000);
  REQUIRE(r->lines.size() == 1);
  CHECK(r->lines[0].description == "Surgery deposit");
  RequestInput plain = Deposit(5000);
  plain.description = "";
  CHECK(CheckRequest(plain)->lines[0].description == "Deposit");
}

TEST_CASE("zero negative and absurd amounts are refused naming amount") {
  for (int64_t a : {int64_t{0}, int64_t{-1}, kMaxMinorUnits + 1, int64_t{9'000'000'000'000'000'000}}) {
    auto r = CheckRequest(Deposit(a));
    CHECK(r.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOfError(r) == "amount");
  }
}

TEST_CASE("an unknown currency a missing kind and a missing clientRequestId are refused") {
  RequestInput in = Deposit(100);
  in.currency = "xyz";
  CHECK(FieldOfError(CheckRequest(in)) == "currency");
  in = Deposit(100);
  in.kind = 0;
  CHECK(FieldOfError(CheckRequest(in)) == "kind");
  in = Deposit(100);
  in.kind = 9;
  CHECK(FieldOfError(CheckRequest(in)) == "kind");
  in = Deposit(100);
  in.client_request_id = "";
  CHECK(FieldOfError(CheckRequest(in)) == "clientRequestId");
}

TEST_CASE("an invoice adds up its lines and refuses an empty or bad one") {
  auto r = CheckRequest(Invoice({{"Dental cleaning", 12000, 1}, {"Nail trim", 1500, 2}, {"Courtesy", 0, 0}}));
  REQUIRE(r.ok());
  CHECK(r->subtotal == 15000);
  CHECK(r->lines[2].quantity == 1);
  CHECK(FieldOfError(CheckRequest(Invoice({}))) == "lineItems");
  CHECK(FieldOfError(CheckRequest(Invoice({{"", 100, 1}}))) == "lineItems[0].description");
  CHECK(FieldOfError(CheckRequest(Invoice({{"a", 100, 1}, {"b", -1, 1}}))) == "lineItems[1].unitAmount");
  CHECK(FieldOfError(CheckRequest(Invoice({{"a", 100, 1001}}))) == "lineItems[0].quantity");
  CHECK(FieldOfError(CheckRequest(Invoice({{"a", 0, 1}}))) == "lineItems");  // nothing to pay
  CHECK(FieldOfError(CheckRequest(Invoice({{"a", kMaxMinorUnits, 2}}))) == "lineItems");
  RequestInput both = Invoice({{"a", 100, 1}});
  both.amount = 100;
  CHECK(FieldOfError(CheckRequest(both)) == "amount");
  RequestInput lines_on_deposit = Deposit(100);
  lines_on_deposit.lines = {{"a", 100, 1}};
  CHECK(FieldOfError(CheckRequest(lines_on_deposit)) == "lineItems");
}

TEST_CASE("the same ask has the same fingerprint and another ask another") {
  auto a = *CheckRequest(Deposit(5000));
  auto b = *CheckRequest(Deposit(5001));
  CHECK(Fingerprint(a, "c1", "") == Fingerprint(a, "c1", ""));
  CHECK(Fingerprint(a, "c1", "") != Fingerprint(b, "c1", ""));
  CHECK(Fingerprint(a, "c1", "") != Fingerprint(a, "c2", ""));
  CHECK(Fingerprint(a, "c1", "") != Fingerprint(a, "c1", "appt"));
}

TEST_CASE("deposits apply oldest first and never take an invoice below zero") {
  auto applied = ApplyDeposits(12000, {{"d1", 5000}, {"d2", 5000}, {"d3", 5000}});
  REQUIRE(applied.size() == 3);
  CHECK(applied[0].amount == 5000);
  CHECK(applied[1].amount == 5000);
  CHECK(applied[2].amount == 2000);  // only what is left
  CHECK(ApplyDeposits(3000, {{"d1", 5000}, {"d2", 5000}}).size() == 1);
  CHECK(ApplyDeposits(3000, {{"d1", 5000}})[0].amount == 3000);
  CHECK(ApplyDeposits(3000, {}).empty());
  CHECK(ApplyDeposits(3000, {{"d0", 0}, {"d1", 100}})[0].deposit_id == "d1");
}

TEST_CASE("a refund is at most what is left of the payment") {
  const Currency usd{"usd", 2};
  CHECK(*RefundAmount(0, 5000, 0, usd) == 5000);
  CHECK(*RefundAmount(0, 5000, 2000, usd) == 3000);
  CHECK(*RefundAmount(1000, 5000, 2000, usd) == 1000);
  auto over = RefundAmount(3001, 5000, 2000, usd);
  CHECK(over.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(FieldOf(over.status()) == "amount");
  CHECK(over.status().message().find("30.00 USD") != std::string::npos);
  CHECK(RefundAmount(0, 5000, 5000, usd).status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(RefundAmount(0, 0, 0, usd).status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK(RefundAmount(-1, 5000, 0, usd).status().code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("three-decimal amounts refunds and invoice lines go in steps of ten") {
  const Currency kwd{"kwd", 3};
  CHECK(*RefundAmount(1250, 5000, 0, kwd) == 1250);
  CHECK(FieldOf(RefundAmount(1255, 5000, 0, kwd).status()) == "amount");
  RequestInput deposit = Deposit(5124);
  deposit.currency = "kwd";
  CHECK(FieldOfError(CheckRequest(deposit)) == "amount");
  deposit.amount = 5120;
  CHECK(CheckRequest(deposit).ok());
  RequestInput invoice = Invoice({{"Exam", 12000, 1}, {"Nail trim", 1505, 2}});
  invoice.currency = "KWD";
  CHECK(FieldOfError(CheckRequest(invoice)) == "lineItems[1].unitAmount");
  RequestInput yen = Deposit(5001);
  yen.currency = "jpy";
  CHECK(CheckRequest(yen)->subtotal == 5001);
}

TEST_CASE("the status follows the money whatever came before") {
  CHECK(StatusFor(Status::kRequested, 0, 0) == Status::kRequested);
  CHECK(StatusFor(Status::kExpired, 0, 0) == Status::kExpired);
  CHECK(StatusFor(Status::kCancelled, 5000, 0) == Status::kPaid);  // a payment that beat the cancel
  CHECK(StatusFor(Status::kRequested, 5000, 1000) == Status::kPartlyRefunded);
  CHECK(StatusFor(Status::kRequested, 5000, 5000) == Status::kRefunded);
}

nlohmann::json Event(const std::string& type, nlohmann::json object) {
  return {{"id", "evt_1"}, {"object", "event"}, {"type", type}, {"created", 1700000000},
          {"data", {{"object", std::move(object)}}}};
}

TEST_CASE("stripe events say which request and how much") {
  auto completed = ParseEvent(Event("checkout.session.completed",
                                    {{"id", "cs_1"}, {"payment_intent", "pi_1"}, {"payment_status", "paid"},
                                     {"amount_total", 5000}, {"currency", "usd"},
                                     {"metadata", {{"payment_request_id", "req-1"}}}}));
  REQUIRE(completed.ok());
  CHECK(completed->what == StripeEvent::What::kCharge);
  CHECK(completed->request_id == "req-1");
  CHECK(completed->payment_intent_id == "pi_1");
  CHECK(completed->amount == 5000);
  CHECK(completed->created == 1700000000);

  auto unpaid = ParseEvent(Event("checkout.session.completed", {{"id", "cs_1"}, {"payment_status", "unpaid"},
                                                                {"amount_total", 5000}, {"currency", "usd"}}));
  CHECK(unpaid->what == StripeEvent::What::kOther);

  auto refunded = ParseEvent(Event("charge.refunded", {{"id", "ch_1"}, {"payment_intent", "pi_1"}, {"paid", true},
                                                       {"status", "succeeded"}, {"amount", 5000},
                                                       {"amount_captured", 5000}, {"amount_refunded", 2000},
                                                       {"currency", "usd"}}));
  CHECK(refunded->what == StripeEvent::What::kChargeRefunded);
  CHECK(refunded->amount_refunded == 2000);

  auto refund = ParseEvent(Event("refund.created", {{"id", "re_1"}, {"payment_intent", "pi_1"}, {"amount", 2000},
                                                    {"status", "succeeded"}, {"currency", "usd"}}));
  CHECK(refund->what == StripeEvent::What::kRefund);
  CHECK(refund->refund_id == "re_1");

  auto expired = ParseEvent(Event("checkout.session.expired", {{"id", "cs_1"}, {"status", "expired"}}));
  CHECK(expired->what == StripeEvent::What::kSessionExpired);

  auto odd_currency = ParseEvent(Event("payment_intent.succeeded", {{"id", "pi_1"}, {"amount_received", 5},
                                                                    {"currency", "zzz"}}));
  CHECK(odd_currency->what == StripeEvent::What::kOther);

  CHECK(!ParseEvent(nlohmann::json::array()).ok());
  CHECK(!ParseEvent({{"id", "evt_1"}, {"type", "x"}}).ok());
}

TEST_CASE("the client's messages carry the amount the link and the deposit") {
  const std::string t = RequestedText(Kind::kInvoice, "", "70.00 USD", "50.00 USD", "https://pay.example/cs_1");
  CHECK(t.find("70.00 USD") != std::string::npos);
  CHECK(t.find("50.00 USD deposit") != std::string::npos);
  CHECK(t.find("https://pay.example/cs_1") != std::string::npos);
  CHECK(StatusChangeText(Kind::kDeposit, Status::kPaid, "50.00 USD", "").find("paid") != std::string::npos);
  CHECK(StatusChangeText(Kind::kDeposit, Status::kPartlyRefunded, "50.00 USD", "20.00 USD").find("20.00 USD") !=
        std::string::npos);
}

TEST_CASE("notices are unique per change") {
  PaymentRecord r{.id = "p1", .clinic_id = "c", .client_id = "cl", .currency = {"usd", 2}, .amount = 5000};
  r.status = Status::kPaid;
  r.paid_amount = 5000;
  const auto paid = nlohmann::json::parse(StatusChangedPayload(r));
  r.status = Status::kPartlyRefunded;
  r.refunded_amount = 1000;
  const auto partly = nlohmann::json::parse(StatusChangedPayload(r));
  r.refunded_amount = 2000;
  const auto partly2 = nlohmann::json::parse(StatusChangedPayload(r));
  CHECK(paid["noticeId"] != partly["noticeId"]);
  CHECK(partly["noticeId"] != partly2["noticeId"]);
  CHECK(paid["paymentRequestId"] == "p1");
  CHECK(nlohmann::json::parse(RequestedPayload(r))["noticeId"] == "payment:p1:requested");
}

}  // namespace
}  // namespace vetline::payments
