#include "services/pims_sync/writeback_repository.h"

#include "libs/core/status.h"
#include "libs/core/time.h"

namespace vetline::pims_sync {
namespace {

// A clinic without a connector (or with "none") has no PIMS to write to.
constexpr pg::Statement kEnqueue{
    "pims_writeback_enqueue",
    "INSERT INTO pims_sync.writebacks AS w (clinic_id, what, vetline_id, action, new_client, payload) "
    "SELECT $1::uuid, $2, $3, $4, $5::boolean, nullif($6, '')::jsonb WHERE EXISTS (SELECT 1 FROM "
    "pims_sync.connectors WHERE clinic_id = $1::uuid AND kind <> 'none') "
    "ON CONFLICT (clinic_id, what, vetline_id) DO UPDATE SET action = EXCLUDED.action, state = 'pending', "
    "attempts = 0, last_error = NULL, next_attempt_at = now(), generation = w.generation + 1, "
    "new_client = w.new_client OR EXCLUDED.new_client, updated_at = now() RETURNING id"};
// Rows another worker holds are skipped, not waited for; the lease outlives a crash.
constexpr pg::Statement kClaim{
    "pims_writeback_claim",
    "WITH due AS (SELECT w.id, c.kind, c.address FROM pims_sync.writebacks w LEFT JOIN "
    "pims_sync.connectors c ON c.clinic_id = w.clinic_id WHERE w.state = 'pending' AND w.what IN "
    "('appointment', 'note') AND w.next_attempt_at <= now() AND (w.claimed_until IS NULL OR "
    "w.claimed_until < now()) ORDER BY w.next_attempt_at LIMIT $1 FOR UPDATE OF w SKIP LOCKED) "
    "UPDATE pims_sync.writebacks w SET claimed_until = now() + $2::int * interval '1 millisecond', "
    "attempts = w.attempts + 1, updated_at = now() FROM due WHERE w.id = due.id RETURNING w.id, "
    "w.clinic_id, w.what, w.vetline_id, w.action, w.attempts, w.generation, w.new_client, "
    "coalesce(w.payload::text, '') AS payload, coalesce(due.kind, 'none') AS kind, "
    "coalesce(due.address, '') AS address"};
// A newer event while the write was in flight: pending again, the write is redone.
constexpr pg::Statement kFinishWritten{
    "pims_writeback_written",
    "UPDATE pims_sync.writebacks SET state = CASE WHEN generation = $2 THEN 'written' ELSE 'pending' END, "
    "pims_id = coalesce(nullif($3, ''), pims_id), last_error = NULL, claimed_until = NULL, "
    "next_attempt_at = now(), updated_at = now() WHERE id = $1"};
constexpr pg::Statement kFinishFailed{
    "pims_writeback_failed",
    "UPDATE pims_sync.writebacks SET state = CASE WHEN generation <> $2 OR $4::int IS NOT NULL THEN "
    "'pending' ELSE 'failed' END, last_error = $3, next_attempt_at = CASE WHEN generation = $2 AND "
    "$4::int IS NOT NULL THEN now() + $4::int * interval '1 millisecond' ELSE now() END, "
    "claimed_until = NULL, updated_at = now() WHERE id = $1"};
constexpr pg::Statement kChild{
    "pims_writeback_child",
    "INSERT INTO pims_sync.writebacks AS w (clinic_id, what, vetline_id, action, parent_id, attempts) "
    "VALUES ($1, $2, $3, 'create', $4, 1) ON CONFLICT (clinic_id, what, vetline_id) DO UPDATE SET "
    "parent_id = EXCLUDED.parent_id, attempts = w.attempts + (w.state <> 'written')::int, "
    "updated_at = now() RETURNING id, coalesce(pims_id, '') AS pims_id"};
constexpr pg::Statement kFinishChild{
    "pims_writeback_child_done",
    "UPDATE pims_sync.writebacks SET state = $2, pims_id = coalesce(nullif($3, ''), pims_id), "
    "last_error = nullif($4, ''), updated_at = now() WHERE id = $1"};

#define VL_WRITEBACK_COLUMNS                                                                     \
  "id, what, vetline_id, action, state, attempts, coalesce(last_error, '') AS last_error, "       \
  "coalesce(pims_id, '') AS pims_id, created_at, updated_at, next_attempt_at"
constexpr pg::Statement kList{
    "pims_writeback_list",
    "SELECT " VL_WRITEBACK_COLUMNS " FROM pims_sync.writebacks WHERE clinic_id = $1 AND "
    "($2 = '' OR state = $2) ORDER BY updated_at DESC, id LIMIT $3"};
constexpr pg::Statement kGet{
    "pims_writeback_get",
    "SELECT " VL_WRITEBACK_COLUMNS ", parent_id FROM pims_sync.writebacks WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kRetry{
    "pims_writeback_retry",
    "UPDATE pims_sync.writebacks SET state = 'pending', attempts = 0, next_attempt_at = now(), "
    "claimed_until = NULL, last_error = NULL, generation = generation + 1, updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2 AND state = 'failed' RETURNING id"};
constexpr pg::Statement kRetryChild{
    "pims_writeback_retry_child",
    "UPDATE pims_sync.writebacks SET state = 'pending', last_error = NULL, updated_at = now() "
    "WHERE clinic_id = $1 AND id = $2 AND state = 'failed'"};

sv1::Writeback Row(const pg::Result& r, int i) {
  sv1::Writeback w;
  w.set_id(r.Text(i, "id"));
  w.set_what(r.Text(i, "what"));
  w.set_vetline_id(r.Text(i, "vetline_id"));
  w.set_action(r.Text(i, "action"));
  w.set_state(r.Text(i, "state"));
  w.set_attempts(static_cast<int>(r.Int(i, "attempts")));
  w.set_last_error(r.Text(i, "last_error"));
  w.set_pims_id(r.Text(i, "pims_id"));
  *w.mutable_create_time() = ToTimestamp(r.Time(i, "created_at"));
  *w.mutable_update_time() = ToTimestamp(r.Time(i, "updated_at"));
  if (w.state() == "pending") *w.mutable_next_attempt_time() = ToTimestamp(r.Time(i, "next_attempt_at"));
  return w;
}

int Millis(absl::Duration d) { return static_cast<int>(absl::ToInt64Milliseconds(d)); }

}  // namespace

absl::StatusOr<bool> WritebackRepository::Enqueue(pg::Session& s, const std::string& clinic_id,
                                                  const std::string& what, const std::string& vetline_id,
                                                  const std::string& action, bool new_client,
                                                  const std::string& payload) {
  VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kEnqueue, {clinic_id, what, vetline_id, action, new_client, payload}));
  return r.rows() > 0;
}

