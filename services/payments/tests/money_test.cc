#include "services/payments/money.h"

#include <catch2/catch.hpp>

#include "libs/core/status.h"

namespace vetline::payments {
namespace {

TEST_CASE("currencies carry Stripe's exponent: two decimals, zero-decimal and three-decimal ones") {
  CHECK(FindCurrency("USD")->exponent == 2);
  CHECK(FindCurrency("usd")->code == "usd");
  CHECK(FindCurrency("eur")->exponent == 2);
  CHECK(FindCurrency("JPY")->exponent == 0);
  CHECK(FindCurrency("krw")->exponent == 0);
  CHECK(FindCurrency("KWD")->exponent == 3);
  CHECK(FindCurrency("bhd")->exponent == 3);
}

TEST_CASE("an unknown or missing currency is refused naming the field") {
  for (const char* code : {"", "xyz", "us", "usdd", "US D"}) {
    auto c = FindCurrency(code, "lineItems[0].currency");
    CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOf(c.status()) == "lineItems[0].currency");
  }
}

TEST_CASE("amounts are positive and within what one payment may be") {
  CHECK(CheckAmount(1).ok());
  CHECK(CheckAmount(kMaxMinorUnits).ok());
  for (int64_t bad : {int64_t{0}, int64_t{-5000}, kMaxMinorUnits + 1, INT64_MAX}) {
    auto s = CheckAmount(bad, "amountMinor");
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOf(s) == "amountMinor");
  }
}

TEST_CASE("amounts are written in the currency's own units") {
  CHECK(FormatAmount(5000, *FindCurrency("usd")) == "50.00 USD");
  CHECK(FormatAmount(7, *FindCurrency("usd")) == "0.07 USD");
  CHECK(FormatAmount(-2550, *FindCurrency("eur")) == "-25.50 EUR");
  CHECK(FormatAmount(5000, *FindCurrency("jpy")) == "5000 JPY");
  CHECK(FormatAmount(1250, *FindCurrency("kwd")) == "1.250 KWD");
}

TEST_CASE("three-decimal amounts go in steps of ten as Stripe takes them and others in any step") {
  CHECK(CheckStep(5120, *FindCurrency("kwd")).ok());
  CHECK(CheckStep(7, *FindCurrency("usd")).ok());
  CHECK(CheckStep(7, *FindCurrency("jpy")).ok());
  for (const char* code : {"kwd", "bhd", "jod", "omr", "tnd"}) {
    auto s = CheckStep(5124, *FindCurrency(code), "lineItems[1].unitAmount");
    CHECK(s.code() == absl::StatusCode::kInvalidArgument);
    CHECK(FieldOf(s) == "lineItems[1].unitAmount");
  }
}

}  // namespace
}  // namespace vetline::payments
