// Transactional outbox: a service writes an event in the same transaction as the change
// it describes, and a relay publishes it to Redis channel "vetline.events.<topic>"
// afterwards — so an event is never lost and never announces a change that rolled back.
// Each service keeps its table in its own schema (<schema>.outbox), created by the
// migration this library ships (Outbox::Migration); the service kit applies it.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/core/periodic_worker.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis.h"
#include "prometheus/registry.h"

namespace vetline::outbox {

// Redis channels are this prefix + topic ("vetline.events.call.ended").
inline constexpr char kChannelPrefix[] = "vetline.events.";

// An event as other services read it from the feed, in id order.
struct FeedRow {
  int64_t id = 0;
  std::string topic;
  std::string payload;  // JSON
  absl::Time create_time;
};

class Outbox {
 public:
  explicit Outbox(std::string schema);

  const std::string& schema() const { return schema_; }
  // The table and index in this outbox's schema, applied with the service's migrations.
  pg::Migration Migration() const;

  // Adds an event inside the caller's transaction. `payload` is JSON text. It takes the
  // schema's outbox lock until commit, so ids commit in order and a reader following the
  // feed by id can never miss a row that committed late; make it the transaction's last
  // statement.
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

  // The feed other services follow (OutboxFeedService): up to `limit` events with ids
  // above `after_id`, of `topics` (all when empty), in id order. Events are kept for good.
  absl::StatusOr<std::vector<FeedRow>> Read(pg::Pool& pool, int64_t after_id,
                                            const std::vector<std::string>& topics,
                                            int limit) const;

 private:
  std::string schema_;
  std::string lock_name_, lock_sql_, insert_name_, insert_sql_, batch_name_, batch_sql_, done_name_, done_sql_,
      pending_name_, pending_sql_, read_name_, read_sql_;
};

// A consumer's positions in the feeds it follows, in its own schema
// (<schema>.outbox_cursors). Handling an event and advancing past it happen in one
// transaction, which makes each event take effect exactly once.
class Cursors {
 public:
  explicit Cursors(std::string schema);
  pg::Migration Migration() const;
  // The last id handled of `source`'s feed, read without a lock (to know what to fetch).
  absl::StatusOr<int64_t> Get(pg::Pool& pool, const std::string& source) const;
  // The same, locked until the transaction ends, so replicas take turns.
  absl::StatusOr<int64_t> Lock(pg::Session& s, const std::string& source) const;
  absl::Status Advance(pg::Session& s, const std::string& source, int64_t to) const;

 private:
  std::string schema_;
  std::string ensure_name_, ensure_sql_, get_name_, get_sql_, lock_name_, lock_sql_,
      advance_name_, advance_sql_;
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
