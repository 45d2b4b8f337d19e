// libs/redis against a real Redis.
#include "libs/redis/redis.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <thread>

#include "libs/testing/servers.h"

using namespace vetline;

namespace {
std::shared_ptr<redis::Pool> MakePool(int size = 4) {
  auto opts = redis::ParseAddress(testing::SharedRedis().address()).value();
  opts.pool_size = size;
  return redis::Pool::Create(opts).value();
}
}  // namespace

TEST_CASE("redis: commands are binary-safe", "[redis]") {
  auto pool = MakePool();
  std::string key = testing::UniqueRedisPrefix() + "blob";
  std::string value("a\0b\r\nc", 6);
  REQUIRE(pool->Command({"SET", key, value}).ok());
  auto got = pool->Command({"GET", key});
  REQUIRE(got.ok());
  CHECK(got->str == value);
  CHECK(pool->Command({"INCRBY", key + ":n", "5"})->integer == 5);
  auto err = pool->Command({"INCR", key});  // not an integer
  CHECK(err.status().code() == absl::StatusCode::kInternal);
  CHECK(pool->Ping().ok());  // an error reply does not break the connection
}

TEST_CASE("redis: addresses are validated", "[redis]") {
  CHECK(redis::ParseAddress("127.0.0.1:6379")->port == 6379);
  CHECK(redis::ParseAddress("unix:/run/redis.sock")->unix_socket == "/run/redis.sock");
  CHECK_FALSE(redis::ParseAddress("localhost").ok());
  CHECK_FALSE(redis::ParseAddress("host:99999").ok());
  auto down = redis::Pool::Create({.host = "127.0.0.1", .port = testing::FreePort()}).value();
  CHECK(down->Ping().code() == absl::StatusCode::kUnavailable);
}

TEST_CASE("redis: the subscriber survives a killed connection", "[redis]") {
  auto pool = MakePool();
  std::string channel = testing::UniqueRedisPrefix() + "events";
  std::mutex mu;
  std::vector<std::string> got;
  auto opts = redis::ParseAddress(testing::SharedRedis().address()).value();
  auto sub = redis::Subscriber::Start(opts, {channel}, [&](const std::string&, const std::string& p) {
    std::lock_guard<std::mutex> l(mu);
    got.push_back(p);
  });
  REQUIRE(sub.ok());
  auto publish_until_seen = [&](const std::string& payload) {
    for (int i = 0; i < 100; ++i) {
      REQUIRE(pool->Command({"PUBLISH", channel, payload}).ok());
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
      std::lock_guard<std::mutex> l(mu);
      if (std::find(got.begin(), got.end(), payload) != got.end()) return true;
    }
    return false;
  };
  CHECK(publish_until_seen("first"));
  REQUIRE(pool->Command({"CLIENT", "KILL", "TYPE", "pubsub"}).ok());
  CHECK(publish_until_seen("after-kill"));
  sub->reset();  // stops promptly
}

TEST_CASE("redis: token bucket allows a burst, then refuses with a wait", "[redis]") {
  redis::RateLimiter limiter(MakePool(), testing::UniqueRedisPrefix());
  redis::RateLimiter::Limit limit{3, 5};  // burst 3, 5 per second
  for (int i = 0; i < 3; ++i) CHECK(limiter.Take("ip:1.2.3.4", limit)->allowed);
  auto refused = limiter.Take("ip:1.2.3.4", limit);
  REQUIRE(refused.ok());
  CHECK_FALSE(refused->allowed);
  CHECK(refused->retry_after > absl::ZeroDuration());
  CHECK(refused->retry_after <= absl::Milliseconds(250));
  CHECK(limiter.Take("ip:5.6.7.8", limit)->allowed);  // other keys are independent
  std::this_thread::sleep_for(std::chrono::milliseconds(450));  // ~2 tokens back
  CHECK(limiter.Take("ip:1.2.3.4", limit)->allowed);
  CHECK_FALSE(limiter.Take("ip:1.2.3.4", {0, 1}).ok());  // a nonsense limit is an error
}