absl::StatusOr<std::vector<WritebackJob>> WritebackRepository::Claim(int limit, absl::Duration lease) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kClaim, {limit, Millis(lease)}));
  std::vector<WritebackJob> out;
  for (int i = 0; i < r.rows(); ++i) {
    out.push_back({.id = r.Text(i, "id"),
                   .clinic_id = r.Text(i, "clinic_id"),
                   .what = r.Text(i, "what"),
                   .vetline_id = r.Text(i, "vetline_id"),
                   .action = r.Text(i, "action"),
                   .attempts = static_cast<int>(r.Int(i, "attempts")),
                   .generation = static_cast<int>(r.Int(i, "generation")),
                   .new_client = r.Bool(i, "new_client"),
                   .payload = r.Text(i, "payload"),
                   .kind = r.Text(i, "kind"),
                   .address = r.Text(i, "address")});
  }
  return out;
}

absl::Status WritebackRepository::FinishWritten(const WritebackJob& j, const std::string& pims_id) {
  return pool_->Exec(kFinishWritten, {j.id, j.generation, pims_id}).status();
}

absl::Status WritebackRepository::FinishFailed(const WritebackJob& j, const std::string& error,
                                               std::optional<absl::Duration> retry_in) {
  std::optional<int> ms;
  if (retry_in) ms = Millis(*retry_in);
  return pool_->Exec(kFinishFailed, {j.id, j.generation, error, ms}).status();
}

absl::StatusOr<ChildRow> WritebackRepository::Child(const WritebackJob& parent, const std::string& what,
                                                    const std::string& vetline_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kChild, {parent.clinic_id, what, vetline_id, parent.id}));
  return ChildRow{r.Text(0, "id"), r.Text(0, "pims_id")};
}

absl::Status WritebackRepository::FinishChild(const std::string& id, const std::string& state,
                                              const std::string& pims_id, const std::string& error) {
  return pool_->Exec(kFinishChild, {id, state, pims_id, error}).status();
}

absl::StatusOr<std::vector<sv1::Writeback>> WritebackRepository::List(const std::string& clinic_id,
                                                                      const std::string& state, int limit) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kList, {clinic_id, state, limit}));
  std::vector<sv1::Writeback> out;
  for (int i = 0; i < r.rows(); ++i) out.push_back(Row(r, i));
  return out;
}

absl::StatusOr<sv1::Writeback> WritebackRepository::Get(const std::string& clinic_id, const std::string& id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGet, {clinic_id, id}));
  if (r.rows() == 0) return NotFoundField("id", "no write-back with this id in your clinic");
  return Row(r, 0);
}

absl::StatusOr<sv1::Writeback> WritebackRepository::Retry(const std::string& clinic_id, const std::string& id) {
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result was, s.Exec(kGet, {clinic_id, id}));
    if (was.rows() == 0) return NotFoundField("id", "no write-back with this id in your clinic");
    if (was.Text(0, "state") != "failed") {
      return absl::FailedPreconditionError("only a failed write-back can be retried");
    }
    // A client or pet is written as a step of its appointment: that is what runs again.
    const std::string parent = was.Text(0, "parent_id");
    if (!parent.empty()) VL_RETURN_IF_ERROR(s.Exec(kRetryChild, {clinic_id, id}).status());
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kRetry, {clinic_id, parent.empty() ? id : parent}));
    if (r.rows() == 0) {
      return absl::FailedPreconditionError(parent.empty() ? "only a failed write-back can be retried"
                                                          : "the appointment that needs it is not failed; it is being written already");
    }
    return absl::OkStatus();
  }));
  return Get(clinic_id, id);
}

}  // namespace vetline::pims_sync
