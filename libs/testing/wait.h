// Waiting in tests: poll a condition until it holds or a limit passes, instead of
// sleeping a guessed time.
#pragma once

#include <functional>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vetline::testing {

// True once `pred` holds; false if `limit` passed first. Polls every `every`.
inline bool WaitUntil(const std::function<bool()>& pred, absl::Duration limit = absl::Seconds(15),
                      absl::Duration every = absl::Milliseconds(5)) {
  const absl::Time end = absl::Now() + limit;
  while (!pred()) {
    if (absl::Now() > end) return false;
    absl::SleepFor(every);
  }
  return true;
}

}  // namespace vetline::testing
