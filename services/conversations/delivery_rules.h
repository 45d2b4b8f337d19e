// When a delivery that did not go out is tried again, and when it is given up on: pure,
// so the schedule is tested without a provider.
#pragma once

#include <string>

#include "absl/time/time.h"

namespace vetline::conversations {

struct RetryPolicy {
  int max_attempts = 8;                         // then the delivery fails for good
  absl::Duration first_delay = absl::Seconds(5);
  absl::Duration max_delay = absl::Minutes(30);
};

// The wait before attempt `attempts + 1`, after `attempts` tries that asked to retry:
// first_delay doubling each time up to max_delay, times `jitter` in [0.5, 1.5) so that a
// provider coming back is not hit by every waiting message in the same second.
absl::Duration RetryDelay(const RetryPolicy& policy, int attempts, double jitter);

// Whether a retryable failure after `attempts` tries is the last one.
bool GivesUp(const RetryPolicy& policy, int attempts);

// The reason staff read on a delivery that was given up on.
std::string GaveUpReason(int attempts, const std::string& last_reason);

}  // namespace vetline::conversations
