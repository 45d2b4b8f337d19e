// Following another service's outbox over gRPC (proto/vetline/outbox/v1/feed.proto).
// The producer side is registered by the service kit for every service with an outbox;
// a consumer is a ConsumerSpec in the consuming service's ServiceParts. Nothing is lost
// and nothing is applied twice: the handler and the cursor move in one transaction.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "libs/auth/auth.h"
#include "libs/core/periodic_worker.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis.h"
#include "prometheus/registry.h"
#include "vetline/outbox/v1/feed.grpc.pb.h"

namespace vetline::rpc {

// Serves `outbox`'s feed to other Vetline services (service principals only).
class OutboxFeedService final : public outbox::v1::OutboxFeedService::Service {
 public:
  OutboxFeedService(std::shared_ptr<pg::Pool> pool, const outbox::Outbox& outbox,
                    auth::PrincipalSigner signer);
  grpc::Status ReadFeed(grpc::ServerContext* ctx, const outbox::v1::ReadFeedRequest* req,
                        outbox::v1::ReadFeedResponse* resp) override;
  // The server answers before its migrations have run; until this is called the feed
  // says UNAVAILABLE (a peer retries) instead of reading a table that is not there yet.
  void SetReady() { ready_ = true; }

 private:
  std::atomic<bool> ready_{false};
  std::shared_ptr<pg::Pool> pool_;
  const outbox::Outbox& outbox_;
  auth::PrincipalSigner signer_;
};

// What a service follows: a peer's events of some topics, each handled inside the
// transaction that advances this service's cursor. A handler that fails is retried
// (with a pause) and holds the events after it back: order matters more than progress.
struct ConsumerSpec {
  std::string source;               // the peer service ("clients", "media")
  std::vector<std::string> topics;  // e.g. {"client.merged"}
  std::function<absl::Status(pg::Session& s, const std::string& topic, const std::string& payload)>
      handle;
  // Optional: runs after each event's transaction committed (announcing what the handler
  // wrote: nothing may be announced before it is in the database). A retried handler runs
  // again before it, so what the handler collects it must reset on each call.
  std::function<void()> after_commit;
};

// Runs one ConsumerSpec on a PeriodicWorker until destroyed: polls the peer's feed every
// `pause`, and at once when the peer's Redis announcement of one of the topics arrives.
// Exports vetline_outbox_consumer_lag_seconds{consumer=<schema>.<source>}: how old the
// last event handled was when it was handled.
class OutboxConsumer {
 public:
  OutboxConsumer(std::string schema, ConsumerSpec spec, std::shared_ptr<grpc::Channel> peer,
                 std::shared_ptr<pg::Pool> pool, auth::PrincipalSigner signer,
                 const std::string& redis_address, prometheus::Registry* registry,
                 absl::Duration pause = absl::Seconds(2));
  ~OutboxConsumer();

 private:
  PeriodicWorker::Next Step();

  outbox::Cursors cursors_;
  ConsumerSpec spec_;
  std::unique_ptr<outbox::v1::OutboxFeedService::Stub> stub_;
  std::shared_ptr<pg::Pool> pool_;
  auth::PrincipalSigner signer_;
  prometheus::Gauge* lag_ = nullptr;
  std::unique_ptr<PeriodicWorker> worker_;
  std::unique_ptr<redis::Subscriber> wake_;  // after worker_: stopped first
};

}  // namespace vetline::rpc
