#include "libs/redis/redis.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/core/log.h"
#include "libs/core/status.h"

namespace vetline::redis {
namespace {

timeval AsTimeval(absl::Duration d) { return absl::ToTimeval(d); }

Reply Convert(const redisReply* r) {
  Reply out;
  switch (r->type) {
    case REDIS_REPLY_STRING: out.type = Reply::Type::kString; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_STATUS: out.type = Reply::Type::kStatus; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_ERROR: out.type = Reply::Type::kError; out.str.assign(r->str, r->len); break;
    case REDIS_REPLY_INTEGER: out.type = Reply::Type::kInteger; out.integer = r->integer; break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::kArray;
      for (size_t i = 0; i < r->elements; ++i) out.elements.push_back(Convert(r->element[i]));
      break;
    default: out.type = Reply::Type::kNil;
  }
  return out;
}

using ContextPtr = std::unique_ptr<redisContext, void (*)(redisContext*)>;

absl::StatusOr<ContextPtr> Connect(const Options& o) {
  timeval tv = AsTimeval(o.timeout);
  redisContext* c = o.unix_socket.empty()
                        ? redisConnectWithTimeout(o.host.c_str(), o.port, tv)
                        : redisConnectUnixWithTimeout(o.unix_socket.c_str(), tv);
  ContextPtr ctx(c, [](redisContext* x) { if (x) redisFree(x); });
  if (!c || c->err) {
    return absl::UnavailableError(
        absl::StrCat("cannot connect to Redis: ", c ? c->errstr : "out of memory"));
  }
  redisSetTimeout(c, tv);
  return ctx;
}

absl::StatusOr<Reply> Send(redisContext* c, const std::vector<std::string>& argv) {
  std::vector<const char*> args;
  std::vector<size_t> lens;
  for (const std::string& a : argv) {
    args.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(args.size()), args.data(), lens.data()));
  if (!r) return absl::UnavailableError(absl::StrCat("Redis connection lost: ", c->errstr));
  Reply out = Convert(r);
  freeReplyObject(r);
  if (out.type == Reply::Type::kError) return absl::InternalError("Redis: " + out.str);
  return out;
}

class PoolImpl final : public Pool {
 public:
  explicit PoolImpl(Options o) : options_(std::move(o)) {}

  absl::StatusOr<Reply> Command(const std::vector<std::string>& argv) override {
    VL_ASSIGN_OR_RETURN(ContextPtr c, Acquire());
    auto reply = Send(c.get(), argv);
    Release(std::move(c));
    return reply;
  }

  absl::Status Ping() override { return Command({"PING"}).status(); }

 private:
  absl::StatusOr<ContextPtr> Acquire() {
    std::unique_lock<std::mutex> l(mu_);
    if (!cv_.wait_for(l, absl::ToChronoMilliseconds(options_.timeout),
                      [&] { return !idle_.empty() || open_ < options_.pool_size; })) {
      return absl::UnavailableError("no Redis connection free in time");
    }
    if (!idle_.empty()) {
      ContextPtr c = std::move(idle_.front());
      idle_.pop_front();
      return c;
    }
    ++open_;
    l.unlock();
    auto c = Connect(options_);
    if (!c.ok()) {
      std::lock_guard<std::mutex> g(mu_);
      --open_;
      cv_.notify_one();
    }
    return c;
  }

  void Release(ContextPtr c) {
    std::lock_guard<std::mutex> l(mu_);
    if (c->err) {
      --open_;  // broken: replaced on next use
    } else {
      idle_.push_front(std::move(c));
    }
    cv_.notify_one();
  }

  Options options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<ContextPtr> idle_;
  int open_ = 0;
};

class SubscriberImpl final : public Subscriber {
 public:
  SubscriberImpl(Options o, std::vector<std::string> channels, Handler h, std::function<void()> subscribed)
      : options_(std::move(o)),
        channels_(std::move(channels)),
        handler_(std::move(h)),
        subscribed_(std::move(subscribed)) {
    thread_ = std::thread([this] { Run(); });
  }
  ~SubscriberImpl() override {
    stop_ = true;
    thread_.join();
  }

