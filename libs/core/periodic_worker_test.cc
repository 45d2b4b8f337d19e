// The one background loop: steps repeat while there is work, pause when there is none,
// wake early on demand, survive a failing step, and stop cleanly.
#include "libs/core/periodic_worker.h"

#include <catch2/catch.hpp>

#include <atomic>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "libs/testing/wait.h"

using vetline::PeriodicWorker;
namespace testing = vetline::testing;

TEST_CASE("worker: runs again at once while a step says more work waits", "[worker]") {
  std::atomic<int> queue{50}, steps{0};
  PeriodicWorker w("drain", absl::Hours(1), [&] {
    ++steps;
    return --queue > 0 ? PeriodicWorker::Next::kAgain : PeriodicWorker::Next::kPause;
  });
  // An hour-long pause would stop this after one step if kAgain were ignored.
  REQUIRE(testing::WaitUntil([&] { return queue.load() == 0; }));
  CHECK(steps.load() == 50);
}

TEST_CASE("worker: pauses between idle steps and Wake cuts the pause short", "[worker]") {
  std::atomic<int> steps{0};
  PeriodicWorker w("idle", absl::Hours(1), [&] {
    ++steps;
    return PeriodicWorker::Next::kPause;
  });
  REQUIRE(testing::WaitUntil([&] { return steps.load() == 1; }));
  absl::SleepFor(absl::Milliseconds(50));
  CHECK(steps.load() == 1);  // still pausing
  w.Wake();
  REQUIRE(testing::WaitUntil([&] { return steps.load() == 2; }));
}

TEST_CASE("worker: Every repeats on its period", "[worker]") {
  std::atomic<int> runs{0};
  auto w = PeriodicWorker::Every("tick", absl::Milliseconds(5), [&] { ++runs; });
  REQUIRE(testing::WaitUntil([&] { return runs.load() >= 3; }));
}

TEST_CASE("worker: a throwing step is logged and tried again", "[worker]") {
  std::atomic<int> calls{0};
  PeriodicWorker w("flaky", absl::Milliseconds(1), [&]() -> PeriodicWorker::Next {
    if (++calls == 1) throw std::runtime_error("disk full");
    return PeriodicWorker::Next::kPause;
  });
  REQUIRE(testing::WaitUntil([&] { return calls.load() >= 2; }));
}

TEST_CASE("worker: Stop lets the running step finish, then no step runs again", "[worker]") {
  absl::Notification in_step, release;
  std::atomic<int> steps{0};
  std::atomic<bool> finished{false};
  auto w = std::make_unique<PeriodicWorker>("long", absl::Milliseconds(1), [&] {
    if (++steps == 1) {
      in_step.Notify();
      release.WaitForNotification();
      finished = true;
    }
    return PeriodicWorker::Next::kAgain;
  });
  in_step.WaitForNotification();
  std::thread stopper([&] { w->Stop(); });
  absl::SleepFor(absl::Milliseconds(20));
  release.Notify();
  stopper.join();  // Stop returned: the step had finished and the thread is joined
  CHECK(finished.load());
  CHECK(steps.load() == 1);
  w->Stop();  // idempotent
  w.reset();
}
