// The one mapping from gRPC status codes to HTTP statuses, and the uniform error body
// {"error":{"code":"INVALID_ARGUMENT","message":"...","field":"..."}} used everywhere.
#pragma once

#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace vetline::gateway {

int HttpStatusFor(grpc::StatusCode code);

// The JSON error body; `field` is omitted when empty.
std::string ErrorBody(grpc::StatusCode code, const std::string& message,
                      const std::string& field = "");
std::string ErrorBody(const absl::Status& status);  // field from vetline::FieldOf

}  // namespace vetline::gateway
