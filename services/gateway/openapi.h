// The OpenAPI 3 document of the REST API, generated from the same route table the
// gateway serves, so the document cannot drift from the routes.
#pragma once

#include <string>

#include "services/gateway/route_table.h"

namespace vetline::gateway {

std::string OpenApiJson(const RouteTable& routes);

}  // namespace vetline::gateway
