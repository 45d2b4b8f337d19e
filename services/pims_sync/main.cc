// vetline-pims-sync: the PIMS sync's staff API on its own (one Kubernetes deployment).
// Runs themselves: `vetline pims-sync run` (the nightly CronJob).
#include "services/pims_sync/pims_sync_component.h"

int main(int argc, char** argv) {
  return vetline::rpc::ServiceMain(argc, argv, vetline::pims_sync::Definition());
}
