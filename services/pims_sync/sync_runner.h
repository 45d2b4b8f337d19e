// One sync run of one clinic: reads the connector (snapshot or changes), maps each
// record with the clinic's PIMS mapper, writes batches through the clients service's
// bulk API and checkpoints after every acknowledged batch. Two runs of one clinic
// never overlap (PostgreSQL advisory lock); a killed or failed full run is resumed.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "libs/auth/auth.h"
#include "services/pims_sync/sync_repository.h"

namespace vetline::pims_sync {

struct Progress {
  std::string entity;  // "clients" | "patients"
  int64_t done = 0, total = 0;
  double rows_per_second = 0;
};

class SyncRunner {
 public:
  SyncRunner(SyncRepository& repo, std::shared_ptr<grpc::Channel> clients,
             const auth::PrincipalSigner& signer, int batch_size = 5000)
      : repo_(repo), clients_(std::move(clients)), signer_(signer), batch_size_(batch_size) {}

  // Full (snapshot) or incremental (changes since the last successful run; a clinic
  // that never synced gets a full run). Returns the run's report.
  absl::StatusOr<sv1::Run> Run(const std::string& clinic_id, bool full,
                               const std::function<void(const Progress&)>& progress = nullptr);

 private:
  absl::StatusOr<sv1::Run> RunLocked(const std::string& clinic_id, bool full,
                                     const std::function<void(const Progress&)>& progress);

  SyncRepository& repo_;
  std::shared_ptr<grpc::Channel> clients_;
  const auth::PrincipalSigner& signer_;
  int batch_size_;
};

}  // namespace vetline::pims_sync
