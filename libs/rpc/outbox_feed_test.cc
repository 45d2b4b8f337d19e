// One service following another's outbox through the kit: every event handled exactly
// once and in feed order — across transactions that commit out of order, concurrent
// writers, a consumer restart and two consumer replicas at once.
#include "libs/rpc/outbox_feed.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/notification.h"
#include "libs/rpc/rpc.h"
#include "libs/rpc/service.h"
#include "libs/testing/servers.h"
#include "libs/testing/wait.h"

using namespace vetline;

namespace {

rpc::ServiceEnv Env(const std::string& conninfo) {
  rpc::ServiceEnv env;
  env.platform.pg_dsn = conninfo;
  env.platform.pg_pool_size = 2;
  env.platform.redis = testing::SharedRedis().address();
  env.platform.internal_secret = "a test secret of enough length";
  env.platform.migrate_timeout = absl::Seconds(5);
  env.grpc_address = "127.0.0.1:0";
  env.registry = std::make_shared<prometheus::Registry>();
  return env;
}

const outbox::Outbox kKennelEvents{"kennel"};

std::unique_ptr<rpc::RunningService> StartKennel(const std::string& conninfo) {
  return rpc::StartService(
             Env(conninfo),
             {.name = "kennel",
              .migrations = {{"0001_init.sql", "CREATE TABLE kennel.dogs (id int);"}},
              .wire = [](rpc::ServiceContext&) -> absl::StatusOr<rpc::ServiceParts> {
                return rpc::ServiceParts{.outbox = &kKennelEvents};
              }})
      .value();
}

// The consumer records each event's payload; a duplicate would show as a second row.
std::unique_ptr<rpc::RunningService> StartFrontDesk(const std::string& conninfo, int kennel_port) {
  rpc::ServiceEnv env = Env(conninfo);
  env.peers["kennel"] = "127.0.0.1:" + std::to_string(kennel_port);
  return rpc::StartService(
             env,
             {.name = "frontdesk",
              .migrations = {{"0001_init.sql",
                              "CREATE TABLE frontdesk.seen (n bigserial, payload text NOT NULL);"}},
              .wire = [](rpc::ServiceContext&) -> absl::StatusOr<rpc::ServiceParts> {
                return rpc::ServiceParts{
                    .consumers = {{.source = "kennel",
                                   .topics = {"dog.checked_in"},
                                   .handle = [](pg::Session& s, const std::string&,
                                                const std::string& payload) {
                                     return s.ExecRaw("INSERT INTO frontdesk.seen (payload) VALUES ($1)",
                                                      {payload})
                                         .status();
                                   }}}};
              }})
      .value();
}

std::vector<std::string> Seen(pg::Pool& pool) {
  auto r = pool.Exec({"seen", "SELECT payload FROM frontdesk.seen ORDER BY n"}).value();
  std::vector<std::string> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(r.Text(i, "payload"));
  return out;
}

absl::Status Write(pg::Pool& pool, const std::string& topic, int n) {
  return pool.Transact([&](pg::Session& s) {
    return kKennelEvents.Add(s, topic, absl::StrCat("{\"dog\": ", n, "}"));
  });
}

}  // namespace

TEST_CASE("feed: a consumer handles each event once, in order, whatever the commit order",
          "[outbox][feed]") {
  testing::TestDatabase db;
  auto kennel = StartKennel(db.conninfo());
  auto desk = StartFrontDesk(db.conninfo(), kennel->server().port());
  auto pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 6}).value();

  // While the first writer's transaction is open, a second writer waits for the
  // outbox's lock: ids commit in order, so the feed can never hand out dog 2 and later
  // discover dog 1 behind it.
  absl::Notification wrote, release;
  std::thread slow([&] {
    CHECK(pool->Transact([&](pg::Session& s) {
                absl::Status st = kKennelEvents.Add(s, "dog.checked_in", R"({"dog": 1})");
                wrote.Notify();
                release.WaitForNotification();
                return st;
              }).ok());
  });
  wrote.WaitForNotification();
  std::atomic<bool> second_done{false};
  std::thread second_writer([&] {
    CHECK(Write(*pool, "dog.checked_in", 2).ok());
    second_done = true;
  });
  absl::SleepFor(absl::Milliseconds(300));
  CHECK_FALSE(second_done.load());
  CHECK(Seen(*pool).empty());
  release.Notify();
  slow.join();
  second_writer.join();
  REQUIRE(Write(*pool, "dog.fed", 99).ok());  // not a topic the desk follows
  REQUIRE(testing::WaitUntil([&] { return Seen(*pool).size() == 2; }));
  CHECK(Seen(*pool) == std::vector<std::string>{R"({"dog": 1})", R"({"dog": 2})"});

  // Concurrent writers: all arrive, none twice.
  std::vector<std::thread> writers;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < 50; ++i) CHECK(Write(*pool, "dog.checked_in", 1000 + w * 100 + i).ok());
    });
  }
  for (auto& t : writers) t.join();
  REQUIRE(testing::WaitUntil([&] { return Seen(*pool).size() == 202; }));

  // Stopped consumer: what was written meanwhile is handled after the restart, once.
  desk.reset();
  for (int i = 0; i < 5; ++i) REQUIRE(Write(*pool, "dog.checked_in", 5000 + i).ok());
  desk = StartFrontDesk(db.conninfo(), kennel->server().port());
  // Two replicas of the consumer at once share the work without doubling it.
  auto second = StartFrontDesk(db.conninfo(), kennel->server().port());
  for (int i = 0; i < 60; ++i) REQUIRE(Write(*pool, "dog.checked_in", 6000 + i).ok());
  REQUIRE(testing::WaitUntil([&] { return Seen(*pool).size() == 267; }, absl::Seconds(20)));
  absl::SleepFor(absl::Milliseconds(300));
  std::vector<std::string> seen = Seen(*pool);
  CHECK(seen.size() == 267);
  CHECK(std::set<std::string>(seen.begin(), seen.end()).size() == 267);
}

TEST_CASE("feed: only other services may read it", "[outbox][feed]") {
  testing::TestDatabase db;
  auto kennel = StartKennel(db.conninfo());
  auto stub = outbox::v1::OutboxFeedService::NewStub(
      rpc::Dial("127.0.0.1:" + std::to_string(kennel->server().port())));
  grpc::ClientContext ctx;
  outbox::v1::ReadFeedResponse resp;
  CHECK(stub->ReadFeed(&ctx, {}, &resp).error_code() == grpc::StatusCode::UNAUTHENTICATED);
}
