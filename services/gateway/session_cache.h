// Short-lived cache of authenticated sessions, so most requests need no identity call.
// Entries expire after `ttl`; logout through any gateway evicts at once (and other
// replicas learn of it through Redis).
#pragma once

#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "absl/time/time.h"
#include "libs/core/clock.h"
#include "vetline/api/types.pb.h"

namespace vetline::gateway {

class SessionCache {
 public:
  SessionCache(absl::Duration ttl, size_t max_entries, const Clock& clock = Clock::Real())
      : ttl_(ttl), max_entries_(max_entries), clock_(clock) {}

  std::optional<api::Principal> Get(const std::string& token_hash);
  void Put(const std::string& token_hash, const api::Principal& p);
  void Evict(const std::string& token_hash);

 private:
  struct Entry {
    api::Principal principal;
    absl::Time expires;
  };
  absl::Duration ttl_;
  size_t max_entries_;
  const Clock& clock_;
  std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace vetline::gateway
