#include "libs/outbox/outbox.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "prometheus/gauge.h"

namespace vetline::outbox {
namespace {

constexpr int kBatch = 100;
constexpr absl::Duration kIdlePause = absl::Milliseconds(200);
constexpr absl::Duration kGaugePeriod = absl::Seconds(5);

// Written once for every service: `$schema` is replaced by the service's schema.
constexpr char kTableSql[] = R"sql(
CREATE TABLE IF NOT EXISTS $schema.outbox (
  id            bigserial PRIMARY KEY,
  topic         text NOT NULL,
  payload       jsonb NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  published_at  timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON $schema.outbox (id) WHERE published_at IS NULL;
)sql";

}  // namespace

Outbox::Outbox(std::string schema)
    : schema_(std::move(schema)),
      insert_name_(schema_ + "_outbox_insert"),
      insert_sql_(absl::StrCat("INSERT INTO ", schema_, ".outbox (topic, payload) VALUES ($1, $2::jsonb)")),
      batch_name_(schema_ + "_outbox_batch"),
      batch_sql_(absl::StrCat("SELECT id, topic, payload::text AS payload FROM ", schema_,
                              ".outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED")),
      done_name_(schema_ + "_outbox_done"),
      done_sql_(absl::StrCat("UPDATE ", schema_, ".outbox SET published_at = now() WHERE id = ANY($1::bigint[])")),
      pending_name_(schema_ + "_outbox_pending"),
      pending_sql_(absl::StrCat("SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                                "AS oldest FROM ", schema_, ".outbox WHERE published_at IS NULL")) {}

pg::Migration Outbox::Migration() const {
  // Sorts after the service's numbered migrations, which never depend on it.
  return {"outbox_0001.sql", absl::StrReplaceAll(kTableSql, {{"$schema", schema_}})};
}

absl::Status Outbox::Add(pg::Session& s, const std::string& topic, const std::string& payload) const {
  return s.Exec({insert_name_.c_str(), insert_sql_.c_str()}, {topic, payload}).status();
}

absl::StatusOr<int> Outbox::Drain(
    pg::Pool& pool, int limit,
    const std::function<absl::Status(const std::string&, const std::string&)>& publish) const {
  int sent = 0;
  VL_RETURN_IF_ERROR(pool.Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec({batch_name_.c_str(), batch_sql_.c_str()}, {limit}));
    std::vector<std::string> done;
    for (int i = 0; i < r.rows(); ++i) {
      if (!publish(r.Text(i, "topic"), r.Text(i, "payload")).ok()) break;
      done.push_back(r.Text(i, "id"));
    }
    sent = static_cast<int>(done.size());
    if (done.empty()) return absl::OkStatus();
    return s.Exec({done_name_.c_str(), done_sql_.c_str()}, {absl::StrCat("{", absl::StrJoin(done, ","), "}")})
        .status();
  }));
  return sent;
}

absl::StatusOr<Outbox::Backlog> Outbox::Pending(pg::Pool& pool) const {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool.Exec({pending_name_.c_str(), pending_sql_.c_str()}));
  return Backlog{.depth = r.Int(0, "depth"), .oldest_age_seconds = std::stod(r.Text(0, "oldest"))};
}

Relay::Relay(std::shared_ptr<pg::Pool> pool, const Outbox& outbox, std::shared_ptr<redis::Pool> redis,
             prometheus::Registry* registry)
    : pool_(std::move(pool)), outbox_(outbox), redis_(std::move(redis)) {
  if (registry) {
    const std::map<std::string, std::string> labels = {{"schema", outbox_.schema()}};
    depth_ = &prometheus::BuildGauge()
                  .Name("vetline_outbox_depth")
                  .Help("Events written but not yet published, per service schema")
                  .Register(*registry)
                  .Add(labels);
    oldest_age_ = &prometheus::BuildGauge()
                       .Name("vetline_outbox_oldest_age_seconds")
                       .Help("How long the oldest unpublished event has waited")
                       .Register(*registry)
                       .Add(labels);
  }
  worker_ = std::make_unique<PeriodicWorker>("outbox." + outbox_.schema(), kIdlePause,
                                             [this] { return Step(); });
}

Relay::~Relay() { worker_->Stop(); }

PeriodicWorker::Next Relay::Step() {
  auto sent = outbox_.Drain(*pool_, kBatch, [&](const std::string& topic, const std::string& payload) {
    return redis_->Command({"PUBLISH", kChannelPrefix + topic, payload}).status();
  });
  if (!sent.ok()) log::Warn("outbox drain failed", {{"error", sent.status().ToString()}});
  if (sent.ok() && *sent == kBatch) return PeriodicWorker::Next::kAgain;  // more waiting
  // The backlog gauges cost a query: refreshed every few seconds, not every idle step.
  if (depth_ && absl::Now() >= next_gauges_) {
    next_gauges_ = absl::Now() + kGaugePeriod;
    if (auto b = outbox_.Pending(*pool_); b.ok()) {
      depth_->Set(static_cast<double>(b->depth));
      oldest_age_->Set(b->oldest_age_seconds);
    }
  }
  return PeriodicWorker::Next::kPause;
}

}  // namespace vetline::outbox
