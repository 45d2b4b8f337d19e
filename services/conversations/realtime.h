// The conversations service's realtime half, wired once per start: the announcer the
// inbox calls after each commit (Redis PUBLISH; straight into the hub when no Redis is
// configured), this replica's hub fed by the Redis subscription, a sweep that catches
// any announcement lost at the tail, and the WatchEvents edge.
#pragma once

#include <memory>

#include "libs/core/periodic_worker.h"
#include "libs/redis/redis.h"
#include "libs/rpc/service.h"
#include "services/conversations/event_hub.h"
#include "services/conversations/events_service.h"

namespace vetline::conversations {

class Realtime {
 public:
  static constexpr absl::Duration kSweep = absl::Seconds(2);
  static absl::StatusOr<std::unique_ptr<Realtime>> Start(rpc::ServiceContext& ctx);
  ~Realtime();  // subscription and sweep stop first, then the announcer

  EventAnnouncer& announcer() { return *announcer_; }
  rpc::ServiceParts::Served served() { return {&service_, v1::ConversationEventsService::service_full_name()}; }
  EventHub& hub() { return hub_; }

 private:
  explicit Realtime(rpc::ServiceContext& ctx);

  auth::PrincipalSigner signer_;
  EventLog log_;
  EventHub hub_;
  EventsService service_;
  std::unique_ptr<EventAnnouncer> redis_announcer_;  // null without Redis
  EventAnnouncer* announcer_ = &hub_;
  std::unique_ptr<redis::Subscriber> subscriber_;
  std::unique_ptr<PeriodicWorker> sweep_;
};

}  // namespace vetline::conversations
