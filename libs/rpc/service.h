// The service kit: how a service is defined and started, the same way in its own binary
// (`vetline-identity`), in the all-in-one `vetline serve` process and in tests.
//
// A service's component declares a ServiceSpec — its name (also its schema), its
// migrations and a `wire` function that builds its repository and gRPC services from a
// ServiceContext — and StartService does the rest in one order for everyone:
//   internal key -> pool -> wiring -> server (NOT_SERVING) -> migrations (+ outbox)
//   -> before_serving -> outbox relay and workers -> SERVING.
// Destroying the RunningService undoes it in reverse: NOT_SERVING, workers and relay
// stopped, server drained, wiring and pool released.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/auth/auth.h"
#include "libs/blob/blob.h"
#include "libs/core/config.h"
#include "libs/core/periodic_worker.h"
#include "libs/outbox/outbox.h"
#include "libs/pg/migrations.h"
#include "libs/pg/pg.h"
#include "libs/redis/redis.h"
#include "libs/rpc/outbox_feed.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"

namespace vetline::rpc {

// The one table of default gRPC ports. `vetline serve --grpc-base-port=B` shifts them
// all by B - 50051, so every tool derives the same addresses from one base port.
// A new service adds its line here.
struct ServicePort {
  std::string_view name;
  int port;
};
inline constexpr ServicePort kServicePorts[] = {
    {"identity", 50051}, {"clients", 50052}, {"pims_sync", 50053}, {"media", 50054},
    {"conversations", 50055}, {"booking", 50056}, {"payments", 50057}};
inline constexpr int kFirstServicePort = 50051;
// The default port of `service`, shifted to `base_port`; 0 for an unknown service.
int DefaultPort(std::string_view service, int base_port = kFirstServicePort);
// "127.0.0.1:PORT" for every service in the table.
std::map<std::string, std::string> LocalAddresses(int base_port = kFirstServicePort);

// Settings shared by every service of a deployment.
struct PlatformSettings {
  std::string pg_dsn;           // libpq conninfo
  int pg_pool_size = 8;
  std::string redis;            // host:port
  std::string internal_secret;  // signs principals between gateway and services
  std::string metrics_address;  // host:port for /metrics; empty: none
  // The gateway as clients and providers reach it: the base of every link Vetline sends
  // (portal, downloads, confirmations, Checkout's return) and of Twilio's webhooks.
  std::string public_url = "http://127.0.0.1:8080";
  absl::Duration migrate_timeout = absl::Seconds(60);
  blob::StoreSettings blob;     // local directories (default) or one S3 bucket for all
  void Register(ConfigParser& p);
};

struct ServiceEnv {
  PlatformSettings platform;
  std::string grpc_address;
  std::shared_ptr<prometheus::Registry> registry;
  // Other services by name -> "host:port", for the peers a service calls.
  std::map<std::string, std::string> peers;
};

// A started service; destroying it shuts it down gracefully.
class RunningService {
 public:
  virtual ~RunningService() = default;
  virtual Server& server() = 0;
};

// What a service's wiring gets from the kit: everything is created once and shared.
class ServiceContext {
 public:
  ServiceContext(const ServiceEnv& env, auth::Key key, std::shared_ptr<pg::Pool> pool)
      : env_(env), key_(key), pool_(std::move(pool)) {}
  const ServiceEnv& env() const { return env_; }
  const auth::Key& key() const { return key_; }
  const std::shared_ptr<pg::Pool>& pool() const { return pool_; }
  prometheus::Registry& registry() const { return *env_.registry; }
  // One channel per peer service (configured in env.peers), or NotFound naming it.
  absl::StatusOr<std::shared_ptr<grpc::Channel>> Peer(const std::string& service);
  // The port the gRPC server listens on: 0 during wiring, set once it is bound (so
  // before_serving and the workers see it, even with a ":0" address).
  int port() const { return port_; }
  void set_port(int port) { port_ = port; }

 private:
  const ServiceEnv& env_;
  auth::Key key_;
  std::shared_ptr<pg::Pool> pool_;
  std::map<std::string, std::shared_ptr<grpc::Channel>> peers_;
  int port_ = 0;
};

// A background job of a service, run on a PeriodicWorker (see libs/core).
struct WorkerSpec {
  std::string name;
  absl::Duration pause;
  PeriodicWorker::Step step;
};

// What a service's wiring hands back.
struct ServiceParts {
  std::shared_ptr<void> state;  // owns repository, services, engines; released last
  struct Served {
    grpc::Service* service;
    std::string full_name;  // e.g. v1::ClientsService::service_full_name(), for health
  };
  std::vector<Served> services;
  // Its migrations are applied, it is relayed to Redis when Redis is set, and its feed is
  // served to other services (OutboxFeedService).
  const outbox::Outbox* outbox = nullptr;
  std::vector<ConsumerSpec> consumers;  // other services' outboxes this one follows
  std::function<absl::Status()> before_serving;  // after migrations: recovery and the like
  std::vector<WorkerSpec> workers;
};

struct ServiceSpec {
  std::string name;  // "clients": logs, metrics, the pool, and the database schema
  std::vector<pg::Migration> migrations;
  std::function<absl::StatusOr<ServiceParts>(ServiceContext&)> wire;
  // Largest request message the server takes; 0: gRPC's default (4 MiB). Services that
  // take uploads in one message raise it.
  size_t max_message_bytes = 0;
};

absl::StatusOr<std::unique_ptr<RunningService>> StartService(const ServiceEnv& env,
                                                             const ServiceSpec& spec);

// A pool with `schema`'s migrations applied (waiting for the database up to the
// platform's migrate timeout): for commands that use a service's tables directly.
absl::StatusOr<std::shared_ptr<pg::Pool>> OpenDatabase(const PlatformSettings& platform,
                                                       const std::string& schema,
                                                       const std::vector<pg::Migration>& migrations,
                                                       prometheus::Registry* registry = nullptr);

// What `vetline serve` and the single-service binaries list.
struct ServiceDefinition {
  std::string name;  // "identity"
  // Services this one calls; single binaries get a --<peer>-address flag for each.
  std::vector<std::string> peers;
  // Service-specific settings (may be empty). Names must be unique across services.
  std::function<void(ConfigParser&)> register_flags;
  std::function<absl::StatusOr<std::unique_ptr<RunningService>>(const ServiceEnv&)> start;
};

// Retries `fn` (e.g. migrations) until it succeeds or `timeout` passes, so a service
// started before its database waits for it instead of crash-looping.
absl::Status RetryUntil(absl::Duration timeout, const std::string& what,
                        const std::function<absl::Status()>& fn);

// main() of a single-service binary: flags/env, logs, metrics, start, wait for SIGTERM.
int ServiceMain(int argc, char** argv, const ServiceDefinition& def);

}  // namespace vetline::rpc
