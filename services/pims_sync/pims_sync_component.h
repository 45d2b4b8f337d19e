// Wiring of the PIMS sync service (staff API, Prometheus figures of the runs, the
// write-back worker following booking's appointment events) and the
// `vetline pims-sync` command that performs runs (the nightly CronJob).
#pragma once

#include "libs/rpc/service.h"
#include "services/pims_sync/writeback_worker.h"

namespace vetline::pims_sync {

rpc::ServiceDefinition Definition();

// The service with write-back settings of its own (tests: short backoff).
absl::StatusOr<std::unique_ptr<rpc::RunningService>> Start(const rpc::ServiceEnv& env,
                                                           WritebackSettings settings = {});

// `vetline pims-sync run|set-connector ...`; returns the process exit code.
int RunCommand(int argc, char** argv);

}  // namespace vetline::pims_sync
