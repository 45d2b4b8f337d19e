// Schema migrations against a real PostgreSQL.
#include "libs/pg/migrations.h"

#include <catch2/catch.hpp>

#include <thread>

#include "libs/testing/servers.h"

using namespace vetline;

namespace {
std::shared_ptr<pg::Pool> MakePool(const std::string& conninfo) {
  return pg::Pool::Create({.conninfo = conninfo, .size = 2}).value();
}
const std::vector<pg::Migration> kMigrations = {
    {"0002_pets.sql", "CREATE TABLE clinic.pets (id int PRIMARY KEY, owner int REFERENCES clinic.owners);"},
    {"0001_owners.sql", "CREATE TABLE clinic.owners (id int PRIMARY KEY);"},
};
int Applied(pg::Pool& pool) {
  return static_cast<int>(
      pool.Exec({"m_count", "SELECT count(*) AS n FROM clinic.schema_migrations"})->Int(0, "n"));
}
}  // namespace

TEST_CASE("migrations: applied in name order, once", "[migrations]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo());
  auto first = pg::Migrate(*pool, "clinic", kMigrations);
  REQUIRE(first.ok());
  CHECK(*first == 2);  // 0001 before 0002 although listed after it
  auto again = pg::Migrate(*pool, "clinic", kMigrations);
  REQUIRE(again.ok());
  CHECK(*again == 0);
  CHECK(Applied(*pool) == 2);
}

TEST_CASE("migrations: concurrent starters apply each migration exactly once",
          "[migrations]") {
  testing::TestDatabase db;
  std::vector<std::thread> threads;
  std::vector<absl::StatusOr<int>> results(4, absl::StatusOr<int>(0));
  for (int i = 0; i < 4; ++i) {
    threads.emplace_back([&, i] {
      auto pool = MakePool(db.conninfo());
      results[i] = pg::Migrate(*pool, "clinic", kMigrations);
    });
  }
  for (auto& t : threads) t.join();
  int total = 0;
  for (auto& r : results) {
    REQUIRE(r.ok());
    total += *r;
  }
  CHECK(total == 2);
  CHECK(Applied(*MakePool(db.conninfo())) == 2);
}

TEST_CASE("migrations: a failing migration applies nothing of itself", "[migrations]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo());
  std::vector<pg::Migration> broken = kMigrations;
  broken.push_back({"0003_bad.sql",
                    "CREATE TABLE clinic.rooms (id int); CREATE TABLE clinic.nope (x no_such_type);"});
  auto st = pg::Migrate(*pool, "clinic", broken);
  REQUIRE_FALSE(st.ok());
  CHECK_THAT(std::string(st.status().message()), Catch::Contains("0003_bad.sql"));
  CHECK(Applied(*pool) == 2);  // the earlier ones stay recorded
  auto rooms = pool->Exec({"m_rooms", "SELECT to_regclass('clinic.rooms') IS NULL AS gone"});
  CHECK(rooms->Bool(0, "gone"));  // the half of 0003 that worked was rolled back
}

TEST_CASE("migrations: editing an applied migration is refused", "[migrations]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo());
  REQUIRE(pg::Migrate(*pool, "clinic", kMigrations).ok());
  std::vector<pg::Migration> edited = kMigrations;
  edited[1].sql += " -- edited";
  auto st = pg::Migrate(*pool, "clinic", edited);
  CHECK(st.status().code() == absl::StatusCode::kFailedPrecondition);
  CHECK_THAT(std::string(st.status().message()), Catch::Contains("0001_owners.sql"));
  CHECK(pg::Migrate(*pool, "Bad-Schema", kMigrations).status().code() ==
        absl::StatusCode::kInvalidArgument);
}
