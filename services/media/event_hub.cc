#include "services/media/event_hub.h"

#include <vector>

#include "absl/strings/str_cat.h"

namespace vetline::media {

EventHub::EventHub(size_t max_queued)
    : max_queued_(max_queued),
      overflow_(absl::StrCat("this event stream fell ", max_queued,
                             " events behind and was closed: reconnect to get a fresh snapshot")) {}

std::shared_ptr<EventHub::Watcher> EventHub::Watch(const std::string& call_id, std::function<void()> ready) {
  auto w = std::make_shared<Watcher>(std::move(ready));
  std::lock_guard<std::mutex> l(mu_);
  if (watchers_[call_id].insert(w).second) ++count_;
  return w;
}

void EventHub::Unwatch(const std::string& call_id, const std::shared_ptr<Watcher>& w) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = watchers_.find(call_id);
  if (it == watchers_.end()) return;
  count_ -= it->second.erase(w);
  if (it->second.empty()) watchers_.erase(it);
}

void EventHub::Publish(const std::string& call_id, const v1::CallEvent& e) {
  auto event = std::make_shared<const v1::CallEvent>(e);
  std::vector<std::shared_ptr<Watcher>> notify;
  {
    // Queued under the hub's lock, so every watcher sees the same order of events.
    std::lock_guard<std::mutex> l(mu_);
    auto it = watchers_.find(call_id);
    if (it == watchers_.end()) return;
    for (auto w = it->second.begin(); w != it->second.end();) {
      notify.push_back(*w);
      if ((*w)->Push(event, max_queued_, overflow_)) {
        ++w;
      } else {
        w = it->second.erase(w);  // dropped: its stream ends and the client reconnects
        --count_;
      }
    }
    if (it->second.empty()) watchers_.erase(it);
  }
  for (const auto& w : notify) w->Ready();
}

size_t EventHub::size() const {
  std::lock_guard<std::mutex> l(mu_);
  return count_;
}

}  // namespace vetline::media
