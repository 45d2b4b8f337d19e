#include "libs/outbox/outbox.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "libs/core/log.h"
#include "libs/core/status.h"

namespace vetline::outbox {
namespace {
constexpr int kBatch = 100;
constexpr auto kIdlePause = std::chrono::milliseconds(200);
}  // namespace

Outbox::Outbox(std::string schema)
    : insert_name_(schema + "_outbox_insert"),
      insert_sql_(absl::StrCat("INSERT INTO ", schema, ".outbox (topic, payload) VALUES ($1, $2::jsonb)")),
      batch_name_(schema + "_outbox_batch"),
      batch_sql_(absl::StrCat("SELECT id, topic, payload::text AS payload FROM ", schema,
                              ".outbox WHERE published_at IS NULL ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED")),
      done_name_(schema + "_outbox_done"),
      done_sql_(absl::StrCat("UPDATE ", schema, ".outbox SET published_at = now() WHERE id = ANY($1::bigint[])")) {}

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

Relay::Relay(std::shared_ptr<pg::Pool> pool, const Outbox& outbox, std::shared_ptr<redis::Pool> redis) {
  thread_ = std::thread([this, pool, &outbox, redis] {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      l.unlock();
      auto sent = outbox.Drain(*pool, kBatch, [&](const std::string& topic, const std::string& payload) {
        return redis->Command({"PUBLISH", kChannelPrefix + topic, payload}).status();
      });
      if (!sent.ok()) log::Warn("outbox drain failed", {{"error", sent.status().ToString()}});
      l.lock();
      if (sent.ok() && *sent == kBatch) continue;  // more waiting: no pause
      cv_.wait_for(l, kIdlePause, [this] { return stop_; });
    }
  });
}

Relay::~Relay() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

}  // namespace vetline::outbox
