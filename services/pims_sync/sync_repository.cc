#include "services/pims_sync/sync_repository.h"

#include "libs/core/time.h"
#include "libs/core/status.h"

namespace vetline::pims_sync {
namespace {

constexpr int kMaxErrorsPerRun = 10000;

// What a run whose process died says. A `running` row whose lease expired reads as
// interrupted at once; the next run of the clinic writes it down.
#define INTERRUPTED_ERROR \
  "'the sync process stopped before finishing; the next run continues from its checkpoint'"
#define LEASE_EXPIRED "(state = 'running' AND lease_until < now())"
#define RUN_COLUMNS                                                                            \
  "id, clinic_id, mode, CASE WHEN " LEASE_EXPIRED " THEN 'interrupted' ELSE state END AS state, " \
  "attempts, started_at, finished_at, clients_inserted, clients_updated, clients_unchanged, "  \
  "clients_failed, pets_inserted, pets_updated, pets_unchanged, pets_failed, active_seconds, "  \
  "CASE WHEN " LEASE_EXPIRED " THEN " INTERRUPTED_ERROR " ELSE error END AS error, "             \
  "cursor_at_start "
// Leases are given in milliseconds.
#define LEASE_FROM_NOW(n) "now() + $" #n " * interval '1 millisecond'"

constexpr pg::Statement kTryLock{
    "pims_try_lock", "SELECT pg_try_advisory_lock(hashtext('vetline.pims_sync.' || $1)) AS locked"};
constexpr pg::Statement kUnlock{
    "pims_unlock", "SELECT pg_advisory_unlock(hashtext('vetline.pims_sync.' || $1))"};
constexpr pg::Statement kRenewLease{
    "pims_renew_lease",
    "UPDATE pims_sync.runs SET lease_until = " LEASE_FROM_NOW(2) " WHERE id = $1 AND state = 'running'"};
constexpr pg::Statement kMarkInterrupted{
    "pims_mark_interrupted",
    "UPDATE pims_sync.runs SET state = 'interrupted', error = " INTERRUPTED_ERROR
    " WHERE clinic_id = $1 AND state = 'running'"};
constexpr pg::Statement kGetConnector{
    "pims_get_connector", "SELECT clinic_id, kind, address FROM pims_sync.connectors WHERE clinic_id = $1"};
constexpr pg::Statement kListConnectors{
    "pims_list_connectors",
    "SELECT clinic_id, kind, address FROM pims_sync.connectors WHERE kind <> 'none' ORDER BY clinic_id"};
constexpr pg::Statement kSetConnector{
    "pims_set_connector",
    "INSERT INTO pims_sync.connectors (clinic_id, kind, address) VALUES ($1, $2, $3) "
    "ON CONFLICT (clinic_id) DO UPDATE SET kind = $2, address = $3, updated_at = now()"};
// $2: whether a full run asks (it does not continue an incremental run).
constexpr pg::Statement kUnfinishedRun{
    "pims_unfinished_run",
    "SELECT * FROM (SELECT " RUN_COLUMNS "FROM pims_sync.runs WHERE clinic_id = $1 "
    "AND started_at > (SELECT coalesce(max(started_at), '-infinity') FROM pims_sync.runs "
    "WHERE clinic_id = $1 AND state = 'succeeded') ORDER BY started_at DESC LIMIT 1) r "
    "WHERE r.state IN ('failed', 'interrupted') AND (r.mode = 'full' OR NOT $2)"};
constexpr pg::Statement kCreateRun{
    "pims_create_run",
    "INSERT INTO pims_sync.runs (clinic_id, mode, state, cursor_at_start, lease_until) VALUES "
    "($1, $2, 'running', $3, " LEASE_FROM_NOW(4) ") RETURNING " RUN_COLUMNS};
constexpr pg::Statement kResume{
    "pims_resume",
    "UPDATE pims_sync.runs SET state = 'running', attempts = attempts + 1, error = '', "
    "finished_at = NULL, lease_until = " LEASE_FROM_NOW(2) " WHERE id = $1"};
constexpr pg::Statement kGetCheckpoint{
    "pims_get_checkpoint",
    "SELECT position, coalesce(cursor, '') AS cursor, done FROM pims_sync.checkpoints "
    "WHERE run_id = $1 AND entity = $2"};
// Checkpoint rows are made by an entity's first save (a run of an older version has
// rows for clients and patients only).
constexpr pg::Statement kSaveCheckpoint{
    "pims_save_checkpoint",
    "INSERT INTO pims_sync.checkpoints (run_id, entity, position, cursor) VALUES ($1, $2, $3, nullif($4, '')) "
    "ON CONFLICT (run_id, entity) DO UPDATE SET position = EXCLUDED.position, cursor = EXCLUDED.cursor"};
constexpr pg::Statement kAddEntityCounts{
    "pims_add_entity_counts",
    "INSERT INTO pims_sync.run_counts AS c (run_id, entity, inserted, updated, unchanged, failed) "
    "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (run_id, entity) DO UPDATE SET "
    "inserted = c.inserted + EXCLUDED.inserted, updated = c.updated + EXCLUDED.updated, "
    "unchanged = c.unchanged + EXCLUDED.unchanged, failed = c.failed + EXCLUDED.failed"};
constexpr pg::Statement kRunCounts{
    "pims_run_counts",
    "SELECT entity, inserted, updated, unchanged, failed, NULL AS skipped FROM pims_sync.run_counts "
    "WHERE run_id = $1 UNION ALL SELECT entity, 0, 0, 0, 0, skipped FROM pims_sync.checkpoints "
    "WHERE run_id = $1 AND skipped IS NOT NULL ORDER BY entity"};
constexpr pg::Statement kAddCounts{
    "pims_add_counts",
    "UPDATE pims_sync.runs SET clients_inserted = clients_inserted + $2, clients_updated = "
    "clients_updated + $3, clients_unchanged = clients_unchanged + $4, clients_failed = "
    "clients_failed + $5, pets_inserted = pets_inserted + $6, pets_updated = pets_updated + $7, "
    "pets_unchanged = pets_unchanged + $8, pets_failed = pets_failed + $9, active_seconds = "
    "active_seconds + $10 WHERE id = $1 "
    "RETURNING (SELECT count(*) FROM pims_sync.run_errors WHERE run_id = $1) AS errors"};
constexpr pg::Statement kAddError{
    "pims_add_error",
    "INSERT INTO pims_sync.run_errors (run_id, entity, pims_id, field, message) VALUES ($1, $2, $3, $4, $5)"};
constexpr pg::Statement kMarkDone{
    "pims_mark_done",
    "INSERT INTO pims_sync.checkpoints (run_id, entity, done, skipped) VALUES ($1, $2, true, nullif($3, '')) "
    "ON CONFLICT (run_id, entity) DO UPDATE SET done = true, skipped = EXCLUDED.skipped"};
constexpr pg::Statement kFinish{
    "pims_finish",
    "UPDATE pims_sync.runs SET state = $2, error = $3, finished_at = now() WHERE id = $1"};
constexpr pg::Statement kSaveCursor{
    "pims_save_cursor",
    "INSERT INTO pims_sync.cursors (clinic_id, cursor, last_success_at) SELECT clinic_id, "
    "cursor_at_start, now() FROM pims_sync.runs WHERE id = $1 ON CONFLICT (clinic_id) DO UPDATE "
    "SET cursor = EXCLUDED.cursor, last_success_at = now()"};
constexpr pg::Statement kGetCursor{
    "pims_get_cursor", "SELECT cursor FROM pims_sync.cursors WHERE clinic_id = $1"};
constexpr pg::Statement kGetRun{
    "pims_get_run", "SELECT " RUN_COLUMNS "FROM pims_sync.runs WHERE clinic_id = $1 AND id = $2"};
constexpr pg::Statement kListRuns{
    "pims_list_runs",
    "SELECT " RUN_COLUMNS "FROM pims_sync.runs WHERE clinic_id = $1 ORDER BY started_at DESC LIMIT $2"};
// Per-clinic figures for the gauges: one row per clinic with a connector.
constexpr pg::Statement kRunFigures{
    "pims_run_figures",
    "SELECT c.clinic_id, extract(epoch FROM cur.last_success_at) AS last_success, "
    "(SELECT count(*) FROM pims_sync.runs r WHERE r.clinic_id = c.clinic_id "
    " AND r.started_at > now() - interval '1 day' "
    " AND (r.state IN ('failed', 'interrupted') OR (r.state = 'running' AND r.lease_until < now()))"
    ") AS failures_24h, "
    "(SELECT (clients_inserted + clients_updated + clients_unchanged + clients_failed + pets_inserted "
    " + pets_updated + pets_unchanged + pets_failed"
    " + (SELECT coalesce(sum(inserted + updated + unchanged + failed), 0) FROM pims_sync.run_counts rc"
    "    WHERE rc.run_id = r.id)) / greatest(active_seconds, 0.001) "
    " FROM pims_sync.runs r WHERE r.clinic_id = c.clinic_id AND r.state = 'succeeded' "
    " ORDER BY finished_at DESC LIMIT 1) AS rows_per_second "
    "FROM pims_sync.connectors c LEFT JOIN pims_sync.cursors cur ON cur.clinic_id = c.clinic_id "
    "WHERE c.kind <> 'none' ORDER BY c.clinic_id"};
constexpr pg::Statement kRunErrors{
    "pims_run_errors",
    "SELECT entity, pims_id, field, message FROM pims_sync.run_errors WHERE run_id = $1 ORDER BY id LIMIT 1000"};

// Every entity's counts of a run, in the report's fields.
std::vector<std::pair<std::string, sv1::Counts*>> CountsOf(sv1::Run& run) {
  return {{"clients", run.mutable_clients()},
          {"patients", run.mutable_pets()},
          {"appointment_types", run.mutable_appointment_types()},
          {"providers", run.mutable_providers()},
          {"rooms", run.mutable_rooms()},
          {"block_offs", run.mutable_block_offs()},
          {"appointments", run.mutable_appointments()}};
}

void SetRowsPerSecond(sv1::Run& run, double seconds) {
  int64_t rows = 0;
  for (auto& [name, c] : CountsOf(run)) rows += c->inserted() + c->updated() + c->unchanged() + c->failed();
  run.set_rows_per_second(seconds > 0 ? rows / seconds : 0);
}

sv1::Run RunRow(const pg::Result& r, int i) {
  sv1::Run run;
  run.set_id(r.Text(i, "id"));
  run.set_clinic_id(r.Text(i, "clinic_id"));
  run.set_mode(r.Text(i, "mode"));
  run.set_state(r.Text(i, "state"));
  run.set_attempts(static_cast<int>(r.Int(i, "attempts")));
  *run.mutable_start_time() = ToTimestamp(r.Time(i, "started_at"));
  if (auto f = r.Optional(i, "finished_at")) {
    *run.mutable_finish_time() = ToTimestamp(r.Time(i, "finished_at"));
  }
  for (auto [counts, prefix] : {std::pair{run.mutable_clients(), "clients_"}, std::pair{run.mutable_pets(), "pets_"}}) {
    counts->set_inserted(r.Int(i, std::string(prefix) + "inserted"));
    counts->set_updated(r.Int(i, std::string(prefix) + "updated"));
    counts->set_unchanged(r.Int(i, std::string(prefix) + "unchanged"));
    counts->set_failed(r.Int(i, std::string(prefix) + "failed"));
  }
  SetRowsPerSecond(run, std::strtod(r.Text(i, "active_seconds").c_str(), nullptr));
  run.set_error(r.Text(i, "error"));
  return run;
}

}  // namespace

absl::StatusOr<sv1::Connector> SyncRepository::GetConnector(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetConnector, {clinic_id}));
  if (r.rows() == 0) return absl::NotFoundError("no PIMS connector is set for this clinic");
  sv1::Connector c;
  c.set_clinic_id(r.Text(0, "clinic_id"));
  c.set_kind(r.Text(0, "kind"));
  c.set_address(r.Text(0, "address"));
  return c;
}

