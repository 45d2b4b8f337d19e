// libs/pg against a real PostgreSQL.
#include "libs/pg/pg.h"

#include <catch2/catch.hpp>

#include <filesystem>
#include <thread>

#include "libs/core/status.h"
#include "libs/testing/servers.h"

using namespace vetline;

namespace {
std::shared_ptr<pg::Pool> MakePool(const std::string& conninfo, int size = 4,
                                   absl::Duration acquire = absl::Seconds(5)) {
  return pg::Pool::Create({.conninfo = conninfo, .size = size, .acquire_timeout = acquire})
      .value();
}

constexpr pg::Statement kInsertPet{"test_insert_pet",
                                   "INSERT INTO pets (name, born, weight) VALUES ($1, $2, $3) "
                                   "RETURNING id"};
constexpr pg::Statement kGetPet{"test_get_pet",
                                "SELECT name, born, weight, weight IS NULL AS no_weight FROM pets "
                                "WHERE id = $1"};
}  // namespace

TEST_CASE("pg: parameters, NULLs and timestamps round-trip", "[pg]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo());
  REQUIRE(pool->Exec({"t_create", "CREATE TABLE pets (id serial PRIMARY KEY, name text NOT NULL "
                                   "UNIQUE, born timestamptz, weight int)"})
              .ok());
  absl::Time born = absl::FromUnixMicros(1'700'000'000'123'456);
  auto id = pool->Exec(kInsertPet, {"Biscuit", born, std::optional<int64_t>()});
  REQUIRE(id.ok());
  auto row = pool->Exec(kGetPet, {id->Text(0, "id")});
  REQUIRE(row.ok());
  REQUIRE(row->rows() == 1);
  CHECK(row->Text(0, "name") == "Biscuit");
  CHECK(row->Time(0, "born") == born);
  CHECK(row->Bool(0, "no_weight"));
  CHECK_FALSE(row->Optional(0, "weight").has_value());
  CHECK(row->Text(0, "missing_column").empty());
}

TEST_CASE("pg: constraint violations map to canonical codes naming the constraint", "[pg]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo());
  REQUIRE(pool->Exec({"t_c", "CREATE TABLE pets (id serial PRIMARY KEY, name text NOT NULL "
                               "CONSTRAINT pets_name_key UNIQUE, weight int CHECK (weight > 0), "
                               "born timestamptz)"})
              .ok());
  REQUIRE(pool->Exec(kInsertPet, {"Biscuit", std::nullopt, 3}).ok());
  auto dup = pool->Exec(kInsertPet, {"Biscuit", std::nullopt, 3});
  CHECK(dup.status().code() == absl::StatusCode::kAlreadyExists);
  CHECK_THAT(std::string(dup.status().message()), Catch::Contains("pets_name_key"));
  CHECK(pool->Exec(kInsertPet, {"Rex", std::nullopt, -1}).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  CHECK(pool->Exec(kInsertPet, {"Rex", std::nullopt, "heavy"}).status().code() ==
        absl::StatusCode::kInvalidArgument);
}

TEST_CASE("pg: a failed transaction leaves nothing behind", "[pg]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo());
  REQUIRE(pool->Exec({"t_c2", "CREATE TABLE pets (id serial PRIMARY KEY, name text UNIQUE, "
                                "born timestamptz, weight int)"})
              .ok());
  absl::Status st = pool->Transact([](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kInsertPet, {"Biscuit", std::nullopt, 1}).status());
    VL_RETURN_IF_ERROR(s.Exec(kInsertPet, {"Biscuit", std::nullopt, 2}).status());  // duplicate
    return absl::OkStatus();
  });
  CHECK(st.code() == absl::StatusCode::kAlreadyExists);
  CHECK(pool->Exec({"t_count", "SELECT count(*) AS n FROM pets"})->Int(0, "n") == 0);
  // The connection is usable afterwards (the transaction was rolled back).
  CHECK(pool->Exec(kInsertPet, {"Biscuit", std::nullopt, 1}).ok());
}

