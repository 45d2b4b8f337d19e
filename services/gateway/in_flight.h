// Counts work whose callbacks still reach an owner (a request being answered, a backend
// call, a background Redis command), so the owner's stop can wait for it, with a bound,
// before its state is destroyed.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>

#include "absl/time/time.h"

namespace vetline::gateway {

class InFlight {
 public:
  // Held while the work runs; copies share it, the last one to go ends the work.
  using Token = std::shared_ptr<void>;
  Token Enter() {
    {
      std::lock_guard<std::mutex> l(mu_);
      ++count_;
    }
    return Token(this, [](void* self) { static_cast<InFlight*>(self)->Leave(); });
  }
  // True when nothing is in flight (any more) within `timeout`.
  bool WaitIdle(absl::Duration timeout) {
    std::unique_lock<std::mutex> l(mu_);
    return idle_.wait_for(l, absl::ToChronoNanoseconds(timeout), [this] { return count_ == 0; });
  }
  int count() {
    std::lock_guard<std::mutex> l(mu_);
    return count_;
  }

 private:
  void Leave() {
    std::lock_guard<std::mutex> l(mu_);
    if (--count_ == 0) idle_.notify_all();
  }
  std::mutex mu_;
  std::condition_variable idle_;
  int count_ = 0;
};

}  // namespace vetline::gateway
