// All SQL of the PIMS sync: connectors, runs, checkpoints, record errors, cursors.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/pg/pg.h"
#include "vetline/clients/v1/sync.pb.h"
#include "vetline/pims_sync/v1/pims_sync.pb.h"

namespace vetline::pims_sync {

namespace sv1 = ::vetline::pims_sync::v1;

struct Checkpoint {
  int64_t position = 0;
  bool done = false;
};

// What an operator's dashboard shows of one clinic's syncs (see the component's gauges).
struct ClinicRunFigures {
  std::string clinic_id;
  std::optional<double> last_success_unix;  // the last successful run's end, if any
  std::optional<double> rows_per_second;    // of the last successful run
  int64_t failures_24h = 0;
};

class SyncRepository {
 public:
  explicit SyncRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}
  pg::Pool& pool() { return *pool_; }

  absl::StatusOr<sv1::Connector> GetConnector(const std::string& clinic_id);
  absl::StatusOr<std::vector<sv1::Connector>> ListConnectors();
  absl::Status SetConnector(const sv1::Connector& c);

  // The latest full run of the clinic that did not finish (killed or failed), if any.
  absl::StatusOr<std::optional<sv1::Run>> UnfinishedFullRun(const std::string& clinic_id);
  absl::StatusOr<sv1::Run> CreateRun(const std::string& clinic_id, const std::string& mode,
                                     const std::string& cursor);
  absl::Status Resume(const std::string& run_id);
  absl::StatusOr<Checkpoint> GetCheckpoint(const std::string& run_id, const std::string& entity);
  // Counts, errors and the checkpoint of one acknowledged batch, in one transaction.
  absl::Status SaveProgress(const std::string& run_id, const std::string& entity, int64_t position,
                            const clients::v1::UpsertSummary& delta,
                            const std::vector<clients::v1::RecordError>& errors,
                            double active_seconds);
  absl::Status MarkDone(const std::string& run_id, const std::string& entity);
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
  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace vetline::pims_sync
