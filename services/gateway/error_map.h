// The one mapping from gRPC status codes to HTTP statuses, and the uniform error body
// {"error":{"code":"INVALID_ARGUMENT","message":"...","field":"..."}} used everywhere.
#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "services/gateway/http_transport.h"

namespace vetline::gateway {

int HttpStatusFor(grpc::StatusCode code);

// The JSON error body; `field` is omitted when empty.
std::string ErrorBody(grpc::StatusCode code, const std::string& message,
                      const std::string& field = "");
std::string ErrorBody(const absl::Status& status);  // field from vetline::FieldOf

// A refusal that tells the client when to retry: the status carries the seconds in the
// kRetryAfterPayload payload, which becomes the `Retry-After` header.
inline constexpr char kRetryAfterPayload[] = "retry-after";
absl::Status Refusal(absl::StatusCode code, const std::string& message, int64_t retry_after_seconds);

// The whole error answer. 429 and 503 always say when to come back (`Retry-After`: the
// status's "retry-after" payload, else 1 s), whoever refused.
Response ErrorResponse(grpc::StatusCode code, const std::string& message,
                       const std::string& field = "");
Response ErrorResponse(const absl::Status& status);
void AddRetryAfter(Response& res, const std::string& seconds = "1");  // unless it has one

}  // namespace vetline::gateway
