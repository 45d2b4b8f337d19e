// Wiring of the payments service: repository, the Stripe flow (with the key ring that
// seals clinics' secrets), the gRPC edges, the outbox its notices go through and the
// reconciliation worker, started by the service kit.
#pragma once

#include "libs/rpc/service.h"
#include "services/payments/payments_flow.h"

namespace vetline::payments {

rpc::ServiceDefinition Definition();

// Peers: "clients" (the client a request is for) and, optionally, "booking" (the
// appointment a deposit is for).
absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env, PaymentsOptions options = {});

}  // namespace vetline::payments
