// Call events fanned out to the participants watching them (the SSE streams). In
// process: every participant of a call talks to the replica that holds the call's media,
// so that replica sees every change of the call.
//
// No thread waits on a watcher: publishing queues the event and calls the watcher's
// `ready` hook, which starts a write on the watcher's stream. Each watcher's queue is
// bounded; a watcher that falls that far behind is dropped (its stream ends with
// ResourceExhausted and the client reconnects for a fresh snapshot).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/status/status.h"
#include "libs/rpc/watch_queue.h"
#include "vetline/media/v1/media.pb.h"

namespace vetline::media {

class EventHub {
 public:
  static constexpr size_t kDefaultMaxQueued = 256;
  explicit EventHub(size_t max_queued = kDefaultMaxQueued);

  using Watcher = rpc::WatchQueue<v1::CallEvent>;

  // Starts watching `call_id`. `ready` runs (never under a hub lock) whenever events
  // were queued or the watcher was closed; it must not block.
  std::shared_ptr<Watcher> Watch(const std::string& call_id, std::function<void()> ready);
  void Unwatch(const std::string& call_id, const std::shared_ptr<Watcher>& w);
  void Publish(const std::string& call_id, const v1::CallEvent& e);
  // Watchers open on this replica (a gauge, and tests check streams are released).
  size_t size() const;

 private:
  const size_t max_queued_;
  const std::string overflow_;  // why a watcher that fell behind was dropped
  mutable std::mutex mu_;
  std::map<std::string, std::set<std::shared_ptr<Watcher>>> watchers_;
  size_t count_ = 0;  // guarded by mu_
};

}  // namespace vetline::media
