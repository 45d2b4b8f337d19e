// Wiring of the booking service: repository, the clinic settings source, the gRPC edges
// and the outbox its schedule events go through, started by the service kit.
#pragma once

#include <string>

#include "libs/core/clock.h"
#include "libs/rpc/service.h"

namespace vetline::booking {

rpc::ServiceDefinition Definition();

// `clock` (minimum notice, horizon, codes and holds) must outlive the service. A peer
// "conversations" in env sends direct booking's one-time codes (none without it); the
// confirmations' links start with env's public URL.
absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           const Clock& clock = Clock::Real());

}  // namespace vetline::booking
