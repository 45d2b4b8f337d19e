// Transactional outbox: a service writes an event in the same transaction as the change
// it describes, and a relay publishes it to Redis channel "vetline.events.<topic>"
// afterwards — so an event is never lost and never announces a change that rolled back.
// Each service keeps its table in its own schema (<schema>.outbox), created by the
// migration this library ships (Outbox::Migration); the service kit applies it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/periodic_worker.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis.h"
#include "prometheus/registry.h"

namespace vetline::outbox {

// Redis channels are this prefix + topic ("vetline.events.call.ended").
inline constexpr char kChannelPrefix[] = "vetline.events.";

class Outbox {
 public:
  explicit Outbox(std::string schema);

  const std::string& schema() const { return schema_; }
  // The table and index in this outbox's schema, applied with the service's migrations.
  pg::Migration Migration() const;

  // Adds an event inside the caller's transaction. `payload` is JSON text.
  absl::Status Add(pg::Session& s, const std::string& topic, const std::string& payload) const;
  // Publishes up to `limit` events in order, marking those that went out; stops at the
  // first failure so the rest keep their order.
  absl::StatusOr<int> Drain(pg::Pool& pool, int limit,
                            const std::function<absl::Status(const std::string& topic,
                                                             const std::string& payload)>& publish) const;

  // What waits to be published: how many events, and how long the oldest has waited.
  struct Backlog {
    int64_t depth = 0;
    double oldest_age_seconds = 0;
  };
  absl::StatusOr<Backlog> Pending(pg::Pool& pool) const;

 private:
  std::string schema_;
  std::string insert_name_, insert_sql_, batch_name_, batch_sql_, done_name_, done_sql_,
      pending_name_, pending_sql_;
};

// Drains an outbox into Redis on a PeriodicWorker until destroyed; Redis being down only
// delays events. Exports vetline_outbox_depth and vetline_outbox_oldest_age_seconds
// ({schema=...}) when given a registry.
class Relay {
 public:
  Relay(std::shared_ptr<pg::Pool> pool, const Outbox& outbox, std::shared_ptr<redis::Pool> redis,
        prometheus::Registry* registry = nullptr);
  ~Relay();

 private:
  PeriodicWorker::Next Step();

  std::shared_ptr<pg::Pool> pool_;
  const Outbox& outbox_;
  std::shared_ptr<redis::Pool> redis_;
  prometheus::Gauge* depth_ = nullptr;
  prometheus::Gauge* oldest_age_ = nullptr;
  absl::Time next_gauges_ = absl::InfinitePast();  // only the worker's thread touches it
  std::unique_ptr<PeriodicWorker> worker_;  // last: stopped before the rest goes
};

}  // namespace vetline::outbox
