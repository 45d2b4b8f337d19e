// How a service is defined and started, the same way in its own binary
// (`vetline-identity`) and in the all-in-one `vetline serve` process.
//
// A service folder exposes one ServiceDefinition; wiring (config -> pool -> repository
// -> service -> server) lives in its `start` function.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "libs/core/config.h"
#include "libs/rpc/server.h"
#include "prometheus/registry.h"

namespace vetline::rpc {

// Settings shared by every service of a deployment.
struct PlatformSettings {
  std::string pg_dsn;           // libpq conninfo
  int pg_pool_size = 8;
  std::string redis;            // host:port
  std::string internal_secret;  // signs principals between gateway and services
  std::string metrics_address;  // host:port for /metrics; empty: none
  absl::Duration migrate_timeout = absl::Seconds(60);
  void Register(ConfigParser& p);
};

struct ServiceEnv {
  PlatformSettings platform;
  std::string grpc_address;
  std::shared_ptr<prometheus::Registry> registry;
};

// A started service; destroying it shuts it down gracefully.
class RunningService {
 public:
  virtual ~RunningService() = default;
  virtual Server& server() = 0;
};

struct ServiceDefinition {
  std::string name;     // "identity"
  int default_port;     // gRPC port when none is configured
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
