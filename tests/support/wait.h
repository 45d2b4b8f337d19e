// Test support: wait for a condition instead of sleeping a fixed time. Bounded: gives
// up after `timeout` and says so, so a test fails instead of hanging.
#pragma once

#include <functional>
#include <thread>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vetline::testing {

// Checks `done` every `poll` until it holds (true) or `timeout` passed (false).
inline bool WaitUntil(const std::function<bool()>& done, absl::Duration timeout = absl::Seconds(10),
                      absl::Duration poll = absl::Milliseconds(20)) {
  absl::Time deadline = absl::Now() + timeout;
  while (!done()) {
    if (absl::Now() >= deadline) return false;
    absl::SleepFor(poll);
  }
  return true;
}

}  // namespace vetline::testing
