// Wiring of the PIMS sync service (staff API + Prometheus figures of the runs) and the
// `vetline pims-sync` command that performs runs (the nightly CronJob).
#pragma once

#include "libs/rpc/service.h"

namespace vetline::pims_sync {

rpc::ServiceDefinition Definition();

// `vetline pims-sync run|set-connector ...`; returns the process exit code.
int RunCommand(int argc, char** argv);

}  // namespace vetline::pims_sync
