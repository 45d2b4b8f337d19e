// Money (S9): integer minor units with an ISO 4217 currency, never floating point. The
// currency's exponent says how many minor units make a major one — 2 for USD (cents),
// 0 for JPY, 3 for KWD — as Stripe counts them, so an amount means the same thing here,
// in the ledger and at Stripe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vetline::payments {

// Stripe's own limit for one charge is 99,999,999 minor units in most currencies; a
// request above it is refused before Stripe is asked.
inline constexpr int64_t kMaxMinorUnits = 99'999'999;

struct Currency {
  std::string code;  // lower-case ISO 4217, as Stripe writes it ("usd")
  int exponent = 2;
};

// The currency named by `code` (any case), or InvalidArgument naming `field` for a code
// that is not an active ISO 4217 currency Stripe settles.
absl::StatusOr<Currency> FindCurrency(std::string_view code, std::string_view field = "currency");

// A positive amount no larger than kMaxMinorUnits, else InvalidArgument naming `field`.
absl::Status CheckAmount(int64_t minor_units, std::string_view field = "amount");

// Stripe charges and refunds three-decimal currencies (KWD, BHD, JOD, OMR, TND) only in
// steps of 10 minor units (the last digit 0, for its card partners): InvalidArgument
// naming `field` for 5.124 KWD, ok for any amount of the other currencies.
absl::Status CheckStep(int64_t minor_units, const Currency& currency, std::string_view field = "amount");

// "50.00 USD", "5000 JPY", "1.250 KWD": for messages and notes, not for parsing.
std::string FormatAmount(int64_t minor_units, const Currency& currency);

}  // namespace vetline::payments
