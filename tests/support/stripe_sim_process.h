// Test support: tools/stripe_sim as a child process on a free loopback port — one Stripe
// account with the secret key and webhook signing secret below. Tests talk Stripe's API to
// base(), pay sessions at /pay/{id} and steer it through /_sim/ (tools/stripe_sim/main.cc).
#pragma once

#include <string>
#include <vector>

#include "tests/support/loopback_process.h"

namespace vetline::testing {

inline constexpr char kStripeSimSecretKey[] = "sk_test_vetline_payments_key";
inline constexpr char kStripeSimWebhookSecret[] = "whsec_vetline_payments_secret";

class StripeSimProcess : public LoopbackProcess {
 public:
  // `binary` is the built stripe-sim; `extra` more flags (--webhook-url=..., --retry-base=...).
  explicit StripeSimProcess(const std::string& binary, std::vector<std::string> extra = {})
      : LoopbackProcess(Args(binary, std::move(extra))) {}
  std::string base() const { return Url(); }

 private:
  static std::vector<std::string> Args(const std::string& binary, std::vector<std::string> extra) {
    std::vector<std::string> a = {binary, "--port=0", std::string("--secret-key=") + kStripeSimSecretKey,
                                  std::string("--webhook-secret=") + kStripeSimWebhookSecret};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  }
};

}  // namespace vetline::testing
