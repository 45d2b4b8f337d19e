// The gateway's settings from flags/environment, shared by `vetline-gateway` and
// `vetline serve`, so both are configured the same way.
#pragma once

#include "libs/core/config.h"
#include "services/gateway/gateway.h"

namespace vetline::gateway {

struct GatewaySettings {
  std::string http_address;
  std::string backends;  // "identity=host:port,clients=host:port" (standalone gateway)
  int max_body_kib = 1024;
  int io_threads = 2;
  absl::Duration session_cache_ttl = absl::Seconds(5);
  absl::Duration backend_deadline = absl::Seconds(10);
  bool secure_cookies = false;
  int login_ip_per_minute = 20;
  int login_account_per_minute = 5;
  int max_pending_logins = 256;
  int max_backend_calls = 64;
  std::string trusted_proxies;  // comma-separated addresses/CIDRs
  std::string cors_origins;     // comma-separated origins
  absl::Duration sse_heartbeat = absl::Seconds(15);
  absl::Duration drain_timeout = absl::Seconds(10);
  std::string web_dir;  // the built front end (web/dist); empty: no web pages

  void Register(ConfigParser& p, bool with_backends);
  // Options for Gateway::Start; `backends` (name -> address) overrides the flag.
  absl::StatusOr<GatewayOptions> Options(const std::string& redis, const std::string& secret,
                                         std::map<std::string, std::string> backends = {}) const;
};

}  // namespace vetline::gateway
