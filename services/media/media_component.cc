#include "services/media/media_component.h"

#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>

#include "absl/strings/str_split.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/pg/migrations.h"
#include "libs/metrics/metrics.h"
#include "libs/redis/redis.h"

namespace vetline::media {
namespace {

CallEngine::Options EngineOptions(const MediaOptions& o) {
  CallEngine::Options e;
  for (absl::string_view a : absl::StrSplit(o.ice_addresses, ',', absl::SkipEmpty())) {
    e.ice.local_addresses.emplace_back(a);
  }
  e.ice.stun_server = o.stun_server;
  e.ice.turn_server = o.turn_server;
  return e;
}

// What an operator watches on a media replica: its live load.
struct MediaMetrics {
  explicit MediaMetrics(prometheus::Registry& r)
      : gauges(prometheus::BuildGauge().Name("vetline_media_live")
                   .Help("Live calls, publications, subscriptions and track recorders on this replica")
                   .Register(r)),
        calls(gauges.Add({{"what", "calls"}})),
        publications(gauges.Add({{"what", "publications"}})),
        subscriptions(gauges.Add({{"what", "subscriptions"}})),
        recorders(gauges.Add({{"what", "recorders"}})) {}
  void Update(const CallEngine::Stats& s) {
    calls.Set(s.calls);
    publications.Set(s.publications);
    subscriptions.Set(s.subscriptions);
    recorders.Set(s.recorders);
  }
  prometheus::Family<prometheus::Gauge>& gauges;
  prometheus::Gauge &calls, &publications, &subscriptions, &recorders;
};

class RunningMedia final : public rpc::RunningService {
 public:
  RunningMedia(std::shared_ptr<pg::Pool> pool, auth::Key key, MediaOptions options, const Clock& clock,
               prometheus::Registry& registry)
      : metrics_(registry),
        pool_(std::move(pool)),
        signer_(key),
        links_(key),
        repo_(pool_),
        engine_(EngineOptions(options)),
        blobs_(blob::LocalDirectory(options.blob_dir)),
        service_(repo_, engine_, events_, *blobs_, signer_, links_, clock, options),
        compose_poll_(options.compose_poll) {}

  ~RunningMedia() override {
    relay_.reset();
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (composer_.joinable()) composer_.join();
    if (keeper_.joinable()) keeper_.join();
    if (server_) server_->Shutdown();
  }

  rpc::Server& server() override { return *server_; }

  // Two background loops: the composer works through stopped recordings one at a time,
  // off the calls' pipelines; the keeper ends sessions whose peer vanished and refreshes
  // the live gauges every poll (a long compose job does not hold it up).
  void StartWorkers() {
    composer_ = Loop([this] { return service_.ComposeNext(); });
    keeper_ = Loop([this] {
      service_.ReapLostSessions();
      metrics_.Update(engine_.stats());
      return false;
    });
  }

  // Runs `step` until shutdown, waiting one poll after each step that found nothing to do.
  std::thread Loop(std::function<bool()> step) {
    return std::thread([this, step = std::move(step)] {
      std::unique_lock<std::mutex> l(mu_);
      while (!stop_) {
        l.unlock();
        bool busy = step();
        l.lock();
        if (!busy) cv_.wait_for(l, absl::ToChronoNanoseconds(compose_poll_), [this] { return stop_; });
      }
    });
  }

  MediaMetrics metrics_;
  std::shared_ptr<pg::Pool> pool_;
  auth::PrincipalSigner signer_;
  auth::LinkSigner links_;
  MediaRepository repo_;
  CallEngine engine_;
  EventHub events_;
  std::unique_ptr<blob::BlobStore> blobs_;
  MediaService service_;
  absl::Duration compose_poll_;
  std::unique_ptr<rpc::Server> server_;
  std::unique_ptr<outbox::Relay> relay_;
  std::thread composer_, keeper_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env, MediaOptions options,
                                                           const Clock& clock) {
  VL_ASSIGN_OR_RETURN(auth::Key key, auth::Key::FromSecret(env.platform.internal_secret));
  VL_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.conninfo = env.platform.pg_dsn,
                                                   .size = env.platform.pg_pool_size,
                                                   .name = "media",
                                                   .registry = env.registry.get()}));
  auto running = std::make_unique<RunningMedia>(pool, key, options, clock, *env.registry);
  VL_ASSIGN_OR_RETURN(running->server_,
                      rpc::Server::Start({.name = "media",
                                          .address = env.grpc_address,
                                          .registry = env.registry,
                                          .health_services = {v1::MediaService::service_full_name()}},
                                         {&running->service_}));
  VL_RETURN_IF_ERROR(rpc::RetryUntil(env.platform.migrate_timeout, "media migrations", [&] {
    return pg::Migrate(*pool, "media", pg::media_migrations()).status();
  }));
  // This replica owns every call's media: whatever was live when it last stopped is gone,
  // and recordings cut short are composed from what reached the disk.
  VL_ASSIGN_OR_RETURN(int recovered, running->repo_.RecoverAfterRestart());
  if (recovered > 0) log::Warn("recordings recovered after a restart", {{"count", recovered}});
  if (!env.platform.redis.empty()) {
    VL_ASSIGN_OR_RETURN(redis::Options ro, redis::ParseAddress(env.platform.redis));
    VL_ASSIGN_OR_RETURN(auto redis, redis::Pool::Create(ro));
    running->relay_ = std::make_unique<outbox::Relay>(pool, running->repo_.events(), redis);
  }
  running->StartWorkers();
  running->server_->SetServing(true);
  return std::unique_ptr<rpc::RunningService>(std::move(running));
}

rpc::ServiceDefinition Definition() {
  auto o = std::make_shared<MediaOptions>();
  return {
      .name = "media",
      .default_port = 50054,
      .register_flags =
          [o](ConfigParser& p) {
            p.String("media-web-url", &o->web_url, "web front end base URL used in join links",
                     o->web_url);
            p.String("media-data-dir", &o->data_dir, "directory for live recording tracks", o->data_dir);
            p.String("media-blob-dir", &o->blob_dir, "blob store directory for composed recordings",
                     o->blob_dir);
            p.String("media-ice-addresses", &o->ice_addresses,
                     "local addresses offered as ICE host candidates (comma-separated)", o->ice_addresses);
            p.String("media-stun-server", &o->stun_server, "stun://host:port, for clients behind NAT", "");
            p.String("media-turn-server", &o->turn_server, "turn://user:pass@host:port", "");
            p.Duration("media-invitation-ttl", &o->invitation_ttl,
                       "how long join links stay valid after the scheduled start", o->invitation_ttl);
          },
      .start = [o](const rpc::ServiceEnv& env) { return Start(env, *o); },
  };
}

}  // namespace vetline::media
