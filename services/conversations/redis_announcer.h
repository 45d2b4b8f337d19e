// Announces committed conversation events to every replica over Redis pub/sub: one
// PUBLISH per event on kEventsChannel, sent from a worker thread of its own through a
// bounded queue, so a slow or absent Redis never holds up the request that committed.
// An announcement lost here (queue full, Redis down) only delays it: each replica's hub
// reads what it missed from the log.
#pragma once

#include <deque>
#include <memory>
#include <mutex>
#include <string>

#include "libs/core/periodic_worker.h"
#include "libs/redis/redis.h"
#include "services/conversations/event_log.h"

namespace vetline::conversations {

inline constexpr char kEventsChannel[] = "vetline.conversations.events";

class RedisAnnouncer final : public EventAnnouncer {
 public:
  static constexpr size_t kDefaultMaxQueued = 10000;
  explicit RedisAnnouncer(std::shared_ptr<redis::Pool> redis, size_t max_queued = kDefaultMaxQueued);
  ~RedisAnnouncer() override;  // stops the worker (what is still queued is dropped)

  // Queues and returns at once.
  void Announce(const std::vector<LoggedEvent>& events) override;

 private:
  PeriodicWorker::Next Step();

  const std::shared_ptr<redis::Pool> redis_;
  const size_t max_queued_;
  std::mutex mu_;
  std::deque<std::string> queue_;  // encoded announcements, oldest first
  size_t dropped_ = 0;             // since the last warning
  std::unique_ptr<PeriodicWorker> worker_;  // last: stopped before the rest goes
};

}  // namespace vetline::conversations