 private:
  void Run() {
    absl::Duration backoff = absl::Milliseconds(50);
    while (!stop_) {
      auto c = Connect(options_);
      if (c.ok()) {
        // A short read timeout lets the loop notice stop_ between messages.
        timeval tv = AsTimeval(absl::Milliseconds(200));
        redisSetTimeout(c->get(), tv);
        std::vector<std::string> argv = {"SUBSCRIBE"};
        argv.insert(argv.end(), channels_.begin(), channels_.end());
        if (Send(c->get(), argv).ok()) {
          backoff = absl::Milliseconds(50);
          // Replies to the remaining SUBSCRIBE confirmations come as ordinary messages.
          while (!stop_) {
            void* raw = nullptr;
            if (redisGetReply(c->get(), &raw) != REDIS_OK) {
              if ((*c)->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                (*c)->err = 0;  // read timeout: nothing arrived, keep waiting
                continue;
              }
              break;  // connection lost: reconnect and resubscribe
            }
            auto* r = static_cast<redisReply*>(raw);
            if (r->type == REDIS_REPLY_ARRAY && r->elements == 3) {
              std::string_view kind(r->element[0]->str, r->element[0]->len);
              if (kind == "message") {
                handler_(std::string(r->element[1]->str, r->element[1]->len),
                         std::string(r->element[2]->str, r->element[2]->len));
              } else if (kind == "subscribe" && subscribed_ &&
                         r->element[2]->integer == static_cast<long long>(channels_.size())) {
                subscribed_();  // every channel is live from here on
              }
            }
            freeReplyObject(r);
          }
        }
      }
      if (stop_) break;
      log::Warn("redis subscriber reconnecting", {{"backoff_ms", absl::ToInt64Milliseconds(backoff)}});
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, absl::Seconds(2));
    }
  }

  Options options_;
  std::vector<std::string> channels_;
  Handler handler_;
  std::function<void()> subscribed_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// KEYS[1] bucket; ARGV: capacity, refill per second. Uses the server clock so every
// replica agrees; returns {allowed, milliseconds until a token is available}.
constexpr char kTokenBucket[] = R"lua(
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2]) / 1000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1]) or capacity
local ts = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + (now - ts) * rate)
local allowed = 0
local wait = 0
if tokens >= 1 then
  tokens = tokens - 1
  allowed = 1
else
  wait = math.ceil((1 - tokens) / rate)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'ts', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(capacity / rate) + 1000)
return {allowed, wait}
)lua";

}  // namespace

absl::StatusOr<Options> ParseAddress(std::string_view address) {
  Options o;
  std::string a(address);
  if (a.rfind("unix:", 0) == 0 && a.size() > 5) {
    o.unix_socket = a.substr(5);
    return o;
  }
  auto colon = a.rfind(':');
  int port;
  if (colon == std::string::npos || colon == 0 || !absl::SimpleAtoi(a.substr(colon + 1), &port) ||
      port <= 0 || port > 65535) {
    return absl::InvalidArgumentError("Redis address must be host:port or unix:/path, got '" + a +
                                      "'");
  }
  o.host = a.substr(0, colon);
  o.port = port;
  return o;
}

absl::StatusOr<std::shared_ptr<Pool>> Pool::Create(Options options) {
  if (options.pool_size < 1) return absl::InvalidArgumentError("Redis pool size must be >= 1");
  return std::shared_ptr<Pool>(std::make_shared<PoolImpl>(std::move(options)));
}

absl::StatusOr<std::unique_ptr<Subscriber>> Subscriber::Start(Options options,
                                                              std::vector<std::string> channels,
                                                              Handler on_message,
                                                              std::function<void()> on_subscribed) {
  if (channels.empty()) return absl::InvalidArgumentError("no channels to subscribe to");
  return std::unique_ptr<Subscriber>(new SubscriberImpl(std::move(options), std::move(channels),
                                                        std::move(on_message), std::move(on_subscribed)));
}

RateLimiter::RateLimiter(std::shared_ptr<Pool> pool, std::string prefix)
    : pool_(std::move(pool)), prefix_(std::move(prefix)) {}

absl::StatusOr<RateLimiter::Decision> RateLimiter::Take(const std::string& key, Limit limit) {
  if (limit.capacity < 1 || limit.refill_per_second <= 0) {
    return absl::InvalidArgumentError("rate limit needs capacity >= 1 and a positive refill");
  }
  // EVAL with the script each time: short, and immune to SCRIPT FLUSH / failover.
  VL_ASSIGN_OR_RETURN(Reply r, pool_->Command({"EVAL", kTokenBucket, "1", prefix_ + key,
                                               absl::StrCat(limit.capacity),
                                               absl::StrCat(limit.refill_per_second)}));
  if (r.type != Reply::Type::kArray || r.elements.size() != 2) {
    return absl::InternalError("unexpected rate-limit reply");
  }
  Decision d;
  d.allowed = r.elements[0].integer == 1;
  d.retry_after = d.allowed ? absl::ZeroDuration() : absl::Milliseconds(r.elements[1].integer);
  return d;
}

}  // namespace vetline::redis