absl::StatusOr<std::vector<sv1::Connector>> SyncRepository::ListConnectors() {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListConnectors));
  std::vector<sv1::Connector> out;
  for (int i = 0; i < r.rows(); ++i) {
    sv1::Connector c;
    c.set_clinic_id(r.Text(i, "clinic_id"));
    c.set_kind(r.Text(i, "kind"));
    c.set_address(r.Text(i, "address"));
    out.push_back(std::move(c));
  }
  return out;
}

absl::Status SyncRepository::SetConnector(const sv1::Connector& c) {
  return pool_->Exec(kSetConnector, {c.clinic_id(), c.kind(), c.address()}).status();
}

absl::Status ClinicLock::RenewLease(const std::string& run_id, absl::Duration lease) {
  return session_.Exec(kRenewLease, {run_id, absl::ToInt64Milliseconds(lease)}).status();
}

absl::Status SyncRepository::WithClinicLock(const std::string& clinic_id,
                                            const std::function<absl::Status(ClinicLock&)>& fn) {
  // The lock lives on this one session for the whole run; the work uses other connections.
  return pool_->WithSession([&](pg::Session& session) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result r, session.Exec(kTryLock, {clinic_id}));
    if (!r.Bool(0, "locked")) {
      return absl::FailedPreconditionError("a sync of this clinic is already running");
    }
    ClinicLock lock(session);
    absl::Status st = fn(lock);
    (void)session.Exec(kUnlock, {clinic_id});  // a lost connection released it already
    return st;
  });
}

