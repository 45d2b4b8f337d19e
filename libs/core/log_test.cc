#include "libs/core/log.h"

#include <catch2/catch.hpp>

namespace vlog = vetline::log;

TEST_CASE("log: one JSON object per line with request clinic trace and span ids in scope", "[log]") {
  vlog::Init("identity");
  std::string outside = vlog::Format(vlog::Level::kInfo, "start", {{"port", 1}});
  auto j = nlohmann::json::parse(outside);
  CHECK(j["service"] == "identity");
  CHECK(j["msg"] == "start");
  CHECK(j["port"] == 1);
  CHECK_FALSE(j.contains("request_id"));
  CHECK_FALSE(j.contains("trace_id"));
  {
    vetline::trace::Context t = vetline::trace::Start();
    vlog::RequestScope scope({.request_id = "req-1", .clinic_id = "clinic-9", .trace = t});
    auto in = nlohmann::json::parse(vlog::Format(vlog::Level::kWarning, "slow", {}));
    CHECK(in["request_id"] == "req-1");
    CHECK(in["clinic_id"] == "clinic-9");
    CHECK(in["trace_id"] == t.trace_id);
    CHECK(in["span_id"] == t.span_id);
    CHECK(in["level"] == "warning");
    {
      // A nested scope (a worker step inside a request, say) hides the outer one until it ends.
      vlog::RequestScope inner({.request_id = "req-2"});
      auto nested = nlohmann::json::parse(vlog::Format(vlog::Level::kInfo, "inner", {}));
      CHECK(nested["request_id"] == "req-2");
      CHECK_FALSE(nested.contains("clinic_id"));
      CHECK_FALSE(nested.contains("trace_id"));
    }
    vlog::SetCurrentClinic("clinic-10");
    auto again = nlohmann::json::parse(vlog::Format(vlog::Level::kInfo, "again", {}));
    CHECK(again["request_id"] == "req-1");
    CHECK(again["clinic_id"] == "clinic-10");
    CHECK(again["span_id"] == t.span_id);
  }
  auto after = nlohmann::json::parse(vlog::Format(vlog::Level::kInfo, "x", {}));
  CHECK_FALSE(after.contains("clinic_id"));
  CHECK_FALSE(after.contains("trace_id"));
  CHECK(vlog::Current().request_id.empty());
}

TEST_CASE("log: invalid UTF-8 from user input does not break the line", "[log]") {
  std::string line = vlog::Format(vlog::Level::kInfo, "bad \xff input", {});
  CHECK(line.find('\n') == std::string::npos);
  CHECK_NOTHROW(nlohmann::json::parse(line));
}
