#include "libs/core/periodic_worker.h"

#include <memory>

#include "libs/core/ids.h"
#include "libs/core/log.h"

namespace vetline {

PeriodicWorker::PeriodicWorker(std::string name, absl::Duration pause, Step step)
    : name_(std::move(name)), pause_(pause), step_(std::move(step)) {
  thread_ = std::thread([this] { Run(); });
}

std::unique_ptr<PeriodicWorker> PeriodicWorker::Every(std::string name, absl::Duration period,
                                                      std::function<void()> fn) {
  return std::make_unique<PeriodicWorker>(std::move(name), period, [fn = std::move(fn)] {
    fn();
    return Next::kPause;
  });
}

PeriodicWorker::~PeriodicWorker() { Stop(); }

void PeriodicWorker::Stop() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void PeriodicWorker::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    woken_ = true;
  }
  cv_.notify_all();
}

void PeriodicWorker::Run() {
  std::unique_lock<std::mutex> l(mu_);
  while (!stop_) {
    woken_ = false;
    l.unlock();
    Next next = Next::kPause;
    // A step is one piece of work: its log lines and the calls it makes share a request
    // id and a trace of their own.
    log::RequestScope scope({.request_id = NewRequestId(), .trace = trace::Start()});
    try {
      next = step_();
    } catch (const std::exception& e) {
      // A step must not take the process down with it; it is tried again after a pause.
      log::Error("worker step failed", {{"worker", name_}, {"error", e.what()}});
    }
    l.lock();
    if (next == Next::kPause) {
      cv_.wait_for(l, absl::ToChronoNanoseconds(pause_), [this] { return stop_ || woken_; });
    }
  }
}

}  // namespace vetline