absl::Status SyncRepository::MarkInterrupted(const std::string& clinic_id) {
  return pool_->Exec(kMarkInterrupted, {clinic_id}).status();
}

absl::StatusOr<std::optional<sv1::Run>> SyncRepository::UnfinishedRun(const std::string& clinic_id,
                                                                      bool full) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kUnfinishedRun, {clinic_id, full}));
  if (r.rows() == 0) return std::optional<sv1::Run>();
  return std::optional<sv1::Run>(RunRow(r, 0));
}

absl::StatusOr<sv1::Run> SyncRepository::CreateRun(const std::string& clinic_id,
                                                   const std::string& mode,
                                                   const std::string& cursor, absl::Duration lease) {
  sv1::Run run;
  VL_RETURN_IF_ERROR(pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(pg::Result r, s.Exec(kCreateRun, {clinic_id, mode, cursor,
                                                          absl::ToInt64Milliseconds(lease)}));
    run = RunRow(r, 0);
    return absl::OkStatus();
  }));
  return run;
}

absl::Status SyncRepository::Resume(const std::string& run_id, absl::Duration lease) {
  return pool_->Exec(kResume, {run_id, absl::ToInt64Milliseconds(lease)}).status();
}

absl::StatusOr<Checkpoint> SyncRepository::GetCheckpoint(const std::string& run_id,
                                                         const std::string& entity) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetCheckpoint, {run_id, entity}));
  if (r.rows() == 0) return Checkpoint{};  // nothing stored of it yet
  return Checkpoint{r.Int(0, "position"), r.Text(0, "cursor"), r.Bool(0, "done")};
}

