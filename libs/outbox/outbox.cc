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

constexpr char kCursorsSql[] = R"sql(
CREATE TABLE IF NOT EXISTS $schema.outbox_cursors (
  source      text PRIMARY KEY,
  last_id     bigint NOT NULL DEFAULT 0,
  update_time timestamptz NOT NULL DEFAULT now()
);
)sql";

std::string InSchema(const char* sql, const std::string& schema) {
  return absl::StrReplaceAll(sql, {{"$schema", schema}});
}

}  // namespace

Outbox::Outbox(std::string schema)
    : schema_(std::move(schema)),
      lock_name_(schema_ + "_outbox_lock"),
      lock_sql_(absl::StrCat("SELECT pg_advisory_xact_lock(hashtext('", schema_, ".outbox'))")),
      insert_name_(schema_ + "_outbox_insert"),
      insert_sql_(absl::StrCat("INSERT INTO ", schema_, ".outbox (topic, payload) VALUES ($1, $2::jsonb)")),
      batch_name_(schema_ + "_outbox_batch"),
      batch_sql_(absl::StrCat("SELECT id, topic, payload::text AS payload FROM ", schema_,
                              ".outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED")),
      done_name_(schema_ + "_outbox_done"),
      done_sql_(absl::StrCat("UPDATE ", schema_, ".outbox SET published_at = now() WHERE id = ANY($1::bigint[])")),
      pending_name_(schema_ + "_outbox_pending"),
      pending_sql_(absl::StrCat("SELECT count(*) AS depth, coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                                "AS oldest FROM ", schema_, ".outbox WHERE published_at IS NULL")),
      read_name_(schema_ + "_outbox_read"),
      read_sql_(absl::StrCat("SELECT id, topic, payload::text AS payload, created_at FROM ", schema_,
                             ".outbox WHERE id > $1 AND (cardinality($2::text[]) = 0 OR "
                             "topic = ANY($2::text[])) ORDER BY id LIMIT $3")) {}

pg::Migration Outbox::Migration() const {
  // Sorts after the service's numbered migrations, which never depend on it.
  return {"outbox_0001.sql", InSchema(kTableSql, schema_)};
}

absl::Status Outbox::Add(pg::Session& s, const std::string& topic, const std::string& payload) const {
  VL_RETURN_IF_ERROR(s.Exec({lock_name_.c_str(), lock_sql_.c_str()}).status());
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

absl::StatusOr<std::vector<FeedRow>> Outbox::Read(pg::Pool& pool, int64_t after_id,
                                                  const std::vector<std::string>& topics,
                                                  int limit) const {
  VL_ASSIGN_OR_RETURN(pg::Result r,
                      pool.Exec({read_name_.c_str(), read_sql_.c_str()},
                                {after_id, absl::StrCat("{", absl::StrJoin(topics, ","), "}"), limit}));
  std::vector<FeedRow> rows;
  rows.reserve(r.rows());
  for (int i = 0; i < r.rows(); ++i) {
    rows.push_back({.id = r.Int(i, "id"),
                    .topic = r.Text(i, "topic"),
                    .payload = r.Text(i, "payload"),
                    .create_time = r.Time(i, "created_at")});
  }
  return rows;
}

Cursors::Cursors(std::string schema)
    : schema_(std::move(schema)),
      ensure_name_(schema_ + "_cursor_ensure"),
      ensure_sql_(absl::StrCat("INSERT INTO ", schema_,
                               ".outbox_cursors (source) VALUES ($1) ON CONFLICT DO NOTHING")),
      get_name_(schema_ + "_cursor_get"),
      get_sql_(absl::StrCat("SELECT last_id FROM ", schema_,
                            ".outbox_cursors WHERE source = $1")),
      lock_name_(schema_ + "_cursor_lock"),
      lock_sql_(absl::StrCat("SELECT last_id FROM ", schema_,
                             ".outbox_cursors WHERE source = $1 FOR UPDATE")),
      advance_name_(schema_ + "_cursor_advance"),
      advance_sql_(absl::StrCat("UPDATE ", schema_,
                                ".outbox_cursors SET last_id = $2, update_time = now() "
                                "WHERE source = $1")) {}

pg::Migration Cursors::Migration() const {
  return {"outbox_cursors_0001.sql", InSchema(kCursorsSql, schema_)};
}

absl::StatusOr<int64_t> Cursors::Get(pg::Pool& pool, const std::string& source) const {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool.Exec({get_name_.c_str(), get_sql_.c_str()}, {source}));
  return r.rows() == 0 ? 0 : r.Int(0, "last_id");
}

absl::StatusOr<int64_t> Cursors::Lock(pg::Session& s, const std::string& source) const {
  VL_RETURN_IF_ERROR(s.Exec({ensure_name_.c_str(), ensure_sql_.c_str()}, {source}).status());
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec({lock_name_.c_str(), lock_sql_.c_str()}, {source}));
  return r.Int(0, "last_id");
}

absl::Status Cursors::Advance(pg::Session& s, const std::string& source, int64_t to) const {
  return s.Exec({advance_name_.c_str(), advance_sql_.c_str()}, {source, to}).status();
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
