#include "services/conversations/delivery_rules.h"

#include <algorithm>

#include "absl/strings/str_cat.h"

namespace vetline::conversations {

absl::Duration RetryDelay(const RetryPolicy& policy, int attempts, double jitter) {
  absl::Duration d = policy.first_delay;
  for (int i = 1; i < attempts && d < policy.max_delay; ++i) d *= 2;
  d = std::min(d, policy.max_delay);
  return d * std::clamp(jitter, 0.5, 1.5);
}

bool GivesUp(const RetryPolicy& policy, int attempts) { return attempts >= policy.max_attempts; }

std::string GaveUpReason(int attempts, const std::string& last_reason) {
  return absl::StrCat("gave up after ", attempts, attempts == 1 ? " attempt" : " attempts",
                      last_reason.empty() ? "" : ": ", last_reason);
}

}  // namespace vetline::conversations
