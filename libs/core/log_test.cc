#include "libs/core/log.h"

#include <catch2/catch.hpp>

namespace vlog = vetline::log;

TEST_CASE("log: one JSON object per line with request and clinic ids in scope", "[log]") {
  vlog::Init("identity");
  std::string outside = vlog::Format(vlog::Level::kInfo, "start", {{"port", 1}});
  auto j = nlohmann::json::parse(outside);
  CHECK(j["service"] == "identity");
  CHECK(j["msg"] == "start");
  CHECK(j["port"] == 1);
  CHECK_FALSE(j.contains("request_id"));
  {
    vlog::RequestScope scope("req-1", "clinic-9");
    auto in = nlohmann::json::parse(vlog::Format(vlog::Level::kWarning, "slow", {}));
    CHECK(in["request_id"] == "req-1");
    CHECK(in["clinic_id"] == "clinic-9");
    CHECK(in["level"] == "warning");
  }
  CHECK_FALSE(nlohmann::json::parse(vlog::Format(vlog::Level::kInfo, "x", {})).contains("clinic_id"));
}

TEST_CASE("log: invalid UTF-8 from user input does not break the line", "[log]") {
  std::string line = vlog::Format(vlog::Level::kInfo, "bad \xff input", {});
  CHECK(line.find('\n') == std::string::npos);
  CHECK_NOTHROW(nlohmann::json::parse(line));
}
