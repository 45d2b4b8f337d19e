// Structured JSON logs: one line per event on stderr, with the service name and, inside
// a request, its request id, clinic id, trace id and span id (set by the gateway, by
// libs/rpc for every call a service serves, and per step of a background worker).
#pragma once

#include <string>

#include "libs/core/trace_context.h"
#include "nlohmann/json.hpp"

namespace vetline::log {

enum class Level { kDebug, kInfo, kWarning, kError };

// Once per process, before logging.
void Init(std::string service, Level min_level = Level::kInfo);

// The request being handled: what its log lines carry, and what the calls it makes pass
// on to the next service (libs/rpc).
struct RequestFields {
  std::string request_id;
  std::string clinic_id;  // the verified caller's clinic, once known
  trace::Context trace;
};

// Makes `fields` the request of this thread; the previous one is back when the scope ends.
class RequestScope {
 public:
  explicit RequestScope(RequestFields fields);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  RequestFields saved_;
};

// The request this thread is handling (all fields empty outside a scope).
const RequestFields& Current();
// The caller is verified after the scope opens (libs/rpc PrincipalOf): its clinic joins then.
void SetCurrentClinic(std::string clinic_id);

void Write(Level level, std::string_view msg, nlohmann::json fields = nlohmann::json::object());
inline void Info(std::string_view m, nlohmann::json f = nlohmann::json::object()) {
  Write(Level::kInfo, m, std::move(f));
}
inline void Warn(std::string_view m, nlohmann::json f = nlohmann::json::object()) {
  Write(Level::kWarning, m, std::move(f));
}
inline void Error(std::string_view m, nlohmann::json f = nlohmann::json::object()) {
  Write(Level::kError, m, std::move(f));
}

// Formats one log line (exposed for tests).
std::string Format(Level level, std::string_view msg, const nlohmann::json& fields);

}  // namespace vetline::log
