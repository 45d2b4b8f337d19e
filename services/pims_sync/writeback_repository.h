// All SQL of the write-back (pims_sync.writebacks): rows queued from booking's and
// conversations' feeds, claimed by workers with a lease (FOR UPDATE SKIP LOCKED, so two
// replicas never hold the same row), finished, listed and retried for staff.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/pg/pg.h"
#include "vetline/pims_sync/v1/pims_sync.pb.h"

namespace vetline::pims_sync {

namespace sv1 = ::vetline::pims_sync::v1;

// A claimed row with its clinic's connector.
struct WritebackJob {
  std::string id, clinic_id, what, vetline_id, action;
  int attempts = 0;  // including this one
  int generation = 0;
  bool new_client = false;
  std::string payload;  // notes: JSON
  std::string kind, address;  // the connector
};

// A client or pet row the appointment needed.
struct ChildRow {
  std::string id;
  std::string pims_id;  // empty until written
};

class WritebackRepository {
 public:
  explicit WritebackRepository(std::shared_ptr<pg::Pool> pool) : pool_(std::move(pool)) {}

  // In the feed consumer's transaction: the row of (clinic, what, vetline_id) becomes
  // pending (a new row, or a later change of one), unless the clinic has no connector.
  // Returns whether a row was queued.
  absl::StatusOr<bool> Enqueue(pg::Session& s, const std::string& clinic_id, const std::string& what,
                               const std::string& vetline_id, const std::string& action, bool new_client,
                               const std::string& payload = "");

  // Up to `limit` due rows, leased for `lease` and counted as an attempt.
  absl::StatusOr<std::vector<WritebackJob>> Claim(int limit, absl::Duration lease);
  // Written (pims_id may be empty: nothing to write); pending again if a newer event came.
  absl::Status FinishWritten(const WritebackJob& j, const std::string& pims_id);
  // Pending again after `retry_in` (a transient failure), or failed (`retry_in` nullopt).
  absl::Status FinishFailed(const WritebackJob& j, const std::string& error, std::optional<absl::Duration> retry_in);

  // The client or pet row of `parent`'s appointment (made if missing).
  absl::StatusOr<ChildRow> Child(const WritebackJob& parent, const std::string& what, const std::string& vetline_id);
  absl::Status FinishChild(const std::string& id, const std::string& state, const std::string& pims_id,
                           const std::string& error);

  // Newest first; `state` empty: all.
  absl::StatusOr<std::vector<sv1::Writeback>> List(const std::string& clinic_id, const std::string& state, int limit);
  absl::StatusOr<sv1::Writeback> Get(const std::string& clinic_id, const std::string& id);
  // A failed row (a client or pet: the appointment that needed it) is pending now, its
  // attempts counted anew. NotFound on `id`; FailedPrecondition when it has not failed.
  absl::StatusOr<sv1::Writeback> Retry(const std::string& clinic_id, const std::string& id);

 private:
  std::shared_ptr<pg::Pool> pool_;
};

}  // namespace vetline::pims_sync
