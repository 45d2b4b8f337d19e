// What a route takes from the HTTP request beyond its body, path and query: the headers
// its `header_fields` name (a webhook's signature, an EventSource's Last-Event-ID) and,
// for `target_field`, the path and query exactly as received (signatures over the URL).
#pragma once

#include <google/protobuf/message.h>

#include "absl/status/status.h"
#include "services/gateway/http_transport.h"
#include "services/gateway/route_table.h"

namespace vetline::gateway {

// Sets the route's header and target fields on `msg`. A header that is absent leaves its
// field as the query left it; one that is not UTF-8 (for a string field) is a field error.
absl::Status CopyRequestFields(const Request& req, const Route& route, google::protobuf::Message& msg);

}  // namespace vetline::gateway
