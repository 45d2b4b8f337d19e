// Events a feed consumer's handler appended to the event log, announced only once the
// consumer's transaction committed (rpc::ConsumerSpec::after_commit): consumers run
// outside any request, so nobody else would announce them.
#pragma once

#include <string>
#include <utility>

#include "nlohmann/json.hpp"

#include "services/conversations/conversations_repository.h"
#include "services/conversations/event_log.h"

namespace vetline::conversations {

class ConsumerEvents {
 public:
  explicit ConsumerEvents(EventAnnouncer& announcer) : announcer_(announcer) {}
  // The buffer for one run of the handler, emptied first: a retried transaction runs the
  // handler again. One consumer runs on one worker thread, so no lock is needed.
  Events* Begin() {
    events_.clear();
    return &events_;
  }
  void AfterCommit() {
    Events committed;
    committed.swap(events_);
    if (!committed.empty()) announcer_.Announce(committed);
  }

 private:
  EventAnnouncer& announcer_;
  Events events_;
};

// A string field of another service's feed record; "" when missing or not a string (the
// parser then decides whether the record is usable).
inline std::string FeedText(const nlohmann::json& e, const char* key) {
  auto it = e.find(key);
  return it != e.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace vetline::conversations
