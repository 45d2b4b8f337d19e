// The service kit against a real PostgreSQL and Redis: one start-up order for every
// service, the outbox's own migration and relay, workers, peers, and a clean stop.
#include "libs/rpc/service.h"

#include <catch2/catch.hpp>

#include <atomic>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "libs/testing/wait.h"
#include "libs/metrics/metrics.h"
#include "libs/rpc/rpc.h"
#include "libs/testing/servers.h"

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

// A made-up service: one table, an outbox, one worker counting its steps.
struct Kennel {
  explicit Kennel(std::shared_ptr<pg::Pool> p) : pool(std::move(p)) {}
  std::shared_ptr<pg::Pool> pool;
  outbox::Outbox events{"kennel"};
  std::atomic<int> steps{0};
  std::atomic<bool> migrated_before_recovery{false};
};

const std::vector<pg::Migration> kKennelMigrations = {
    {"0001_init.sql", "CREATE TABLE kennel.runs (id int PRIMARY KEY);"}};

}  // namespace

TEST_CASE("kit: migrations and the outbox's own migration, relay, workers, then a clean stop",
          "[kit]") {
  testing::TestDatabase db;
  rpc::ServiceEnv env = Env(db.conninfo());
  std::shared_ptr<Kennel> kennel;
  auto running = rpc::StartService(
      env, {.name = "kennel",
            .migrations = kKennelMigrations,
            .wire = [&](rpc::ServiceContext& ctx) -> absl::StatusOr<rpc::ServiceParts> {
              kennel = std::make_shared<Kennel>(ctx.pool());
              Kennel* k = kennel.get();
              CHECK(absl::IsNotFound(ctx.Peer("clients").status()));  // no address given
              return rpc::ServiceParts{
                  .state = kennel,
                  .outbox = &kennel->events,
                  .before_serving =
                      [k] {
                        // Runs after the migrations: the service's table and the outbox's.
                        auto r = k->pool->Exec({"kit_tables",
                                                "SELECT count(*) AS n FROM pg_tables WHERE schemaname = "
                                                "'kennel' AND tablename IN ('runs', 'outbox')"});
                        k->migrated_before_recovery = r.ok() && r->Int(0, "n") == 2;
                        return absl::OkStatus();
                      },
                  .workers = {{"counter", absl::Milliseconds(5), [k] {
                                 ++k->steps;
                                 return PeriodicWorker::Next::kPause;
                               }}}};
            }});
  REQUIRE(running.ok());
  CHECK(kennel->migrated_before_recovery.load());
  auto channel = rpc::Dial("127.0.0.1:" + std::to_string((*running)->server().port()));
  CHECK(rpc::CheckHealth(*channel).value_or(false));

  // An event written in a transaction reaches Redis through the relay.
  absl::Mutex mu;
  std::vector<std::string> seen;
  auto sub = redis::Subscriber::Start(redis::ParseAddress(env.platform.redis).value(),
                                      {"vetline.events.kennel.cleaned"},
                                      [&](const std::string&, const std::string& payload) {
                                        absl::MutexLock l(&mu);
                                        seen.push_back(payload);
                                      });
  REQUIRE(sub.ok());
  absl::SleepFor(absl::Milliseconds(100));  // the subscription is live before we publish
  REQUIRE(kennel->pool->Transact([&](pg::Session& s) {
    return kennel->events.Add(s, "kennel.cleaned", R"({"run": 7})");
  }).ok());
  REQUIRE(testing::WaitUntil([&] {
    absl::MutexLock l(&mu);
    return !seen.empty();
  }));
  CHECK(seen[0].find("\"run\": 7") != std::string::npos);
  // The relay exports the backlog per schema.
  REQUIRE(testing::WaitUntil([&] {
    std::string text = metrics::Serialize(*env.registry);
    return text.find("vetline_outbox_depth{schema=\"kennel\"} 0") != std::string::npos &&
           text.find("vetline_outbox_oldest_age_seconds{schema=\"kennel\"}") != std::string::npos;
  }));

  REQUIRE(testing::WaitUntil([&] { return kennel->steps.load() >= 2; }));
  running->reset();  // stops the worker and the relay, drains the server
  int after_stop = kennel->steps.load();
  absl::SleepFor(absl::Milliseconds(50));
  CHECK(kennel->steps.load() == after_stop);
  CHECK_FALSE(rpc::CheckHealth(*channel, "", absl::Milliseconds(300)).ok());
}

TEST_CASE("kit: the outbox migration is one definition, applied once per schema", "[kit]") {
  testing::TestDatabase db;
  auto pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 1}).value();
  outbox::Outbox a("kennel"), b("cattery");
  REQUIRE(pg::Migrate(*pool, "kennel", {a.Migration()}).ok());
  REQUIRE(pg::Migrate(*pool, "cattery", {b.Migration()}).ok());
  CHECK(*pg::Migrate(*pool, "kennel", {a.Migration()}) == 0);
  REQUIRE(pool->Transact([&](pg::Session& s) { return a.Add(s, "t", "{}"); }).ok());
  auto backlog = a.Pending(*pool);
  REQUIRE(backlog.ok());
  CHECK(backlog->depth == 1);
  CHECK(b.Pending(*pool)->depth == 0);  // each service's events stay in its schema
}

TEST_CASE("kit: a broken migration fails the start with its name, serving nothing", "[kit]") {
  testing::TestDatabase db;
  auto running = rpc::StartService(
      Env(db.conninfo()),
      {.name = "kennel",
       .migrations = {{"0001_init.sql", "CREATE TABLE kennel.runs (id nonsense_type);"}},
       .wire = [](rpc::ServiceContext&) -> absl::StatusOr<rpc::ServiceParts> {
         return rpc::ServiceParts{};
       }});
  REQUIRE_FALSE(running.ok());
  CHECK(running.status().message().find("kennel/0001_init.sql") != std::string::npos);
}

TEST_CASE("kit: default ports come from one table and shift with the base port", "[kit]") {
  CHECK(rpc::DefaultPort("identity") == 50051);
  CHECK(rpc::DefaultPort("media") == 50054);
  CHECK(rpc::DefaultPort("media", 60000) == 60003);
  CHECK(rpc::DefaultPort("no_such_service") == 0);
  CHECK(rpc::LocalAddresses(60000).at("clients") == "127.0.0.1:60001");
}
