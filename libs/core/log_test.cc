#include "libs/core/log.h"

#include <catch2/catch.hpp>

namespace log = vetline::log;

TEST_CASE("log: one JSON object per line with request and clinic ids in scope", "[log]") {
  log::Init("identity");
  std::string outside = log::Format(log::Level::kInfo, "start", {{"port", 1}});
  auto j = nlohmann::json::parse(outside);
  CHECK(j["service"] == "identity");
  CHECK(j["msg"] == "start");
  CHECK(j["port"] == 1);
  CHECK_FALSE(j.contains("request_id"));
  {
    log::RequestScope scope("req-1", "clinic-9");
    auto in = nlohmann::json::parse(log::Format(log::Level::kWarning, "slow", {}));
    CHECK(in["request_id"] == "req-1");
    CHECK(in["clinic_id"] == "clinic-9");
    CHECK(in["level"] == "warning");
  }
  CHECK_FALSE(nlohmann::json::parse(log::Format(log::Level::kInfo, "x", {})).contains("clinic_id"));
}

TEST_CASE("log: invalid UTF-8 from user input does not break the line", "[log]") {
  std::string line = log::Format(log::Level::kInfo, "bad \xff input", {});
  CHECK(line.find('\n') == std::string::npos);
  CHECK_NOTHROW(nlohmann::json::parse(line));
}