TEST_CASE("pg: a batch answers every query in order, each standing alone", "[pg][batch]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo(), 1);  // one connection: what a batch leaves, the next call gets
  REQUIRE(pool->Exec({"t_cb", "CREATE TABLE pets (id serial PRIMARY KEY, name text NOT NULL "
                               "CONSTRAINT pets_name_key UNIQUE, born timestamptz, weight int)"})
              .ok());
  constexpr pg::Statement kCount{"t_count_b", "SELECT count(*) AS n FROM pets"};
  REQUIRE(pool->WithSession([&](pg::Session& s) -> absl::Status {
    // A setting made by one query is seen by the next: they run in turn on one connection.
    VL_ASSIGN_OR_RETURN(std::vector<pg::Result> r,
                        s.ExecBatch({{"SET application_name = 'batch'"},
                                     {kInsertPet, {"Biscuit", std::nullopt, 3}},
                                     {kInsertPet, {"Rex", std::nullopt, 4}},
                                     {"SELECT current_setting('application_name') AS app"},
                                     {kCount}}));
    REQUIRE(r.size() == 5);
    CHECK(r[1].Int(0, "id") == 1);
    CHECK(r[2].Int(0, "id") == 2);
    CHECK(r[3].Text(0, "app") == "batch");
    CHECK(r[4].Int(0, "n") == 2);
    return absl::OkStatus();
  }).ok());

  // Outside a transaction a failing query ends only itself: the queries after it run
  // (a reset after a search must happen even when the search fails).
  absl::Status failed = pool->WithSession([&](pg::Session& s) {
    return s.ExecBatch({{"SET application_name = 'before'"},
                        {kInsertPet, {"Biscuit", std::nullopt, 5}},  // duplicate name
                        {kInsertPet, {"Tom", std::nullopt, 6}},
                        {"RESET application_name"}})
        .status();
  });
  CHECK(failed.code() == absl::StatusCode::kAlreadyExists);
  CHECK_THAT(std::string(failed.message()), Catch::Contains("pets_name_key"));
  CHECK(pool->Exec(kCount)->Int(0, "n") == 3);  // Tom was stored
  auto app = pool->Exec({"t_app", "SELECT current_setting('application_name') AS app"});
  REQUIRE(app.ok());
  CHECK(app->Text(0, "app") != "before");  // and the reset ran on the same connection

  // Inside a transaction the failure aborts the whole of it, as with Exec.
  absl::Status tx = pool->Transact([&](pg::Session& s) {
    return s.ExecBatch({{kInsertPet, {"Whiskers", std::nullopt, 1}}, {kInsertPet, {"Rex", std::nullopt, 1}}})
        .status();
  });
  CHECK(tx.code() == absl::StatusCode::kAlreadyExists);
  CHECK(pool->Exec(kCount)->Int(0, "n") == 3);

  // A NUL in any parameter refuses the batch before anything is sent.
  absl::Status nul = pool->WithSession([&](pg::Session& s) {
    return s.ExecBatch({{kInsertPet, {"Ok", std::nullopt, 1}}, {kInsertPet, {std::string("a\0b", 3), std::nullopt, 1}}})
        .status();
  });
  CHECK(nul.code() == absl::StatusCode::kInvalidArgument);
  CHECK(pool->Exec(kCount)->Int(0, "n") == 3);
}

