// One watcher's bounded queue of events, for fan-out to streams on the gRPC callback
// API (media's call events, conversation events). The hub pushes under its own lock and
// afterwards calls Ready(), which starts a write on the watcher's stream; the stream
// takes events one write at a time. A watcher whose queue is full is closed instead of
// growing: its stream ends with the reason and the client reconnects.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/status.h"

namespace vetline::rpc {

template <typename T>
class WatchQueue {
 public:
  using Event = std::shared_ptr<const T>;
  // `ready` runs on the publishing thread with no hub lock held; it must not block.
  explicit WatchQueue(std::function<void()> ready) : ready_(std::move(ready)) {}

  // The oldest queued event, or null when none is queued.
  Event Take() {
    std::lock_guard<std::mutex> l(mu_);
    if (queue_.empty()) return nullptr;
    Event e = std::move(queue_.front());
    queue_.pop_front();
    return e;
  }
  // OK while open; why the stream must end once closed (queued events are discarded).
  absl::Status closed() const {
    std::lock_guard<std::mutex> l(mu_);
    return closed_;
  }

  // False when the watcher is closed, or is closed now because `max_queued` events wait
  // already (`overflow` says why, for the client).
  bool Push(const Event& e, size_t max_queued, const std::string& overflow) {
    std::lock_guard<std::mutex> l(mu_);
    if (!closed_.ok()) return false;
    if (queue_.size() >= max_queued) {
      closed_ = absl::ResourceExhaustedError(overflow);
      queue_.clear();
      return false;
    }
    queue_.push_back(e);
    return true;
  }
  void Close(absl::Status why) {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_.ok()) closed_ = std::move(why);
    queue_.clear();
  }
  void Ready() const { ready_(); }

 private:
  const std::function<void()> ready_;
  mutable std::mutex mu_;
  std::deque<Event> queue_;
  absl::Status closed_;
};

}  // namespace vetline::rpc
