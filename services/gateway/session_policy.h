// Sessions at the edge: the token from `Authorization: Bearer` or the session cookie,
// resolved through identity's Authenticate RPC (cached for a few seconds; a logout on any
// replica drops it everywhere through Redis), and the cookie a login sets and a logout
// clears. The revocation PUBLISH runs on a thread of its own, never on the gRPC thread
// that completed the logout.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/thread_pool.hpp>
#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "libs/redis/redis.h"
#include "services/gateway/backend_calls.h"
#include "services/gateway/http_transport.h"
#include "services/gateway/route_table.h"
#include "services/gateway/session_cache.h"

namespace vetline::gateway {

class SessionPolicy {
 public:
  struct Options {
    absl::Duration cache_ttl = absl::Seconds(5);
    bool secure_cookies = false;
  };
  // `redis` null: no revocations across replicas; `subscribe` (when set) listens for them.
  SessionPolicy(Options options, BackendCalls& backends, std::shared_ptr<redis::Pool> redis,
                std::optional<redis::Options> subscribe);
  ~SessionPolicy();  // Stop()

  // The session token of a request ("" when none).
  static std::string TokenOf(const Request& req);
  // The principal behind `token`; Unauthenticated when it is not a live session,
  // Unavailable when identity cannot say. `then` runs at once or on a gRPC thread.
  void Resolve(const std::string& token, const std::string& request_id,
               std::function<void(absl::StatusOr<api::Principal>)> then);
  // After a successful call of `route`: the Set-Cookie a login sets or a logout clears
  // (a logout also revokes the session in every replica's cache).
  void ApplyCookies(const Route& route, const google::protobuf::Message& response,
                    const Request& req, Response& res);
  void Stop();  // waits for queued revocations

 private:
  void Revoke(const std::string& hash);

  Options options_;
  BackendCalls& backends_;
  SessionCache cache_;
  std::shared_ptr<redis::Pool> redis_;
  std::unique_ptr<redis::Subscriber> revocations_;
  boost::asio::thread_pool publisher_{1};
  std::atomic<int> publishes_pending_{0};
};

}  // namespace vetline::gateway
