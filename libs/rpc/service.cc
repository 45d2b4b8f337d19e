#include "libs/rpc/service.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/metrics/metrics.h"
#include "libs/rpc/rpc.h"

namespace vetline::rpc {
namespace {

class KitService final : public RunningService {
 public:
  ~KitService() override {
    if (server_) server_->SetServing(false);
    workers_.clear();  // each stops and joins
    consumers_.clear();
    relay_.reset();
    if (server_) server_->Shutdown();
    parts_ = {};  // the wiring goes before the pool it uses
  }
  Server& server() override { return *server_; }

  std::shared_ptr<pg::Pool> pool_;
  std::unique_ptr<ServiceContext> context_;
  ServiceParts parts_;
  std::unique_ptr<Server> server_;
  std::unique_ptr<outbox::Relay> relay_;
  std::unique_ptr<OutboxFeedService> feed_;
  std::vector<std::unique_ptr<OutboxConsumer>> consumers_;
  std::vector<std::unique_ptr<PeriodicWorker>> workers_;
};

std::string PeerFlag(const std::string& service) {
  return absl::StrReplaceAll(service, {{"_", "-"}}) + "-address";
}

}  // namespace

int DefaultPort(std::string_view service, int base_port) {
  for (const ServicePort& s : kServicePorts) {
    if (s.name == service) return s.port - kFirstServicePort + base_port;
  }
  return 0;
}

std::map<std::string, std::string> LocalAddresses(int base_port) {
  std::map<std::string, std::string> out;
  for (const ServicePort& s : kServicePorts) {
    out[std::string(s.name)] = absl::StrCat("127.0.0.1:", DefaultPort(s.name, base_port));
  }
  return out;
}

void PlatformSettings::Register(ConfigParser& p) {
  p.String("pg-dsn", &pg_dsn, "PostgreSQL conninfo", "", /*required=*/true);
  p.Int("pg-pool-size", &pg_pool_size, "PostgreSQL connections per service", 8, 1, 256);
  p.String("redis", &redis, "Redis host:port", "127.0.0.1:6379");
  p.String("internal-secret", &internal_secret,
           "secret (16+ characters) that signs principals between gateway and services", "",
           /*required=*/true);
  p.String("metrics-address", &metrics_address, "host:port serving /metrics (empty: off)", "");
  p.String("public-url", &public_url,
           "the gateway as clients reach it: base of the links Vetline sends and of its webhooks",
           public_url);
  p.Duration("migrate-timeout", &migrate_timeout,
             "how long to wait for the database at start", absl::Seconds(60));
  blob.Register(p);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> ServiceContext::Peer(const std::string& service) {
  if (auto it = peers_.find(service); it != peers_.end()) return it->second;
  auto address = env_.peers.find(service);
  if (address == env_.peers.end() || address->second.empty()) {
    return absl::NotFoundError(absl::StrCat("no address configured for the ", service,
                                            " service (--", PeerFlag(service), ")"));
  }
  return peers_[service] = Dial(address->second);
}

absl::StatusOr<std::shared_ptr<pg::Pool>> OpenDatabase(const PlatformSettings& platform,
                                                       const std::string& schema,
                                                       const std::vector<pg::Migration>& migrations,
                                                       prometheus::Registry* registry) {
  VL_ASSIGN_OR_RETURN(auto pool, pg::Pool::Create({.conninfo = platform.pg_dsn,
                                                   .size = platform.pg_pool_size,
                                                   .name = schema,
                                                   .registry = registry}));
  VL_RETURN_IF_ERROR(RetryUntil(platform.migrate_timeout, schema + " migrations", [&] {
    return pg::Migrate(*pool, schema, migrations).status();
  }));
  return pool;
}

absl::StatusOr<std::unique_ptr<RunningService>> StartService(const ServiceEnv& env,
                                                             const ServiceSpec& spec) {
  VL_ASSIGN_OR_RETURN(auth::Key key, auth::Key::FromSecret(env.platform.internal_secret));
  auto running = std::make_unique<KitService>();
  VL_ASSIGN_OR_RETURN(running->pool_, pg::Pool::Create({.conninfo = env.platform.pg_dsn,
                                                        .size = env.platform.pg_pool_size,
                                                        .name = spec.name,
                                                        .registry = env.registry.get()}));
  running->context_ = std::make_unique<ServiceContext>(env, key, running->pool_);
  VL_ASSIGN_OR_RETURN(running->parts_, spec.wire(*running->context_));
  ServiceParts& parts = running->parts_;

  // Serve health checks (NOT_SERVING) at once, so orchestrators see the process alive
  // while it waits for its database.
  ServerOptions options{.name = spec.name, .address = env.grpc_address, .registry = env.registry,
                        .max_message_bytes = spec.max_message_bytes};
  std::vector<grpc::Service*> services;
  for (const auto& s : parts.services) {
    services.push_back(s.service);
    options.health_services.push_back(s.full_name);
  }
  if (parts.outbox) {
    running->feed_ = std::make_unique<OutboxFeedService>(running->pool_, *parts.outbox,
                                                         auth::PrincipalSigner(key));
    services.push_back(running->feed_.get());
  }
  VL_ASSIGN_OR_RETURN(running->server_, Server::Start(std::move(options), std::move(services)));
  running->context_->set_port(running->server_->port());

  std::vector<pg::Migration> migrations = spec.migrations;
  if (parts.outbox) migrations.push_back(parts.outbox->Migration());
  if (!parts.consumers.empty()) migrations.push_back(outbox::Cursors(spec.name).Migration());
  VL_RETURN_IF_ERROR(RetryUntil(env.platform.migrate_timeout, spec.name + " migrations", [&] {
    return pg::Migrate(*running->pool_, spec.name, migrations).status();
  }));
  if (running->feed_) running->feed_->SetReady();
  if (parts.before_serving) VL_RETURN_IF_ERROR(parts.before_serving());

  if (parts.outbox && !env.platform.redis.empty()) {
    VL_ASSIGN_OR_RETURN(redis::Options ro, redis::ParseAddress(env.platform.redis));
    VL_ASSIGN_OR_RETURN(auto redis, redis::Pool::Create(ro));
    running->relay_ = std::make_unique<outbox::Relay>(running->pool_, *parts.outbox, redis,
                                                      env.registry.get());
  }
  for (ConsumerSpec& c : parts.consumers) {
    VL_ASSIGN_OR_RETURN(auto peer, running->context_->Peer(c.source));
    running->consumers_.push_back(std::make_unique<OutboxConsumer>(
        spec.name, std::move(c), std::move(peer), running->pool_, auth::PrincipalSigner(key),
        env.platform.redis, env.registry.get()));
  }
  for (WorkerSpec& w : parts.workers) {
    running->workers_.push_back(
        std::make_unique<PeriodicWorker>(spec.name + "." + w.name, w.pause, std::move(w.step)));
  }
  running->server_->SetServing(true);
  return std::unique_ptr<RunningService>(std::move(running));
}

absl::Status RetryUntil(absl::Duration timeout, const std::string& what,
                        const std::function<absl::Status()>& fn) {
  absl::Time deadline = absl::Now() + timeout;
  absl::Duration backoff = absl::Milliseconds(100);
  for (int attempt = 1;; ++attempt) {
    absl::Status st = fn();
    if (st.ok()) return st;
    // Only "try again" errors are retried; a broken migration fails at once.
    if (st.code() != absl::StatusCode::kUnavailable || absl::Now() + backoff > deadline) {
      return absl::Status(st.code(), absl::StrCat(what, ": ", st.message()));
    }
    log::Warn("retrying", {{"what", what}, {"attempt", attempt}, {"error", st.ToString()}});
    absl::SleepFor(backoff);
    backoff = std::min(backoff * 2, absl::Seconds(2));
  }
}

int ServiceMain(int argc, char** argv, const ServiceDefinition& def) {
  log::Init(def.name);
  ServiceEnv env;
  ConfigParser parser("vetline-" + def.name);
  env.platform.Register(parser);
  parser.String("grpc-address", &env.grpc_address, "gRPC listen address",
                absl::StrCat("0.0.0.0:", DefaultPort(def.name)));
  const auto local = LocalAddresses();
  for (const std::string& peer : def.peers) {
    auto it = local.find(peer);
    parser.String(PeerFlag(peer), &env.peers[peer], "host:port of the " + peer + " service",
                  it == local.end() ? "" : it->second);
  }
  if (def.register_flags) def.register_flags(parser);
  if (absl::Status st = parser.Parse(argc, argv); !st.ok()) {
    log::Error("bad configuration", {{"error", std::string(st.message())}});
    return 2;
  }
  env.registry = std::make_shared<prometheus::Registry>();
  std::unique_ptr<metrics::Exposer> exposer;
  if (!env.platform.metrics_address.empty()) {
    auto e = metrics::Exposer::Start(env.platform.metrics_address, env.registry);
    if (!e.ok()) {
      log::Error("metrics", {{"error", e.status().ToString()}});
      return 1;
    }
    exposer = std::move(*e);
  }
  auto running = def.start(env);
  if (!running.ok()) {
    log::Error("start failed", {{"error", running.status().ToString()}});
    return 1;
  }
  WaitForShutdownSignal();
  running->reset();  // graceful: NOT_SERVING, drain, stop
  log::Info("stopped");
  return 0;
}

}  // namespace vetline::rpc
