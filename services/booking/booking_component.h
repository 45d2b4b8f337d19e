// Wiring of the booking service: repository, the clinic settings source, the gRPC edges
// and the outbox its schedule events go through, started by the service kit.
#pragma once

#include "libs/core/clock.h"
#include "libs/rpc/service.h"

namespace vetline::booking {

rpc::ServiceDefinition Definition();

// `clock` (minimum notice, horizon) must outlive the service.
absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           const Clock& clock = Clock::Real());

}  // namespace vetline::booking
