// Wiring of the identity service: config -> pool -> migrations -> repository ->
// service -> server. Used by its own binary, by `vetline serve` and by tests.
#pragma once

#include "libs/rpc/service.h"
#include "services/identity/identity_service.h"

namespace vetline::identity {

rpc::ServiceDefinition Definition();

// Starts the service: the server reports NOT_SERVING until migrations are applied.
absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           IdentityOptions options,
                                                           const Clock& clock = Clock::Real());

}  // namespace vetline::identity