TEST_CASE("pg: serialization failures are retried until both transactions commit", "[pg]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo(), 4);
  REQUIRE(pool->Exec({"t_c3", "CREATE TABLE counter (id int PRIMARY KEY, n int)"}).ok());
  REQUIRE(pool->Exec({"t_i3", "INSERT INTO counter VALUES (1, 0)"}).ok());
  constexpr pg::Statement kRead{"t_read", "SELECT n FROM counter WHERE id = 1"};
  constexpr pg::Statement kWrite{"t_write", "UPDATE counter SET n = $1 WHERE id = 1"};
  std::atomic<int> attempts{0};
  auto increment = [&] {
    return pool->Transact(
        [&](pg::Session& s) -> absl::Status {
          ++attempts;
          VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kRead));
          int64_t n = r.Int(0, "n");
          // Both transactions read before either writes: a guaranteed conflict.
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
          return s.Exec(kWrite, {n + 1}).status();
        },
        pg::Isolation::kSerializable, 10);
  };
  absl::Status a, b;
  std::thread t1([&] { a = increment(); });
  std::thread t2([&] { b = increment(); });
  t1.join();
  t2.join();
  CHECK(a.ok());
  CHECK(b.ok());
  CHECK(attempts.load() >= 3);  // at least one retry happened
  CHECK(pool->Exec(kRead)->Int(0, "n") == 2);  // no lost update
}

TEST_CASE("pg: waiting for a connection is bounded", "[pg]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo(), 1, absl::Milliseconds(300));
  std::atomic<bool> holding{false}, release{false};
  std::thread holder([&] {
    (void)pool->WithSession([&](pg::Session&) {
      holding = true;
      while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      return absl::OkStatus();
    });
  });
  while (!holding) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  absl::Time start = absl::Now();
  absl::Status st = pool->Ping();
  absl::Duration waited = absl::Now() - start;
  release = true;
  holder.join();
  CHECK(st.code() == absl::StatusCode::kUnavailable);
  CHECK_THAT(std::string(st.message()), Catch::Contains("no PostgreSQL connection free"));
  CHECK(waited >= absl::Milliseconds(250));
  CHECK(waited < absl::Seconds(5));
  CHECK(pool->Ping().ok());  // free again
}

TEST_CASE("pg: the pool reconnects after the server restarts", "[pg]") {
  // A private server: restarting the run's shared one would disturb other tests.
  char tmpl[] = "/tmp/vetline-pgrestart-XXXXXX";
  REQUIRE(mkdtemp(tmpl));
  auto server = testing::PostgresServer::Start(std::string(tmpl) + "/pg");
  REQUIRE(server.ok());
  auto pool = MakePool((*server)->ConnInfo(), 2);
  REQUIRE(pool->Ping().ok());
  REQUIRE((*server)->Restart().ok());
  // The idle connection died with the old server; the pool notices and dials again.
  CHECK(pool->Ping().ok());
  CHECK(pool->Exec({"t_after", "SELECT 41 + 1 AS answer"})->Int(0, "answer") == 42);
  REQUIRE((*server)->Stop().ok());
  CHECK(pool->Ping().code() == absl::StatusCode::kUnavailable);  // down: a clear error
  REQUIRE((*server)->Restart().ok());
  absl::Status again = pool->Ping();
  INFO(again.ToString());
  CHECK(again.ok());
  (void)(*server)->Discard();
  std::filesystem::remove_all(tmpl);
}

