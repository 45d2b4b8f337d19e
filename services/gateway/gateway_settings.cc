#include "services/gateway/gateway_settings.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace vetline::gateway {

void GatewaySettings::Register(ConfigParser& p, bool with_backends) {
  p.String("http-address", &http_address, "where the HTTP gateway listens", "127.0.0.1:8080");
  if (with_backends) {
    p.String("backends", &backends, "service addresses, e.g. identity=identity:50051,clients=ipv4:10.0.0.5:50052,10.0.0.6:50052,...", "",
             /*required=*/true);
  }
  p.Int("max-body-kib", &max_body_kib, "largest request body accepted (KiB)", 1024, 1, 1 << 20);
  p.Int("http-threads", &io_threads, "HTTP I/O threads", 2, 1, 64);
  p.Duration("session-cache-ttl", &session_cache_ttl,
             "how long a checked session is trusted without asking identity", absl::Seconds(5));
  p.Duration("backend-deadline", &backend_deadline, "deadline of each backend call",
             absl::Seconds(10));
  p.Bool("secure-cookies", &secure_cookies, "mark session cookies Secure (behind TLS)", false);
  p.Int("login-ip-per-minute", &login_ip_per_minute, "login attempts per client IP per minute",
        20, 1, 100000);
  p.Int("login-account-per-minute", &login_account_per_minute,
        "login attempts per account per minute", 5, 1, 100000);
  p.Int("max-pending-logins", &max_pending_logins,
        "logins waiting for the rate limiter; more are refused with 429", 256, 1, 100000);
  p.Int("max-backend-calls", &max_backend_calls,
        "backend calls in flight; more requests are refused with 503 + Retry-After", 64, 1, 100000);
  p.String("trusted-proxies", &trusted_proxies,
           "proxy addresses/CIDRs whose X-Forwarded-For names the client, e.g. 10.0.0.0/8", "");
  p.String("cors-origins", &cors_origins,
           "origins a browser front end may use the API from, e.g. https://app.example", "");
  p.Duration("sse-heartbeat", &sse_heartbeat, "keepalive comment interval on event streams",
             absl::Seconds(15));
  p.Duration("drain-timeout", &drain_timeout,
             "how long stopping waits for requests in flight", absl::Seconds(10));
  p.String("web-dir", &web_dir,
           "the built web front end (web/dist): console at /, client portal at /portal/", "");
}

absl::StatusOr<GatewayOptions> GatewaySettings::Options(
    const std::string& redis, const std::string& secret,
    std::map<std::string, std::string> backend_map) const {
  GatewayOptions o;
  o.http_address = http_address;
  if (backend_map.empty()) {
    // "clients=ipv4:10.0.0.5:50052,10.0.0.6:50052,booking=...": an entry without '=' is
    // one more address of the service before it (gRPC's own list syntax).
    std::string last;
    for (auto entry : absl::StrSplit(backends, ',', absl::SkipEmpty())) {
      std::vector<std::string> kv = absl::StrSplit(entry, absl::MaxSplits('=', 1));
      if (kv.size() == 1 && !last.empty()) {
        absl::StrAppend(&backend_map[last], ",", kv[0]);
        continue;
      }
      if (kv.size() != 2 || kv[0].empty() || kv[1].empty()) {
        return absl::InvalidArgumentError("--backends must look like identity=host:port,...");
      }
      backend_map[kv[0]] = kv[1];
      last = kv[0];
    }
  }
  o.backends = std::move(backend_map);
  o.redis = redis;
  o.internal_secret = secret;
  o.max_body_bytes = static_cast<size_t>(max_body_kib) * 1024;
  o.io_threads = io_threads;
  o.session_cache_ttl = session_cache_ttl;
  o.backend_deadline = backend_deadline;
  o.secure_cookies = secure_cookies;
  o.login_ip_burst = o.login_ip_per_minute = login_ip_per_minute;
  o.login_account_burst = o.login_account_per_minute = login_account_per_minute;
  o.max_pending_logins = max_pending_logins;
  o.max_backend_calls = max_backend_calls;
  o.trusted_proxies = absl::StrSplit(trusted_proxies, ',', absl::SkipWhitespace());
  o.cors_origins = absl::StrSplit(cors_origins, ',', absl::SkipWhitespace());
  if (sse_heartbeat <= absl::ZeroDuration()) return absl::InvalidArgumentError("--sse-heartbeat must be positive");
  o.sse_heartbeat = sse_heartbeat;
  o.drain_timeout = drain_timeout;
  o.web_dir = web_dir;
  return o;
}

}  // namespace vetline::gateway
