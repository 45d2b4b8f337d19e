#include "services/conversations/realtime.h"

#include "libs/core/log.h"
#include "libs/core/status.h"
#include "services/conversations/redis_announcer.h"

namespace vetline::conversations {

Realtime::Realtime(rpc::ServiceContext& ctx)
    : signer_(ctx.key()), log_(ctx.pool()), hub_(log_), service_(signer_, hub_, log_) {}

absl::StatusOr<std::unique_ptr<Realtime>> Realtime::Start(rpc::ServiceContext& ctx) {
  std::unique_ptr<Realtime> r(new Realtime(ctx));
  const std::string& address = ctx.env().platform.redis;
  if (!address.empty()) {
    VL_ASSIGN_OR_RETURN(redis::Options options, redis::ParseAddress(address));
    VL_ASSIGN_OR_RETURN(std::shared_ptr<redis::Pool> pool, redis::Pool::Create(options));
    r->redis_announcer_ = std::make_unique<RedisAnnouncer>(std::move(pool));
    r->announcer_ = r->redis_announcer_.get();
    EventHub* hub = &r->hub_;
    VL_ASSIGN_OR_RETURN(
        r->subscriber_,
        redis::Subscriber::Start(
            options, {kEventsChannel},
            [hub](const std::string&, const std::string& payload) {
              absl::StatusOr<LoggedEvent> e = DecodeAnnouncement(payload);
              if (!e.ok()) return log::Warn("unreadable conversation announcement", {{"error", e.status().ToString()}});
              hub->Deliver(*std::move(e));
            },
            [hub] { hub->CatchUp(); }));  // what was announced while unsubscribed is lost
  } else {
    log::Warn("no Redis configured: conversation events reach this replica's watchers only");
  }
  r->sweep_ = PeriodicWorker::Every("conversations-events-sweep", kSweep, [hub = &r->hub_] { hub->CatchUp(); });
  return r;
}

Realtime::~Realtime() {
  subscriber_.reset();
  sweep_.reset();
  redis_announcer_.reset();
}

}  // namespace vetline::conversations
