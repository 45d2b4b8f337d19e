// The one background loop of the project (outbox relays, compose workers, keepers,
// metric refreshers): runs a step on its own thread until stopped, pausing between
// steps that found nothing to do. Stop() (or the destructor) wakes it and joins.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/time/time.h"

namespace vetline {

class PeriodicWorker {
 public:
  // What a step says: more work is waiting (run again at once) or idle (pause first).
  enum class Next { kAgain, kPause };
  using Step = std::function<Next()>;

  // Starts the thread at once; the first step runs immediately.
  PeriodicWorker(std::string name, absl::Duration pause, Step step);
  // A step that always pauses after running (a refresher, a keeper).
  static std::unique_ptr<PeriodicWorker> Every(std::string name, absl::Duration period,
                                               std::function<void()> fn);
  ~PeriodicWorker();
  PeriodicWorker(const PeriodicWorker&) = delete;
  PeriodicWorker& operator=(const PeriodicWorker&) = delete;

  // Lets a running step finish, then joins. Idempotent.
  void Stop();
  // Cuts the current pause short (new work was just queued).
  void Wake();
  const std::string& name() const { return name_; }

 private:
  void Run();

  const std::string name_;
  const absl::Duration pause_;
  Step step_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool woken_ = false;
  std::thread thread_;
};

}  // namespace vetline