TEST_CASE("pg: CopyIn stores text exactly, NULLs as NULL, and counts the rows", "[pg][copy]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo());
  REQUIRE(pool->Exec({"t_copy_c", "CREATE TABLE notes (id int PRIMARY KEY, body text, "
                                   "urgent boolean, seen_at date)"})
              .ok());
  // Everything COPY's text format treats specially, plus text that only looks special.
  const std::vector<std::string> bodies = {
      "tab\there", "two\nlines", "cr\rhere", "back\\slash", "\\N", "\\.", "", "Zoë 🐾", "a\\tb"};
  pg::CopyRows rows;
  for (size_t i = 0; i < bodies.size(); ++i) {
    rows.Add(static_cast<int64_t>(i)).Add(bodies[i]).Add(i % 2 == 0).AddOrNull("").EndRow();
  }
  rows.Add(100).Add(std::nullopt).Add(std::optional<bool>()).Add("2026-12-01").EndRow();
  int64_t copied = -1;
  REQUIRE(pool->WithSession([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(copied, s.CopyIn({"notes", "id, body, urgent, seen_at"}, rows));
    return absl::OkStatus();
  }).ok());
  CHECK(copied == static_cast<int64_t>(bodies.size()) + 1);
  constexpr pg::Statement kGet{"t_copy_get",
                               "SELECT body, body IS NULL AS null_body, urgent, "
                               "seen_at IS NULL AS no_date FROM notes WHERE id = $1"};
  for (size_t i = 0; i < bodies.size(); ++i) {
    auto r = pool->Exec(kGet, {static_cast<int64_t>(i)});
    REQUIRE(r.ok());
    REQUIRE(r->rows() == 1);
    INFO("row " << i);
    CHECK(r->Text(0, "body") == bodies[i]);
    CHECK_FALSE(r->Bool(0, "null_body"));
    CHECK(r->Bool(0, "urgent") == (i % 2 == 0));
    CHECK(r->Bool(0, "no_date"));
  }
  auto last = pool->Exec(kGet, {100});
  REQUIRE(last.ok());
  CHECK(last->Bool(0, "null_body"));
  CHECK_FALSE(last->Bool(0, "no_date"));
  // Nothing to copy: nothing sent, zero rows.
  CHECK(pool->WithSession([](pg::Session& s) {
    return s.CopyIn({"notes", "id"}, pg::CopyRows()).status();
  }).ok());
}

TEST_CASE("pg: CopyIn errors map like other errors and leave the connection usable",
          "[pg][copy]") {
  testing::TestDatabase db;
  auto pool = MakePool(db.conninfo(), 1);
  REQUIRE(pool->Exec({"t_copy_c2", "CREATE TABLE tags (id int CONSTRAINT tags_pkey PRIMARY KEY, "
                                    "name text NOT NULL)"})
              .ok());
  constexpr pg::Statement kCount{"t_copy_count", "SELECT count(*) AS n FROM tags"};
  auto copy = [&](const pg::CopyRows& rows) {
    absl::Status st = pool->Transact([&](pg::Session& s) { return s.CopyIn({"tags", "id, name"}, rows).status(); });
    INFO(st.ToString());
    return st;
  };
  pg::CopyRows dup;
  dup.Add(1).Add("a").EndRow();
  dup.Add(1).Add("b").EndRow();
  absl::Status st = copy(dup);
  CHECK(st.code() == absl::StatusCode::kAlreadyExists);
  CHECK_THAT(std::string(st.message()), Catch::Contains("tags_pkey"));

  pg::CopyRows bad_int;
  bad_int.Add("one").Add("a").EndRow();
  CHECK(copy(bad_int).code() == absl::StatusCode::kInvalidArgument);

  pg::CopyRows missing;
  missing.Add(2).Add(std::nullopt).EndRow();
  CHECK(copy(missing).code() == absl::StatusCode::kFailedPrecondition);  // NOT NULL

  pg::CopyRows nul;
  nul.Add(3).Add(std::string_view("a\0b", 3)).EndRow();
  CHECK(copy(nul).code() == absl::StatusCode::kInvalidArgument);

  pg::CopyRows ragged;
  ragged.Add(4).Add("a").EndRow();
  ragged.Add(5).EndRow();
  CHECK(copy(ragged).code() == absl::StatusCode::kInvalidArgument);

  pg::CopyRows fine;
  fine.Add(6).Add("ok").EndRow();
  CHECK(pool->WithSession([&](pg::Session& s) {
          return s.CopyInSql("SELECT 1", fine).status();
        }).code() == absl::StatusCode::kInvalidArgument);
  CHECK(pool->WithSession([&](pg::Session& s) {
          return s.CopyIn({"no_such_table", "id, name"}, fine).status();
        }).code() == absl::StatusCode::kInternal);
  CHECK(pool->Exec(kCount)->Int(0, "n") == 0);  // every failure wrote nothing
  // The one connection is still good after all of that.
  REQUIRE(copy(fine).ok());
  CHECK(pool->Exec(kCount)->Int(0, "n") == 1);
}
