// What the gateway checks about a request against its route before any backend is
// asked: a path no route has (404) or a verb it does not take (405 + Allow), a raw body
// of the wrong media type (415), and a participant token the route needs (401).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "services/gateway/http_transport.h"
#include "services/gateway/route_table.h"

namespace vetline::gateway {

// The answer when RouteTable::Find missed (`allowed` as it filled it).
Response RouteMiss(const absl::Status& miss, const Request& req, const std::string& path,
                   const std::vector<std::string>& allowed);

// 415 when a `raw_body` route gets another Content-Type (any goes with `*/*`).
std::optional<Response> CheckContentType(const Request& req, const Route& route);

// Copies the participant token (Authorization: Bearer) into the route's `bearer_field`;
// Unauthenticated when the request has none (neither there nor as ?access_token=).
absl::Status TakeBearer(const Request& req, const Route& route, google::protobuf::Message& msg);

}  // namespace vetline::gateway
