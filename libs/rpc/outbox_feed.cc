#include "libs/rpc/outbox_feed.h"

#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/core/time.h"
#include "libs/rpc/edge.h"
#include "libs/rpc/rpc.h"
#include "prometheus/gauge.h"

namespace vetline::rpc {
namespace {

constexpr int kMaxRead = 500;
constexpr int kBatch = 100;

}  // namespace

OutboxFeedService::OutboxFeedService(std::shared_ptr<pg::Pool> pool, const outbox::Outbox& outbox,
                                     auth::PrincipalSigner signer)
    : pool_(std::move(pool)), outbox_(outbox), signer_(signer) {}

grpc::Status OutboxFeedService::ReadFeed(grpc::ServerContext* ctx,
                                         const outbox::v1::ReadFeedRequest* req,
                                         outbox::v1::ReadFeedResponse* resp) {
  return ToGrpc([&]() -> absl::Status {
    VL_RETURN_IF_ERROR(RequireService(*ctx, signer_).status());
    if (!ready_) return absl::UnavailableError("starting: this service's feed opens once its migrations have run");
    if (req->limit() < 0 || req->limit() > kMaxRead) {
      return InvalidField("limit", absl::StrCat("must be between 0 and ", kMaxRead));
    }
    std::vector<std::string> topics(req->topics().begin(), req->topics().end());
    VL_ASSIGN_OR_RETURN(auto rows, outbox_.Read(*pool_, req->after_id(), topics,
                                                req->limit() == 0 ? kBatch : req->limit()));
    for (const outbox::FeedRow& row : rows) {
      outbox::v1::FeedEvent* e = resp->add_events();
      e->set_id(row.id);
      e->set_topic(row.topic);
      e->set_payload(row.payload);
      *e->mutable_create_time() = ToTimestamp(row.create_time);
    }
    return absl::OkStatus();
  }());
}

OutboxConsumer::OutboxConsumer(std::string schema, ConsumerSpec spec,
                               std::shared_ptr<grpc::Channel> peer, std::shared_ptr<pg::Pool> pool,
                               auth::PrincipalSigner signer, const std::string& redis_address,
                               prometheus::Registry* registry, absl::Duration pause)
    : cursors_(schema),
      spec_(std::move(spec)),
      stub_(outbox::v1::OutboxFeedService::NewStub(std::move(peer))),
      pool_(std::move(pool)),
      signer_(signer) {
  if (registry) {
    lag_ = &prometheus::BuildGauge()
                .Name("vetline_outbox_consumer_lag_seconds")
                .Help("Age of the last event a consumer handled, when it handled it")
                .Register(*registry)
                .Add({{"consumer", schema + "." + spec_.source}});
  }
  worker_ = std::make_unique<PeriodicWorker>("consume." + spec_.source, pause,
                                             [this] { return Step(); });
  // Redis only shortens the wait; without it the poll still finds every event.
  if (!redis_address.empty()) {
    if (auto ro = redis::ParseAddress(redis_address); ro.ok()) {
      std::vector<std::string> channels;
      for (const std::string& t : spec_.topics) channels.push_back(outbox::kChannelPrefix + t);
      auto sub = redis::Subscriber::Start(*ro, channels, [this](const std::string&, const std::string&) {
        worker_->Wake();
      });
      if (sub.ok()) wake_ = std::move(*sub);
    }
  }
}

OutboxConsumer::~OutboxConsumer() {
  wake_.reset();
  worker_->Stop();
}

PeriodicWorker::Next OutboxConsumer::Step() {
  auto from = cursors_.Get(*pool_, spec_.source);
  if (!from.ok()) {
    log::Warn("outbox consumer: cursor", {{"source", spec_.source}, {"error", from.status().ToString()}});
    return PeriodicWorker::Next::kPause;
  }
  outbox::v1::ReadFeedRequest req;
  req.set_after_id(*from);
  for (const std::string& t : spec_.topics) req.add_topics(t);
  req.set_limit(kBatch);
  outbox::v1::ReadFeedResponse resp;
  grpc::ClientContext ctx;
  api::Principal me;
  me.set_kind(api::Principal::SERVICE);
  AttachPrincipal(ctx, me, signer_);
  SetDeadline(ctx);
  if (grpc::Status st = stub_->ReadFeed(&ctx, req, &resp); !st.ok()) {
    log::Warn("outbox consumer: feed", {{"source", spec_.source}, {"error", st.error_message()}});
    return PeriodicWorker::Next::kPause;
  }
  int64_t expected = *from;  // where the cursor stands if nobody rewound it
  for (const outbox::v1::FeedEvent& e : resp.events()) {
    bool rewound = false;
    absl::Status st = pool_->Transact([&](pg::Session& s) -> absl::Status {
      VL_ASSIGN_OR_RETURN(int64_t done, cursors_.Lock(s, spec_.source));
      if (e.id() <= done) return absl::OkStatus();  // another replica handled it meanwhile
      // Moved back while this batch was read (a replay asked for): advancing to this
      // event would skip what lies between, so the batch is read again from the cursor.
      if (done < expected) return rewound = true, absl::OkStatus();
      VL_RETURN_IF_ERROR(spec_.handle(s, e.topic(), e.payload()));
      return cursors_.Advance(s, spec_.source, e.id());
    });
    if (st.ok() && rewound) return PeriodicWorker::Next::kAgain;
    expected = e.id();
    if (!st.ok()) {
      log::Warn("outbox consumer: handler failed; will retry",
                {{"source", spec_.source}, {"topic", e.topic()}, {"error", st.ToString()}});
      return PeriodicWorker::Next::kPause;
    }
    if (spec_.after_commit) spec_.after_commit();
    if (lag_) lag_->Set(absl::ToDoubleSeconds(absl::Now() - FromTimestamp(e.create_time())));
  }
  return resp.events_size() == kBatch ? PeriodicWorker::Next::kAgain : PeriodicWorker::Next::kPause;
}

}  // namespace vetline::rpc
