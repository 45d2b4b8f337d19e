// Stripe-Signature: how Stripe signs every webhook, and how we check one before reading
// anything in it. The header is `t=<unix seconds>,v1=<hex HMAC-SHA256>[,v1=…]`, the MAC
// over "<t>.<raw body>" with the endpoint's signing secret (whsec_…). During a secret
// rotation Stripe sends one v1 per active secret; any one matching is enough.
// https://docs.stripe.com/webhooks#verify-manually
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace vetline::payments::stripe {

// Stripe's default tolerance: a signature older (or newer) than this is refused, so a
// captured webhook cannot be replayed later.
inline constexpr absl::Duration kSignatureTolerance = absl::Minutes(5);

// The header value Stripe would send for `payload` signed at `t` with each of `secrets`.
std::string SignatureHeader(std::string_view payload, absl::Time t, const std::vector<std::string>& secrets);

// OK when some v1 signature of `header` is the MAC of `payload` under one of `secrets`
// (constant-time) and its timestamp is within `tolerance` of `now`; otherwise
// InvalidArgument naming "Stripe-Signature" with what is wrong (unreadable, no match,
// too old).
absl::Status VerifySignature(std::string_view payload, std::string_view header,
                             const std::vector<std::string>& secrets, absl::Time now,
                             absl::Duration tolerance = kSignatureTolerance);

}  // namespace vetline::payments::stripe
