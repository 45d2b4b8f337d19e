#include "libs/core/log.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vetline::log {
namespace {
std::string g_service = "vetline";
Level g_min = Level::kInfo;
thread_local std::string t_request_id;
thread_local std::string t_clinic_id;

const char* Name(Level l) {
  switch (l) {
    case Level::kDebug: return "debug";
    case Level::kInfo: return "info";
    case Level::kWarning: return "warning";
    case Level::kError: return "error";
  }
  return "info";
}
}  // namespace

void Init(std::string service, Level min_level) {
  g_service = std::move(service);
  g_min = min_level;
}

RequestScope::RequestScope(std::string request_id, std::string clinic_id)
    : saved_request_id_(std::move(t_request_id)), saved_clinic_id_(std::move(t_clinic_id)) {
  t_request_id = std::move(request_id);
  t_clinic_id = std::move(clinic_id);
}

RequestScope::~RequestScope() {
  t_request_id = std::move(saved_request_id_);
  t_clinic_id = std::move(saved_clinic_id_);
}

std::string Format(Level level, std::string_view msg, const nlohmann::json& fields) {
  nlohmann::json line = {
      {"ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"level", Name(level)},
      {"service", g_service},
      {"msg", msg},
  };
  if (!t_request_id.empty()) line["request_id"] = t_request_id;
  if (!t_clinic_id.empty()) line["clinic_id"] = t_clinic_id;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  }
  // Replace rather than throw on invalid UTF-8 coming from user input.
  return line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Write(Level level, std::string_view msg, nlohmann::json fields) {
  if (level < g_min) return;
  std::string s = Format(level, msg, fields);
  s.push_back('\n');
  std::fwrite(s.data(), 1, s.size(), stderr);
}

}  // namespace vetline::log