absl::Status SyncRepository::SaveProgress(const std::string& run_id, const std::string& entity,
                                          const Checkpoint& checkpoint, const sv1::Counts& d,
                                          const std::vector<clients::v1::RecordError>& errors,
                                          double active_seconds) {
  // Clients and pets have columns on the run; the schedule's entities rows of their own.
  const sv1::Counts none;
  const sv1::Counts& c = entity == "clients" ? d : none;
  const sv1::Counts& p = entity == "patients" ? d : none;
  const bool schedule = entity != "clients" && entity != "patients";
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_ASSIGN_OR_RETURN(
        pg::Result r,
        s.Exec(kAddCounts, {run_id, c.inserted(), c.updated(), c.unchanged(), c.failed(), p.inserted(),
                            p.updated(), p.unchanged(), p.failed(), std::to_string(active_seconds)}));
    if (schedule) {
      VL_RETURN_IF_ERROR(s.Exec(kAddEntityCounts, {run_id, entity, d.inserted(), d.updated(), d.unchanged(),
                                                   d.failed()}).status());
    }
    int64_t stored = r.Int(0, "errors");
    for (const auto& e : errors) {
      if (stored++ >= kMaxErrorsPerRun) break;  // counts stay complete; details are capped
      VL_RETURN_IF_ERROR(
          s.Exec(kAddError, {run_id, e.entity(), e.pims_id(), e.field(), e.message()}).status());
    }
    return s.Exec(kSaveCheckpoint, {run_id, entity, checkpoint.position, checkpoint.cursor}).status();
  });
}

