#include "services/gateway/login_limits.h"

#include <boost/asio/post.hpp>

#include "absl/strings/ascii.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "services/gateway/error_map.h"

namespace vetline::gateway {

namespace pb = google::protobuf;

LoginLimits::LoginLimits(Options options, std::shared_ptr<redis::Pool> redis, HttpMetrics& metrics)
    : options_(std::move(options)), metrics_(metrics) {
  if (redis) limiter_ = std::make_unique<redis::RateLimiter>(std::move(redis), options_.prefix);
}

LoginLimits::~LoginLimits() { Stop(); }

void LoginLimits::Stop() { pool_.join(); }

void LoginLimits::Check(const std::string& client_ip, const Route& route, const pb::Message& request,
                        std::function<void(absl::Status)> then) {
  const std::string& field_name = route.rule.rate_limit_field();
  if (field_name.empty() || !limiter_) return then(absl::OkStatus());
  const pb::FieldDescriptor* f = request.GetDescriptor()->FindFieldByName(field_name);
  std::string account =
      f ? absl::AsciiStrToLower(absl::StripAsciiWhitespace(request.GetReflection()->GetString(request, f)))
        : "";
  if (pending_.fetch_add(1) >= options_.max_pending) {
    pending_--;
    metrics_.refused_login_queue.Increment();
    return then(Refusal(absl::StatusCode::kResourceExhausted,
                        "too many sign-ins are waiting; try again shortly", 1));
  }
  boost::asio::post(pool_, [this, client_ip, account, then = std::move(then)] {
    absl::Status st = Take(client_ip, account);
    pending_--;
    then(std::move(st));
  });
}

absl::Status LoginLimits::Take(const std::string& client_ip, const std::string& account) {
  // For 10 s after Redis failed, logins go unlimited instead of each one waiting out
  // the Redis timeout in turn.
  if (absl::Now() < absl::FromUnixNanos(down_until_ns_.load())) return absl::OkStatus();
  auto minute = [](double n) { return n / 60.0; };
  std::vector<std::pair<std::string, redis::RateLimiter::Limit>> buckets = {
      {"ip:" + client_ip, {options_.ip_burst, minute(options_.ip_per_minute)}}};
  if (!account.empty()) {
    buckets.push_back({"acct:" + account, {options_.account_burst, minute(options_.account_per_minute)}});
  }
  for (const auto& [key, limit] : buckets) {
    auto d = limiter_->Take(key, limit);
    if (!d.ok()) {
      // Fail open: Redis being down must not lock every user out of login.
      log::Warn("rate limiter unavailable", {{"error", d.status().ToString()}});
      down_until_ns_ = absl::ToUnixNanos(absl::Now() + absl::Seconds(10));
      return absl::OkStatus();
    }
    if (!d->allowed) {
      metrics_.rate_limited.Increment();
      int64_t secs = std::max<int64_t>(1, absl::ToInt64Seconds(absl::Ceil(d->retry_after, absl::Seconds(1))));
      return Refusal(absl::StatusCode::kResourceExhausted, "too many attempts; try again later", secs);
    }
  }
  return absl::OkStatus();
}

}  // namespace vetline::gateway
