#include "services/gateway/session_cache.h"

namespace vetline::gateway {

std::optional<api::Principal> SessionCache::Get(const std::string& token_hash) {
  std::lock_guard<std::mutex> l(mu_);
  auto it = entries_.find(token_hash);
  if (it == entries_.end()) return std::nullopt;
  if (it->second.expires <= clock_.Now()) {
    entries_.erase(it);
    return std::nullopt;
  }
  return it->second.principal;
}

void SessionCache::Put(const std::string& token_hash, const api::Principal& p) {
  if (ttl_ <= absl::ZeroDuration()) return;
  std::lock_guard<std::mutex> l(mu_);
  absl::Time now = clock_.Now();
  if (entries_.size() >= max_entries_) {
    for (auto it = entries_.begin(); it != entries_.end();) {
      it = it->second.expires <= now ? entries_.erase(it) : std::next(it);
    }
    if (entries_.size() >= max_entries_) entries_.clear();  // bounded, never grows
  }
  entries_[token_hash] = {p, now + ttl_};
}

void SessionCache::Evict(const std::string& token_hash) {
  std::lock_guard<std::mutex> l(mu_);
  entries_.erase(token_hash);
}

}  // namespace vetline::gateway