absl::Status SyncRepository::MarkDone(const std::string& run_id, const std::string& entity,
                                      const std::string& skipped) {
  return pool_->Exec(kMarkDone, {run_id, entity, skipped}).status();
}

absl::Status SyncRepository::Finish(const std::string& run_id, const std::string& clinic_id,
                                    bool ok, const std::string& error) {
  return pool_->Transact([&](pg::Session& s) -> absl::Status {
    VL_RETURN_IF_ERROR(s.Exec(kFinish, {run_id, ok ? "succeeded" : "failed", error}).status());
    if (ok) VL_RETURN_IF_ERROR(s.Exec(kSaveCursor, {run_id}).status());
    return absl::OkStatus();
  });
}

absl::StatusOr<sv1::Run> SyncRepository::CompleteRun(const pg::Result& r, int i) {
  sv1::Run run = RunRow(r, i);
  VL_ASSIGN_OR_RETURN(pg::Result c, pool_->Exec(kRunCounts, {run.id()}));
  auto fields = CountsOf(run);
  for (int j = 0; j < c.rows(); ++j) {
    if (c.Optional(j, "skipped")) {
      run.add_skipped(c.Text(j, "entity"));
      continue;
    }
    for (auto& [name, counts] : fields) {
      if (name != c.Text(j, "entity")) continue;
      counts->set_inserted(c.Int(j, "inserted"));
      counts->set_updated(c.Int(j, "updated"));
      counts->set_unchanged(c.Int(j, "unchanged"));
      counts->set_failed(c.Int(j, "failed"));
    }
  }
  SetRowsPerSecond(run, std::strtod(r.Text(i, "active_seconds").c_str(), nullptr));
  return run;
}

absl::StatusOr<sv1::Run> SyncRepository::GetRun(const std::string& clinic_id,
                                                const std::string& run_id, bool with_errors) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetRun, {clinic_id, run_id}));
  if (r.rows() == 0) return absl::NotFoundError("run not found");
  VL_ASSIGN_OR_RETURN(sv1::Run run, CompleteRun(r, 0));
  if (with_errors) {
    VL_ASSIGN_OR_RETURN(pg::Result e, pool_->Exec(kRunErrors, {run_id}));
    for (int i = 0; i < e.rows(); ++i) {
      auto* x = run.add_errors();
      x->set_entity(e.Text(i, "entity"));
      x->set_pims_id(e.Text(i, "pims_id"));
      x->set_field(e.Text(i, "field"));
      x->set_message(e.Text(i, "message"));
    }
  }
  return run;
}

absl::StatusOr<std::vector<sv1::Run>> SyncRepository::ListRuns(const std::string& clinic_id, int limit) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kListRuns, {clinic_id, limit}));
  std::vector<sv1::Run> out;
  for (int i = 0; i < r.rows(); ++i) {
    VL_ASSIGN_OR_RETURN(sv1::Run run, CompleteRun(r, i));
    out.push_back(std::move(run));
  }
  return out;
}

absl::StatusOr<std::optional<std::string>> SyncRepository::Cursor(const std::string& clinic_id) {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kGetCursor, {clinic_id}));
  if (r.rows() == 0) return std::optional<std::string>();
  return std::optional<std::string>(r.Text(0, "cursor"));
}

absl::StatusOr<std::vector<ClinicRunFigures>> SyncRepository::RunFigures() {
  VL_ASSIGN_OR_RETURN(pg::Result r, pool_->Exec(kRunFigures));
  std::vector<ClinicRunFigures> out;
  for (int i = 0; i < r.rows(); ++i) {
    ClinicRunFigures f{.clinic_id = r.Text(i, "clinic_id"), .failures_24h = r.Int(i, "failures_24h")};
    if (auto last = r.Optional(i, "last_success")) f.last_success_unix = std::stod(*last);
    if (auto rps = r.Optional(i, "rows_per_second")) f.rows_per_second = std::stod(*rps);
    out.push_back(std::move(f));
  }
  return out;
}

}  // namespace vetline::pims_sync
