#include "libs/core/config.h"

#include <catch2/catch.hpp>

using vetline::ConfigParser;

TEST_CASE("config: flags win over environment, which wins over defaults", "[config]") {
  ConfigParser p("svc");
  int port;
  std::string dsn;
  bool verbose;
  p.Int("grpc-port", &port, "port", 50051, 0, 65535);
  p.String("pg-dsn", &dsn, "database", "host=localhost");
  p.Bool("verbose", &verbose, "chatty", false);
  REQUIRE(p.Parse({"--grpc-port=7000"}, {{"VETLINE_GRPC_PORT", "6000"}, {"VETLINE_PG_DSN", "x"}})
              .ok());
  CHECK(port == 7000);
  CHECK(dsn == "x");
  CHECK_FALSE(verbose);
}

TEST_CASE("config: a bad value names the setting, its source and what is expected",
          "[config]") {
  ConfigParser p("svc");
  int size;
  p.Int("pg-pool-size", &size, "connections", 8, 1, 256);
  auto st = p.Parse({}, {{"VETLINE_PG_POOL_SIZE", "lots"}});
  REQUIRE(st.code() == absl::StatusCode::kInvalidArgument);
  CHECK_THAT(std::string(st.message()), Catch::Contains("VETLINE_PG_POOL_SIZE='lots'") &&
                                            Catch::Contains("from 1 to 256"));
  CHECK(p.Parse({"--pg-pool-size=0"}, {}).code() == absl::StatusCode::kInvalidArgument);
}

TEST_CASE("config: unknown flags and missing required settings fail fast", "[config]") {
  ConfigParser p("svc");
  std::string key;
  p.String("internal-key", &key, "shared signing key", "", /*required=*/true);
  CHECK_THAT(std::string(p.Parse({"--internal-key=k", "--nope=1"}, {}).message()),
             Catch::Contains("unknown flag --nope"));
  CHECK_THAT(std::string(p.Parse({}, {}).message()), Catch::Contains("missing setting --internal-key"));
  CHECK(p.Parse({"--internal-key=k"}, {}).ok());
}

TEST_CASE("config: durations parse and reject negatives", "[config]") {
  ConfigParser p("svc");
  absl::Duration d;
  p.Duration("session-ttl", &d, "ttl", absl::Hours(12));
  REQUIRE(p.Parse({"--session-ttl=90m"}, {}).ok());
  CHECK(d == absl::Minutes(90));
  CHECK_FALSE(p.Parse({"--session-ttl=-1s"}, {}).ok());
}
