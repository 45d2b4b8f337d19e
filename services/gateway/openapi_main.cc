// vetline-openapi: prints the gateway's /openapi.json without starting anything, for the
// web front end's generated API types (web/scripts/gen-api.sh).
#include <iostream>

#include "services/gateway/openapi.h"
#include "services/gateway/route_table.h"

int main() {
  auto routes = vetline::gateway::RouteTable::Build(vetline::gateway::ServedProtoFiles());
  if (!routes.ok()) {
    std::cerr << "vetline-openapi: " << routes.status() << "\n";
    return 1;
  }
  std::cout << vetline::gateway::OpenApiJson(*routes) << "\n";
  return 0;
}
