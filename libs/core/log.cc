#include "libs/core/log.h"

#include <cstdio>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace vetline::log {
namespace {
std::string g_service = "vetline";
Level g_min = Level::kInfo;
thread_local RequestFields t_request;

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

RequestScope::RequestScope(RequestFields fields) : saved_(std::move(t_request)) {
  t_request = std::move(fields);
}

RequestScope::~RequestScope() { t_request = std::move(saved_); }

const RequestFields& Current() { return t_request; }

void SetCurrentClinic(std::string clinic_id) { t_request.clinic_id = std::move(clinic_id); }

std::string Format(Level level, std::string_view msg, const nlohmann::json& fields) {
  nlohmann::json line = {
      {"ts", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone())},
      {"level", Name(level)},
      {"service", g_service},
      {"msg", msg},
  };
  if (!t_request.request_id.empty()) line["request_id"] = t_request.request_id;
  if (!t_request.clinic_id.empty()) line["clinic_id"] = t_request.clinic_id;
  if (!t_request.trace.empty()) {
    line["trace_id"] = t_request.trace.trace_id;
    line["span_id"] = t_request.trace.span_id;
  }
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
