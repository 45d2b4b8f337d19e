#include "services/gateway/error_map.h"

#include "libs/core/status.h"
#include "libs/rpc/rpc.h"
#include "nlohmann/json.hpp"

namespace vetline::gateway {

int HttpStatusFor(grpc::StatusCode code) {
  switch (code) {
    case grpc::StatusCode::OK: return 200;
    case grpc::StatusCode::INVALID_ARGUMENT:
    case grpc::StatusCode::FAILED_PRECONDITION:
    case grpc::StatusCode::OUT_OF_RANGE: return 400;
    case grpc::StatusCode::UNAUTHENTICATED: return 401;
    case grpc::StatusCode::PERMISSION_DENIED: return 403;
    case grpc::StatusCode::NOT_FOUND: return 404;
    case grpc::StatusCode::ALREADY_EXISTS:
    case grpc::StatusCode::ABORTED: return 409;
    case grpc::StatusCode::RESOURCE_EXHAUSTED: return 429;
    case grpc::StatusCode::CANCELLED: return 499;
    case grpc::StatusCode::UNIMPLEMENTED: return 501;
    case grpc::StatusCode::UNAVAILABLE: return 503;
    case grpc::StatusCode::DEADLINE_EXCEEDED: return 504;
    default: return 500;  // INTERNAL, UNKNOWN, DATA_LOSS
  }
}

std::string ErrorBody(grpc::StatusCode code, const std::string& message, const std::string& field) {
  nlohmann::json err = {{"code", rpc::CodeName(code)}, {"message", message}};
  if (!field.empty()) err["field"] = field;
  return nlohmann::json{{"error", err}}.dump(-1, ' ', false,
                                             nlohmann::json::error_handler_t::replace);
}

std::string ErrorBody(const absl::Status& s) {
  return ErrorBody(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()), FieldOf(s));
}

absl::Status Refusal(absl::StatusCode code, const std::string& message, int64_t retry_after_seconds) {
  absl::Status st(code, message);
  st.SetPayload(kRetryAfterPayload, absl::Cord(std::to_string(retry_after_seconds)));
  return st;
}

void AddRetryAfter(Response& res, const std::string& seconds) {
  int status = res.result_int();
  if ((status == 429 || status == 503) && res.find(http::field::retry_after) == res.end()) {
    res.set(http::field::retry_after, seconds);
  }
}

Response ErrorResponse(grpc::StatusCode code, const std::string& message, const std::string& field) {
  Response res = JsonResponse(HttpStatusFor(code), ErrorBody(code, message, field));
  AddRetryAfter(res);
  return res;
}

Response ErrorResponse(const absl::Status& s) {
  Response res = JsonResponse(HttpStatusFor(static_cast<grpc::StatusCode>(s.code())), ErrorBody(s));
  auto wait = s.GetPayload(kRetryAfterPayload);
  AddRetryAfter(res, wait ? std::string(*wait) : "1");
  return res;
}

}  // namespace vetline::gateway
