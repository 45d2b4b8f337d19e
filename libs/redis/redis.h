// Redis over hiredis 0.14: a bounded connection pool, a reconnecting pub/sub
// subscriber, and a token-bucket rate limiter. Redis is never the only copy of
// anything that matters.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace vetline::redis {

struct Options {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string unix_socket;  // used instead of host/port when set
  int pool_size = 8;
  absl::Duration timeout = absl::Seconds(2);  // connect, command and acquire timeout
};

// Parses "host:port" or "unix:/path/to.sock" into options (InvalidArgument otherwise).
absl::StatusOr<Options> ParseAddress(std::string_view address);

struct Reply {
  enum class Type { kNil, kString, kInteger, kArray, kStatus, kError };
  Type type = Type::kNil;
  std::string str;
  long long integer = 0;
  std::vector<Reply> elements;
};

class Pool {
 public:
  static absl::StatusOr<std::shared_ptr<Pool>> Create(Options options);
  virtual ~Pool() = default;
  // Sends one command (binary-safe arguments). A Redis error reply is returned as an
  // Internal status with Redis's message; a broken connection is Unavailable and the
  // connection is replaced on next use.
  virtual absl::StatusOr<Reply> Command(const std::vector<std::string>& argv) = 0;
  virtual absl::Status Ping() = 0;
};

// Runs a background thread that subscribes to channels and calls `on_message` for each
// message; resubscribes after the connection drops. `on_subscribed` (optional) runs on
// that thread each time Redis confirms the subscription, first and after every
// reconnect: messages published while it was down are lost, and this is when to catch up.
class Subscriber {
 public:
  using Handler = std::function<void(const std::string& channel, const std::string& payload)>;
  static absl::StatusOr<std::unique_ptr<Subscriber>> Start(Options options,
                                                           std::vector<std::string> channels,
                                                           Handler on_message,
                                                           std::function<void()> on_subscribed = nullptr);
  virtual ~Subscriber() = default;  // stops the thread
};

// Token bucket kept in Redis (atomic Lua script), shared by every replica.
class RateLimiter {
 public:
  struct Limit {
    double capacity;           // burst size
    double refill_per_second;  // sustained rate
  };
  struct Decision {
    bool allowed;
    absl::Duration retry_after;  // zero when allowed
  };
  RateLimiter(std::shared_ptr<Pool> pool, std::string prefix);
  // Takes one token from bucket `key`.
  absl::StatusOr<Decision> Take(const std::string& key, Limit limit);

 private:
  std::shared_ptr<Pool> pool_;
  std::string prefix_;
};

}  // namespace vetline::redis
