// Structured JSON logs: one line per event on stderr, with the service name and, inside
// a request, its request id and clinic id (set by libs/rpc and the gateway).
#pragma once

#include <string>

#include "nlohmann/json.hpp"

namespace vetline::log {

enum class Level { kDebug, kInfo, kWarning, kError };

// Once per process, before logging.
void Init(std::string service, Level min_level = Level::kInfo);

// Fields of the request being handled on this thread; restored when the scope ends.
class RequestScope {
 public:
  RequestScope(std::string request_id, std::string clinic_id);
  ~RequestScope();
  RequestScope(const RequestScope&) = delete;
  RequestScope& operator=(const RequestScope&) = delete;

 private:
  std::string saved_request_id_, saved_clinic_id_;
};

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
