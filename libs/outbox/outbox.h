// Transactional outbox: a service writes an event in the same transaction as the change
// it describes, and a relay publishes it to Redis channel "vetline.events.<topic>"
// afterwards — so an event is never lost and never announces a change that rolled back.
// Each service keeps its table in its own schema (<schema>.outbox; see Migration()).
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis.h"

namespace vetline::outbox {

// Redis channels are this prefix + topic ("vetline.events.call.ended").
inline constexpr char kChannelPrefix[] = "vetline.events.";

class Outbox {
 public:
  explicit Outbox(std::string schema);

  // Adds an event inside the caller's transaction. `payload` is JSON text.
  absl::Status Add(pg::Session& s, const std::string& topic, const std::string& payload) const;
  // Publishes up to `limit` events in order, marking those that went out; stops at the
  // first failure so the rest keep their order.
  absl::StatusOr<int> Drain(pg::Pool& pool, int limit,
                            const std::function<absl::Status(const std::string& topic,
                                                             const std::string& payload)>& publish) const;

 private:
  std::string insert_name_, insert_sql_, batch_name_, batch_sql_, done_name_, done_sql_;
};

// Drains an outbox into Redis on its own thread until destroyed; Redis being down only
// delays events.
class Relay {
 public:
  Relay(std::shared_ptr<pg::Pool> pool, const Outbox& outbox, std::shared_ptr<redis::Pool> redis);
  ~Relay();

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace vetline::outbox
