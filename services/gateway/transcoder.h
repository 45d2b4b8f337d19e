// JSON <-> protobuf for one route: path captures, query parameters and the JSON body
// become the request message; the response message becomes JSON. Uses protobuf's own
// JSON mapping (lowerCamelCase names, RFC 3339 timestamps, int64 as strings).
#pragma once

#include <map>
#include <memory>
#include <string>

#include <google/protobuf/message.h>

#include "absl/status/statusor.h"
#include "services/gateway/route_table.h"

namespace vetline::gateway {

// Builds the request. Errors are InvalidArgument with the offending field named
// (vetline::FieldOf) when it is known.
absl::StatusOr<std::unique_ptr<google::protobuf::Message>> BuildRequest(
    const Route& route, const std::map<std::string, std::string>& captures,
    const std::string& query, const std::string& body);

absl::StatusOr<std::string> ResponseJson(const google::protobuf::Message& response);

// A new, empty response message of the route's output type.
std::unique_ptr<google::protobuf::Message> NewResponse(const Route& route);

// Decodes "a=1&b=x%20y&b=z" into ordered pairs (false on a malformed escape).
bool ParseQuery(const std::string& query, std::vector<std::pair<std::string, std::string>>* out);

}  // namespace vetline::gateway
