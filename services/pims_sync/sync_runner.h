// One sync run of one clinic: reads the connector (snapshot or changes), maps each
// record with the clinic's PIMS mapper, writes batches through the clients service's
// bulk API (clients, pets) and the booking service's (appointment types, providers,
// rooms, block-offs, appointments, then the scheduling settings), and checkpoints after
// every acknowledged batch. Two runs of one clinic
// never overlap (PostgreSQL advisory lock); a run renews a lease on its row while it
// lives, so a killed run reads as interrupted; a failed or interrupted run is resumed
// by the next one. A connector stream that goes quiet is cut after an idle timeout.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/auth/auth.h"
#include "libs/core/config.h"
#include "services/pims_sync/mappers.h"
#include "services/pims_sync/sync_repository.h"
#include "vetline/pims/v1/connector.grpc.pb.h"

namespace vetline::pims_sync {

struct Progress {
  std::string entity;  // "clients" | "patients" | "appointment_types" | ... | "appointments"
  int64_t done = 0, total = 0;
  double rows_per_second = 0;
};

struct SyncSettings {
  int batch_size = 5000;  // records per batch and per checkpoint
  // The longest wait for the next message of a connector stream; then the run fails
  // (and releases the clinic) instead of waiting on a hung connector forever.
  absl::Duration idle_timeout = absl::Seconds(60);
  // How long a run's row stays `running` without a renewal (renewed every third of
  // it); a killed run reads as interrupted this long after its last renewal.
  absl::Duration lease = absl::Seconds(15);

  // --connector-idle-timeout and --run-lease (batch size is the caller's own flag).
  void Register(ConfigParser& p);
  // Fails naming the setting when a value cannot work.
  absl::Status Validate() const;
};

class SyncRunner {
 public:
  // `booking` may be null: the schedule is then skipped (and reported so).
  SyncRunner(SyncRepository& repo, std::shared_ptr<grpc::Channel> clients, std::shared_ptr<grpc::Channel> booking,
             const auth::PrincipalSigner& signer, SyncSettings settings)
      : repo_(repo), clients_(std::move(clients)), booking_(std::move(booking)), signer_(signer), settings_(settings) {}
  SyncRunner(SyncRepository& repo, std::shared_ptr<grpc::Channel> clients,
             const auth::PrincipalSigner& signer, SyncSettings settings)
      : SyncRunner(repo, std::move(clients), nullptr, signer, settings) {}
  SyncRunner(SyncRepository& repo, std::shared_ptr<grpc::Channel> clients,
             const auth::PrincipalSigner& signer, int batch_size = 5000)
      : SyncRunner(repo, std::move(clients), signer, SyncSettings{.batch_size = batch_size}) {}

  // Full (snapshot) or incremental (changes since the last successful run; a clinic
  // that never synced gets a full run). An unfinished run is continued first: a full
  // one by a run of either kind. Returns the run's report.
  absl::StatusOr<sv1::Run> Run(const std::string& clinic_id, bool full,
                               const std::function<void(const Progress&)>& progress = nullptr);

 private:
  absl::StatusOr<sv1::Run> RunLocked(ClinicLock& lock, const std::string& clinic_id, bool full,
                                     const std::function<void(const Progress&)>& progress);
  // Reads the PIMS's scheduling settings and applies them in booking, once per run.
  absl::Status ApplySettings(pv1::PimsConnector::StubInterface& pims, const Mapper& mapper,
                            const std::string& clinic_id, const std::string& run_id);

  SyncRepository& repo_;
  std::shared_ptr<grpc::Channel> clients_, booking_;
  const auth::PrincipalSigner& signer_;
  SyncSettings settings_;
};

}  // namespace vetline::pims_sync
