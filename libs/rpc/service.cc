#include "libs/rpc/service.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/status.h"
#include "libs/metrics/metrics.h"

namespace vetline::rpc {

void PlatformSettings::Register(ConfigParser& p) {
  p.String("pg-dsn", &pg_dsn, "PostgreSQL conninfo", "", /*required=*/true);
  p.Int("pg-pool-size", &pg_pool_size, "PostgreSQL connections per service", 8, 1, 256);
  p.String("redis", &redis, "Redis host:port", "127.0.0.1:6379");
  p.String("internal-secret", &internal_secret,
           "secret (16+ characters) that signs principals between gateway and services", "",
           /*required=*/true);
  p.String("metrics-address", &metrics_address, "host:port serving /metrics (empty: off)", "");
  p.Duration("migrate-timeout", &migrate_timeout,
             "how long to wait for the database at start", absl::Seconds(60));
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
                absl::StrCat("0.0.0.0:", def.default_port));
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
