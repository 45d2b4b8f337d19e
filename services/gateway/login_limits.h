// Login-style routes (those with a `rate_limit_field`) take a token from a per-client-IP
// and a per-account bucket in Redis before the call. Redis is asked on a thread apart
// from the io threads, so a slow Redis delays logins only; the queue in front of that
// thread is bounded: when it is full the login is refused at once (429 + Retry-After)
// instead of queueing without limit. When Redis fails, limits are skipped for 10 s
// rather than locking everyone out.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/thread_pool.hpp>
#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "libs/redis/redis.h"
#include "services/gateway/gateway_metrics.h"
#include "services/gateway/route_table.h"

namespace vetline::gateway {

class LoginLimits {
 public:
  struct Options {
    double ip_burst = 20, ip_per_minute = 20;
    double account_burst = 5, account_per_minute = 5;
    int max_pending = 256;  // logins waiting for Redis
    std::string prefix = "vetline:ratelimit:";
  };
  // `redis` null: no limits.
  LoginLimits(Options options, std::shared_ptr<redis::Pool> redis, HttpMetrics& metrics);
  ~LoginLimits();  // Stop()

  // `then` gets OK or a Refusal (ResourceExhausted); at once on the calling
  // thread for routes without limits or when the queue is full, else on the limiter thread.
  void Check(const std::string& client_ip, const Route& route,
             const google::protobuf::Message& request, std::function<void(absl::Status)> then);
  void Stop();  // waits for the queued checks

 private:
  absl::Status Take(const std::string& client_ip, const std::string& account);

  Options options_;
  std::unique_ptr<redis::RateLimiter> limiter_;
  HttpMetrics& metrics_;
  boost::asio::thread_pool pool_{1};
  std::atomic<int> pending_{0};
  std::atomic<int64_t> down_until_ns_{0};  // Redis failed: skip limits until then
};

}  // namespace vetline::gateway
