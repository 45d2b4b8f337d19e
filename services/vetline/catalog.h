// The services this build knows, in a fixed order: `vetline serve` gives service i the
// gRPC port base+i, so every tool derives the same addresses from one base port.
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
