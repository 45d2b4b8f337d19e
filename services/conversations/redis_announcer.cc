#include "services/conversations/redis_announcer.h"

#include "libs/core/log.h"

namespace vetline::conversations {
namespace {

constexpr size_t kBatch = 256;  // PUBLISHes per step, so Stop() is never far off

}  // namespace

RedisAnnouncer::RedisAnnouncer(std::shared_ptr<redis::Pool> redis, size_t max_queued)
    : redis_(std::move(redis)), max_queued_(max_queued) {
  worker_ = std::make_unique<PeriodicWorker>("conversations-announcer", absl::Seconds(1),
                                             [this] { return Step(); });
}

RedisAnnouncer::~RedisAnnouncer() { worker_->Stop(); }

void RedisAnnouncer::Announce(const std::vector<LoggedEvent>& events) {
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const LoggedEvent& e : events) {
      if (queue_.size() >= max_queued_) {
        ++dropped_;  // the hubs read it from the log instead
        continue;
      }
      queue_.push_back(EncodeAnnouncement(e));
    }
  }
  worker_->Wake();
}

PeriodicWorker::Next RedisAnnouncer::Step() {
  std::deque<std::string> batch;
  size_t dropped;
  {
    std::lock_guard<std::mutex> l(mu_);
    while (!queue_.empty() && batch.size() < kBatch) {
      batch.push_back(std::move(queue_.front()));
      queue_.pop_front();
    }
    dropped = std::exchange(dropped_, 0);
  }
  if (dropped) log::Warn("conversation announcements dropped (queue full)", {{"count", dropped}});
  for (size_t i = 0; i < batch.size(); ++i) {
    absl::StatusOr<redis::Reply> r = redis_->Command({"PUBLISH", kEventsChannel, batch[i]});
    if (!r.ok()) {
      // Redis is away: the rest of the batch would wait out the same timeout.
      log::Warn("conversation announcements not published", {{"count", batch.size() - i},
                                                             {"error", r.status().ToString()}});
      break;
    }
  }
  std::lock_guard<std::mutex> l(mu_);
  return queue_.empty() ? PeriodicWorker::Next::kPause : PeriodicWorker::Next::kAgain;
}

}  // namespace vetline::conversations
