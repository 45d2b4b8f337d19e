#include "tools/pims_sim/connector_service.h"

#include <thread>

#include "absl/strings/numbers.h"
#include "libs/rpc/rpc.h"

namespace vetline::pims_sim {
namespace {
int BatchSize(int requested) { return requested <= 0 ? 1000 : std::min(requested, 5000); }
}  // namespace

grpc::Status ConnectorService::Serves(pv1::Entity e) const {
  if (e == pv1::ENTITY_UNSPECIFIED || !pv1::Entity_IsValid(e)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "entity must be named");
  }
  if (faults_.no_schedule && e != pv1::CLIENTS && e != pv1::PATIENTS) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this agent serves clients and patients only");
  }
  return grpc::Status::OK;
}

void ConnectorService::MaybeHang(grpc::ServerContext* ctx, int64_t sent, bool& hung) const {
  if (hung || faults_.hang_after <= 0 || sent < faults_.hang_after) return;
  hung = true;
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(faults_.hang_ms);
  while (!ctx->IsCancelled() && std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

grpc::Status ConnectorService::Describe(grpc::ServerContext*, const pv1::DescribeRequest*,
                                        pv1::PracticeInfo* info) {
  info->set_kind(practice_.kind_name());
  info->set_practice_name("Simulated " + practice_.kind_name() + " practice");
  info->set_cursor(std::to_string(practice_.cursor()));
  return grpc::Status::OK;
}

grpc::Status ConnectorService::Snapshot(grpc::ServerContext* ctx, const pv1::SnapshotRequest* req,
                                        grpc::ServerWriter<pv1::RecordBatch>* writer) {
  if (grpc::Status st = Serves(req->entity()); !st.ok()) return st;
  if (req->after_position() < 0) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "after_position must be >= 0");
  }
  int64_t total = practice_.Count(req->entity());
  int size = BatchSize(req->batch_size());
  int64_t sent = 0;
  bool hung = false;
  for (int64_t pos = req->after_position(); pos < total && !ctx->IsCancelled();) {
    MaybeHang(ctx, sent, hung);
    if (ctx->IsCancelled()) break;
    if (faults_.slow_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(faults_.slow_ms));
    pv1::RecordBatch batch;
    batch.set_total(total);
    for (int n = 0; n < size && pos < total; ++n, ++pos) {
      if (faults_.drop_after > 0 && sent >= faults_.drop_after) {
        if (batch.records_size() > 0) writer->Write(batch);
        return grpc::Status(grpc::StatusCode::UNAVAILABLE, "simulated connector failure");
      }
      *batch.add_records() = practice_.Record(req->entity(), pos);
      batch.set_position(pos + 1);
      ++sent;
    }
    if (!writer->Write(batch)) break;
  }
  return grpc::Status::OK;
}

grpc::Status ConnectorService::Changes(grpc::ServerContext* ctx, const pv1::ChangesRequest* req,
                                       grpc::ServerWriter<pv1::RecordBatch>* writer) {
  if (grpc::Status st = Serves(req->entity()); !st.ok()) return st;
  int64_t cursor = 0;
  if (!req->cursor().empty() && !absl::SimpleAtoi(req->cursor(), &cursor)) {
    return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "cursor is not one this connector gave");
  }
  int64_t end = practice_.cursor();
  int64_t sent = 0;
  bool hung = false;
  while (cursor < end && !ctx->IsCancelled()) {
    MaybeHang(ctx, sent, hung);
    if (ctx->IsCancelled()) break;
    int64_t next;
    auto records = practice_.ChangesSince(req->entity(), cursor, BatchSize(req->batch_size()), &next);
    sent += static_cast<int64_t>(records.size());
    pv1::RecordBatch batch;
    for (auto& r : records) *batch.add_records() = std::move(r);
    batch.set_cursor(std::to_string(next));
    if (!writer->Write(batch)) break;
    if (next == cursor) break;
    cursor = next;
  }
  return grpc::Status::OK;
}

grpc::Status ConnectorService::GetSchedulingSettings(grpc::ServerContext*, const pv1::SettingsRequest*,
                                                     pv1::SchedulingSettings* out) {
  if (faults_.no_schedule) {
    return grpc::Status(grpc::StatusCode::UNIMPLEMENTED, "this agent serves clients and patients only");
  }
  for (const auto& [k, v] : practice_.SchedulingSettings()) (*out->mutable_settings())[k] = v;
  return grpc::Status::OK;
}

grpc::Status ConnectorService::WriteFault() {
  write_faults_.calls++;
  if (int ms = write_faults_.slow_ms.load(); ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(ms));
  for (int n = write_faults_.unavailable.load(); n > 0;) {
    if (write_faults_.unavailable.compare_exchange_weak(n, n - 1)) {
      return grpc::Status(grpc::StatusCode::UNAVAILABLE, "simulated PIMS outage");
    }
  }
  if (write_faults_.refuse) {
    return grpc::Status(grpc::StatusCode::FAILED_PRECONDITION, "the practice is closed for changes (simulated refusal)");
  }
  return grpc::Status::OK;
}

grpc::Status ConnectorService::Answer(const absl::StatusOr<std::string>& id, pv1::WriteResponse* resp) {
  if (!id.ok()) return rpc::ToGrpc(id.status());
  resp->set_id(*id);
  return grpc::Status::OK;
}

grpc::Status ConnectorService::Write(pv1::Entity e, const pv1::WriteRequest* req,
                                     pv1::WriteResponse* resp) {
  if (grpc::Status st = WriteFault(); !st.ok()) return st;
  if (req->fields().empty()) return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no fields");
  std::map<std::string, std::string> fields(req->fields().begin(), req->fields().end());
  return Answer(practice_.Create(e, fields, req->idempotency_key()), resp);
}

grpc::Status ConnectorService::CreateClient(grpc::ServerContext*, const pv1::WriteRequest* req,
                                            pv1::WriteResponse* resp) {
  return Write(pv1::CLIENTS, req, resp);
}
grpc::Status ConnectorService::CreatePatient(grpc::ServerContext*, const pv1::WriteRequest* req,
                                             pv1::WriteResponse* resp) {
  return Write(pv1::PATIENTS, req, resp);
}
grpc::Status ConnectorService::CreateAppointment(grpc::ServerContext*, const pv1::WriteRequest* req,
                                                 pv1::WriteResponse* resp) {
  return Write(pv1::APPOINTMENTS, req, resp);
}
grpc::Status ConnectorService::UpdateAppointment(grpc::ServerContext*, const pv1::UpdateRequest* req,
                                                 pv1::WriteResponse* resp) {
  if (grpc::Status st = WriteFault(); !st.ok()) return st;
  std::map<std::string, std::string> fields(req->fields().begin(), req->fields().end());
  return Answer(practice_.UpdateAppointment(req->id(), fields), resp);
}
grpc::Status ConnectorService::CancelAppointment(grpc::ServerContext*, const pv1::UpdateRequest* req,
                                                 pv1::WriteResponse* resp) {
  if (grpc::Status st = WriteFault(); !st.ok()) return st;
  return Answer(practice_.CancelAppointment(req->id()), resp);
}
grpc::Status ConnectorService::CreateNote(grpc::ServerContext*, const pv1::WriteRequest* req,
                                          pv1::WriteResponse* resp) {
  if (grpc::Status st = WriteFault(); !st.ok()) return st;
  std::map<std::string, std::string> fields(req->fields().begin(), req->fields().end());
  return Answer(practice_.CreateNote(fields, req->idempotency_key()), resp);
}

}  // namespace vetline::pims_sim
