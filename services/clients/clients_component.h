// Wiring of the clients service: settings -> pool -> migrations -> repository ->
// services -> server, plus the outbox drain that publishes events to Redis.
#pragma once

#include "libs/rpc/service.h"
#include "services/clients/clients_service.h"

namespace vetline::clients {

rpc::ServiceDefinition Definition();

absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           ClientsOptions options,
                                                           const Clock& clock = Clock::Real());

}  // namespace vetline::clients
