// The services this build runs. Their ports come from the one table in libs/rpc/service.h,
// shifted by `vetline serve --grpc-base-port`, so every tool derives the same addresses.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "libs/rpc/service.h"

namespace vetline::cli {

std::vector<rpc::ServiceDefinition> AllServices();

// name -> "127.0.0.1:PORT" for every service, from the base port.
std::map<std::string, std::string> ServiceAddresses(int base_port);

}  // namespace vetline::cli
