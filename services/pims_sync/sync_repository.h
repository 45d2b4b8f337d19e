// All SQL of the PIMS sync: connectors, runs, checkpoints, record errors, cursors.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "vetline/clients/v1/sync.pb.h"
#include "vetline/pims_sync/v1/pims_sync.pb.h"

namespace vetline::pims_sync {

namespace sv1 = ::vetline::pims_sync::v1;

struct Checkpoint {
  int64_t position = 0;  // full runs: snapshot position of the last stored batch
  std::string cursor;    // incremental runs: change cursor after it ("" = none yet)
  bool done = false;
};

// What an operator's dashboard shows of one clinic's syncs (see the component's gauges).
struct ClinicRunFigures {
  std::string clinic_id;
  std::optional<double> last_success_unix;  // the last successful run's end, if any
  std::optional<double> rows_per_second;    // of the last successful run
  // Failed or interrupted runs (a `running` run whose lease expired is interrupted)
  // started in the last 24 hours, as they stand now: a run resumed to success no
  // longer counts.
  int64_t failures_24h = 0;
};

// Held for the duration of one clinic's run (see SyncRepository::WithClinicLock).
class ClinicLock {
 public:
  // Extends the run's lease to now + `lease` on the lock's own connection, so a lease
  // is only ever renewed while the lock is held. An error means the connection (and
  // the lock with it) is gone: another run may start, this one must stop.
  absl::Status RenewLease(const std::string& run_id, absl::Duration lease);

 private:
  friend class SyncRepository;
  explicit ClinicLock(pg::Session& session) : session_(session) {}
  pg::Session& session_;
};

class SyncRepository {
 public:
  explicit SyncRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}
  pg::Pool& pool() { return *pool_; }

  absl::StatusOr<sv1::Connector> GetConnector(const std::string& clinic_id);
  absl::StatusOr<std::vector<sv1::Connector>> ListConnectors();
  absl::Status SetConnector(const sv1::Connector& c);

  // Runs `fn` holding the clinic's sync lock (a session-level advisory lock on a
  // connection of its own); FailedPrecondition when another run of the clinic holds it.
  absl::Status WithClinicLock(const std::string& clinic_id,
                              const std::function<absl::Status(ClinicLock&)>& fn);
  // Only under the clinic's lock: a run still `running` then has no live process (it
  // would hold the lock), so it is marked interrupted.
  absl::Status MarkInterrupted(const std::string& clinic_id);
  // The run the next run of the clinic continues: its latest run since its last
  // success, if that one failed or was interrupted. A full run is continued by a run
  // of either kind; an incremental one only by an incremental run (a full snapshot
  // covers what it would have read).
  absl::StatusOr<std::optional<sv1::Run>> UnfinishedRun(const std::string& clinic_id, bool full);
  absl::StatusOr<sv1::Run> CreateRun(const std::string& clinic_id, const std::string& mode,
                                     const std::string& cursor, absl::Duration lease);
  absl::Status Resume(const std::string& run_id, absl::Duration lease);
  absl::StatusOr<Checkpoint> GetCheckpoint(const std::string& run_id, const std::string& entity);
  // Counts, errors and the checkpoint of one acknowledged batch of `entity` ("clients",
  // "patients", "appointment_types", "providers", "rooms", "block_offs",
  // "appointments", "settings"), in one transaction.
  absl::Status SaveProgress(const std::string& run_id, const std::string& entity,
                            const Checkpoint& checkpoint, const sv1::Counts& delta,
                            const std::vector<clients::v1::RecordError>& errors,
                            double active_seconds);
  // `skipped`: why the run did not read the entity (empty: it did).
  absl::Status MarkDone(const std::string& run_id, const std::string& entity, const std::string& skipped = "");
  // A successful run moves the clinic's incremental cursor to where the run started.
  absl::Status Finish(const std::string& run_id, const std::string& clinic_id, bool ok,
                      const std::string& error);

  absl::StatusOr<sv1::Run> GetRun(const std::string& clinic_id, const std::string& run_id,
                                  bool with_errors);
  absl::StatusOr<std::vector<sv1::Run>> ListRuns(const std::string& clinic_id, int limit);
  absl::StatusOr<std::optional<std::string>> Cursor(const std::string& clinic_id);
  // One row per clinic with a connector.
  absl::StatusOr<std::vector<ClinicRunFigures>> RunFigures();

 private:
  // A run's report row with the schedule's counts and skipped entities added.
  absl::StatusOr<sv1::Run> CompleteRun(const pg::Result& r, int i);
  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace vetline::pims_sync
