// Call events fanned out to the participants watching them (the SSE streams). In
// process: every participant of a call talks to the replica that holds the call's media,
// so that replica sees every change of the call.
#pragma once

#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>

#include "absl/time/time.h"
#include "vetline/media/v1/media.pb.h"

namespace vetline::media {

class EventHub {
 public:
  class Watcher {
   public:
    // The next event, or false when none came within `wait`.
    bool Next(v1::CallEvent* out, absl::Duration wait) {
      std::unique_lock<std::mutex> l(mu_);
      if (!cv_.wait_for(l, absl::ToChronoNanoseconds(wait), [&] { return !queue_.empty(); })) return false;
      *out = std::move(queue_.front());
      queue_.pop_front();
      return true;
    }

   private:
    friend class EventHub;
    void Push(const v1::CallEvent& e) {
      std::lock_guard<std::mutex> l(mu_);
      queue_.push_back(e);
      cv_.notify_all();
    }
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<v1::CallEvent> queue_;
  };

  std::shared_ptr<Watcher> Watch(const std::string& call_id) {
    auto w = std::make_shared<Watcher>();
    std::lock_guard<std::mutex> l(mu_);
    watchers_[call_id].insert(w);
    return w;
  }
  void Unwatch(const std::string& call_id, const std::shared_ptr<Watcher>& w) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = watchers_.find(call_id);
    if (it == watchers_.end()) return;
    it->second.erase(w);
    if (it->second.empty()) watchers_.erase(it);
  }
  void Publish(const std::string& call_id, const v1::CallEvent& e) {
    std::lock_guard<std::mutex> l(mu_);
    auto it = watchers_.find(call_id);
    if (it == watchers_.end()) return;
    for (const auto& w : it->second) w->Push(e);
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::set<std::shared_ptr<Watcher>>> watchers_;
};

}  // namespace vetline::media
