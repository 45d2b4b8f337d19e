// The Stripe adapter: Stripe's REST API as Stripe documents it — form-encoded bodies with
// nested keys (stripe_params.h), the clinic's secret key as a bearer token, a pinned
// Stripe-Version, an Idempotency-Key on every POST derived from our own request (so a
// retry after a timeout replays Stripe's first answer instead of charging twice), and
// Stripe's error object turned into our own errors. Stripe's wording stays in the logs;
// callers get ours. https://docs.stripe.com/api
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/http/form.h"
#include "nlohmann/json.hpp"

namespace vetline::payments::stripe {

// The API version every request pins, so Stripe's objects keep the shape we read.
inline constexpr char kStripeVersion[] = "2024-06-20";

struct Account {
  std::string api_base = "https://api.stripe.com";  // the stand-in's address in tests
  std::string secret_key;                            // sk_live_… / sk_test_…
};

// "vl_" + hex BLAKE2b-128 of the operation and our own id: the same request of ours
// always carries the same key, and different ones never share one.
std::string IdempotencyKey(std::string_view operation, std::string_view our_id);

// Stripe's answer as our status: OK for 2xx; a refused key → FailedPrecondition ("the
// clinic's Stripe secret key does not work"); a card or request refusal →
// FailedPrecondition / InvalidArgument in our words; a missing object → NotFound; an
// idempotency conflict → Aborted; rate limits, 5xx and no answer → Unavailable (retry
// with the same key).
absl::Status FromStripe(int http_status, std::string_view body, std::string_view transport_error = "");

class Client {
 public:
  explicit Client(absl::Duration timeout = absl::Seconds(30)) : timeout_(timeout) {}

  absl::StatusOr<nlohmann::json> Post(const Account& account, std::string_view path,
                                      const nlohmann::ordered_json& params, std::string_view idempotency_key) const;
  absl::StatusOr<nlohmann::json> Get(const Account& account, std::string_view path,
                                     const http::FormParams& query = {}) const;

 private:
  absl::Duration timeout_;
};

}  // namespace vetline::payments::stripe
