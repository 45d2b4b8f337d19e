// The HTTP gateway: REST + JSON routes generated from the protos' HTTP rules, session
// authentication, signed principals to the services, rate limits, uniform errors,
// health, metrics and the OpenAPI document. Runs in its own binary (vetline-gateway)
// or inside `vetline serve`.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "prometheus/registry.h"
#include "services/gateway/route_table.h"

namespace vetline::gateway {

struct GatewayOptions {
  std::string http_address = "127.0.0.1:8080";
  std::map<std::string, std::string> backends;  // "identity" -> "127.0.0.1:50051"
  std::string redis;                            // host:port for rate limits; empty: off
  std::string internal_secret;                  // signs principals for the services
  size_t max_body_bytes = 1 << 20;
  int io_threads = 2;
  absl::Duration backend_deadline = absl::Seconds(10);
  absl::Duration session_cache_ttl = absl::Seconds(5);  // revocation delay across replicas
  bool secure_cookies = false;                  // add `Secure` (set behind TLS)
  // Login-style routes: token buckets per client IP and per account.
  double login_ip_burst = 20, login_ip_per_minute = 20;
  double login_account_burst = 5, login_account_per_minute = 5;
  std::string rate_limit_prefix = "vetline:ratelimit:";  // Redis key prefix of the buckets
  int max_pending_logins = 256;  // logins waiting for Redis; beyond: 429 + Retry-After
  // Backpressure: unary backend calls in flight; beyond: 503 + Retry-After at once.
  int max_backend_calls = 64;
  // Proxies (addresses or CIDRs) whose X-Forwarded-For names the client, e.g. the ingress.
  std::vector<std::string> trusted_proxies;
  // Origins a browser front end may call the API from (with credentials); none: no CORS.
  std::vector<std::string> cors_origins;
  absl::Duration sse_heartbeat = absl::Seconds(15);  // `: keepalive` on quiet SSE streams
  absl::Duration drain_timeout = absl::Seconds(10);  // stopping waits this for requests
  // The built web front end (web/dist): the console at /, the portal at /portal/. Empty: none.
  std::string web_dir;
  std::vector<std::string> proto_files = ServedProtoFiles();
  std::shared_ptr<prometheus::Registry> registry;  // required
};

class Gateway {
 public:
  static absl::StatusOr<std::unique_ptr<Gateway>> Start(GatewayOptions options);
  // Stops accepting, ends event streams, lets requests in flight finish (up to
  // `drain_timeout`, then cancels them), and only then frees what their callbacks use.
  ~Gateway();
  int port() const;

  class Impl;

 private:
  explicit Gateway(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace vetline::gateway
