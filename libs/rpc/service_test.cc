// The service kit against a real PostgreSQL and Redis: one start-up order for every
// service, the outbox's own migration, relay and feed, workers, peers, and a clean stop.
#include "libs/rpc/service.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <set>
#include <thread>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
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

// ---- following another service's outbox (libs/rpc/outbox_feed.h)

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
// `during` (optional) runs inside each event's transaction, after the row is written;
// `after` runs once that transaction has committed.
using During = std::function<void(const std::string& payload)>;
std::unique_ptr<rpc::RunningService> StartFrontDesk(const std::string& conninfo, int kennel_port,
                                                    During during = {}, std::function<void()> after = {}) {
  rpc::ServiceEnv env = Env(conninfo);
  env.peers["kennel"] = "127.0.0.1:" + std::to_string(kennel_port);
  return rpc::StartService(
             env,
             {.name = "frontdesk",
              .migrations = {{"0001_init.sql",
                              "CREATE TABLE frontdesk.seen (n bigserial, payload text NOT NULL);"}},
              .wire = [during, after](rpc::ServiceContext&) -> absl::StatusOr<rpc::ServiceParts> {
                return rpc::ServiceParts{
                    .consumers = {{.source = "kennel",
                                   .topics = {"dog.checked_in"},
                                   .handle = [during](pg::Session& s, const std::string&,
                                                      const std::string& payload) {
                                     absl::Status st =
                                         s.ExecRaw("INSERT INTO frontdesk.seen (payload) VALUES ($1)", {payload})
                                             .status();
                                     if (st.ok() && during) during(payload);
                                     return st;
                                   },
                                   .after_commit = after}}};
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

// A consumer handles each event once and in feed order — across transactions that
// commit out of order, concurrent writers, a consumer restart and two consumer replicas.

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

TEST_CASE("feed: a cursor moved back while a batch is being handled replays everything from there",
          "[outbox][feed]") {
  testing::TestDatabase db;
  auto kennel = StartKennel(db.conninfo());
  auto pool = pg::Pool::Create({.conninfo = db.conninfo(), .size = 4}).value();
  for (int i = 1; i <= 5; ++i) REQUIRE(Write(*pool, "dog.checked_in", i).ok());
  // An operator replays the feed (as after restoring a backup) while the desk is in the
  // middle of its first batch: the rewind lands right after dog 3's transaction commits,
  // before the desk locks its cursor for dog 4.
  std::atomic<bool> saw_three{false}, rewound{false};
  auto desk = StartFrontDesk(
      db.conninfo(), kennel->server().port(),
      [&](const std::string& payload) { if (payload == R"({"dog": 3})") saw_three = true; },
      [&] {
        if (!saw_three.load() || rewound.exchange(true)) return;
        CHECK(pool->Exec({"rewind", "UPDATE frontdesk.outbox_cursors SET last_id = 0 WHERE source = 'kennel'"}).ok());
      });
  REQUIRE(testing::WaitUntil([&] { return Seen(*pool).size() >= 8; }));
  absl::SleepFor(absl::Milliseconds(300));
  // Dogs 1 to 3, then the whole feed again from the start: none skipped by the rewind.
  CHECK(Seen(*pool) == std::vector<std::string>{R"({"dog": 1})", R"({"dog": 2})", R"({"dog": 3})",
                                                R"({"dog": 1})", R"({"dog": 2})", R"({"dog": 3})",
                                                R"({"dog": 4})", R"({"dog": 5})"});
}

TEST_CASE("feed: while its migrations run a service's feed says it is starting and reads nothing", "[outbox][feed]") {
  testing::TestDatabase db;
  const int port = testing::FreePort();
  rpc::ServiceEnv env = Env(db.conninfo());
  env.grpc_address = "127.0.0.1:" + std::to_string(port);
  // A migration that takes a while: the server already answers, its table is not there yet.
  bool started = false;
  std::thread start([&] {
    auto running = rpc::StartService(
        env, {.name = "kennel",
              .migrations = {{"0001_init.sql", "SELECT pg_sleep(1.5); CREATE TABLE kennel.dogs (id int);"}},
              .wire = [](rpc::ServiceContext&) -> absl::StatusOr<rpc::ServiceParts> {
                return rpc::ServiceParts{.outbox = &kKennelEvents};
              }});
    started = running.ok();  // Catch's assertions stay on the test's thread
  });
  auto stub = outbox::v1::OutboxFeedService::NewStub(rpc::Dial("127.0.0.1:" + std::to_string(port)));
  auth::PrincipalSigner signer(auth::Key::FromSecret(env.platform.internal_secret).value());
  auto read = [&] {
    grpc::ClientContext ctx;
    api::Principal me;
    me.set_kind(api::Principal::SERVICE);
    rpc::AttachPrincipal(ctx, me, signer);
    ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
    outbox::v1::ReadFeedResponse resp;
    return stub->ReadFeed(&ctx, {}, &resp);
  };
  grpc::Status early = read();
  for (int i = 0; i < 100 && early.error_code() == grpc::StatusCode::UNAVAILABLE &&
                  early.error_message().find("starting") == std::string::npos;
       ++i) {  // until the server listens
    absl::SleepFor(absl::Milliseconds(10));
    early = read();
  }
  CHECK(early.error_code() == grpc::StatusCode::UNAVAILABLE);
  CHECK(early.error_message().find("starting") != std::string::npos);
  start.join();
  CHECK(started);
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
